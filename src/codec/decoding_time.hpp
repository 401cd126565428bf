#pragma once
// Decoding times for video that arrives in decoding order with presentation times only (an RTP timestamp is the
// frame's presentation time: RFC 6184 5.1, RFC 7798 4.1). Pure: no clocks, the caller passes timestamps.
//
// ITU-T H.264 C.4.5 / H.265 C.5.2: with at most N frames that precede a frame in decoding order and follow it in
// output order (max_num_reorder_frames / sps_max_num_reorder_pics), the frame with output position k is decoded
// at the latest at decoding position k + N. So the i-th frame's DTS can be the (i - N)-th smallest PTS seen so
// far: it is known once frame i has arrived (no delay), it increases strictly, and it is never after the frame's
// own PTS. The first N frames, for which no such PTS exists yet, get DTS one frame step apart before the first
// PTS (this is also what libx264 writes).
//
// A stream that reorders more than declared would need a DTS after its PTS: such a frame gets PTS = DTS (one
// frame shown a little late), and the depth grows by one so later frames are timed right again.
#include <cstdint>
#include <optional>
#include <vector>

#include "codec/h264.hpp"
#include "codec/h265.hpp"

namespace sg::codec {

class DecodingTimeline {
 public:
  static constexpr uint32_t kMaxReorderDepth = 16;  // MaxDpbFrames never exceeds 16 (H.264 A.3.1, H.265 A.4.2)

  // `frame_ticks`: the nominal frame duration in the timestamps' unit, for the first frames' DTS (> 0).
  DecodingTimeline(uint32_t reorder_depth, int64_t frame_ticks);

  struct Times {
    int64_t dts = 0;
    int64_t pts = 0;  // the given PTS, unless it had to be raised to the DTS (see above)
  };
  // The next frame in decoding order, with its presentation time.
  Times push(int64_t pts);

  uint32_t reorder_depth() const { return depth_; }
  // The DTS of the first frame is the first PTS minus this.
  int64_t lead() const { return static_cast<int64_t>(depth_) * step_; }
  // Frames presented before an already given DTS (more reordering than declared); their PTS was raised.
  uint64_t late_frames() const { return late_; }

 private:
  uint32_t depth_;
  int64_t step_;
  std::vector<int64_t> pending_;  // PTS not yet used as a DTS, ascending; at most depth_ + 1 of them
  bool started_ = false;
  int64_t last_dts_ = 0;
  uint64_t late_ = 0;
};

// How deep a stream reorders, from its SPS. H.264: the VUI's max_num_reorder_frames, else 0 when output order is
// decoding order (pic_order_cnt_type 2, 8.2.1.3) or the profile has no B slices (Baseline), else `fallback`.
// H.265: sps_max_num_reorder_pics, else `fallback`. Capped at kMaxReorderDepth.
uint32_t reorder_depth(const h264::Sps& sps, uint32_t fallback);
uint32_t reorder_depth(const h265::Sps& sps, uint32_t fallback);

// The frame duration from the H.264 VUI timing info (E.2.1: two ticks per frame) in units of `clock_rate`; unset
// without timing info or when it says less than 1/1000 s or more than 10 s per frame.
std::optional<int64_t> frame_ticks(const h264::Sps& sps, uint32_t clock_rate);

}  // namespace sg::codec
