// The security rules of the HTTP side, against a running server over real sockets: exec sources never come from a
// request, browsers cannot make cross-site changes (Origin, Content-Type) or reach the API through a foreign Host
// (DNS rebinding), CORS only for listed origins, and the API and metrics ask the authorization point (internal
// users: no credentials / wrong password -> 401, right user without the permission -> 403, right user -> 200).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "../support/client_requests.hpp"
#include "../support/http_client.hpp"
#include "app/app.hpp"
#include "app/config.hpp"

namespace sg::api {
namespace {

using namespace std::chrono_literals;
using test::http_raw;
using test::http_request;

std::string basic(const std::string& user, const std::string& pass) { return test::basic_authorization(user, pass); }

class Running {
 public:
  explicit Running(const std::string& yaml) {
    auto c = app::parse_config(yaml, "test.yaml");
    EXPECT_TRUE(c) << c.error();
    if (!c) return;
    c->http = {"127.0.0.1", 0};
    c->rtsp = {"127.0.0.1", 0};
    c->webrtc_udp = {"127.0.0.1", 0};
    c->workers = 2;
    app_ = std::make_unique<app::App>(*c);
    auto st = app_->start();
    EXPECT_TRUE(st) << st.error();
    port = app_->http_port();
  }
  ~Running() {
    if (app_) app_->stop();
  }
  // A request with extra header lines ("Name: value\r\n").
  test::HttpReply request(const std::string& method, const std::string& target, const std::string& headers,
                          const std::string& body = {}, const std::string& content_type = {}) const {
    std::string raw = method + " " + target + " HTTP/1.1\r\nConnection: close\r\n" + headers;
    if (headers.find("Host:") == std::string::npos) raw += "Host: 127.0.0.1\r\n";
    if (!content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
    if (!body.empty() || method == "POST") raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    return http_raw(port, raw);
  }
  media::StreamRegistry& registry() { return app_->registry(); }
  uint16_t port = 0;

 private:
  std::unique_ptr<app::App> app_;
};

TEST(ApiSecurity, ExecSourceThroughTheApiIsRefusedWith403AndNothingRuns) {
  std::string marker = ::testing::TempDir() + "sg_owned_" + std::to_string(::getpid());
  std::filesystem::remove(marker);
  Running s("streams: {}\n");
  auto r = http_request(s.port, "POST", "/api/v1/streams",
                        R"({"id":"x","source":"exec:touch )" + marker + R"("})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("config file"), std::string::npos) << r.body;
  EXPECT_EQ(s.registry().find("x"), nullptr);
  std::this_thread::sleep_for(1500ms);  // an exec source would have run by now (it starts at once)
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(ApiSecurity, ExecSourceThroughTheApiRunsOnlyWhenTheConfigAllowsIt) {
  std::string marker = ::testing::TempDir() + "sg_allowed_" + std::to_string(::getpid());
  std::filesystem::remove(marker);
  ::setenv("SG_EXEC_SUPERVISOR", SG_BINARY, 1);  // this test program embeds the server: exec needs the real binary
  Running s("api: { allow_exec: true }\n");
  auto r = http_request(s.port, "POST", "/api/v1/streams",
                        R"({"id":"x","source":"exec:touch )" + marker + R"("})");
  EXPECT_EQ(r.status, 201) << r.body;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!std::filesystem::exists(marker) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::filesystem::remove(marker);
}

TEST(ApiSecurity, PullSourcesCreatedThroughTheApiMustMatchAllowedPatterns) {
  Running s("api: { allowed_sources: ['~rtsp://10\\.0\\.0\\.[0-9]+(:[0-9]+)?/.*'] }\n");
  auto bad = http_request(s.port, "POST", "/api/v1/streams", R"({"id":"a","source":"rtsp://169.254.169.254/x"})");
  EXPECT_EQ(bad.status, 403) << bad.body;
  auto good = http_request(s.port, "POST", "/api/v1/streams", R"({"id":"b","source":"rtsp://10.0.0.5:554/x"})");
  EXPECT_EQ(good.status, 201) << good.body;
}

TEST(ApiSecurity, CrossSiteTextPlainPostChangesNothing) {
  Running s("streams: { seeded: { source: publisher } }\n");
  auto create = s.request("POST", "/api/v1/streams", "Origin: http://evil.example\r\n",
                          R"({"id":"x","source":"publisher"})", "text/plain");
  EXPECT_GE(create.status, 400) << create.raw;
  EXPECT_EQ(s.registry().find("x"), nullptr);
  // The same body as text/plain without an Origin (not a browser) is still not JSON to the API.
  auto plain = s.request("POST", "/api/v1/streams", "", R"({"id":"y","source":"publisher"})", "text/plain");
  EXPECT_EQ(plain.status, 415) << plain.raw;
  EXPECT_EQ(s.registry().find("y"), nullptr);
  // Body-less state changes from a foreign page: refused by Origin.
  auto del = s.request("DELETE", "/api/v1/streams/seeded", "Origin: http://evil.example\r\n");
  EXPECT_EQ(del.status, 403) << del.raw;
  auto stop = s.request("POST", "/api/v1/streams/seeded/stop", "Origin: http://evil.example\r\n");
  EXPECT_EQ(stop.status, 403) << stop.raw;
  EXPECT_NE(s.registry().find("seeded"), nullptr);
  // Our own origin may (the stream list page calls the API).
  auto own = s.request("POST", "/api/v1/streams", "Origin: http://127.0.0.1:" + std::to_string(s.port) + "\r\nHost: 127.0.0.1:" +
                                                      std::to_string(s.port) + "\r\n",
                       R"({"id":"z","source":"publisher"})", "application/json");
  EXPECT_EQ(own.status, 201) << own.raw;
}

TEST(ApiSecurity, CorsHeadersOnlyForListedOrigins) {
  Running s("server: { cors_origins: ['https://console.example'] }\n");
  auto listed = s.request("GET", "/api/v1/streams", "Origin: https://console.example\r\n");
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(listed.headers["access-control-allow-origin"], "https://console.example");
  auto other = s.request("GET", "/api/v1/streams", "Origin: https://evil.example\r\n");
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
  auto preflight = s.request("OPTIONS", "/api/v1/streams",
                             "Origin: https://console.example\r\nAccess-Control-Request-Method: POST\r\n");
  EXPECT_EQ(preflight.status, 204) << preflight.raw;
  EXPECT_NE(preflight.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  auto evil_preflight = s.request("OPTIONS", "/api/v1/streams",
                                  "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
  EXPECT_NE(evil_preflight.status, 204);
  EXPECT_EQ(evil_preflight.headers.count("access-control-allow-origin"), 0u);
  auto cross = s.request("POST", "/api/v1/streams", "Origin: https://evil.example\r\n",
                         R"({"id":"x","source":"publisher"})", "application/json");
  EXPECT_EQ(cross.status, 403);
  auto from_console = s.request("POST", "/api/v1/streams", "Origin: https://console.example\r\n",
                                R"({"id":"x","source":"publisher"})", "application/json");
  EXPECT_EQ(from_console.status, 201) << from_console.raw;
}

TEST(ApiSecurity, ForeignHostIsRefusedWhenNamesAreConfigured) {
  Running s("server: { allowed_hosts: [streamgate.test] }\n");
  EXPECT_EQ(s.request("GET", "/api/v1/streams", "Host: evil.example\r\n").status, 421);
  EXPECT_EQ(s.request("GET", "/metrics", "Host: evil.example:8080\r\n").status, 421);
  EXPECT_EQ(s.request("GET", "/x/index.m3u8", "Host: evil.example\r\n").status, 421);
  EXPECT_EQ(s.request("GET", "/api/v1/streams", "Host: streamgate.test:8080\r\n").status, 200);
  EXPECT_EQ(s.request("GET", "/api/v1/streams", "Host: 127.0.0.1\r\n").status, 200);
}

TEST(ApiSecurity, WithoutConfiguredNamesTheApiStillRefusesDnsNames) {
  // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 must not reach the anonymous,
  // localhost-only API; media routes answer any name.
  Running s("streams: {}\n");
  EXPECT_EQ(s.request("GET", "/api/v1/streams", "Host: evil.example\r\n").status, 421);
  EXPECT_EQ(s.request("GET", "/api/v1/streams", "Host: localhost:8080\r\n").status, 200);
  EXPECT_EQ(s.request("GET", "/nothing/index.m3u8", "Host: evil.example\r\n").status, 404);
}

const char* kUsersYaml = R"(auth:
  internal_users:
    - user: admin
      pass: adm1n-secret
      permissions: [api, metrics]
    - user: auditor
      pass: "sha256:CYLicg21d1Vo36/oPnN0tW2Uao72cwgInVNB7BpTKzc="
      permissions: [api_read]
    - user: viewer
      pass: v1ew@pass
      permissions: [{action: read, path: cam}]
)";

TEST(ApiSecurity, ApiAndMetricsAskTheAuthorizationPoint) {
  Running s(kUsersYaml);
  for (std::string target : {"/api/v1/streams", "/metrics", "/api/v1/webrtc/sessions"}) {
    auto none = s.request("GET", target, "");
    EXPECT_EQ(none.status, 401) << target;
    EXPECT_NE(none.headers["www-authenticate"].find("Basic"), std::string::npos);
    EXPECT_EQ(s.request("GET", target, "Authorization: " + basic("admin", "wrong") + "\r\n").status, 401) << target;
    EXPECT_EQ(s.request("GET", target, "Authorization: " + basic("viewer", "v1ew@pass") + "\r\n").status, 403) << target;
    EXPECT_EQ(s.request("GET", target, "Authorization: " + basic("admin", "adm1n-secret") + "\r\n").status, 200) << target;
  }
  EXPECT_EQ(s.request("GET", "/healthz", "").status, 200);  // probes stay open
}

TEST(ApiSecurity, ReadOnlyApiUserCanListButNotChange) {
  Running s(kUsersYaml);
  // auditor's password is stored as sha256: (base64 of SHA-256 of "audit-pass").
  const std::string auditor = "Authorization: " + basic("auditor", "audit-pass") + "\r\n";
  EXPECT_EQ(s.request("GET", "/api/v1/streams", auditor).status, 200);
  EXPECT_EQ(s.request("POST", "/api/v1/streams", auditor, R"({"id":"x","source":"publisher"})", "application/json").status, 403);
  EXPECT_EQ(s.registry().find("x"), nullptr);
  const std::string admin = "Authorization: " + basic("admin", "adm1n-secret") + "\r\n";
  EXPECT_EQ(s.request("POST", "/api/v1/streams", admin, R"({"id":"x","source":"publisher"})", "application/json").status, 201);
}

TEST(ApiSecurity, RepeatedFailedLoginsFromAnAddressAreBlockedFor429) {
  Running s(std::string(kUsersYaml) + "  max_failures: 5\n  block_time: 30s\n");
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(s.request("GET", "/metrics", "Authorization: " + basic("admin", "guess" + std::to_string(i)) + "\r\n").status, 401);
  // Even the right password is refused while the address is blocked.
  EXPECT_EQ(s.request("GET", "/metrics", "Authorization: " + basic("admin", "adm1n-secret") + "\r\n").status, 429);
}

}  // namespace
}  // namespace sg::api
