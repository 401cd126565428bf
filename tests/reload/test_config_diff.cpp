// What a reload changes: streams by id and settings, other settings by their text in the file.
#include <gtest/gtest.h>

#include "app/reload.hpp"

namespace sg::app {
namespace {

Config parse(const std::string& yaml) {
  auto c = parse_config(yaml, "test.yaml");
  EXPECT_TRUE(c) << c.error();
  return c ? *c : Config{};
}

TEST(ConfigDiff, StreamsAreAddedRemovedRestartedOrLeftAlone) {
  auto running = parse(
      "streams:\n"
      "  same: { source: publisher }\n"
      "  gone: { source: publisher }\n"
      "  moved: { source: rtsp://10.0.0.1/a }\n");
  auto next = parse(
      "streams:\n"
      "  same: { source: publisher }\n"
      "  moved: { source: rtsp://10.0.0.2/a }\n"
      "  new: { source: publisher, on_demand: true }\n");
  auto d = diff_config(running, next);
  ASSERT_EQ(d.unchanged, std::vector<std::string>{"same"});
  ASSERT_EQ(d.removed, std::vector<std::string>{"gone"});
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].source, "rtsp://10.0.0.2/a");
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].id, "new");
  EXPECT_TRUE(d.added[0].on_demand);
  EXPECT_TRUE(d.applied.empty());
  EXPECT_TRUE(d.restart_required.empty());
}

TEST(ConfigDiff, ATransportChangeRestartsTheStream) {
  auto d = diff_config(parse("streams:\n  a: { source: rtsp://h/a }\n"),
                       parse("streams:\n  a: { source: rtsp://h/a, rtsp_transport: tcp }\n"));
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_TRUE(d.unchanged.empty());
}

TEST(ConfigDiff, ListenAddressesNeedARestartLogLevelAndGraceApplyAtOnce) {
  auto running = parse("server: { http: ':8080', rtsp: ':8554' }\nlog: { level: info }\n");
  auto next = parse("server: { http: ':9090', rtsp: ':8554' }\nlog: { level: debug }\nshutdown_grace: 30s\n");
  EXPECT_EQ(next.shutdown_grace_ms, 30000);
  auto d = diff_config(running, next);
  EXPECT_EQ(d.restart_required, std::vector<std::string>{"server.http"});
  EXPECT_EQ(d.applied, (std::vector<std::string>{"log.level", "shutdown_grace"}));
}

TEST(ConfigDiff, UsersApplyAtOnceLoginLimitsNeedARestart) {
  auto running = parse("auth: { internal_users: [{ user: any, permissions: [read] }] }\n");
  auto next = parse(
      "auth: { internal_users: [{ user: viewer, pass: x, permissions: [read] }], max_failures: 3 }\n"
      "rtsp: { publish_auth: { user: cam, pass: y } }\n");
  auto d = diff_config(running, next);
  EXPECT_EQ(d.applied, (std::vector<std::string>{"auth.internal_users", "rtsp.publish_auth"}));
  EXPECT_EQ(d.restart_required, std::vector<std::string>{"auth.max_failures"});
}

TEST(ConfigDiff, UnchangedTextChangesNothing) {
  const std::string yaml = "workers: 2\nhls: { variant: fmp4 }\nstreams:\n  a: { source: publisher }\n";
  auto d = diff_config(parse(yaml), parse(yaml));
  EXPECT_TRUE(d.added.empty() && d.removed.empty() && d.changed.empty() && d.applied.empty() &&
              d.restart_required.empty());
  EXPECT_EQ(d.unchanged, std::vector<std::string>{"a"});
}

TEST(ConfigDiff, ARemovedSectionIsAChange) {
  auto d = diff_config(parse("webrtc: { max_sessions: 10 }\n"), parse(""));
  EXPECT_EQ(d.restart_required, std::vector<std::string>{"webrtc.max_sessions"});
}

TEST(ConfigDiff, ShutdownGraceDefaultsToZeroAndIsValidated) {
  EXPECT_EQ(parse("").shutdown_grace_ms, 0);
  auto bad = parse_config("log: { level: info }\nshutdown_grace: soon\n", "x.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("x.yaml:2:"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace sg::app
