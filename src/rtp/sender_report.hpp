#pragma once
// What an RTP sender needs for its RTCP sender reports (RFC 3550 6.4.1): the packet and octet counts of one
// outgoing RTP stream and the latest RTP timestamp with the local time it stands for, from which the RTP time of
// any instant is extrapolated. Pure: every time is passed in (a monotonic clock for media, Unix time for NTP).
#include <cstdint>

#include "rtp/rtcp.hpp"

namespace sg::rtp {

// Unix time in nanoseconds -> 64-bit NTP timestamp (32.32 fixed point seconds since 1900, RFC 3550 4).
uint64_t ntp_from_unix_ns(int64_t unix_ns);

// The RTP timestamp at `at_ns`, given that `timestamp` stood for `timestamp_ns` (same clock), at `clock_rate`.
// Works both ways in time and across the 32-bit wrap.
uint32_t timestamp_at(uint32_t timestamp, int64_t timestamp_ns, int64_t at_ns, uint32_t clock_rate);

class SenderReporter {
 public:
  // One RTP packet sent: its timestamp, the (monotonic) time it stands for, and its payload size (RFC 3550 6.4.1:
  // the octet count excludes header and padding). Cheap: called per packet on the send path.
  void on_packet(uint32_t timestamp, int64_t timestamp_ns, size_t payload_bytes, uint32_t clock_rate) {
    if (packets_ == 0 || (timestamp != last_timestamp_ && off_line(timestamp, timestamp_ns, clock_rate))) {
      anchor_timestamp_ = timestamp;
      anchor_ns_ = timestamp_ns;
    }
    last_timestamp_ = timestamp;
    ++packets_;
    octets_ += static_cast<uint32_t>(payload_bytes);
  }
  // RFC 3550 6.4: only a participant that sent data since its last report sends an SR; here: anything ever.
  bool sent_any() const { return packets_ > 0; }
  uint32_t packets() const { return packets_; }
  uint32_t octets() const { return octets_; }

  // The report for the instant `now_ns` (monotonic, the clock of on_packet) = `now_unix_ns` (wall clock). RTP time
  // follows one line (the first packet's timestamp and time, advancing at the clock rate), not each packet's
  // arrival: receivers that re-time packets by each SR (ffmpeg) would otherwise see timestamps go back by the
  // arrival jitter. The line is re-drawn only when packets stray from it by more than kMaxDriftNs.
  SenderReport report(uint32_t ssrc, uint32_t clock_rate, int64_t now_ns, int64_t now_unix_ns) const;

  static constexpr int64_t kMaxDriftNs = 500'000'000;

 private:
  bool off_line(uint32_t timestamp, int64_t timestamp_ns, uint32_t clock_rate) const;

  uint32_t anchor_timestamp_ = 0;
  int64_t anchor_ns_ = 0;
  uint32_t last_timestamp_ = 0;
  uint32_t packets_ = 0;  // wrap as RFC 3550 6.4.1 allows
  uint32_t octets_ = 0;
};

}  // namespace sg::rtp
