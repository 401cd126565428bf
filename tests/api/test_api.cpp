// Every REST route and error status, over a real socket against a running server.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "../support/client_requests.hpp"
#include "../support/http_client.hpp"
#include "api/api.hpp"
#include "app/app.hpp"
#include "media/stream_registry.hpp"

namespace sg::api {
namespace {

using test::http_request;
namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app::Config c;
    c.http = {"127.0.0.1", 0};
    c.rtsp = {"127.0.0.1", 0};
    c.webrtc_udp = {"127.0.0.1", 0};
    c.workers = 2;
    app::StreamConfig s;
    s.id = "seeded";
    s.source = "publisher";
    c.streams.push_back(s);
    server = std::make_unique<app::App>(c);
    auto st = server->start();
    ASSERT_TRUE(st) << st.error();
    port = server->http_port();
  }
  void TearDown() override { server->stop(); }

  std::unique_ptr<app::App> server;
  uint16_t port = 0;
};

json::value body_json(const test::HttpReply& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "body is not JSON: " << r.body;
  return v;
}

std::string error_text(const test::HttpReply& r) {
  auto v = body_json(r);
  if (!v.is_object() || !v.as_object().contains("error") || !v.at("error").is_string()) {
    ADD_FAILURE() << "no JSON error body: " << r.body;
    return {};
  }
  return std::string(v.at("error").as_string());
}

TEST_F(ApiTest, ListsConfiguredStreams) {
  auto r = http_request(port, "GET", "/api/v1/streams");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  auto v = body_json(r);
  ASSERT_TRUE(v.is_object() && v.as_object().contains("items") && v.at("items").is_array()) << r.body;
  ASSERT_EQ(v.as_object().size(), 1u) << r.body;
  const auto& items = v.at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  const auto& s = items[0].as_object();
  EXPECT_EQ(s.at("id").as_string(), "seeded");
  for (auto key : {"source", "state", "tracks", "readers", "bytes_received", "bytes_sent", "units_dropped",
                   "uptime_seconds", "last_error"})
    EXPECT_TRUE(s.contains(key)) << key;
}

TEST_F(ApiTest, CreateGetStartStopDelete) {
  auto r = http_request(port, "POST", "/api/v1/streams", R"({"id":"cam1","source":"rtsp://u:secret@10.0.0.5/s1"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.headers["location"], "/api/v1/streams/cam1");
  auto created = body_json(r);
  EXPECT_EQ(created.at("source").as_string(), "rtsp://u:***@10.0.0.5/s1");  // credentials never shown

  r = http_request(port, "GET", "/api/v1/streams/cam1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_json(r).at("id").as_string(), "cam1");

  r = http_request(port, "POST", "/api/v1/streams/cam1/stop");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_json(r).at("state").as_string(), "idle");
  r = http_request(port, "POST", "/api/v1/streams/cam1/start");
  ASSERT_EQ(r.status, 200);

  r = http_request(port, "DELETE", "/api/v1/streams/cam1");
  EXPECT_EQ(r.status, 204);
  r = http_request(port, "GET", "/api/v1/streams/cam1");
  EXPECT_EQ(r.status, 404);
}

TEST_F(ApiTest, MalformedJsonIs400WithJsonError) {
  auto r = http_request(port, "POST", "/api/v1/streams", R"({"id": "x", )");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_text(r).find("malformed JSON"), std::string::npos);
}

TEST_F(ApiTest, InvalidFieldIs400NamingTheField) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {R"([1,2])", "body must be a JSON object"},
      {R"({"source":"publisher"})", "field 'id'"},
      {R"({"id":5,"source":"publisher"})", "field 'id'"},
      {R"({"id":"a b","source":"publisher"})", "field 'id': invalid stream id"},
      {R"({"id":"x"})", "field 'source'"},
      {R"({"id":"x","source":"ftp://h"})", "field 'source'"},
      {R"({"id":"x","source":"publisher","on_demand":"yes"})", "field 'on_demand'"},
      {R"({"id":"x","source":"publisher","rtsp_transport":"sctp"})", "field 'rtsp_transport'"},
      {R"({"id":"x","source":"publisher","colour":1})", "unknown field 'colour'"},
  };
  for (const auto& c : cases) {
    auto r = http_request(port, "POST", "/api/v1/streams", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(error_text(r).find(c.expect), std::string::npos) << c.body << " -> " << r.body;
  }
}

// Every list endpoint has the same shape: an object whose only key is "items", an array.
TEST_F(ApiTest, EveryListIsAnObjectWithItems) {
  for (std::string target : {"/api/v1/streams", "/api/v1/webrtc/sessions"}) {
    auto r = http_request(port, "GET", target);
    ASSERT_EQ(r.status, 200) << target;
    auto v = body_json(r);
    ASSERT_TRUE(v.is_object()) << target << ": " << r.body;
    EXPECT_EQ(v.as_object().size(), 1u) << target << ": " << r.body;
    EXPECT_TRUE(v.as_object().contains("items") && v.at("items").is_array()) << target << ": " << r.body;
  }
}

// Names of top-level routes (any case), and ids that read as command-line options or hidden files, are refused
// with the one message of media::check_stream_id; nothing is created, and the routes still answer.
TEST_F(ApiTest, ReservedAndInvalidIdsAreRefusedWithTheCommonMessage) {
  for (std::string id : {"api", "API", "metrics", "Metrics", "healthz", "readyz", "assets", "ws", "WS", "-rf",
                         "--help", ".hidden", ".."}) {
    auto r = http_request(port, "POST", "/api/v1/streams", R"({"id":")" + id + R"(","source":"publisher"})");
    EXPECT_EQ(r.status, 400) << id << ": " << r.body;
    EXPECT_EQ(error_text(r), "field 'id': " + media::check_stream_id(id).error()) << id;
    EXPECT_EQ(http_request(port, "GET", "/api/v1/streams/" + id).status, 404) << id;
  }
  EXPECT_NE(media::check_stream_id("api").error().find("not one of api, assets, healthz, metrics, readyz, ws"),
            std::string::npos);
  auto list = body_json(http_request(port, "GET", "/api/v1/streams"));
  EXPECT_EQ(list.at("items").as_array().size(), 1u) << list;  // only "seeded"
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/metrics").status, 200);
  // Ids that merely contain those names are fine.
  EXPECT_EQ(http_request(port, "POST", "/api/v1/streams", R"({"id":"api2","source":"publisher"})").status, 201);
  EXPECT_EQ(http_request(port, "POST", "/api/v1/streams", R"({"id":"cam-1.x","source":"publisher"})").status, 201);
}

// WHEP never creates a stream: an offer to an unknown (or reserved) id is 404 and the stream list is unchanged.
TEST_F(ApiTest, WhepToAnUnknownStreamCreatesNothing) {
  for (std::string id : {"nosuch", "api", "metrics"}) {
    auto r = http_request(port, "POST", "/" + id + "/whep", test::kMinimalOffer, "application/sdp");
    EXPECT_EQ(r.status, 404) << id << ": " << r.body;
    EXPECT_EQ(http_request(port, "GET", "/api/v1/streams/" + id).status, 404) << id;
  }
  auto list = body_json(http_request(port, "GET", "/api/v1/streams"));
  EXPECT_EQ(list.at("items").as_array().size(), 1u) << list;
}

// Numbers with a fraction are plain decimals (Boost.JSON alone writes 6.866455078125E-1).
TEST(ApiJson, DoublesArePlainDecimalsRoundedToSixPlaces) {
  json::object o{{"fraction_lost", 0.6866455078125}, {"age", 12.0}, {"tiny", 1e-9}, {"big", 1.5e20},
                 {"neg", -0.25}, {"n", 3}, {"s", "a\"b"}, {"nan", std::nan("")}, {"list", json::array{0.1, 2.5}}};
  EXPECT_EQ(http::serialize_json(o),
            R"({"fraction_lost":0.686646,"age":12.0,"tiny":0.0,"big":150000000000000000000.0,"neg":-0.25,"n":3,)"
            R"("s":"a\"b","nan":null,"list":[0.1,2.5]})");
}

TEST_F(ApiTest, UnknownStreamIs404OnEveryRoute) {
  for (auto [method, target] : {std::pair{"GET", "/api/v1/streams/nope"}, {"DELETE", "/api/v1/streams/nope"},
                                {"POST", "/api/v1/streams/nope/start"}, {"POST", "/api/v1/streams/nope/stop"}}) {
    auto r = http_request(port, method, target);
    EXPECT_EQ(r.status, 404) << method << " " << target;
    EXPECT_NE(error_text(r).find("'nope' not found"), std::string::npos);
  }
  EXPECT_EQ(http_request(port, "GET", "/no/such/route").status, 404);
}

TEST_F(ApiTest, WrongMethodIs405WithAllow) {
  auto r = http_request(port, "PUT", "/api/v1/streams");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.headers["allow"].find("GET"), std::string::npos);
  EXPECT_NE(r.headers["allow"].find("POST"), std::string::npos);
  error_text(r);
  r = http_request(port, "GET", "/api/v1/streams/seeded/start");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
}

TEST_F(ApiTest, DuplicateIdIs409) {
  auto r = http_request(port, "POST", "/api/v1/streams", R"({"id":"seeded","source":"publisher"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(error_text(r).find("already exists"), std::string::npos);
}

TEST_F(ApiTest, OversizedBodyIs413) {
  std::string big(2 * 1024 * 1024, ' ');
  auto r = http_request(port, "POST", "/api/v1/streams", big);
  EXPECT_EQ(r.status, 413);
  error_text(r);
  // The server is unharmed.
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
}

TEST_F(ApiTest, GarbageRequestsGet400AndServerStaysUp) {
  for (const std::string& raw : {std::string("GARBAGE\r\n\r\n"), std::string("\x01\x02\x03\r\n\r\n", 7),
                                std::string("GET / HTTP/9.9\r\nContent-Length: -1\r\n\r\n"),
                                std::string("POST /api/v1/streams HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")}) {
    auto r = test::http_raw(port, raw, 2000);
    EXPECT_TRUE(r.status == 400 || r.status == 413 || r.status == 0) << r.raw;
  }
  auto huge_header = "GET /healthz HTTP/1.1\r\nX: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(test::http_raw(port, huge_header).status, 431);
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
}

TEST_F(ApiTest, HealthAndReadiness) {
  auto r = http_request(port, "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  r = http_request(port, "GET", "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_json(r).at("status").as_string(), "ready");
}

// Parses Prometheus text exposition format 0.0.4 strictly enough to catch format errors: every sample line is
// `name{labels} value`, every family has HELP and TYPE before its samples, names and label syntax are valid.
TEST_F(ApiTest, MetricsParseAsPrometheusText) {
  auto r = http_request(port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  std::regex help(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$)");
  std::set<std::string> typed;
  std::map<std::string, double> values;
  std::istringstream in(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# HELP", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, help)) << line;
    } else if (line.rfind("# TYPE", 0) == 0) {
      ASSERT_TRUE(std::regex_match(line, m, type)) << line;
      EXPECT_TRUE(typed.insert(m[1]).second) << "family typed twice: " << line;
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << "bad sample line: " << line;
      std::string name = m[1];
      // Summaries and histograms expose <name>_sum, <name>_count (and _bucket) under the family's TYPE.
      std::string family = name;
      for (std::string suffix : {"_sum", "_count", "_bucket"}) {
        if (!typed.contains(family) && family.ends_with(suffix)) family.resize(family.size() - suffix.size());
      }
      EXPECT_TRUE(typed.contains(family)) << "sample before its TYPE: " << line;
      values[line.substr(0, line.rfind(' '))] = std::stod(line.substr(line.rfind(' ') + 1));
      ++samples;
    }
  }
  EXPECT_GT(samples, 5);
  EXPECT_GT(values["streamgate_process_resident_memory_bytes"], 0);
  EXPECT_EQ(values["streamgate_worker_threads"], 2);
  EXPECT_EQ(values["streamgate_streams"], 1);
  EXPECT_TRUE(values.contains("streamgate_stream_readers{stream=\"seeded\"}"));
  EXPECT_TRUE(values.contains("streamgate_stream_units_dropped_total{stream=\"seeded\"}"));
  EXPECT_TRUE(values.contains("streamgate_stream_source_reconnects_total{stream=\"seeded\"}"));
  EXPECT_TRUE(values.contains("streamgate_stream_fanout_seconds_bucket{stream=\"seeded\",le=\"0.001\"}"));
  EXPECT_TRUE(values.contains("streamgate_stream_fanout_seconds_bucket{stream=\"seeded\",le=\"+Inf\"}"));
  EXPECT_TRUE(values.contains("streamgate_stream_fanout_seconds_count{stream=\"seeded\"}"));
}

TEST_F(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/streams HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  auto r = test::http_raw(port, two, 5000, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.raw.find("\"seeded\""), std::string::npos);
}

}  // namespace
}  // namespace sg::api
