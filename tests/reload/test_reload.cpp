// Live config reload against the real binary, through the API, SIGHUP and a file change (Kubernetes ConfigMap
// symlink swap, seen by inotify). Three exec-source streams (ffmpeg test pattern) are each read by an RTSP reader
// (bench/rtsp_readers) and a WebRTC viewer (bench/webrtc_viewers); the new config keeps one unchanged, removes one,
// changes one and adds one. The unchanged stream's readers get every packet across the reload on the same session;
// the removed and changed streams' readers are closed; the added one plays. A broken file changes nothing and logs
// file:line.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "../support/process.hpp"
#include "media/stream_registry.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr double kReadSeconds = 7;

std::string bench_tool(const std::string& name) {
  return (fs::path(SG_BINARY).parent_path() / "bench" / name).string();
}

// A small H.264 test pattern (no audio) published into the stream by the server's exec source.
std::string exec_stream(const std::string& id, const std::string& pattern = "testsrc2") {
  return "  " + id +
         ":\n"
         "    source: >-\n"
         "      exec:ffmpeg -hide_banner -loglevel error -re -f lavfi -i " +
         pattern +
         "=size=160x120:rate=15 -an -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -pix_fmt yuv420p\n"
         "      -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$STREAM\n";
}

const std::string kBefore = "streams:\n" + exec_stream("keep") + exec_stream("drop") + exec_stream("change");
const std::string kAfter =
    "streams:\n" + exec_stream("keep") + exec_stream("change", "smptebars") + exec_stream("added");
// Line 3 has a source no stream can have.
const std::string kBroken = "streams:\n  keep:\n    source: bogus://x\n";

json::value get_json(const Server& s, const std::string& target) {
  auto r = http_request(s.http_port, "GET", target);
  boost::system::error_code ec;
  auto v = r.status == 200 ? json::parse(r.body, ec) : json::value(nullptr);
  return ec ? json::value(nullptr) : v;
}

bool stream_has(const Server& s, const std::string& id, const std::string& key, const json::value& want) {
  auto v = get_json(s, "/api/v1/streams/" + id);
  return v.is_object() && v.as_object().contains(key) && v.at(key) == want;
}

bool stream_exists(const Server& s, const std::string& id) {
  return http_request(s.http_port, "GET", "/api/v1/streams/" + id).status == 200;
}

// The last JSON line a bench tool printed.
json::value tool_result(const Child& c) {
  std::istringstream in(c.log());
  std::string line, last;
  while (std::getline(in, line))
    if (line.starts_with("{")) last = line;
  boost::system::error_code ec;
  auto v = json::parse(last, ec);
  return ec ? json::value(nullptr) : v;
}

int64_t num(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* p = &v;
  for (auto k : path) {
    if (!p->is_object() || !p->as_object().contains(k)) return -1;
    p = &p->at(k);
  }
  return p->is_int64() ? p->as_int64() : p->is_uint64() ? static_cast<int64_t>(p->as_uint64()) : -1;
}

std::string errors_of(const json::value& v) {
  return v.is_object() && v.as_object().contains("errors") ? json::serialize(v.at("errors")) : "?";
}

struct Readers {
  Child rtsp, webrtc;
};

Readers read_stream(const Server& s, const std::string& id, double seconds, const std::string& tag) {
  std::string dir = ::testing::TempDir();
  Readers r;
  r.rtsp.start({bench_tool("rtsp_readers"), "--url", s.rtsp_url(id), "--readers", "1", "--duration",
                std::to_string(seconds), "--transport", "tcp", "--json"},
               dir + "sg_reload_rtsp_" + tag + "_" + id + ".log");
  r.webrtc.start({bench_tool("webrtc_viewers"), "--url", s.http_url(id + "/whep"), "--viewers", "1", "--duration",
                  std::to_string(seconds), "--min-ratio", "1", "--json"},
                 dir + "sg_reload_webrtc_" + tag + "_" + id + ".log");
  return r;
}

enum class Trigger { Api, Sighup, FileChange };

std::string name_of(Trigger t) {
  return t == Trigger::Api ? "api" : t == Trigger::Sighup ? "sighup" : "file";
}

// How the server's log names what made it reload.
std::string logged_trigger(Trigger t) {
  return std::string("\"trigger\":\"") + (t == Trigger::Api ? "api" : t == Trigger::Sighup ? "SIGHUP" : "file change") +
         "\"";
}

// The config as Kubernetes mounts a ConfigMap: dir/streamgate.yaml -> ..data/streamgate.yaml, ..data -> ..v<n>.
// An update writes a new ..v<n+1> and renames a fresh symlink over ..data.
class ConfigMapDir {
 public:
  explicit ConfigMapDir(const std::string& tag) {
    dir_ = fs::path(::testing::TempDir()) / ("sg_configmap_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ConfigMapDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& yaml) {
    auto version = "..v" + std::to_string(++version_);
    fs::create_directories(dir_ / version);
    std::ofstream(dir_ / version / "streamgate.yaml") << yaml;
    fs::create_directory_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    if (!fs::is_symlink(dir_ / "streamgate.yaml"))
      fs::create_symlink(fs::path("..data") / "streamgate.yaml", dir_ / "streamgate.yaml");
  }
  std::string file() const { return (dir_ / "streamgate.yaml").string(); }

 private:
  fs::path dir_;
  int version_ = 0;
};

class Reload : public ::testing::TestWithParam<Trigger> {
 protected:
  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    for (auto tool : {"rtsp_readers", "webrtc_viewers"})
      if (!fs::exists(bench_tool(tool))) GTEST_SKIP() << bench_tool(tool) << " not built";
    config_ = std::make_unique<ConfigMapDir>(name_of(GetParam()));
    config_->write(kBefore);
    server_ = std::make_unique<Server>("", std::vector<std::string>{"--config", config_->file()});
    ASSERT_TRUE(server_->ready) << server_->log();
    for (auto id : {"keep", "drop", "change"})
      ASSERT_TRUE(wait_until([&] { return stream_has(*server_, id, "state", "ready"); }, 20s))
          << id << " not ready\n" << server_->log();
  }

  // Writes the new file and makes the server read it the way this test is about; returns the API's answer (or 0).
  int reload(const std::string& yaml) {
    config_->write(yaml);
    switch (GetParam()) {
      case Trigger::Api:
        return http_request(server_->http_port, "POST", "/api/v1/config/reload").status;
      case Trigger::Sighup:
        ::kill(server_->child.pid(), SIGHUP);
        return 0;
      case Trigger::FileChange:
        return 0;
    }
    return 0;
  }

  std::string reload_metric(const std::string& result) {
    auto r = http_request(server_->http_port, "GET", "/metrics");
    std::string key = "streamgate_config_reloads_total{result=\"" + result + "\"} ";
    auto at = r.body.find(key);
    return at == std::string::npos ? "" : r.body.substr(at + key.size(), r.body.find('\n', at) - at - key.size());
  }

  std::unique_ptr<ConfigMapDir> config_;
  std::unique_ptr<Server> server_;
};

TEST_P(Reload, UnchangedStreamKeepsItsReadersWithoutAGapRemovedOnesCloseAddedOnePlays) {
  auto& s = *server_;
  std::map<std::string, Readers> readers;
  for (auto id : {"keep", "drop", "change"}) readers.emplace(id, read_stream(s, id, kReadSeconds, name_of(GetParam())));
  // Each stream has its RTSP reader and its WebRTC viewer (counted as a reader) before the reload.
  for (auto id : {"keep", "drop", "change"})
    ASSERT_TRUE(wait_until([&] { return stream_has(s, id, "readers", 2); }, 10s)) << id << "\n" << s.log();
  auto sent_before = num(get_json(s, "/api/v1/streams/keep"), {"packets_sent"});

  int status = reload(kAfter);
  if (GetParam() == Trigger::Api) {
    EXPECT_EQ(status, 200);
  }
  ASSERT_TRUE(wait_until([&] { return stream_exists(s, "added") && !stream_exists(s, "drop"); }, 10s)) << s.log();
  // This trigger did it (the directory watch also sees the API and SIGHUP tests' writes, but later, and then finds
  // the text it already applied).
  EXPECT_NE(s.log().find("\"msg\":\"config reloaded\"," + logged_trigger(GetParam()) + ",\"added\":\"added\""),
            std::string::npos)
      << s.log();
  EXPECT_NE(reload_metric("success"), "0");

  // The added stream plays.
  ASSERT_TRUE(wait_until([&] { return stream_has(s, "added", "state", "ready"); }, 20s)) << s.log();
  Child added_reader({bench_tool("rtsp_readers"), "--url", s.rtsp_url("added"), "--readers", "1", "--duration", "2",
                      "--transport", "tcp", "--min-packets", "10", "--json"},
                     ::testing::TempDir() + "sg_reload_added_" + name_of(GetParam()) + ".log");
  EXPECT_EQ(added_reader.wait(15s), 0) << added_reader.log();

  for (auto& [id, r] : readers) {
    r.rtsp.wait(std::chrono::milliseconds(static_cast<int>(kReadSeconds * 1000) + 10000));
    r.webrtc.wait(std::chrono::milliseconds(static_cast<int>(kReadSeconds * 1000) + 10000));
  }
  // The unchanged stream: one RTSP session from PLAY to TEARDOWN with no sequence gap, one WebRTC session with no
  // loss, and the server kept sending throughout.
  auto keep_rtsp = tool_result(readers.at("keep").rtsp);
  EXPECT_EQ(num(keep_rtsp, {"lost"}), 0) << readers.at("keep").rtsp.log();
  EXPECT_EQ(num(keep_rtsp, {"teardown_ok"}), 1) << readers.at("keep").rtsp.log();
  EXPECT_EQ(errors_of(keep_rtsp), "{}");
  EXPECT_GE(num(keep_rtsp, {"packets", "total"}), static_cast<int64_t>(15 * (kReadSeconds - 2)));
  auto keep_webrtc = tool_result(readers.at("keep").webrtc);
  EXPECT_EQ(num(keep_webrtc, {"ok"}), 1) << readers.at("keep").webrtc.log();
  EXPECT_EQ(num(keep_webrtc, {"lost"}), 0) << readers.at("keep").webrtc.log();
  EXPECT_GE(num(keep_webrtc, {"packets"}), static_cast<int64_t>(15 * (kReadSeconds - 2)));
  EXPECT_GT(num(get_json(s, "/api/v1/streams/keep"), {"packets_sent"}), sent_before);

  // The removed and the changed streams' readers were closed by the server.
  for (auto id : {"drop", "change"}) {
    auto r = tool_result(readers.at(id).rtsp);
    EXPECT_EQ(num(r, {"teardown_ok"}), 0) << id << ": " << readers.at(id).rtsp.log();
    EXPECT_NE(errors_of(r), "{}") << id;
    EXPECT_NE(s.log().find("\"stream\":\"" + std::string(id) + "\",\"reason\":\"stream ended\""), std::string::npos)
        << id << ": WebRTC session not closed\n" << s.log();
  }
  EXPECT_EQ(s.log().find("\"stream\":\"keep\",\"reason\":\"stream ended\""), std::string::npos);
  EXPECT_NE(s.log().find("config reloaded"), std::string::npos);
  // The changed stream runs again with its new settings.
  EXPECT_TRUE(wait_until([&] { return stream_has(s, "change", "state", "ready"); }, 20s));
}

TEST_P(Reload, BrokenConfigIsRefusedWithFileAndLineAndEverythingKeepsRunning) {
  auto& s = *server_;
  std::map<std::string, Child> readers;
  for (auto id : {"keep", "drop", "change"})
    readers.emplace(id, Child({bench_tool("rtsp_readers"), "--url", s.rtsp_url(id), "--readers", "1", "--duration",
                               "4", "--transport", "tcp", "--json"},
                              ::testing::TempDir() + "sg_reload_broken_" + name_of(GetParam()) + "_" + id + ".log"));
  for (auto id : {"keep", "drop", "change"})
    ASSERT_TRUE(wait_until([&] { return stream_has(s, id, "readers", 1); }, 10s)) << id << "\n" << s.log();

  int status = reload(kBroken);
  if (GetParam() == Trigger::Api) {
    EXPECT_EQ(status, 400);
  }
  const std::string where = config_->file() + ":3:";
  ASSERT_TRUE(wait_until([&] { return s.log().find("config reload refused") != std::string::npos; }, 10s))
      << s.log();
  EXPECT_NE(s.log().find(logged_trigger(GetParam()) + ",\"error\":\"" + where), std::string::npos) << s.log();
  EXPECT_NE(reload_metric("failure"), "0");

  for (auto& [id, c] : readers) {
    EXPECT_EQ(c.wait(15s), 0) << id;
    auto r = tool_result(c);
    EXPECT_EQ(num(r, {"lost"}), 0) << id << ": " << c.log();
    EXPECT_EQ(num(r, {"teardown_ok"}), 1) << id << ": " << c.log();
    EXPECT_TRUE(stream_exists(s, id)) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Trigger, Reload, ::testing::Values(Trigger::Api, Trigger::Sighup, Trigger::FileChange),
                         [](const auto& info) { return name_of(info.param); });

// Without --config there is nothing to re-read.
TEST(ReloadApi, WithoutAConfigFileIsAConflict) {
  Server s;
  ASSERT_TRUE(s.ready) << s.log();
  auto r = http_request(s.http_port, "POST", "/api/v1/config/reload");
  EXPECT_EQ(r.status, 409) << r.body;
}

// A listen address change is reported, not applied; a log level change is applied.
TEST(ReloadApi, ListenAddressChangeIsReportedAsNeedingARestart) {
  Server s("log: { level: info }\n");
  ASSERT_TRUE(s.ready) << s.log();
  std::ofstream(s.config_file) << "log: { level: debug }\nserver: { rtsp: '127.0.0.1:1' }\n";
  auto r = http_request(s.http_port, "POST", "/api/v1/config/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(json::serialize(v.at("restart_required")), "[\"server.rtsp\"]");
  EXPECT_EQ(json::serialize(v.at("applied")), "[\"log.level\"]");
  EXPECT_NE(s.log().find("need a restart"), std::string::npos);
  // Still served on the old address.
  EXPECT_EQ(http_request(s.http_port, "GET", "/readyz").status, 200);
}

// A reload that adds a stream named like a route is refused with file:line and the common id message; the running
// streams and routes are untouched.
TEST(ReloadApi, ReservedStreamIdIsRefusedWithFileLine) {
  Server s("streams:\n  cam: { source: publisher }\n");
  ASSERT_TRUE(s.ready) << s.log();
  std::ofstream(s.config_file) << "streams:\n  cam: { source: publisher }\n  metrics: { source: publisher }\n";
  auto r = http_request(s.http_port, "POST", "/api/v1/config/reload");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(std::string(json::parse(r.body).at("error").as_string()),
            s.config_file + ":3: " + media::check_stream_id("metrics").error());
  EXPECT_EQ(http_request(s.http_port, "GET", "/api/v1/streams/metrics").status, 404);
  EXPECT_EQ(http_request(s.http_port, "GET", "/api/v1/streams/cam").status, 200);
  EXPECT_EQ(http_request(s.http_port, "GET", "/metrics").headers["content-type"].rfind("text/plain", 0), 0u);
}

// New internal users take effect at once: the API that anyone on localhost could use now needs admin's password.
TEST(ReloadApi, NewUsersApplyWithoutARestart) {
  Server s(
      "auth:\n"
      "  internal_users:\n"
      "    - { user: any, ips: [127.0.0.1/32], permissions: [api, metrics, read, publish] }\n");
  ASSERT_TRUE(s.ready) << s.log();
  EXPECT_EQ(http_request(s.http_port, "GET", "/api/v1/streams").status, 200);
  std::ofstream(s.config_file) << "auth:\n"
                                  "  internal_users:\n"
                                  "    - { user: admin, pass: secret, permissions: [api] }\n";
  auto r = http_request(s.http_port, "POST", "/api/v1/config/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::serialize(json::parse(r.body).at("applied")), "[\"auth.internal_users\"]");
  EXPECT_EQ(http_request(s.http_port, "GET", "/api/v1/streams").status, 401);
  auto authed = http_raw(s.http_port,
                         "GET /api/v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                         "Authorization: Basic YWRtaW46c2VjcmV0\r\n\r\n");  // admin:secret
  EXPECT_EQ(authed.status, 200) << authed.raw;
}

// A reload reads the config with the same environment as the start: ${VAR} values still resolve and STREAMGATE_*
// overrides still win, so an unchanged setting that comes from the environment is neither refused nor reported as
// changed.
TEST(ReloadApi, EnvironmentVariablesAndOverridesApplyOnReload) {
  struct Variables {  // the server inherits them; later tests in this process do not
    Variables() {
      ::setenv("SG_TEST_RELOAD_LEVEL", "info", 1);
      ::setenv("STREAMGATE_WORKERS", "1", 1);
    }
    ~Variables() {
      ::unsetenv("SG_TEST_RELOAD_LEVEL");
      ::unsetenv("STREAMGATE_WORKERS");
    }
  } variables;
  const std::string before = "log: { level: '${SG_TEST_RELOAD_LEVEL}' }\nstreams:\n  cam: { source: publisher }\n";
  Server s(before);
  ASSERT_TRUE(s.ready) << s.log();
  std::ofstream(s.config_file) << before << "  cam2: { source: publisher }\n";
  auto r = http_request(s.http_port, "POST", "/api/v1/config/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(json::serialize(v.at("added")), "[\"cam2\"]");
  EXPECT_EQ(json::serialize(v.at("applied")), "[]");
  EXPECT_EQ(json::serialize(v.at("restart_required")), "[]");
}

}  // namespace
}  // namespace sg::test
