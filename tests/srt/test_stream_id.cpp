#include <gtest/gtest.h>

#include "srt/stream_id.hpp"

namespace sg::srt {
namespace {

TEST(SrtStreamId, PublishAndReadName) {
  auto p = parse_stream_id("publish:cam");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->mode, Mode::Publish);
  EXPECT_EQ(p->path, "cam");
  EXPECT_TRUE(p->user.empty());
  auto r = parse_stream_id("read:cam");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->mode, Mode::Read);
  EXPECT_EQ(r->path, "cam");
}

TEST(SrtStreamId, MediaMtxCredentialsAfterTheName) {
  auto p = parse_stream_id("publish:cam:alice:se:cret");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->path, "cam");
  EXPECT_EQ(p->user, "alice");
  EXPECT_EQ(p->pass, "se:cret");  // the password is the rest
}

TEST(SrtStreamId, AccessControlForm) {
  auto p = parse_stream_id("#!::r=cam,m=publish");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->mode, Mode::Publish);
  EXPECT_EQ(p->path, "cam");
  auto r = parse_stream_id("#!::u=bob,r=cam,m=request,s=pw,h=example.com,t=stream,x=ignored");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->mode, Mode::Read);
  EXPECT_EQ(r->user, "bob");
  EXPECT_EQ(r->pass, "pw");
  auto d = parse_stream_id("#!::r=cam");  // the guidelines' default mode is request
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->mode, Mode::Read);
}

TEST(SrtStreamId, EmptyOrMalformedIdsAreRefused) {
  for (const char* bad : {"", "cam", "publish:", "read:", "publish::a:b", "publish:cam:user", "play:cam", "#!::m=publish",
                          "#!::r=cam,m=bidirectional", "#!::r=cam,t=file", "#!::r=cam,novalue", "#!::=x,r=cam",
                          "#!:{r=cam}", "publish:c\x01m"}) {
    EXPECT_FALSE(parse_stream_id(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_stream_id("publish:" + std::string(600, 'a')).ok());
}

}  // namespace
}  // namespace sg::srt
