#include "rtp/sequence_tracker.hpp"

#include <algorithm>

namespace sg::rtp {

namespace {
constexpr uint32_t kSeqMod = 1u << 16;
}

void SequenceTracker::init(uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;  // so seq == bad_seq_ is false
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  have_transit_ = false;
}

bool SequenceTracker::update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival) {
  if (!started_) {  // A.1: a new source starts on probation, max_seq one before the first packet
    started_ = true;
    init(seq);
    max_seq_ = static_cast<uint16_t>(seq - 1);
    probation_ = min_sequential_;
  }
  const auto udelta = static_cast<uint16_t>(seq - max_seq_);
  bool counted = true;
  if (probation_ > 0) {
    if (seq == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ != 0) return false;
      init(seq);
    } else {
      probation_ = min_sequential_ - 1;
      max_seq_ = seq;
      if (probation_ != 0) return false;
      init(seq);  // min_sequential 1: any packet validates the source
    }
  } else if (udelta < kMaxDropout) {  // in order, with permissible gap
    if (seq < max_seq_) cycles_ += kSeqMod;
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {  // a very large jump
    if (seq == bad_seq_) {
      // Two sequential packets: the sender restarted without telling us; resync (A.1).
      init(seq);
    } else {
      bad_seq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
      counted = false;
    }
  }
  // else: duplicate or reordered packet, counted as received below.
  if (!counted) return false;
  ++received_;

  // A.8 interarrival jitter: J += (|D| - J) / 16, kept scaled by 16 to stay in integers.
  const uint32_t transit = arrival - rtp_timestamp;
  if (have_transit_) {
    auto d = static_cast<int32_t>(transit - transit_);
    const uint32_t abs_d = d < 0 ? static_cast<uint32_t>(-static_cast<int64_t>(d)) : static_cast<uint32_t>(d);
    jitter_q4_ = jitter_q4_ + abs_d - ((jitter_q4_ + 8) >> 4);
  }
  transit_ = transit;
  have_transit_ = true;
  return true;
}

ReceptionStats SequenceTracker::interval_report() {
  ReceptionStats s;
  s.extended_highest = extended_highest();
  s.expected = expected();
  s.received = received_;
  s.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(lost(), -0x800000, 0x7fffff));
  const uint32_t expected_interval = s.expected - expected_prior_;
  const uint32_t received_interval = received_ - received_prior_;
  expected_prior_ = s.expected;
  received_prior_ = received_;
  const int64_t lost_interval = int64_t{expected_interval} - received_interval;
  if (expected_interval != 0 && lost_interval > 0)
    s.fraction_lost = static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
  s.jitter = jitter();
  return s;
}

}  // namespace sg::rtp
