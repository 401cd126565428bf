// Receiver reports (RFC 3550 6.4.2) as the RTSP pull client sends them: report block fields from received RTP and
// the source's sender reports, and the compound packet (RR, SDES CNAME, optional PLI) read back by our RTCP parser.
#include <gtest/gtest.h>

#include "rtp/receiver_report.hpp"

namespace sg::rtp {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(ReceiverReporter, NothingToReportBeforeTheFirstPacket) {
  ReceiverReporter r(90000);
  EXPECT_FALSE(r.source_ssrc());
  EXPECT_FALSE(r.report_block(0));
}

TEST(ReceiverReporter, BlockNamesTheSourceAndCountsLossAndHighestSequence) {
  ReceiverReporter r(90000);
  // 0xfffe, 0xffff, then 1 and 2 after the wrap: sequence 0 is lost.
  r.on_rtp(0xabcd0001, 0xfffe, 1000, 1000 * kMs);
  r.on_rtp(0xabcd0001, 0xffff, 4000, 1033 * kMs);
  r.on_rtp(0xabcd0001, 1, 10000, 1100 * kMs);
  r.on_rtp(0xabcd0001, 2, 13000, 1133 * kMs);
  ASSERT_EQ(r.source_ssrc(), 0xabcd0001u);
  auto b = r.report_block(1200 * kMs);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ssrc, 0xabcd0001u);
  EXPECT_EQ(b->highest_sequence, 0x10002u);  // one cycle
  EXPECT_EQ(b->cumulative_lost, 1);
  EXPECT_EQ(b->fraction_lost, 256 / 5);  // 1 of 5 expected
  EXPECT_EQ(b->last_sr, 0u);             // no SR yet: LSR and DLSR are 0
  EXPECT_EQ(b->delay_since_last_sr, 0u);
  // The next interval lost nothing.
  r.on_rtp(0xabcd0001, 3, 16000, 1166 * kMs);
  EXPECT_EQ(r.report_block(1300 * kMs)->fraction_lost, 0);
}

TEST(ReceiverReporter, JitterGrowsWithArrivalVariation) {
  ReceiverReporter steady(90000), jumpy(90000);
  for (uint16_t i = 0; i < 50; ++i) {
    steady.on_rtp(1, i, i * 3000u, int64_t{i} * 100 * kMs / 3);
    jumpy.on_rtp(1, i, i * 3000u, int64_t{i} * 100 * kMs / 3 + (i % 2) * 20 * kMs);
  }
  EXPECT_EQ(steady.report_block(2 * 1000 * kMs)->jitter, 0u);
  EXPECT_GT(jumpy.report_block(2 * 1000 * kMs)->jitter, 1000u);  // ~20 ms at 90 kHz is 1800
}

TEST(ReceiverReporter, LsrAndDlsrComeFromTheSourcesLatestSenderReport) {
  ReceiverReporter r(90000);
  r.on_rtp(7, 100, 0, 0);
  SenderReport sr;
  sr.ssrc = 7;
  sr.ntp_timestamp = 0x0000123456789abcull;
  r.on_sender_report(sr, 1000 * kMs);
  SenderReport other = sr;
  other.ssrc = 8;  // another source's SR is not ours
  other.ntp_timestamp = 0x1111111111111111ull;
  r.on_sender_report(other, 1100 * kMs);
  auto b = r.report_block(1500 * kMs);
  EXPECT_EQ(b->last_sr, 0x12345678u);             // middle 32 bits
  EXPECT_EQ(b->delay_since_last_sr, 65536u / 2);  // 0.5 s in 1/65536 s
}

TEST(ReceiverReporter, NewSsrcRestartsTheStatistics) {
  ReceiverReporter r(90000);
  r.on_rtp(1, 10, 0, 0);
  r.on_rtp(1, 20, 0, 0);
  SenderReport sr;
  sr.ssrc = 1;
  sr.ntp_timestamp = 1ull << 32;
  r.on_sender_report(sr, 0);
  r.on_rtp(2, 500, 0, kMs);
  auto b = r.report_block(2 * kMs);
  EXPECT_EQ(b->ssrc, 2u);
  EXPECT_EQ(b->cumulative_lost, 0);
  EXPECT_EQ(b->highest_sequence, 500u);
  EXPECT_EQ(b->last_sr, 0u);
}

TEST(ReceiverRtcp, CompoundIsReceiverReportThenCnameAndParses) {
  ReportBlock block{0xabcd0001, 12, 3, 0x10002, 45, 0x34567890, 32768};
  auto bytes = receiver_rtcp(0x5eed, "streamgate", std::span(&block, 1));
  auto parsed = parse_rtcp(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->size(), 2u);
  auto* rr = std::get_if<ReceiverReport>(&(*parsed)[0]);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->ssrc, 0x5eedu);
  ASSERT_EQ(rr->reports.size(), 1u);
  EXPECT_EQ(rr->reports[0], block);
  auto* sdes = std::get_if<Sdes>(&(*parsed)[1]);
  ASSERT_TRUE(sdes);
  ASSERT_EQ(sdes->chunks.size(), 1u);
  EXPECT_EQ(sdes->chunks[0].ssrc, 0x5eedu);
  EXPECT_EQ(sdes->chunks[0].cname(), "streamgate");
}

TEST(ReceiverRtcp, KeyframeRequestAddsAPliForTheMediaSsrc) {
  auto bytes = receiver_rtcp(0x5eed, "streamgate", {}, 0xabcd0001);
  // RFC 4585 6.3.1: PT=206 (PSFB), FMT=1, length 2, sender then media SSRC.
  ASSERT_GE(bytes.size(), 12u);
  const auto pli = Bytes(bytes).last(12);
  EXPECT_EQ(u8(pli, 0), 0x81);
  EXPECT_EQ(u8(pli, 1), 206);
  EXPECT_EQ(be16(pli, 2), 2);
  auto parsed = parse_rtcp(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->size(), 3u);
  auto* rr = std::get_if<ReceiverReport>(&(*parsed)[0]);
  ASSERT_TRUE(rr);
  EXPECT_TRUE(rr->reports.empty());
  EXPECT_EQ(std::get<Pli>((*parsed)[2]), (Pli{0x5eed, 0xabcd0001}));
}

}  // namespace
}  // namespace sg::rtp
