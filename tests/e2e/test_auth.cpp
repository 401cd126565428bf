// Authorization end to end, for each source of truth (internal users, JWT against a JWKS served over HTTP, the HTTP
// callout) and each protocol (RTSP over TCP and UDP with ffprobe, HLS, WHEP, /ws, the API, /metrics): no
// credentials -> refused, wrong password (or a token signed by another key) -> refused, right user without the
// permission -> refused, right user -> works. Then no password or token used here appears in the API, the metrics
// or the log, including one with '@', one in an exec command line and one in a pull source.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "../support/client_requests.hpp"
#include "../support/ffmpeg_source.hpp"
#include "../support/http_client.hpp"
#include "../support/jwt_maker.hpp"
#include "../support/process.hpp"

namespace sg::test {
namespace {

const std::string kE2eDir = SG_SOURCE_DIR "/tests/e2e";

const std::string& kOffer = test::kMinimalOffer;

// What a client presents: user + password (Basic, RTSP Digest/Basic), or a bearer token.
struct Creds {
  std::string user, pass, token;
  bool none() const { return user.empty() && token.empty(); }
  std::string header() const {
    if (!token.empty()) return "Authorization: Bearer " + token + "\r\n";
    if (!user.empty()) return "Authorization: " + test::basic_authorization(user, pass) + "\r\n";
    return "";
  }
  // An RTSP URL: user and password in the user info, a token as ?jwt= (RTSP clients cannot send a bearer token,
  // and ffmpeg truncates a user info longer than 127 bytes).
  std::string rtsp_url(uint16_t port, const std::string& path) const {
    std::string userinfo = user.empty() ? "" : user + ":" + pass + "@";
    std::string query = token.empty() ? "" : "?jwt=" + token;
    return "rtsp://" + userinfo + "127.0.0.1:" + std::to_string(port) + "/" + path + query;
  }
};

struct Cases {
  Creds none, wrong, no_permission, right;
};

HttpReply request(uint16_t port, const std::string& method, const std::string& target, const Creds& c,
                  const std::string& body = {}, const std::string& type = {}, const std::string& extra = {},
                  int timeout_ms = 15000) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    (extra.find("Connection:") == std::string::npos ? "Connection: close\r\n" : "") + c.header() +
                    extra;
  if (!type.empty()) raw += "Content-Type: " + type + "\r\n";
  if (!body.empty() || method == "POST") raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return http_raw(port, raw + "\r\n" + body, timeout_ms);
}

class AuthE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("ffmpeg") || !have_program("ffprobe") || !have_program("python3"))
      GTEST_SKIP() << "ffmpeg/ffprobe/python3 not installed";
    dir_ = ::testing::TempDir() + "sg_auth_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }

  // The auth test peer (JWKS files and the callout) on a free port.
  void start_auth_service() {
    service_port_ = free_port();
    service_ = std::make_unique<Child>(
        std::vector<std::string>{"python3", kE2eDir + "/auth_service.py", std::to_string(service_port_), dir_},
        dir_ + "/auth_service.log");
    ASSERT_TRUE(wait_until([&] { return http_request(service_port_, "GET", "/none").status == 404; }, 10s));
  }

  // The server with `auth_yaml`, two extra streams whose sources hold passwords, and an ffmpeg publisher of "cam".
  void start(const std::string& auth_yaml, const Creds& publisher) {
    // Each "wrong" case fails a login from 127.0.0.1 once per protocol: keep the per-address limit out of the way
    // (tests/api/test_security.cpp tests it).
    std::string yaml = auth_yaml + "  max_failures: 100000\n" +
                       "streams:\n"
                       "  cam: { source: publisher }\n"
                       "  pulled: { source: \"rtsp://cam:p@ss@127.0.0.1:9/x\" }\n"
                       "  scripted: { source: \"exec:ffmpeg -hide_banner -loglevel error -i "
                       "rtsp://cam:ex3cpass@127.0.0.1:9/none -c copy -f rtsp rtsp://127.0.0.1:$RTSP_PORT/$STREAM\" }\n";
    server_ = std::make_unique<Server>(yaml);
    ASSERT_TRUE(server_->ready) << server_->log();
    publisher_ = std::make_unique<Child>(then(ffmpeg_source({}), {"-f", "rtsp", "-rtsp_transport", "tcp",
                                                                  publisher.rtsp_url(server_->rtsp_port, "cam")}),
                                         dir_ + "/publisher.log");
    ASSERT_TRUE(wait_until([&] { return server_->log().find("RTSP publisher recording") != std::string::npos; }, 20s))
        << server_->log() << publisher_->log();
  }

  // ffprobe reads the stream's codec over RTSP; true when it printed h264.
  bool ffprobe(const Creds& c, const std::string& transport, std::string* out = nullptr) {
    auto r = run({"ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries", "stream=codec_name", "-of",
                  "csv=p=0", c.rtsp_url(server_->rtsp_port, "cam")},
                 30s, "auth_ffprobe");
    if (out) *out = r.output;
    return r.exit_code == 0 && r.output.find("h264") != std::string::npos;
  }

  // Every protocol x {none, wrong, no permission, right}.
  void check_every_protocol(const Cases& cases, const Cases& api, const std::string& ws_query_token = {}) {
    const uint16_t port = server_->http_port;
    struct Case {
      const char* name;
      const Creds* creds;
      bool allowed;
    };
    const Case read_cases[] = {{"no credentials", &cases.none, false},
                               {"wrong credentials", &cases.wrong, false},
                               {"no permission", &cases.no_permission, false},
                               {"right user", &cases.right, true}};
    for (const auto& c : read_cases) {
      SCOPED_TRACE(c.name);
      for (std::string transport : {"tcp", "udp"}) {
        std::string out;
        EXPECT_EQ(ffprobe(*c.creds, transport, &out), c.allowed) << "RTSP/" << transport << ": " << out;
        if (!c.allowed) {
          EXPECT_TRUE(out.find("401") != std::string::npos || out.find("403") != std::string::npos) << out;
        }
      }
      auto hls = request(port, "GET", "/cam/index.m3u8", *c.creds);
      if (c.allowed) {
        EXPECT_EQ(hls.status, 200) << hls.raw;
        EXPECT_EQ(hls.body.rfind("#EXTM3U", 0), 0u) << hls.body;
      } else {
        EXPECT_TRUE(hls.status == 401 || hls.status == 403) << "HLS " << hls.status;
      }
      auto whep = request(port, "POST", "/cam/whep", *c.creds, kOffer, "application/sdp");
      EXPECT_EQ(whep.status == 201, c.allowed) << "WHEP " << whep.raw;
      if (!c.allowed) {
        EXPECT_TRUE(whep.status == 401 || whep.status == 403) << "WHEP " << whep.status;
      }
      if (whep.status == 201) {
        auto del = request(port, "DELETE", whep.headers["location"], *c.creds);
        EXPECT_EQ(del.status, 200) << del.raw;
      }
      // /ws: browsers cannot set headers on a WebSocket: a token goes in ?jwt=, a password in Basic.
      Creds ws_creds = *c.creds;
      std::string target = "/ws/cam";
      if (!ws_query_token.empty() && !ws_creds.token.empty()) {
        target += "?jwt=" + ws_creds.token;
        ws_creds.token.clear();
      }
      auto ws = request(port, "GET", target, ws_creds, {}, {},
                        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                        1500);  // a 101 has no length: read what arrives within 1.5 s
      EXPECT_EQ(ws.status == 101, c.allowed) << "/ws " << ws.raw;
      if (!c.allowed) {
        EXPECT_TRUE(ws.status == 401 || ws.status == 403) << "/ws " << ws.status;
      }
    }
    const Case api_cases[] = {{"API: no credentials", &api.none, false},
                              {"API: wrong credentials", &api.wrong, false},
                              {"API: no permission", &api.no_permission, false},
                              {"API: right user", &api.right, true}};
    for (const auto& c : api_cases) {
      SCOPED_TRACE(c.name);
      for (std::string target : {"/api/v1/streams", "/metrics"}) {
        auto r = request(port, "GET", target, *c.creds);
        if (c.allowed) {
          EXPECT_EQ(r.status, 200) << target;
        } else {
          EXPECT_TRUE(r.status == 401 || r.status == 403) << target << " " << r.status;
        }
      }
    }
  }

  // No secret in the API, the metrics or the log.
  void check_no_secret_leaks(const Creds& api_user, std::vector<std::string> secrets) {
    // Give the exec source time to fail once (its stderr then lands in last_error and the log).
    wait_until(
        [&] {
          auto r = request(server_->http_port, "GET", "/api/v1/streams/scripted", api_user);
          return r.body.find("\"error\"") != std::string::npos;
        },
        15s);
    auto streams = request(server_->http_port, "GET", "/api/v1/streams", api_user);
    ASSERT_EQ(streams.status, 200);
    EXPECT_NE(streams.body.find("rtsp://cam:***@127.0.0.1:9/x"), std::string::npos) << streams.body;
    auto metrics = request(server_->http_port, "GET", "/metrics", api_user);
    ASSERT_EQ(metrics.status, 200);
    auto log = server_->log();
    EXPECT_NE(log.find("exec source started"), std::string::npos);
    secrets.push_back("p@ss");
    secrets.push_back("ex3cpass");
    for (const auto& s : secrets) {
      if (s.empty()) continue;
      EXPECT_EQ(streams.body.find(s), std::string::npos) << "API leaks " << s << ": " << streams.body;
      EXPECT_EQ(metrics.body.find(s), std::string::npos) << "metrics leak " << s;
      EXPECT_EQ(log.find(s), std::string::npos) << "log leaks " << s << "\n" << log;
    }
  }

  std::string dir_;
  uint16_t service_port_ = 0;
  std::unique_ptr<Child> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Child> publisher_;
};

TEST_F(AuthE2e, InternalUsersDecideEveryProtocol) {
  start(R"(auth:
  method: internal
  internal_users:
    - user: pub
      pass: pubsecret
      permissions: [publish]
    - user: viewer
      pass: v1ew@pass
      permissions: [{action: read, path: cam}]
    - user: other
      pass: otherpass
      permissions: [{action: read, path: "~^elsewhere.*"}]
    - user: admin
      pass: adm1n-secret
      permissions: [api, metrics]
)",
        {"pub", "pubsecret", ""});
  Cases read{{}, {"viewer", "wrong", ""}, {"other", "otherpass", ""}, {"viewer", "v1ew@pass", ""}};
  Cases api{{}, {"admin", "nope", ""}, {"viewer", "v1ew@pass", ""}, {"admin", "adm1n-secret", ""}};
  check_every_protocol(read, api);
  check_no_secret_leaks(api.right, {"v1ew@pass", "pubsecret", "otherpass", "adm1n-secret"});
}

TEST_F(AuthE2e, JwtFromAJwksDecidesEveryProtocol) {
  start_auth_service();
  auto key = JwtKey::rsa("k1");
  auto ec_key = JwtKey::ec("k2");
  auto stranger = JwtKey::rsa("k1");  // same kid, another key: its signatures must not verify
  std::ofstream(dir_ + "/jwks.json") << jwks_json({&key, &ec_key});
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto claims = [&](const std::string& perms) {
    return R"({"sub":"t","exp":)" + std::to_string(now + 3600) + R"(,"streamgate_permissions":)" + perms + "}";
  };
  std::string publish = key.sign(claims(R"([{"action":"publish","path":"cam"}])"));
  std::string read = ec_key.sign(claims(R"([{"action":"read","path":"cam"}])"));
  std::string forged = stranger.sign(claims(R"([{"action":"read","path":"cam"}])"));
  std::string elsewhere = key.sign(claims(R"([{"action":"read","path":"elsewhere"}])"));
  std::string admin = key.sign(claims(R"([{"action":"api"},{"action":"metrics"}])"));
  std::string forged_admin = stranger.sign(claims(R"([{"action":"api"},{"action":"metrics"}])"));
  start("auth:\n  method: jwt\n  internal_users: []\n  jwt_jwks: http://127.0.0.1:" + std::to_string(service_port_) +
            "/jwks.json\n",
        {"", "", publish});
  Cases r{{}, {"", "", forged}, {"", "", elsewhere}, {"", "", read}};
  Cases api{{}, {"", "", forged_admin}, {"", "", read}, {"", "", admin}};
  check_every_protocol(r, api, "query");
  // A player that can put the token only in the playlist's URL: the playlists hand it on to every URI in them
  // (media playlist, init segment, segments, parts), so ffprobe reads the stream over HLS.
  auto hls = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                  server_->http_url("cam/index.m3u8?jwt=" + read)},
                 60s, "auth_ffprobe_hls");
  EXPECT_EQ(hls.exit_code, 0) << hls.output;
  EXPECT_NE(hls.output.find("h264"), std::string::npos) << hls.output;
  check_no_secret_leaks(api.right, {publish, read, admin, forged});
}

TEST_F(AuthE2e, HttpCalloutDecidesEveryProtocol) {
  start_auth_service();
  std::ofstream(dir_ + "/rules.json") << R"([
    {"user": "pub", "pass": "pubsecret", "action": "publish", "path": "cam"},
    {"user": "viewer", "pass": "v1ew@pass", "action": "read", "path": "cam"},
    {"user": "other", "pass": "otherpass", "action": "read", "path": "elsewhere"},
    {"user": "admin", "pass": "adm1n-secret", "action": "api"},
    {"user": "admin", "pass": "adm1n-secret", "action": "metrics"}])";
  start("auth:\n  method: http\n  internal_users: []\n  http_cache: 0s\n  http_address: http://127.0.0.1:" +
            std::to_string(service_port_) + "/auth\n",
        {"pub", "pubsecret", ""});
  Cases read{{}, {"viewer", "wrong", ""}, {"other", "otherpass", ""}, {"viewer", "v1ew@pass", ""}};
  Cases api{{}, {"admin", "nope", ""}, {"viewer", "v1ew@pass", ""}, {"admin", "adm1n-secret", ""}};
  check_every_protocol(read, api);
  check_no_secret_leaks(api.right, {"v1ew@pass", "pubsecret", "otherpass", "adm1n-secret"});
  // The callout got what MediaMTX's sends: user, password, ip, action, path, protocol.
  std::ifstream f(dir_ + "/callouts.log");
  std::string calls((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(calls.find(R"("action":"publish")"), std::string::npos) << calls;
  EXPECT_NE(calls.find(R"("protocol":"rtsp")"), std::string::npos) << calls;
  EXPECT_NE(calls.find(R"("protocol":"hls")"), std::string::npos) << calls;
  EXPECT_NE(calls.find(R"("ip":"127.0.0.1")"), std::string::npos) << calls;
}

TEST_F(AuthE2e, CalloutServiceDownDenies) {
  uint16_t dead = free_port();
  start(
      "auth:\n  method: http\n  internal_users: [{user: pub, pass: pubsecret, permissions: [publish]}]\n"
      "  http_address: http://127.0.0.1:" +
          std::to_string(dead) + "/auth\n",
      {"pub", "pubsecret", ""});
  EXPECT_FALSE(ffprobe({"viewer", "v1ew@pass", ""}, "tcp"));
  auto r = request(server_->http_port, "GET", "/cam/index.m3u8", {"viewer", "v1ew@pass", ""});
  EXPECT_EQ(r.status, 401);
}

}  // namespace
}  // namespace sg::test
