// Fuzzes H.265 bitstream parsing: SPS (up to the reorder count), sprop-vps/sps/pps, hvcC building.
#include <cstddef>
#include <cstdint>

#include "codec/h265.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto sps = codec::h265::parse_sps(input);
  if (sps.ok() && (sps->width == 0 || sps->height == 0)) __builtin_trap();
  if (sps.ok() && sps->max_num_reorder_pics && *sps->max_num_reorder_pics > 15) __builtin_trap();  // < DPB size
  (void)codec::h265::build_hvcc({input}, {input}, {input});
  std::string_view text = as_string_view(input);
  (void)codec::h265::decode_sprop(text, text, text);
  (void)codec::h265::is_keyframe({input});
  return 0;
}
