#include "codec/decoding_time.hpp"

#include <algorithm>

namespace sg::codec {

DecodingTimeline::DecodingTimeline(uint32_t reorder_depth, int64_t frame_ticks)
    : depth_(std::min(reorder_depth, kMaxReorderDepth)), step_(std::max<int64_t>(frame_ticks, 1)) {
  pending_.reserve(depth_ + 2);
}

DecodingTimeline::Times DecodingTimeline::push(int64_t pts) {
  if (started_ && pts <= last_dts_) {
    // Presented before a time already given as a DTS: more reordering than the depth allows.
    ++late_;
    if (depth_ < kMaxReorderDepth) ++depth_;
    last_dts_ += 1;
    return {last_dts_, last_dts_};
  }
  pending_.insert(std::upper_bound(pending_.begin(), pending_.end(), pts), pts);
  int64_t dts;
  if (pending_.size() > depth_) {
    dts = pending_.front();
    pending_.erase(pending_.begin());
  } else {
    // Fewer than depth + 1 frames since the start (or since the depth grew): count back from the earliest PTS.
    dts = pending_.front() - static_cast<int64_t>(depth_ + 1 - pending_.size()) * step_;
  }
  if (started_) dts = std::max(dts, last_dts_ + 1);
  started_ = true;
  last_dts_ = dts;
  return {dts, pts};
}

uint32_t reorder_depth(const h264::Sps& sps, uint32_t fallback) {
  if (sps.max_num_reorder_frames) return std::min(*sps.max_num_reorder_frames, DecodingTimeline::kMaxReorderDepth);
  if (sps.pic_order_cnt_type == 2 || sps.profile_idc == 66) return 0;
  return std::min(fallback, DecodingTimeline::kMaxReorderDepth);
}

uint32_t reorder_depth(const h265::Sps& sps, uint32_t fallback) {
  return std::min(sps.max_num_reorder_pics.value_or(fallback), DecodingTimeline::kMaxReorderDepth);
}

std::optional<int64_t> frame_ticks(const h264::Sps& sps, uint32_t clock_rate) {
  if (sps.num_units_in_tick == 0 || sps.time_scale == 0) return std::nullopt;
  const int64_t ticks = int64_t{2} * sps.num_units_in_tick * clock_rate / sps.time_scale;
  if (ticks * 1000 < int64_t{clock_rate} || ticks > int64_t{10} * clock_rate || ticks <= 0) return std::nullopt;
  return ticks;
}

}  // namespace sg::codec
