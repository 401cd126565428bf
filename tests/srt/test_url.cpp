#include <gtest/gtest.h>

#include "srt/url.hpp"

namespace sg::srt {
namespace {

TEST(SrtUrl, HostPortAndTheQueryKeysOfLibsrt) {
  auto u = parse_srt_url("srt://origin.example:8890?streamid=read:cam&passphrase=0123456789ab&latency=200&mode=caller");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "origin.example");
  EXPECT_EQ(u->port, 8890);
  EXPECT_EQ(u->stream_id, "read:cam");
  EXPECT_EQ(u->passphrase, "0123456789ab");
  ASSERT_TRUE(u->latency_ms.has_value());
  EXPECT_EQ(*u->latency_ms, 200);

  auto bare = parse_srt_url("SRT://[::1]:9000/");
  ASSERT_TRUE(bare.ok()) << bare.error();
  EXPECT_EQ(bare->host, "::1");
  EXPECT_EQ(bare->port, 9000);
  EXPECT_EQ(bare->stream_id, "");
  EXPECT_FALSE(bare->latency_ms.has_value());
}

TEST(SrtUrl, AccessControlStreamIdsArePercentDecoded) {
  auto u = parse_srt_url("srt://10.0.0.1:8890?streamid=%23!::r=cam,m=request");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->stream_id, "#!::r=cam,m=request");
  auto raw = parse_srt_url("srt://10.0.0.1:8890?streamid=#!::r=cam");
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.error().find("%23"), std::string::npos) << raw.error();
}

TEST(SrtUrl, EveryMistakeIsNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"rtmp://h:1/x", "not an srt:// URL"},
      {"srt://host?streamid=read:cam", "needs a port"},
      {"srt://host:0", "bad port"},
      {"srt://host:70000", "bad port"},
      {"srt://:8890", "no host"},
      {"srt://user:pw@host:8890", "credentials"},
      {"srt://host:8890/live/cam", "has a path"},
      {"srt://host:8890?latency=5", "latency"},
      {"srt://host:8890?latency=abc", "latency"},
      {"srt://host:8890?passphrase=short", "10 to 79"},
      {"srt://host:8890?mode=listener", "caller"},
      {"srt://host:8890?streamid=%zz", "percent-escape"},
      {"srt://host:8890?latencyy=100", "unknown key 'latencyy'"},
      {"srt://host:8890?streamid=a b", "space"},
      {"srt://[::1:8890", "unclosed"},
  };
  for (const auto& [url, expect] : cases) {
    auto u = parse_srt_url(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_NE(u.error().find(expect), std::string::npos) << url << " -> " << u.error();
  }
}

}  // namespace
}  // namespace sg::srt
