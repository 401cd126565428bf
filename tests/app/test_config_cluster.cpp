// The cluster section: off by default; redis and advertise required; node defaults to the host name; lease bounds;
// errors with file:line; a change needs a restart; the Redis password never shows in the config the API returns.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/reload.hpp"
#include "base/redact.hpp"

namespace sg::app {
namespace {

TEST(ConfigCluster, OffByDefault) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->cluster.enabled);
}

TEST(ConfigCluster, SectionTurnsItOnWithItsOptions) {
  auto c = parse_config(
      "cluster:\n  redis: redis://:pw@10.0.0.2:6379/0\n  node: n1\n  advertise: 10.0.0.5\n  lease: 2s\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->cluster.enabled);
  EXPECT_EQ(c->cluster.redis, "redis://:pw@10.0.0.2:6379/0");
  EXPECT_EQ(c->cluster.node, "n1");
  EXPECT_EQ(c->cluster.advertise, "10.0.0.5");
  EXPECT_EQ(c->cluster.lease_ms, 2000);
  auto defaults = parse_config("cluster: { redis: \"redis://r\", advertise: node-a.internal }\n", "test.yaml");
  ASSERT_TRUE(defaults) << defaults.error();
  EXPECT_EQ(defaults->cluster.lease_ms, 5000);
  EXPECT_FALSE(defaults->cluster.node.empty());  // the host name
}

TEST(ConfigCluster, NodeFromTheEnvironment) {
  Environment env{{"HOSTNAME", "pod-7"}};
  auto c = parse_config("cluster: { redis: \"redis://r\", node: \"${HOSTNAME}\", advertise: 10.0.0.5 }\n", "test.yaml",
                        env);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->cluster.node, "pod-7");
}

TEST(ConfigCluster, ErrorsNameFileLineAndWhat) {
  struct Case {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"workers: 1\ncluster:\n  redis: redis://r\n  advertise: a\n  leese: 2s\n", "test.yaml:5: unknown key 'leese' in 'cluster'"},
      {"cluster:\n  advertise: a\n", "test.yaml:2: 'cluster.redis' is required"},
      {"cluster:\n  redis: redis://r\n", "test.yaml:2: 'cluster.advertise' is required"},
      {"cluster:\n  redis: http://r\n  advertise: a\n", "test.yaml:2: 'cluster.redis': redis URL must start with redis://"},
      {"cluster:\n  redis: redis://r\n  advertise: a\n  lease: 100ms\n", "test.yaml:4: 'cluster.lease' must be between"},
      {"cluster:\n  redis: redis://r\n  advertise: a\n  node: \"a b\"\n", "test.yaml:4: 'cluster.node' must be"},
      {"cluster:\n  redis: redis://r\n  advertise: \"http://x\"\n", "test.yaml:3: 'cluster.advertise' must be"},
      {"cluster: on\n", "test.yaml:1: 'cluster' must be a mapping"},
  };
  for (const auto& c : cases) {
    auto r = parse_config(c.yaml, "test.yaml");
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_EQ(r.error().rfind(c.error, 0), 0u) << r.error();
  }
}

TEST(ConfigCluster, AChangeNeedsARestart) {
  auto a = parse_config("cluster: { redis: \"redis://r\", advertise: a, lease: 2s }\n", "test.yaml");
  auto b = parse_config("cluster: { redis: \"redis://r\", advertise: a, lease: 3s }\n", "test.yaml");
  ASSERT_TRUE(a && b);
  auto changes = diff_config(*a, *b);
  ASSERT_EQ(changes.restart_required.size(), 1u);
  EXPECT_EQ(changes.restart_required[0].rfind("cluster", 0), 0u) << changes.restart_required[0];
}

TEST(ConfigCluster, TheRedisPasswordIsRedacted) {
  auto text = redact_secrets("redis://:hunter2secret@10.0.0.2:6379/0");
  EXPECT_EQ(text.find("hunter2secret"), std::string::npos) << text;
  auto acl = redact_secrets("redis://sg:hunter2secret@10.0.0.2/0");
  EXPECT_EQ(acl.find("hunter2secret"), std::string::npos) << acl;
}

}  // namespace
}  // namespace sg::app
