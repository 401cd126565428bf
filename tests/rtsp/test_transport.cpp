#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "captures.hpp"
#include "rtsp/transport.hpp"

namespace sg::rtsp {
namespace {

TEST(RtspTransport, FfmpegTcpRecordSpec) {
  auto t = parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3;mode=record");
  ASSERT_TRUE(t) << t.error();
  ASSERT_EQ(t->size(), 1u);
  const auto& s = t->front();
  EXPECT_TRUE(s.is_tcp());
  EXPECT_FALSE(s.multicast);
  EXPECT_EQ(s.interleaved, (PortRange{2, 3}));
  EXPECT_TRUE(s.is_record());
  EXPECT_EQ(s.to_string(), "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record");
}

TEST(RtspTransport, FfmpegUdpRecordSpec) {
  auto t = parse_transport(captures::kFfmpegUdpTransport);
  ASSERT_TRUE(t) << t.error();
  const auto& s = t->front();
  EXPECT_EQ(s.lower, LowerTransport::Udp);
  EXPECT_EQ(s.client_port, (PortRange{14770, 14771}));
  EXPECT_EQ(s.mode, TransportMode::Record);
}

TEST(RtspTransport, ServerReplyWithSsrcAndSourceRoundTrips) {
  auto t = parse_transport(
      "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=1A2b3C4d;source=10.0.0.5;mode=\"PLAY\"");
  ASSERT_TRUE(t) << t.error();
  auto& s = t->front();
  EXPECT_EQ(s.ssrc, 0x1a2b3c4du);
  EXPECT_EQ(s.source, "10.0.0.5");
  EXPECT_EQ(s.server_port, (PortRange{8000, 8001}));
  EXPECT_EQ(s.mode, TransportMode::Play);
  EXPECT_EQ(s.to_string(),
            "RTP/AVP;unicast;source=10.0.0.5;client_port=5000-5001;server_port=8000-8001;ssrc=1A2B3C4D;mode=play");
}

TEST(RtspTransport, ListOfAlternativesKeepsOrder) {
  // VLC-style offer of TCP then UDP, plus a multicast alternative.
  auto t = parse_transport(
      "RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP;unicast;client_port=6970-6971,"
      "RTP/AVP;multicast;destination=239.1.2.3;port=5004-5005;ttl=16");
  ASSERT_TRUE(t) << t.error();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_TRUE((*t)[0].is_tcp());
  EXPECT_EQ((*t)[1].client_port, (PortRange{6970, 6971}));
  EXPECT_TRUE((*t)[2].multicast);
  EXPECT_EQ((*t)[2].destination, "239.1.2.3");
  EXPECT_EQ((*t)[2].port, (PortRange{5004, 5005}));
  EXPECT_EQ((*t)[2].ttl, 16);
  EXPECT_EQ(build_transport(*t),
            "RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;unicast;client_port=6970-6971,"
            "RTP/AVP;multicast;destination=239.1.2.3;port=5004-5005;ttl=16");
}

TEST(RtspTransport, NamesAndModesAreCaseInsensitive) {
  auto t = parse_transport("rtp/avp/udp;UNICAST;Client_Port=1-2;MODE=RECORD");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->front().mode, TransportMode::Record);
  EXPECT_EQ(t->front().client_port, (PortRange{1, 2}));
  auto r = parse_transport("RTP/AVP;mode=receive");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->front().is_record());
}

TEST(RtspTransport, SinglePortAndUnknownParametersAreKept) {
  auto t = parse_transport("RTP/SAVP;unicast;client_port=5000;append;layers=2");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->front().profile, "SAVP");
  EXPECT_EQ(t->front().client_port, (PortRange{5000, 5000}));
  EXPECT_EQ(t->front().other, (std::vector<std::string>{"append", "layers=2"}));
  EXPECT_EQ(t->front().to_string(), "RTP/SAVP;unicast;client_port=5000;append;layers=2");
}

TEST(RtspTransport, BareDestinationIsAllowed) {
  auto t = parse_transport("RTP/AVP;unicast;destination;client_port=1-2");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->front().destination, "");
}

TEST(RtspTransport, BadSpecsAreRejected) {
  for (std::string_view bad :
       {"", " , ", "RAW/RAW/UDP", "RTP", "RTP/AVP/SCTP", "RTP/AVP;interleaved=0-256", "RTP/AVP;interleaved=a-b",
        "RTP/AVP;client_port=70000", "RTP/AVP;client_port=", "RTP/AVP;mode=pause", "RTP/AVP;ssrc=123456789",
        "RTP/AVP;ssrc=xyz", "RTP/AVP;ttl=256", "RTP/AVP;source=", "RTP/AVP;client_port=1-2-3"}) {
    EXPECT_FALSE(parse_transport(bad)) << bad;
  }
  EXPECT_EQ(parse_transport("RTP/AVP;mode=pause").error(), "RTSP: bad Transport parameter mode='pause'");
}

TEST(RtspSession, IdAndTimeout) {
  auto s = parse_session("12345678;timeout=60");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->id, "12345678");
  EXPECT_EQ(s->timeout, 60u);
  EXPECT_EQ(s->to_string(), "12345678;timeout=60");
  auto bare = parse_session(" ABCdef-12.$ ");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->id, "ABCdef-12.$");
  EXPECT_EQ(bare->timeout, std::nullopt);
  EXPECT_EQ(bare->to_string(), "ABCdef-12.$");
}

TEST(RtspSession, BadSessionsAreRejected) {
  EXPECT_FALSE(parse_session(""));
  EXPECT_FALSE(parse_session(";timeout=5"));
  EXPECT_FALSE(parse_session("a b"));
  EXPECT_FALSE(parse_session("abc;timeout=x"));
  EXPECT_FALSE(parse_session(std::string(257, 'a')));
}

TEST(RtspRtpInfo, ParsesAndBuildsEntries) {
  std::string_view v =
      "url=rtsp://h/s/trackID=1;seq=9810;rtptime=3450012, url=rtsp://h/s/trackID=2;seq=1;rtptime=4294967295";
  auto r = parse_rtp_info(v);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (RtpInfoEntry{"rtsp://h/s/trackID=1", 9810, 3450012}));
  EXPECT_EQ((*r)[1].rtptime, 4294967295u);
  EXPECT_EQ(build_rtp_info(*r),
            "url=rtsp://h/s/trackID=1;seq=9810;rtptime=3450012,url=rtsp://h/s/trackID=2;seq=1;rtptime=4294967295");
}

TEST(RtspRtpInfo, QuotedUrlAndMissingFields) {
  auto r = parse_rtp_info(R"(url="rtsp://h/a;b,c";seq=5)");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->front().url, "rtsp://h/a;b,c");
  EXPECT_EQ(r->front().seq, 5);
  EXPECT_EQ(r->front().rtptime, std::nullopt);
}

TEST(RtspRtpInfo, BadEntriesAreRejected) {
  EXPECT_FALSE(parse_rtp_info(""));
  EXPECT_FALSE(parse_rtp_info("seq=1"));
  EXPECT_FALSE(parse_rtp_info("url=x;seq=65536"));
  EXPECT_FALSE(parse_rtp_info("url=x;rtptime=4294967296"));
  EXPECT_FALSE(parse_rtp_info("url=x;garbage"));
}

TEST(RtspRange, NptRange) {
  EXPECT_EQ(build_npt_range(0), "npt=0.000-");
  EXPECT_EQ(build_npt_range(1.5, 10.25), "npt=1.500-10.250");
  EXPECT_EQ(build_npt_range(-3), "npt=0.000-");
}

TEST(RtspPublic, BuildAndParse) {
  std::vector<std::string_view> methods = {"OPTIONS", "DESCRIBE", "SETUP", "PLAY"};
  auto v = build_public(methods);
  EXPECT_EQ(v, "OPTIONS, DESCRIBE, SETUP, PLAY");
  EXPECT_EQ(parse_public(" OPTIONS,DESCRIBE ,, SETUP"), (std::vector<std::string>{"OPTIONS", "DESCRIBE", "SETUP"}));
}

}  // namespace
}  // namespace sg::rtsp
