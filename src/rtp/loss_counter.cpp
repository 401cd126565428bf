#include "rtp/loss_counter.hpp"

namespace sg::rtp {

namespace {
constexpr uint32_t kSeqMod = 1u << 16;
constexpr uint32_t kNoBadSeq = kSeqMod + 1;
}  // namespace

void LossCounter::start(uint16_t seq) {
  started_ = true;
  max_seq_ = seq;
  ext_max_ = kSeqMod + seq;
  ext_base_ = ext_max_;
  bad_seq_ = kNoBadSeq;
  received_ = 1;
  seen_.reset();
  mark(ext_max_);
}

LossCounter::Arrival LossCounter::update(uint16_t seq) {
  if (!started_) {
    start(seq);
    return Arrival::First;
  }
  const auto udelta = static_cast<uint16_t>(seq - max_seq_);
  if (udelta == 0) {
    ++duplicates_;
    return Arrival::Duplicate;
  }
  if (udelta < kMaxDropout) {  // ahead, with a permissible gap: the numbers skipped are missing until they arrive
    const uint64_t to = ext_max_ + udelta;
    if (udelta > kWindow) {
      // The whole window leaves; the numbers skipped that never enter the new one are lost at once.
      for (uint64_t e = ext_max_ + 1 - kWindow; e <= ext_max_; ++e) settle(e);
      settled_lost_ += udelta - kWindow;
      seen_.reset();
    } else {
      for (uint64_t e = ext_max_ + 1; e <= to; ++e) {
        settle(e - kWindow);  // the same slot as e
        seen_[e % kWindow] = false;
      }
    }
    ext_max_ = to;
    max_seq_ = seq;
    mark(ext_max_);
    ++received_;
    bad_seq_ = kNoBadSeq;
    return Arrival::InOrder;
  }
  if (udelta <= kSeqMod - kMaxMisorder) {  // a very large jump, ahead or behind
    if (seq == bad_seq_) {
      // RFC 3550 A.1: two sequential packets after a jump: the sender restarted. The packet that announced the jump
      // (seq - 1) counts too.
      for (uint64_t e = ext_max_ + 1 - kWindow; e <= ext_max_; ++e) settle(e);
      expected_before_ += ext_max_ - ext_base_ + 1;
      received_before_ += received_;
      ++restarts_;
      --ignored_;
      start(static_cast<uint16_t>(seq - 1));
      ++ext_max_;
      max_seq_ = seq;
      mark(ext_max_);
      ++received_;
      return Arrival::Restart;
    }
    bad_seq_ = (uint32_t{seq} + 1) & (kSeqMod - 1);
    ++ignored_;
    return Arrival::Ignored;
  }
  // Behind the highest by fewer than kMaxMisorder: reordered, or a duplicate.
  const uint64_t ext = ext_max_ - (kSeqMod - udelta);
  if (ext < ext_base_) {
    // Older than the first packet counted (reordered around the start): the run begins earlier than thought.
    ext_base_ = ext;
    mark(ext);
    ++received_;
    return Arrival::Reordered;
  }
  if (seen(ext)) {
    ++duplicates_;
    return Arrival::Duplicate;
  }
  mark(ext);
  ++received_;
  return Arrival::Reordered;
}

LossCounts LossCounter::counts() const {
  LossCounts c;
  c.expected = expected_before_ + (started_ ? ext_max_ - ext_base_ + 1 : 0);
  c.received = received_before_ + received_;
  c.duplicates = duplicates_;
  c.ignored = ignored_;
  c.restarts = restarts_;
  c.settled_lost = settled_lost_;
  return c;
}

}  // namespace sg::rtp
