// Fuzzes H.264 bitstream parsing: SPS, Annex-B / AVCC splitting, sprop-parameter-sets, avcC building.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/h264.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto sps = codec::h264::parse_sps(input);
  if (sps.ok() && (sps->width == 0 || sps->height == 0)) __builtin_trap();
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
