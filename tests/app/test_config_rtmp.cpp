// The rtmp section: off by default, on with the section, an address, enabled: false, errors with file:line; a
// change is reported as needing a restart like the other listeners.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/reload.hpp"

namespace sg::app {
namespace {

TEST(ConfigRtmp, OffByDefault) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->rtmp.enabled);
  EXPECT_EQ(c->rtmp.address.port, 1935);
}

TEST(ConfigRtmp, SectionTurnsItOnAtItsAddress) {
  auto c = parse_config("rtmp:\n  address: \":1936\"\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->rtmp.enabled);
  EXPECT_EQ(c->rtmp.address.host, "0.0.0.0");
  EXPECT_EQ(c->rtmp.address.port, 1936);
  auto empty = parse_config("rtmp: {}\n", "test.yaml");
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->rtmp.enabled);
  EXPECT_EQ(empty->rtmp.address.port, 1935);
  auto off = parse_config("rtmp: { address: \"127.0.0.1:1935\", enabled: false }\n", "test.yaml");
  ASSERT_TRUE(off) << off.error();
  EXPECT_FALSE(off->rtmp.enabled);
}

TEST(ConfigRtmp, ErrorsNameFileLineAndKey) {
  auto typo = parse_config("workers: 1\nrtmp:\n  adress: \":1935\"\n", "test.yaml");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().rfind("test.yaml:3: unknown key 'adress' in 'rtmp'", 0), 0u) << typo.error();
  auto bad = parse_config("rtmp:\n  address: \"nohost\"\n", "test.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("test.yaml:2"), std::string::npos) << bad.error();
  EXPECT_FALSE(parse_config("rtmp: 5\n", "test.yaml"));
}

TEST(ConfigRtmp, AddressChangeNeedsARestart) {
  auto a = parse_config("rtmp: { address: \":1935\" }\n", "test.yaml");
  auto b = parse_config("rtmp: { address: \":1936\" }\n", "test.yaml");
  ASSERT_TRUE(a && b);
  auto changes = diff_config(*a, *b);
  ASSERT_EQ(changes.restart_required.size(), 1u);
  EXPECT_EQ(changes.restart_required[0], "rtmp.address");
  EXPECT_TRUE(changes.applied.empty());
}

}  // namespace
}  // namespace sg::app
