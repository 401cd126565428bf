#include "media/timestamp_rebaser.hpp"

#include <algorithm>

namespace sg::media {

uint32_t TimestampRebaser::rebase(uint32_t source, uint32_t timestamp, int64_t arrival_ns) {
  if (!started_) {
    started_ = true;
    source_ = source;
    offset_ = 0;
    max_out_ = timestamp;
  } else if (source != source_) {
    // A new session: continue after the highest timestamp sent so far by the time that really passed (at least
    // one tick, so that no two units of different sessions share a timestamp).
    const int64_t gap_us = std::max<int64_t>(arrival_ns - last_arrival_ns_, 0) / 1000;
    const uint64_t ticks = std::max<uint64_t>(static_cast<uint64_t>(gap_us) * clock_rate_ / 1000000, 1);
    const uint32_t first = max_out_ + static_cast<uint32_t>(ticks);
    offset_ = first - timestamp;
    source_ = source;
    max_out_ = first;
  }
  const uint32_t out = timestamp + offset_;
  if (static_cast<int32_t>(out - max_out_) > 0) max_out_ = out;
  last_out_ = out;
  last_arrival_ns_ = arrival_ns;
  return out;
}

}  // namespace sg::media
