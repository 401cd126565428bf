// Fuzzes AAC AudioSpecificConfig and ADTS parsing; whatever parses must build back and re-parse consistently.
#include <cstddef>
#include <cstdint>

#include "codec/aac.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  using namespace sg::codec;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  if (auto asc = aac::parse_audio_specific_config(input); asc.ok() && !asc->sbr) {
    auto built = aac::build_audio_specific_config(*asc);
    if (built.ok()) {
      auto again = aac::parse_audio_specific_config(*built);
      if (!again.ok() || again->object_type != asc->object_type || again->sample_rate != asc->sample_rate ||
          again->channel_config != asc->channel_config) {
        __builtin_trap();
      }
    }
  }
  Bytes rest = input;
  while (!rest.empty()) {
    auto h = aac::parse_adts(rest);
    if (!h.ok()) break;
    if (h->frame_length < h->header_size || h->frame_length > rest.size()) __builtin_trap();
    aac::AudioSpecificConfig c;
    c.object_type = h->object_type;
    c.sample_rate = h->sample_rate;
    c.channel_config = h->channel_config;
    auto header = aac::build_adts_header(c, h->frame_length - aac::kAdtsHeaderSize);
    if (header.ok()) {
      auto back = aac::parse_adts(*header);  // header alone: frame_length exceeds it unless the payload is empty
      if (back.ok() && back->frame_length != aac::kAdtsHeaderSize) __builtin_trap();
    }
    rest = rest.subspan(h->frame_length);
  }
  (void)aac::config_from_sdp(as_string_view(input));
  return 0;
}
