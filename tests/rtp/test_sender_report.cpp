// Sender report arithmetic (RFC 3550 6.4.1): NTP time from Unix time, RTP time of an instant, counts.
#include <gtest/gtest.h>

#include "rtp/rtcp.hpp"
#include "rtp/sender_report.hpp"

namespace sg::rtp {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(SenderReport, UnixEpochIsNtpSecond2208988800) { EXPECT_EQ(ntp_from_unix_ns(0), 2208988800ull << 32); }

TEST(SenderReport, NtpFractionIsBinaryFractionOfTheSecond) {
  EXPECT_EQ(ntp_from_unix_ns(1'700'000'000 * kSecond + kSecond / 2),
            ((1'700'000'000ull + 2208988800ull) << 32) | 0x80000000ull);
}

TEST(SenderReport, TimestampAtAdvancesByClockRate) {
  EXPECT_EQ(timestamp_at(1000, 5 * kSecond, 7 * kSecond, 90000), 1000u + 180000u);
}

TEST(SenderReport, TimestampAtGoesBackInTimeAndWraps) {
  EXPECT_EQ(timestamp_at(100, 10 * kSecond, 9 * kSecond, 48000), static_cast<uint32_t>(100 - 48000));
  EXPECT_EQ(timestamp_at(0xffffff00u, 0, kSecond, 90000), 0xffffff00u + 90000u);
}

TEST(SenderReport, ReportExtrapolatesThePacketsLineToNowAndCountsPayload) {
  SenderReporter r;
  EXPECT_FALSE(r.sent_any());
  r.on_packet(3000, 1 * kSecond, 1000, 90000);
  r.on_packet(6000, 1 * kSecond + kSecond / 30, 400, 90000);
  ASSERT_TRUE(r.sent_any());
  auto sr = r.report(0x1234, 90000, 2 * kSecond, 1'700'000'000 * kSecond);
  EXPECT_EQ(sr.ssrc, 0x1234u);
  EXPECT_EQ(sr.rtp_timestamp, 3000u + 90000u);
  EXPECT_EQ(sr.ntp_timestamp, (1'700'000'000ull + 2208988800ull) << 32);
  EXPECT_EQ(sr.packet_count, 2u);
  EXPECT_EQ(sr.octet_count, 1400u);
  EXPECT_TRUE(sr.reports.empty());
}

TEST(SenderReport, ArrivalJitterDoesNotMoveTheRtpTimeOfReports) {
  SenderReporter r;
  r.on_packet(0, 0, 100, 90000);
  r.on_packet(9000, kSecond / 10 + kSecond / 20, 100, 90000);  // 50 ms late
  EXPECT_EQ(r.report(1, 90000, kSecond, 0).rtp_timestamp, 90000u);
}

TEST(SenderReport, PacketsFarOffTheLineRedrawIt) {
  SenderReporter r;
  r.on_packet(0, 0, 100, 90000);
  r.on_packet(90000, 2 * kSecond, 100, 90000);  // a second behind the line
  EXPECT_EQ(r.report(1, 90000, 3 * kSecond, 0).rtp_timestamp, 180000u);
}

TEST(SenderReport, BuiltReportParsesBack) {
  SenderReporter r;
  r.on_packet(42, 0, 10, 8000);
  ByteVector compound;
  append_sender_report(compound, r.report(7, 8000, 0, 0));
  append_sdes_cname(compound, 7, "streamgate@abc");
  auto msgs = parse_rtcp(compound);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ(std::get<SenderReport>(msgs->at(0)).rtp_timestamp, 42u);
  EXPECT_EQ(std::get<Sdes>(msgs->at(1)).chunks.at(0).cname(), "streamgate@abc");
}

}  // namespace
}  // namespace sg::rtp
