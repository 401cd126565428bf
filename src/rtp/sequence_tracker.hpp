#pragma once
// Receive statistics for one RTP source (RFC 3550 A.1, A.3, A.8): extended highest sequence number, loss and
// interarrival jitter. Pure: arrival times are passed in, already converted to RTP timestamp units.
#include <cstdint>

namespace sg::rtp {

struct ReceptionStats {
  uint32_t extended_highest = 0;  // cycles << 16 | highest sequence
  uint32_t expected = 0;
  uint32_t received = 0;
  int32_t cumulative_lost = 0;  // clamped to the 24-bit range of a report block
  uint8_t fraction_lost = 0;    // since the previous interval_report(), in 1/256
  uint32_t jitter = 0;          // RTP timestamp units
};

class SequenceTracker {
 public:
  static constexpr uint32_t kMaxDropout = 3000;
  static constexpr uint32_t kMaxMisorder = 100;

  // `min_sequential`: packets in sequence needed before a new source is valid (RFC 3550 A.1 uses 2; 1 accepts the
  // first packet, which suits a source already known from signalling).
  explicit SequenceTracker(uint32_t min_sequential = 1) : min_sequential_(min_sequential == 0 ? 1 : min_sequential) {}

  // Feeds one packet. Returns false when A.1 does not count it: still on probation, or a large jump waiting for a
  // second packet to confirm it. Duplicates and reordered packets return true (and are counted as received).
  bool update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival);

  bool started() const { return started_; }
  uint32_t extended_highest() const { return cycles_ + max_seq_; }
  uint32_t received() const { return received_; }
  uint32_t expected() const { return started_ && probation_ == 0 ? extended_highest() - base_seq_ + 1 : 0; }
  int64_t lost() const { return int64_t{expected()} - received_; }
  uint32_t jitter() const { return jitter_q4_ >> 4; }
  uint32_t cycles() const { return cycles_ >> 16; }

  // Statistics for a report block; fraction_lost covers the packets since the previous call (RFC 3550 A.3).
  ReceptionStats interval_report();

 private:
  void init(uint16_t seq);

  uint32_t min_sequential_;
  bool started_ = false;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;  // count of wraps << 16, as in A.1
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = 0;
  uint32_t probation_ = 0;
  uint32_t received_ = 0;
  uint32_t expected_prior_ = 0;
  uint32_t received_prior_ = 0;
  bool have_transit_ = false;
  uint32_t transit_ = 0;
  uint32_t jitter_q4_ = 0;  // jitter * 16 (A.8 integer form)
};

}  // namespace sg::rtp
