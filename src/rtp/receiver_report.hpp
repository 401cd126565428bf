#pragma once
// What an RTP receiver needs for the report block of its RTCP receiver reports (RFC 3550 6.4.2) about one incoming
// RTP stream: the source's SSRC, loss and extended highest sequence number (SequenceTracker), interarrival jitter,
// and LSR/DLSR from the source's latest sender report. Pure: every time is passed in (one monotonic clock).
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtp/rtcp.hpp"
#include "rtp/sequence_tracker.hpp"

namespace sg::rtp {

class ReceiverReporter {
 public:
  explicit ReceiverReporter(uint32_t clock_rate) : clock_rate_(clock_rate == 0 ? 90000 : clock_rate) {}

  // One RTP packet received at `arrival_ns`. A new SSRC (the source restarted) starts the statistics afresh.
  void on_rtp(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp, int64_t arrival_ns);
  // A sender report received at `arrival_ns`; one from another SSRC than the media's (or before any) is ignored.
  void on_sender_report(const SenderReport& sr, int64_t arrival_ns);

  // The SSRC of the stream, once a packet arrived.
  std::optional<uint32_t> source_ssrc() const { return started_ ? std::optional<uint32_t>(ssrc_) : std::nullopt; }

  // The report block for `now_ns`; fraction_lost covers the packets since the previous call (RFC 3550 6.4.1).
  // Nothing before the first packet.
  std::optional<ReportBlock> report_block(int64_t now_ns);

 private:
  uint32_t clock_rate_;
  bool started_ = false;
  uint32_t ssrc_ = 0;
  SequenceTracker tracker_;
  uint32_t last_sr_ = 0;    // middle 32 bits of the NTP timestamp of the latest SR; 0 before any
  int64_t last_sr_ns_ = 0;  // when it arrived
};

// The compound packet a receiver sends (RFC 3550 6.1: an RR first, then SDES with its CNAME), with a PLI for
// `pli_media_ssrc` after them when asked (RFC 4585 6.3.1; feedback rides in a compound packet, 3.1).
ByteVector receiver_rtcp(uint32_t own_ssrc, std::string_view cname, std::span<const ReportBlock> blocks,
                         std::optional<uint32_t> pli_media_ssrc = std::nullopt);

}  // namespace sg::rtp
