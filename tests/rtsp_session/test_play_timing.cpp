// Sender reports of an RTSP play session: when they are due and how they are laid out.
#include <gtest/gtest.h>

#include "rtp/rtcp.hpp"
#include "rtsp_session/play_timing.hpp"

namespace sg::rtsp_session {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(PlayReports, FirstPacketOfATrackMakesReportsDueAtOnce) {
  PlayReports r;
  r.configure(2, "streamgate@s1");
  r.set_track(0, 0x11, 90000);
  r.set_track(1, 0x22, 48000);
  r.build(0, 0);  // nothing sent yet: no report, next one in 2 s
  EXPECT_FALSE(r.due(kSecond));
  r.on_packet(0, 1000, kSecond, 1200);
  EXPECT_TRUE(r.due(kSecond));
  EXPECT_EQ(r.build(kSecond, 0).size(), 1u);
  r.on_packet(0, 4000, kSecond + kSecond / 30, 1200);
  EXPECT_FALSE(r.due(2 * kSecond));
  EXPECT_TRUE(r.due(kSecond + PlayReports::kIntervalNs));
}

TEST(PlayReports, EachTrackGetsSrAndCnameWithRoomForAnInterleavedHeader) {
  PlayReports r;
  r.configure(3, "streamgate@s1");
  r.set_track(0, 0x11, 90000);
  r.set_track(2, 0x33, 48000);
  r.on_packet(0, 90000, 10 * kSecond, 1000);
  r.on_packet(2, 48000, 10 * kSecond, 200);
  r.on_packet(2, 49024, 10 * kSecond + kSecond * 1024 / 48000, 210);
  const auto& reports = r.build(11 * kSecond, 1'700'000'000 * kSecond);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].track, 0u);
  EXPECT_EQ(reports[1].track, 2u);
  EXPECT_EQ(reports[0].framed.size(), reports[0].compound().size() + 4);
  auto audio = rtp::parse_rtcp(reports[1].compound());
  ASSERT_TRUE(audio.ok()) << audio.error();
  ASSERT_EQ(audio->size(), 2u);
  const auto& sr = std::get<rtp::SenderReport>(audio->at(0));
  EXPECT_EQ(sr.ssrc, 0x33u);
  EXPECT_EQ(sr.packet_count, 2u);
  EXPECT_EQ(sr.octet_count, 410u);
  EXPECT_EQ(sr.rtp_timestamp, 48000u + 48000u);  // one second after the first packet's instant
  EXPECT_EQ(std::get<rtp::Sdes>(audio->at(1)).chunks.at(0).cname(), "streamgate@s1");
  auto video = rtp::parse_rtcp(reports[0].compound());
  ASSERT_TRUE(video.ok());
  EXPECT_EQ(std::get<rtp::Sdes>(video->at(1)).chunks.at(0).cname(), "streamgate@s1");  // one CNAME: lip sync
}

}  // namespace
}  // namespace sg::rtsp_session
