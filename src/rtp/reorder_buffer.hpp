#pragma once
// Puts RTP packets received over UDP back in sequence order. Pure and deterministic: no clocks; the owner calls
// skip_gap() when it decides a missing packet has waited long enough.
//
// Packets are released through a callback `emit(uint16_t seq, T&& item)` in strictly increasing (wrap-aware)
// sequence order between resyncs. The buffer holds at most `capacity` sequence numbers ahead of the next expected
// one; a packet beyond that window skips the oldest gaps (counted as lost). Duplicates and packets that arrive after
// their slot was passed are dropped and counted. A jump of kMaxDropout or more (or back by more than
// kMaxMisorder) is a sender restart when a second packet confirms it (RFC 3550 A.1 rule): then everything held is
// released and ordering restarts at the new sequence number.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace sg::rtp {

struct ReorderStats {
  uint64_t pushed = 0;
  uint64_t emitted = 0;
  uint64_t lost = 0;        // sequence numbers skipped without a packet
  uint64_t duplicates = 0;  // already held or already emitted
  uint64_t late = 0;        // arrived after their sequence number was skipped (or too old to tell)
  uint64_t stray = 0;       // single far-off packets not confirmed by a successor
  uint64_t resyncs = 0;
};

template <class T>
class ReorderBuffer {
 public:
  static constexpr int32_t kMaxDropout = 3000;
  static constexpr int32_t kMaxMisorder = 100;

  explicit ReorderBuffer(size_t capacity = 64) : slots_(capacity == 0 ? 1 : capacity), emitted_(slots_.size()) {}

  template <class Emit>
  void push(uint16_t seq, T item, Emit&& emit) {
    ++stats_.pushed;
    if (!started_) {
      start(seq);
    }
    const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(next_)));
    if (delta >= kMaxDropout || delta < -kMaxMisorder) {
      far_packet(seq, std::move(item), emit);
      return;
    }
    if (candidate_) {  // a normal packet: the far one was a stray
      candidate_.reset();
      ++stats_.stray;
    }
    if (delta < 0) {
      const auto back = static_cast<size_t>(-delta);
      if (back <= slots_.size() && emitted_[index(next_ - static_cast<int64_t>(back))]) {
        ++stats_.duplicates;
      } else {
        ++stats_.late;
      }
      return;
    }
    const int64_t ext = next_ + delta;
    // Window overflow: give up on the oldest missing packets until this one fits.
    while (ext - next_ >= static_cast<int64_t>(slots_.size())) {
      if (held_ == 0) {  // nothing to release: jump straight there
        const int64_t target = ext - static_cast<int64_t>(slots_.size()) + 1;
        stats_.lost += static_cast<uint64_t>(target - next_);
        for (int64_t s = std::max(next_, target - static_cast<int64_t>(slots_.size())); s < target; ++s)
          emitted_[index(s)] = false;
        next_ = target;
        break;
      }
      release_one(emit);
    }
    auto& slot = slots_[index(ext)];
    if (slot) {
      ++stats_.duplicates;
      return;
    }
    slot.emplace(seq, std::move(item));
    ++held_;
    drain(emit);
  }

  // Gives up on the missing packet(s) before the oldest held one and releases what follows in order.
  template <class Emit>
  void skip_gap(Emit&& emit) {
    if (held_ == 0) return;
    while (!slots_[index(next_)]) release_one(emit);
    drain(emit);
  }

  // Releases everything held, in order, counting the gaps as lost. Ordering continues from there.
  template <class Emit>
  void flush(Emit&& emit) {
    while (held_ > 0) release_one(emit);
  }

  size_t held() const { return held_; }
  size_t capacity() const { return slots_.size(); }
  // The next sequence number expected; meaningful once a packet was pushed.
  uint16_t next_sequence() const { return static_cast<uint16_t>(next_); }
  const ReorderStats& stats() const { return stats_; }

 private:
  size_t index(int64_t ext) const { return static_cast<size_t>(ext % static_cast<int64_t>(slots_.size())); }

  void start(uint16_t seq) {
    started_ = true;
    // Extended numbers start high enough that looking back never goes negative.
    next_ = (int64_t{1} << 32) + seq;
  }

  // Releases the slot at next_ (or counts it lost) and advances.
  template <class Emit>
  void release_one(Emit& emit) {
    auto& slot = slots_[index(next_)];
    if (slot) {
      auto [s, item] = std::move(*slot);
      slot.reset();
      --held_;
      emitted_[index(next_)] = true;
      ++stats_.emitted;
      ++next_;
      emit(s, std::move(item));
    } else {
      emitted_[index(next_)] = false;
      ++stats_.lost;
      ++next_;
    }
  }

  template <class Emit>
  void drain(Emit& emit) {
    while (held_ > 0 && slots_[index(next_)]) release_one(emit);
  }

  template <class Emit>
  void far_packet(uint16_t seq, T item, Emit& emit) {
    if (candidate_ && static_cast<uint16_t>(candidate_->first + 1) == seq) {
      // RFC 3550 A.1: two sequential packets after a jump mean the sender restarted.
      auto first = std::move(*candidate_);
      candidate_.reset();
      while (held_ > 0) release_one(emit);
      ++stats_.resyncs;
      std::fill(emitted_.begin(), emitted_.end(), false);
      start(first.first);
      ++stats_.emitted;
      emitted_[index(next_)] = true;
      ++next_;
      emit(first.first, std::move(first.second));
      ++stats_.emitted;
      emitted_[index(next_)] = true;
      ++next_;
      emit(seq, std::move(item));
      return;
    }
    if (candidate_) ++stats_.stray;
    candidate_.emplace(seq, std::move(item));
  }

  std::vector<std::optional<std::pair<uint16_t, T>>> slots_;
  std::vector<bool> emitted_;  // for the `capacity` sequence numbers before next_: emitted (true) or skipped
  std::optional<std::pair<uint16_t, T>> candidate_;
  size_t held_ = 0;
  int64_t next_ = 0;
  bool started_ = false;
  ReorderStats stats_;
};

}  // namespace sg::rtp
