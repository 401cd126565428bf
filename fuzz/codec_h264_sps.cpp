// Fuzzes H.264 bitstream parsing: SPS (with its VUI), Annex-B / AVCC splitting, sprop-parameter-sets, avcC
// building, and the decoding timeline an SPS configures (DTS strictly increasing, never after PTS).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/decoding_time.hpp"
#include "codec/h264.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto sps = codec::h264::parse_sps(input);
  if (sps.ok() && (sps->width == 0 || sps->height == 0)) __builtin_trap();
  if (sps.ok()) {
    if (sps->max_num_reorder_frames && *sps->max_num_reorder_frames > 16) __builtin_trap();
    codec::DecodingTimeline timeline(codec::reorder_depth(*sps, 2), codec::frame_ticks(*sps, 90000).value_or(3000));
    int64_t last = INT64_MIN;
    for (size_t i = 0; i + 1 < size; i += 2) {  // the input's bytes as PTS jitter around a 30 fps grid
      const int64_t pts = static_cast<int64_t>(i) * 1500 + (int64_t{data[i]} - 128) * 400 + data[i + 1];
      const auto t = timeline.push(pts);
      if (t.dts <= last || t.dts > t.pts || t.pts < pts) __builtin_trap();
      last = t.dts;
    }
  }
  (void)codec::h264::profile_level_id(input);
  (void)codec::h264::build_avcc({input}, {input});
  for (Bytes nalu : codec::h264::split_annexb(input)) {
    if (nalu.empty() || nalu.data() < input.data() || nalu.data() + nalu.size() > input.data() + input.size()) {
      __builtin_trap();
    }
    (void)codec::h264::parse_sps(nalu);
  }
  for (int ls : {1, 2, 4}) (void)codec::h264::split_avcc(input, ls);
  (void)codec::h264::decode_sprop_parameter_sets(as_string_view(input));
  return 0;
}
