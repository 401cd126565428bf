#include "rtp/sender_report.hpp"

#include <cstdlib>

namespace sg::rtp {

namespace {
constexpr uint64_t kNtpUnixOffset = 2208988800ull;  // seconds from 1900-01-01 to 1970-01-01
constexpr int64_t kNsPerSecond = 1000000000;
}  // namespace

uint64_t ntp_from_unix_ns(int64_t unix_ns) {
  if (unix_ns < 0) unix_ns = 0;
  const uint64_t secs = static_cast<uint64_t>(unix_ns / kNsPerSecond) + kNtpUnixOffset;
  const uint64_t frac = (static_cast<uint64_t>(unix_ns % kNsPerSecond) << 32) / kNsPerSecond;
  return (secs << 32) | frac;
}

uint32_t timestamp_at(uint32_t timestamp, int64_t timestamp_ns, int64_t at_ns, uint32_t clock_rate) {
  // 128-bit product: an elapsed time of years at 96 kHz stays exact.
  const __int128 ticks = static_cast<__int128>(at_ns - timestamp_ns) * clock_rate / kNsPerSecond;
  return timestamp + static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(ticks)));
}

bool SenderReporter::off_line(uint32_t timestamp, int64_t timestamp_ns, uint32_t clock_rate) const {
  if (clock_rate == 0) return false;
  const auto expected = timestamp_at(anchor_timestamp_, anchor_ns_, timestamp_ns, clock_rate);
  const int64_t off = static_cast<int32_t>(timestamp - expected);
  return std::abs(off) * kNsPerSecond / clock_rate > kMaxDriftNs;
}

SenderReport SenderReporter::report(uint32_t ssrc, uint32_t clock_rate, int64_t now_ns, int64_t now_unix_ns) const {
  SenderReport sr;
  sr.ssrc = ssrc;
  // RFC 3550 6.4.1: the RTP timestamp stands for the same instant as the NTP timestamp, extrapolated from the
  // latest packet when no packet is being sent right now.
  sr.ntp_timestamp = ntp_from_unix_ns(now_unix_ns);
  sr.rtp_timestamp = timestamp_at(anchor_timestamp_, anchor_ns_, now_ns, clock_rate);
  sr.packet_count = packets_;
  sr.octet_count = octets_;
  return sr;
}

}  // namespace sg::rtp
