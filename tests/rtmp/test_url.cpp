#include <gtest/gtest.h>

#include "rtmp/url.hpp"

namespace sg::rtmp {
namespace {

TEST(RtmpUrl, AppIsTheFirstSegmentAndTheNameTheRestWithItsQuery) {
  auto u = parse_rtmp_url("rtmp://origin.example:1940/live/cam?key=abc");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "origin.example");
  EXPECT_EQ(u->port, 1940);
  EXPECT_EQ(u->app, "live");
  EXPECT_EQ(u->name, "cam?key=abc");
  EXPECT_EQ(u->tc_url, "rtmp://origin.example:1940/live");

  auto deep = parse_rtmp_url("rtmp://10.0.0.1/app/inst/stream");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->port, 1935);
  EXPECT_EQ(deep->app, "app");
  EXPECT_EQ(deep->name, "inst/stream");
  EXPECT_EQ(deep->tc_url, "rtmp://10.0.0.1/app");
}

TEST(RtmpUrl, OneSegmentIsBothAppAndNameAndIpv6HostsKeepTheirBrackets) {
  auto u = parse_rtmp_url("RTMP://[::1]:1936/cam/");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 1936);
  EXPECT_EQ(u->app, "cam");
  EXPECT_EQ(u->name, "cam");
  EXPECT_EQ(u->tc_url, "rtmp://[::1]:1936/cam");
}

TEST(RtmpUrl, BadUrlsSayWhatIsWrong) {
  auto error_of = [](std::string_view url) {
    auto u = parse_rtmp_url(url);
    return u.ok() ? std::string("ok") : u.error();
  };
  EXPECT_NE(error_of("rtsp://host/live/cam").find("not an rtmp://"), std::string::npos);
  EXPECT_NE(error_of("rtmps://host/live/cam").find("rtmps"), std::string::npos);
  EXPECT_NE(error_of("rtmp:///live/cam").find("no host"), std::string::npos);
  EXPECT_NE(error_of("rtmp://host").find("app and a stream"), std::string::npos);
  EXPECT_NE(error_of("rtmp://host:0/live/cam").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("rtmp://host:99999/live/cam").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("rtmp://host:/live/cam").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("rtmp://user:pw@host/live/cam").find("query"), std::string::npos);
  EXPECT_NE(error_of("rtmp://[::1/live/cam").find("unclosed"), std::string::npos);
  EXPECT_NE(error_of("rtmp://host/live/ca m").find("space"), std::string::npos);
}

}  // namespace
}  // namespace sg::rtmp
