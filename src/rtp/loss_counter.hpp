#pragma once
// Packet loss of one RTP stream, from its sequence numbers. Pure: no clocks, no I/O.
//
// Follows RFC 3550 A.1 for wrap-around (extended sequence numbers), reordering (a packet up to kMaxMisorder behind
// the highest one) and sender restarts (a jump of kMaxDropout or more is believed only when the next packet follows
// it). Unlike the A.3 cumulative count (expected - received, which duplicates can drive negative and so hide loss),
// each sequence number is counted once: a duplicate is counted apart, and a reordered packet fills its gap.
// So 0 <= lost() <= expected() always. lost() can go down when a reordered packet arrives; settled_lost only goes
// up: it counts the missing sequence numbers too far behind the highest to arrive any more (a monotonic counter).
#include <bitset>
#include <cstdint>

namespace sg::rtp {

struct LossCounts {
  uint64_t expected = 0;      // sequence numbers from the first to the highest (summed over restarts)
  uint64_t received = 0;      // distinct sequence numbers among them that arrived
  uint64_t duplicates = 0;    // packets whose sequence number had already arrived
  uint64_t ignored = 0;       // far-off packets not confirmed by a successor (A.1 "bad_seq")
  uint64_t restarts = 0;      // sender restarts (A.1 resync)
  uint64_t settled_lost = 0;  // <= lost(); those of lost() that can no longer be filled
  uint64_t lost() const { return expected - received; }
};

class LossCounter {
 public:
  static constexpr uint32_t kMaxDropout = 3000;  // RFC 3550 A.1 MAX_DROPOUT
  static constexpr uint32_t kMaxMisorder = 100;  // RFC 3550 A.1 MAX_MISORDER

  enum class Arrival { First, InOrder, Reordered, Duplicate, Ignored, Restart };

  // Feeds the sequence number of one received packet, in arrival order.
  Arrival update(uint16_t seq);

  LossCounts counts() const;

 private:
  static constexpr uint32_t kWindow = 128;  // remembered sequence numbers behind the highest (> kMaxMisorder)

  void start(uint16_t seq);
  // The sequence number `ext` leaves the remembered window: if it never arrived, it is lost for good.
  void settle(uint64_t ext) {
    if (ext >= ext_base_ && !seen(ext)) ++settled_lost_;
  }
  bool seen(uint64_t ext) const { return seen_[ext % kWindow]; }
  void mark(uint64_t ext) { seen_[ext % kWindow] = true; }

  bool started_ = false;
  uint16_t max_seq_ = 0;
  uint64_t ext_max_ = 0;   // extended highest sequence number (starts at 1 << 16 so looking back never underflows)
  uint64_t ext_base_ = 0;  // extended number of the first packet of this run
  uint32_t bad_seq_ = 0;   // the sequence number that would confirm a jump; > 0xffff when none
  uint64_t received_ = 0;  // distinct packets of this run
  uint64_t expected_before_ = 0, received_before_ = 0;  // runs before the last restart
  uint64_t duplicates_ = 0, ignored_ = 0, restarts_ = 0, settled_lost_ = 0;
  std::bitset<kWindow> seen_;  // for ext in (ext_max_ - kWindow, ext_max_]: arrived
};

}  // namespace sg::rtp
