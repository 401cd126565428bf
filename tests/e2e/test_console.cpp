// The web console end to end. Chromium (playwright-core, tests/e2e/console.mjs) runs the issue's acceptance flow
// against a server fed by an ffmpeg publisher: add a stream from the form (an invalid source first: the API's
// error shows next to the field), see it go ready without a reload, play it on its page with WebRTC and with HLS,
// kick its WebRTC session, stop and delete it, then kick an RTSP reader of the source stream from that stream's
// page (which also lists its RTSP publisher); screenshots of every page at 1280x800 and 390x844 go to
// <build>/artifacts/console/. With 500 configured streams the streams page renders in under a second and a change
// of one stream touches only its row. Without a browser: the event stream (/api/v1/events) sends the list once
// and then only the changed streams, refuses clients over its limit, the server endpoint redacts the config, and
// with auth on the console asks for HTTP Basic credentials. The RTSP sessions API (/api/v1/rtsp/sessions) lists the
// publisher and readers of a stream and kicks one; the stream page shows them and kicks a reader from its button.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "browser.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;



// <build>/artifacts/console: the binary is <build>/streamgate.
std::string artifacts_dir() {
  auto dir = std::filesystem::path(SG_BINARY).parent_path() / "artifacts" / "console";
  std::filesystem::create_directories(dir);
  return dir.string();
}

// The JSON line console.mjs prints last.
json::object result_of(const std::string& output) {
  auto start = output.rfind("\n{");
  std::string line = output.substr(start == std::string::npos ? 0 : start + 1);
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string str(const json::object& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

double num(const json::object& o, std::string_view key) {
  auto v = o.if_contains(key);
  if (!v) return -1;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return -1;
}

// A client of GET /api/v1/events reading what has arrived so far.
class EventClient {
 public:
  explicit EventClient(uint16_t port, const std::string& extra_headers = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                      extra_headers + "\r\n";
    ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
  }
  ~EventClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Reads until `what` is in the data after `from` (or the deadline); returns whether it is.
  bool wait_for(const std::string& what, std::chrono::milliseconds timeout, size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (data_.find(what, from) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[65536];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return data_.find(what, from) != std::string::npos;
      data_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& data() const { return data_; }

 private:
  int fd_ = -1;
  std::string data_;
};

std::unique_ptr<Child> ffmpeg_publisher(const Server& server, const std::string& path) {
  return std::make_unique<Child>(
      std::vector<std::string>{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi",
                               "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i",
                               "sine=frequency=440:sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast",
                               "-tune", "zerolatency", "-g", "30", "-b:v", "1M", "-c:a", "aac", "-b:a", "64k", "-f",
                               "rtsp", "-rtsp_transport", "tcp", server.rtsp_url(path)},
      ::testing::TempDir() + "sg_console_ffmpeg_" + path + ".log");
}

// Streams that stay idle: on demand, nobody reads them. One with a password in its source.
std::string idle_streams_config(int n) {
  std::string yaml = "streams:\n";
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "s%03d", i);
    yaml += std::string("  ") + id + ":\n    source: rtsp://viewer:pw-" + id + "@127.0.0.1:9/" + id +
            "\n    on_demand: true\n";
  }
  return yaml;
}

TEST(ConsoleE2e, ChromiumAddsPlaysKicksStopsAndDeletesAStream) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  Server server("webrtc:\n  consent_timeout: 30s\n");
  ASSERT_TRUE(server.ready) << server.log();
  // ffmpeg publishes to "upstream"; the console adds "cam", which pulls it over RTSP.
  auto publisher = ffmpeg_publisher(server, "upstream");
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_request(server.http_port, "GET", "/api/v1/streams/upstream");
        return r.status == 200 && r.body.find("\"ready\"") != std::string::npos;
      },
      20s))
      << server.log();
  // An RTSP reader of "upstream" for the stream page's RTSP session list to show and kick.
  Child rtsp_reader({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-rtsp_transport", "tcp", "-i",
                     server.rtsp_url("upstream"), "-f", "null", "-"},
                    ::testing::TempDir() + "sg_console_rtsp_reader.log");
  auto r = run({"node", kE2eDir + "/console.mjs", "flow", "http://127.0.0.1:" + std::to_string(server.http_port),
                server.rtsp_url("upstream"), artifacts_dir()},
               240s, "console_flow");
  auto out = result_of(r.output);
  ASSERT_EQ(r.exit_code, 0) << r.output << "\n" << server.log();
  EXPECT_NE(str(out, "sourceError").find("field 'source'"), std::string::npos) << r.output;
  EXPECT_EQ(str(out, "formError"), "");
  EXPECT_EQ(out.at("noReload"), json::value(true));
  EXPECT_NE(str(out, "row").find("H264 640×360"), std::string::npos) << r.output;
  EXPECT_GE(num(out, "webrtcFrames"), 30) << r.output;
  EXPECT_NE(str(out, "webrtcStatus").find("latency"), std::string::npos) << r.output;
  EXPECT_GE(num(out, "hlsFrames"), 30) << r.output;
  EXPECT_EQ(str(out, "hlsPressed"), "true");
  EXPECT_EQ(num(out, "kickedApiStatus"), 404) << r.output;
  EXPECT_EQ(str(out, "stoppedApiState"), "idle") << r.output;
  EXPECT_EQ(num(out, "deletedApiStatus"), 404) << r.output;
  // Every address of the stream, with the right ports.
  std::string urls = json::serialize(out.at("urls"));
  EXPECT_NE(urls.find(server.rtsp_url("cam")), std::string::npos) << urls;
  EXPECT_NE(urls.find("/cam/index.m3u8"), std::string::npos) << urls;
  EXPECT_NE(urls.find("/cam/whep"), std::string::npos) << urls;
  EXPECT_NE(str(out, "server").find("Version"), std::string::npos);
  EXPECT_NE(str(out, "server").find("rtsp"), std::string::npos);
  EXPECT_NE(str(out, "config").find("consent_timeout"), std::string::npos) << r.output;
  // The source stream's page lists its RTSP publisher and reader; kicking the reader ended its connection.
  EXPECT_NE(str(out, "rtspPublisherRow").find("publish"), std::string::npos) << r.output;
  EXPECT_NE(str(out, "rtspPublisherRow").find("tcp"), std::string::npos) << r.output;
  EXPECT_NE(str(out, "rtspReaderRow").find("read"), std::string::npos) << r.output;
  EXPECT_EQ(num(out, "rtspKickedApiStatus"), 404) << r.output;
  EXPECT_EQ(num(out, "rtspPublishersAfter"), 1) << r.output;
  EXPECT_TRUE(wait_until([&] { return !rtsp_reader.running(); }, 20s)) << "the kicked ffmpeg reader goes on";
  EXPECT_TRUE(publisher->running());
  for (std::string page : {"add-stream-error", "streams", "stream-webrtc", "stream-hls", "server", "stream-rtsp"})
    for (std::string size : {"1280x800", "390x844"})
      EXPECT_TRUE(std::filesystem::exists(artifacts_dir() + "/" + page + "-" + size + ".png")) << page << size;
}

TEST(ConsoleE2e, FiveHundredStreamsRenderInASecondAndAnUpdateTouchesOnlyItsRow) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  Server server(idle_streams_config(500));
  ASSERT_TRUE(server.ready) << server.log();
  auto r = run({"node", kE2eDir + "/console.mjs", "scale", "http://127.0.0.1:" + std::to_string(server.http_port),
                "s250", artifacts_dir()},
               120s, "console_scale");
  auto out = result_of(r.output);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(num(out, "rows"), 500);
  EXPECT_GE(num(out, "firstRenderMs"), 0);
  EXPECT_LT(num(out, "firstRenderMs"), 1000) << r.output;
  EXPECT_EQ(str(out, "stateBefore"), "idle");
  EXPECT_EQ(num(out, "startStatus"), 200);
  EXPECT_NE(str(out, "stateAfter"), "idle");
  // Only the changed stream's row saw DOM changes.
  EXPECT_EQ(json::serialize(out.at("touched")), R"(["s250"])") << r.output;
  EXPECT_EQ(json::serialize(out.at("visibleAfterFilter")), R"(["s250"])") << r.output;
}

TEST(ConsoleE2e, EventStreamSendsTheListOnceThenOnlyChangedStreams) {
  Server server(idle_streams_config(20));
  ASSERT_TRUE(server.ready) << server.log();
  EventClient client(server.http_port);
  ASSERT_TRUE(client.wait_for("event: streams\ndata: ", 5s)) << client.data();
  ASSERT_TRUE(client.wait_for("]}\n\n", 5s)) << client.data();
  EXPECT_NE(client.data().find("Content-Type: text/event-stream"), std::string::npos) << client.data();
  EXPECT_NE(client.data().find("\"id\":\"s019\""), std::string::npos);
  EXPECT_EQ(client.data().find("pw-s019"), std::string::npos);  // sources redacted as in the API
  EXPECT_NE(client.data().find("\"readers_by_protocol\":{\"rtsp\":0,\"webrtc\":0,\"hls\":0,\"rtmp\":0,\"srt\":0}"), std::string::npos);
  const size_t first = client.data().size();
  // Nothing changes: no update (a second covers two event intervals).
  EXPECT_FALSE(client.wait_for("event: update", 1200ms, first)) << client.data().substr(first);
  ASSERT_EQ(http_request(server.http_port, "POST", "/api/v1/streams/s007/start").status, 200);
  ASSERT_TRUE(client.wait_for("event: update", 5s, first)) << client.data().substr(first);
  ASSERT_TRUE(client.wait_for("]}\n\n", 5s, first));
  auto update = client.data().substr(client.data().find("event: update", first));
  update = update.substr(0, update.find("\n\n"));
  EXPECT_NE(update.find("\"id\":\"s007\""), std::string::npos) << update;
  EXPECT_EQ(update.find("\"id\":\"s006\""), std::string::npos) << update;
  EXPECT_EQ(update.find("\"id\":\"s008\""), std::string::npos) << update;
  // A removed stream is announced by id.
  const size_t second = client.data().size();
  ASSERT_EQ(http_request(server.http_port, "DELETE", "/api/v1/streams/s011").status, 204);
  ASSERT_TRUE(client.wait_for("\"removed\":[\"s011\"]", 5s, second)) << client.data().substr(second);
}

TEST(ConsoleE2e, EventClientsOverTheLimitAreRefused) {
  Server server;
  ASSERT_TRUE(server.ready) << server.log();
  std::vector<std::unique_ptr<EventClient>> clients;
  for (int i = 0; i < 32; ++i) {
    clients.push_back(std::make_unique<EventClient>(server.http_port));
    ASSERT_TRUE(clients.back()->wait_for("event: streams", 5s)) << i;
  }
  EventClient over(server.http_port);
  ASSERT_TRUE(over.wait_for("\r\n\r\n", 5s));
  EXPECT_EQ(over.data().rfind("HTTP/1.1 503", 0), 0u) << over.data();
  auto s = http_request(server.http_port, "GET", "/api/v1/server");
  EXPECT_NE(s.body.find("\"event_clients\":32"), std::string::npos) << s.body;
  // A client that leaves frees its place.
  clients.pop_back();
  ASSERT_TRUE(wait_until(
      [&] {
        EventClient again(server.http_port);
        return again.wait_for("event: streams", 2s);
      },
      10s));
}

// GET /api/v1/rtsp/sessions[?stream=], as JSON.
json::array rtsp_sessions(const Server& server, const std::string& query = "") {
  auto r = http_request(server.http_port, "GET", "/api/v1/rtsp/sessions" + query);
  if (r.status != 200) return {};
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("items")) return {};
  return v.as_object().at("items").as_array();
}

const json::object* find_session(const json::array& items, std::string_view key, std::string_view value) {
  for (const auto& v : items)
    if (v.is_object() && str(v.as_object(), key) == value) return &v.as_object();
  return nullptr;
}

TEST(RtspSessionsApi, ListsPublisherAndReadersAndKickEndsOnlyTheKickedReader) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  Server server;
  ASSERT_TRUE(server.ready) << server.log();
  auto publisher = ffmpeg_publisher(server, "cam");
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_request(server.http_port, "GET", "/api/v1/streams/cam");
        return r.status == 200 && r.body.find("\"ready\"") != std::string::npos;
      },
      20s))
      << server.log();
  RawRtspReader tcp_reader(server.rtsp_port, server.rtsp_url("cam"), true);
  ASSERT_TRUE(tcp_reader.play()) << tcp_reader.error();
  RawRtspReader udp_reader(server.rtsp_port, server.rtsp_url("cam"), false);
  ASSERT_TRUE(udp_reader.play()) << udp_reader.error();

  // The publisher and both readers, with media counted both ways.
  json::array items;
  ASSERT_TRUE(wait_until(
      [&] {
        tcp_reader.read_until([&] { return !tcp_reader.packets().empty(); }, 200ms);
        items = rtsp_sessions(server, "?stream=cam");
        if (items.size() != 3) return false;
        for (const auto& v : items)
          if (num(v.as_object(), str(v.as_object(), "role") == "publish" ? "bytes_received" : "bytes_sent") <= 0)
            return false;
        return true;
      },
      20s))
      << json::serialize(items);
  const auto* pub = find_session(items, "role", "publish");
  ASSERT_NE(pub, nullptr) << json::serialize(items);
  EXPECT_EQ(str(*pub, "stream"), "cam");
  EXPECT_EQ(str(*pub, "state"), "recording");
  EXPECT_EQ(str(*pub, "transport"), "tcp");  // ffmpeg -rtsp_transport tcp
  EXPECT_GT(num(*pub, "packets_received"), 0);
  EXPECT_EQ(str(*pub, "remote").rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(str(*pub, "created").size(), 24u) << str(*pub, "created");  // 2026-12-02T00:48:45.123Z
  EXPECT_EQ(str(*pub, "created").back(), 'Z');
  const json::object* tcp_entry = nullptr;
  for (const auto& v : items)
    if (&v.as_object() != pub && str(v.as_object(), "transport") == "tcp") tcp_entry = &v.as_object();
  const auto* udp_entry = find_session(items, "transport", "udp");
  ASSERT_NE(tcp_entry, nullptr) << json::serialize(items);
  ASSERT_NE(udp_entry, nullptr) << json::serialize(items);
  for (const auto* r : {tcp_entry, udp_entry}) {
    EXPECT_EQ(str(*r, "role"), "read");
    EXPECT_EQ(str(*r, "stream"), "cam");
    EXPECT_EQ(str(*r, "state"), "playing");
    EXPECT_GT(num(*r, "packets_sent"), 0);
  }
  const std::string kicked = str(*tcp_entry, "id"), kept = str(*udp_entry, "id"), pub_id = str(*pub, "id");
  EXPECT_EQ(rtsp_sessions(server).size(), 3u);
  EXPECT_TRUE(rtsp_sessions(server, "?stream=other").empty());
  auto one = http_request(server.http_port, "GET", "/api/v1/rtsp/sessions/" + kicked);
  EXPECT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("\"role\":\"read\""), std::string::npos) << one.body;

  // Kick the TCP reader: its connection ends (EOF), it leaves the list; the other reader and the publisher go on.
  auto del = http_request(server.http_port, "DELETE", "/api/v1/rtsp/sessions/" + kicked);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(tcp_reader.read_until([&] { return tcp_reader.eof(); }, 20s));
  EXPECT_TRUE(wait_until([&] { return !find_session(rtsp_sessions(server), "id", kicked); }, 10s));
  EXPECT_EQ(http_request(server.http_port, "GET", "/api/v1/rtsp/sessions/" + kicked).status, 404);
  const size_t before = udp_reader.packets().size();
  EXPECT_TRUE(udp_reader.read_until([&] { return udp_reader.packets().size() > before + 50; }, 20s));
  EXPECT_FALSE(udp_reader.eof());
  items = rtsp_sessions(server, "?stream=cam");
  EXPECT_NE(find_session(items, "id", kept), nullptr) << json::serialize(items);
  EXPECT_NE(find_session(items, "id", pub_id), nullptr) << json::serialize(items);
  EXPECT_TRUE(publisher->running());
  EXPECT_NE(http_request(server.http_port, "GET", "/api/v1/streams/cam").body.find("\"ready\""), std::string::npos);
  EXPECT_NE(server.log().find("rtsp session kicked"), std::string::npos);

  EXPECT_EQ(http_request(server.http_port, "DELETE", "/api/v1/rtsp/sessions/0123456789abcdef").status, 404);
  EXPECT_EQ(http_request(server.http_port, "GET", "/api/v1/rtsp/sessions/0123456789abcdef").status, 404);
}

TEST(ConsoleE2e, ServerEndpointShowsVersionSessionsAndTheConfigRedacted) {
  Server server(idle_streams_config(2) +
                "auth:\n  method: internal\n  internal_users:\n    - user: admin\n      pass: t0p-secret\n"
                "      permissions: [api]\n");
  ASSERT_TRUE(server.ready) << server.log();
  auto r = http_raw(server.http_port,
                    "GET /api/v1/server HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " +
                        std::string("YWRtaW46dDBwLXNlY3JldA==") + "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.raw << server.log();
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(str(v, "version"), SG_VERSION);
  EXPECT_GE(num(v, "uptime_seconds"), 0);
  EXPECT_GT(num(v, "memory_rss_bytes"), 0);
  EXPECT_GE(num(v, "cpu_seconds"), 0);
  const auto& sessions = v.at("sessions").as_object();
  EXPECT_TRUE(sessions.contains("rtsp") && sessions.contains("webrtc") && sessions.contains("hls_muxers"));
  EXPECT_EQ(v.at("ports").as_object().at("rtsp").as_int64(), server.rtsp_port);
  auto text = str(v.at("config").as_object(), "text");
  EXPECT_NE(text.find("s001"), std::string::npos) << text;
  EXPECT_EQ(text.find("t0p-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("pw-s001"), std::string::npos) << text;
  EXPECT_NE(text.find("pass: \"***\""), std::string::npos) << text;
}

TEST(ConsoleE2e, WithAuthTheConsoleAsksForBasicCredentials) {
  Server server(
      "auth:\n  method: internal\n  internal_users:\n    - user: admin\n      pass: adm1n-secret\n"
      "      permissions: [api]\n");
  ASSERT_TRUE(server.ready) << server.log();
  auto page = http_request(server.http_port, "GET", "/");
  EXPECT_EQ(page.status, 401);
  EXPECT_EQ(page.headers["www-authenticate"], "Basic realm=\"streamgate\"");
  EventClient anonymous(server.http_port);
  ASSERT_TRUE(anonymous.wait_for("\r\n\r\n", 5s));
  EXPECT_EQ(anonymous.data().rfind("HTTP/1.1 401", 0), 0u) << anonymous.data();
  const std::string basic = "Authorization: Basic YWRtaW46YWRtMW4tc2VjcmV0\r\n";
  auto ok = http_raw(server.http_port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + basic + "Connection: close\r\n\r\n");
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("/assets/console.js"), std::string::npos);
  EventClient admin(server.http_port, basic);
  EXPECT_TRUE(admin.wait_for("event: streams", 5s)) << admin.data();
}

}  // namespace
}  // namespace sg::test
