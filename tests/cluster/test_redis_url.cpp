#include <gtest/gtest.h>

#include "cluster/redis_url.hpp"

namespace sg::cluster {
namespace {

TEST(RedisUrl, HostPortPasswordAndDatabase) {
  auto u = parse_redis_url("redis://:s%40cret@10.0.0.2:6380/3");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "10.0.0.2");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->db, 3);

  auto acl = parse_redis_url("REDIS://streamgate:pw@redis.internal");
  ASSERT_TRUE(acl.ok()) << acl.error();
  EXPECT_EQ(acl->user, "streamgate");
  EXPECT_EQ(acl->password, "pw");
  EXPECT_EQ(acl->port, 6379);
  EXPECT_EQ(acl->db, 0);

  auto v6 = parse_redis_url("redis://[fd00::5]:7000/");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->host, "fd00::5");
  EXPECT_EQ(v6->port, 7000);
}

TEST(RedisUrl, EveryMistakeIsNamed) {
  struct Case {
    const char* url;
    const char* error;
  } cases[] = {
      {"http://host", "must start with redis://"},
      {"rediss://host", "rediss:// (TLS) is not supported"},
      {"redis://", "no host"},
      {"redis://host:0", "bad port"},
      {"redis://host:99999", "bad port"},
      {"redis://host/16", "database number 0..15"},
      {"redis://host/x", "database number 0..15"},
      {"redis://pw@host", "[user]:password"},
      {"redis://:@host", "empty password"},
      {"redis://:%zz@host", "bad percent escape"},
      {"redis://ho st", "bad host"},
  };
  for (const auto& c : cases) {
    auto u = parse_redis_url(c.url);
    ASSERT_FALSE(u.ok()) << c.url;
    EXPECT_NE(u.error().find(c.error), std::string::npos) << c.url << " -> " << u.error();
  }
}

}  // namespace
}  // namespace sg::cluster
