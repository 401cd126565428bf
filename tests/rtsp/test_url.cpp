#include <gtest/gtest.h>

#include "rtsp/url.hpp"

namespace sg::rtsp {
namespace {

TEST(RtspUrl, FullUrlIsSplitIntoParts) {
  auto u = parse_url("rtsp://admin:s%40cret@192.168.1.64:8554/Streaming/Channels/101?transportmode=unicast");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->scheme, "rtsp");
  EXPECT_TRUE(u->has_credentials);
  EXPECT_EQ(u->user, "admin");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->host, "192.168.1.64");
  EXPECT_EQ(u->port, 8554);
  EXPECT_TRUE(u->has_port);
  EXPECT_EQ(u->path, "/Streaming/Channels/101");
  EXPECT_EQ(u->query, "transportmode=unicast");
  EXPECT_EQ(u->stream_path(), "Streaming/Channels/101");
}

TEST(RtspUrl, RebuiltUrlHasNoCredentials) {
  auto u = parse_url("rtsp://admin:pw@cam.local:554/live?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->to_string(), "rtsp://cam.local:554/live?x=1");
}

TEST(RtspUrl, DefaultPortIs554AndIsNotWrittenBack) {
  auto u = parse_url("RTSP://Cam.Local/live");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->port, 554);
  EXPECT_FALSE(u->has_port);
  EXPECT_FALSE(u->has_credentials);
  EXPECT_EQ(u->to_string(), "rtsp://Cam.Local/live");
}

TEST(RtspUrl, RtspsDefaultsToPort322) {
  auto u = parse_url("rtsps://h/s");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "rtsps");
  EXPECT_EQ(u->port, 322);
}

TEST(RtspUrl, Ipv6HostIsInBrackets) {
  auto u = parse_url("rtsp://[fe80::1%25eth0]:8554/test");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "fe80::1%25eth0");
  EXPECT_EQ(u->port, 8554);
  EXPECT_EQ(u->to_string(), "rtsp://[fe80::1%25eth0]:8554/test");
  auto v = parse_url("rtsp://[::1]/x");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->port, 554);
}

TEST(RtspUrl, UserWithoutPasswordAndUnescapedAtInPassword) {
  auto u = parse_url("rtsp://viewer@h/s");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "viewer");
  EXPECT_EQ(u->password, "");
  auto v = parse_url("rtsp://admin:p@ss@h/s");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->password, "p@ss");
  EXPECT_EQ(v->host, "h");
}

TEST(RtspUrl, HostOnlyHasEmptyPath) {
  auto u = parse_url("rtsp://h:8554");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "");
  EXPECT_EQ(u->stream_path(), "");
  auto q = parse_url("rtsp://h?x");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->host, "h");
  EXPECT_EQ(q->query, "x");
}

TEST(RtspUrl, FragmentIsDropped) {
  auto u = parse_url("rtsp://h/a#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/a");
}

TEST(RtspUrl, BadUrlsAreRejected) {
  for (std::string_view bad : {"http://h/x", "rtsp://", "rtsp:///x", "rtsp://h:0/x", "rtsp://h:65536/x",
                               "rtsp://h:abc/x", "rtsp://[::1/x", "rtsp://[::1]x/", "rtsp://[]/x",
                               "rtsp://u:%zz@h/x", "rtsp://u%4@h/x", "rtsp://h x/", "rtsp://a:b:c/x",
                               "rtsp://[zz::1]/x", "rtsp://h:/x"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
  EXPECT_EQ(parse_url("http://h/x").error(), "RTSP: URL 'http://h/x' does not start with rtsp://");
}

TEST(RtspUrl, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%20b%2F"), "a b/");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%g0"), std::nullopt);
}

// RFC 2326 C.1.1 and what cameras send.
TEST(RtspControl, AbsoluteControlIsUsedAsIs) {
  EXPECT_EQ(resolve_control("rtsp://h/s/", "rtsp://other:554/s/trackID=1"), "rtsp://other:554/s/trackID=1");
  EXPECT_EQ(resolve_control("rtsp://h/s/", "RTSP://H/x"), "RTSP://H/x");
}

TEST(RtspControl, StarOrEmptyMeansTheBase) {
  EXPECT_EQ(resolve_control("rtsp://h/s", "*"), "rtsp://h/s");
  EXPECT_EQ(resolve_control("rtsp://h/s", ""), "rtsp://h/s");
}

TEST(RtspControl, RelativeControlIsAppendedWithOneSlash) {
  EXPECT_EQ(resolve_control("rtsp://127.0.0.1:8554/test", "streamid=0"), "rtsp://127.0.0.1:8554/test/streamid=0");
  EXPECT_EQ(resolve_control("rtsp://192.168.1.64:554/Streaming/Channels/101/", "trackID=1"),
            "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1");
  EXPECT_EQ(resolve_control("rtsp://cam/cam/realmonitor?channel=1&subtype=0", "trackID=0"),
            "rtsp://cam/cam/realmonitor?channel=1&subtype=0/trackID=0");
}

TEST(RtspControl, AbsolutePathReplacesThePath) {
  EXPECT_EQ(resolve_control("rtsp://h:8554/a/b?q", "/c/trackID=2"), "rtsp://h:8554/c/trackID=2");
  EXPECT_EQ(resolve_control("rtsp://h", "/c"), "rtsp://h/c");
}

}  // namespace
}  // namespace sg::rtsp
