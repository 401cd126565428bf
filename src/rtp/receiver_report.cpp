#include "rtp/receiver_report.hpp"

namespace sg::rtp {

namespace {
constexpr int64_t kNsPerSecond = 1000000000;

// A time in units of the RTP clock, modulo 2^32 (RFC 3550 A.8 compares only differences).
uint32_t in_clock_units(int64_t ns, uint32_t clock_rate) {
  const __int128 ticks = static_cast<__int128>(ns) * clock_rate / kNsPerSecond;
  return static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(ticks)));
}
}  // namespace

void ReceiverReporter::on_rtp(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp, int64_t arrival_ns) {
  if (!started_ || ssrc != ssrc_) {
    started_ = true;
    ssrc_ = ssrc;
    tracker_ = SequenceTracker();
    last_sr_ = 0;
    last_sr_ns_ = 0;
  }
  tracker_.update(sequence, rtp_timestamp, in_clock_units(arrival_ns, clock_rate_));
}

void ReceiverReporter::on_sender_report(const SenderReport& sr, int64_t arrival_ns) {
  // Before the first RTP packet the stream's SSRC is unknown: that SR is ignored (the next one follows in seconds).
  if (!started_ || sr.ssrc != ssrc_) return;
  last_sr_ = ntp_middle32(sr.ntp_timestamp);
  last_sr_ns_ = arrival_ns;
}

std::optional<ReportBlock> ReceiverReporter::report_block(int64_t now_ns) {
  if (!started_) return std::nullopt;
  const auto stats = tracker_.interval_report();
  ReportBlock b;
  b.ssrc = ssrc_;
  b.fraction_lost = stats.fraction_lost;
  b.cumulative_lost = stats.cumulative_lost;
  b.highest_sequence = stats.extended_highest;
  b.jitter = stats.jitter;
  if (last_sr_ != 0) {
    // RFC 3550 6.4.1: DLSR in units of 1/65536 s; 0 when no SR arrived yet (LSR 0 too).
    const int64_t delay = now_ns > last_sr_ns_ ? now_ns - last_sr_ns_ : 0;
    b.last_sr = last_sr_;
    b.delay_since_last_sr = static_cast<uint32_t>((static_cast<__int128>(delay) << 16) / kNsPerSecond);
  }
  return b;
}

ByteVector receiver_rtcp(uint32_t own_ssrc, std::string_view cname, std::span<const ReportBlock> blocks,
                         std::optional<uint32_t> pli_media_ssrc) {
  ByteVector out;
  ReceiverReport rr{own_ssrc, {blocks.begin(), blocks.end()}};
  append_receiver_report(out, rr);
  append_sdes_cname(out, own_ssrc, cname);
  if (pli_media_ssrc) append_pli(out, own_ssrc, *pli_media_ssrc);
  return out;
}

}  // namespace sg::rtp
