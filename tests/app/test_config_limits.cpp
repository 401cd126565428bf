// Config keys of the connection limits (limits.*) and the WebRTC setup limits (webrtc.setup_timeout,
// webrtc.max_pending_per_address).
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace sg::app {
namespace {

std::string error_of(std::string_view yaml) {
  auto r = parse_config(yaml, "test.yaml");
  return r ? std::string() : r.error();
}

TEST(ConfigLimits, ConnectionLimitsHaveSafeDefaultsAndLoopbackIsExemptPerAddress) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->limits.http_connections, 10000u);
  EXPECT_EQ(c->limits.http_connections_per_address, 500u);
  EXPECT_EQ(c->limits.rtsp_connections, 10000u);
  EXPECT_EQ(c->limits.rtsp_connections_per_address, 500u);
  ASSERT_EQ(c->limits.per_address_exempt.size(), 2u);
  EXPECT_TRUE(c->limits.per_address_exempt[0].contains(*auth::IpAddress::parse("127.0.0.1")));
  EXPECT_TRUE(c->limits.per_address_exempt[1].contains(*auth::IpAddress::parse("::1")));
  EXPECT_FALSE(c->limits.per_address_exempt[0].contains(*auth::IpAddress::parse("10.0.0.1")));
}

TEST(ConfigLimits, ConnectionLimitsAreRead) {
  auto c = parse_config(
      "limits:\n  http_connections: 50\n  http_connections_per_address: 5\n  rtsp_connections: 60\n"
      "  rtsp_connections_per_address: 6\n  per_address_exempt: [10.0.0.0/8]\n",
      "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->limits.http_connections, 50u);
  EXPECT_EQ(c->limits.http_connections_per_address, 5u);
  EXPECT_EQ(c->limits.rtsp_connections, 60u);
  EXPECT_EQ(c->limits.rtsp_connections_per_address, 6u);
  ASSERT_EQ(c->limits.per_address_exempt.size(), 1u);
  EXPECT_TRUE(c->limits.per_address_exempt[0].contains(*auth::IpAddress::parse("10.9.9.9")));
  auto none = parse_config("limits: { per_address_exempt: [] }\n", "test.yaml");
  ASSERT_TRUE(none) << none.error();
  EXPECT_TRUE(none->limits.per_address_exempt.empty());
}

TEST(ConfigLimits, BadConnectionLimitsNameFileLineAndKey) {
  EXPECT_NE(error_of("limits:\n  http_connections: 0\n").find("test.yaml:2: 'limits.http_connections' must be between 1"),
            std::string::npos)
      << error_of("limits:\n  http_connections: 0\n");
  EXPECT_NE(error_of("limits:\n  per_address_exempt: [nonsense]\n").find("test.yaml:2: 'limits.per_address_exempt'"),
            std::string::npos)
      << error_of("limits:\n  per_address_exempt: [nonsense]\n");
}

TEST(ConfigLimits, WebRtcSetupTimeoutAndPendingCapHaveDefaultsAndAreRead) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->webrtc.setup_timeout_ms, 10000);
  EXPECT_EQ(c->webrtc.max_pending_per_address, 16u);
  auto d = parse_config("webrtc: { setup_timeout: 2s, max_pending_per_address: 4 }\n", "test.yaml");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->webrtc.setup_timeout_ms, 2000);
  EXPECT_EQ(d->webrtc.max_pending_per_address, 4u);
  EXPECT_NE(error_of("webrtc:\n  setup_timeout: 10ms\n").find("test.yaml:2: 'webrtc.setup_timeout' must be between"),
            std::string::npos)
      << error_of("webrtc:\n  setup_timeout: 10ms\n");
  EXPECT_NE(error_of("webrtc:\n  max_pending_per_address: 0\n").find("'webrtc.max_pending_per_address' must be between 1"),
            std::string::npos);
}

}  // namespace
}  // namespace sg::app
