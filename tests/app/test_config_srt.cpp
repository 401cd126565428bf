// The srt section: off by default, on with the section (or srt: {}), address, enabled, passphrase, latency; errors
// with file:line; a change needs a restart like the other listeners.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/reload.hpp"

namespace sg::app {
namespace {

TEST(ConfigSrt, OffByDefault) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->srt.enabled);
  EXPECT_EQ(c->srt.address.port, 8890);
  EXPECT_TRUE(c->srt.passphrase.empty());
  EXPECT_EQ(c->srt.latency_ms, 120);
}

TEST(ConfigSrt, SectionTurnsItOnWithItsOptions) {
  auto c = parse_config("srt:\n  address: \":9000\"\n  passphrase: correct-horse\n  latency: 250ms\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->srt.enabled);
  EXPECT_EQ(c->srt.address.port, 9000);
  EXPECT_EQ(c->srt.passphrase, "correct-horse");
  EXPECT_EQ(c->srt.latency_ms, 250);
  auto empty = parse_config("srt: {}\n", "test.yaml");
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->srt.enabled);
  auto off = parse_config("srt: { enabled: false }\n", "test.yaml");
  ASSERT_TRUE(off) << off.error();
  EXPECT_FALSE(off->srt.enabled);
}

TEST(ConfigSrt, ErrorsNameFileLineAndKey) {
  auto typo = parse_config("workers: 1\nsrt:\n  pasphrase: x\n", "test.yaml");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().rfind("test.yaml:3: unknown key 'pasphrase' in 'srt'", 0), 0u) << typo.error();
  auto short_pass = parse_config("srt:\n  passphrase: short\n", "test.yaml");
  ASSERT_FALSE(short_pass);
  EXPECT_NE(short_pass.error().find("test.yaml:2"), std::string::npos) << short_pass.error();
  EXPECT_NE(short_pass.error().find("10 to 79"), std::string::npos) << short_pass.error();
  EXPECT_FALSE(parse_config("srt:\n  latency: 5ms\n", "test.yaml"));
  EXPECT_FALSE(parse_config("srt: 5\n", "test.yaml"));
}

TEST(ConfigSrt, ChangeNeedsARestart) {
  auto a = parse_config("srt: { latency: 120ms }\n", "test.yaml");
  auto b = parse_config("srt: { latency: 200ms }\n", "test.yaml");
  ASSERT_TRUE(a && b);
  auto changes = diff_config(*a, *b);
  ASSERT_EQ(changes.restart_required.size(), 1u);
  EXPECT_EQ(changes.restart_required[0], "srt.latency");
}

}  // namespace
}  // namespace sg::app
