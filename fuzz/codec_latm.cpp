// Fuzzes LATM (codec/latm.hpp): byte 0 splits the input into a StreamMuxConfig and a payload. Whatever config
// parses must hold an AudioSpecificConfig that parses again; split frames must lie inside the payload and be
// non-empty, and a failed split must append nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/latm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  using namespace sg::codec;
  if (size < 1) return 0;
  Bytes input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  const size_t cut = data[0] < input.size() ? data[0] : input.size();
  auto config = latm::parse_stream_mux_config(input.first(cut));
  (void)latm::stream_mux_config_from_sdp(as_string_view(input));
  latm::StreamMuxConfig c;
  if (config.ok()) {
    if (config->subframes < 1 || config->subframes > 64) __builtin_trap();
    if (!aac::parse_audio_specific_config(config->audio_specific_config).ok()) __builtin_trap();
    c = *config;
  } else {
    c.subframes = static_cast<uint8_t>(1 + data[0] % 3);
    c.other_data_bits = data[0] % 17;
  }
  Bytes payload = input.subspan(cut);
  std::vector<Bytes> frames;
  auto s = latm::split_audio_mux_elements(payload, c, frames);
  if (!s.ok() && !frames.empty()) __builtin_trap();
  for (Bytes f : frames) {
    if (f.empty() || f.data() < payload.data() || f.data() + f.size() > payload.data() + payload.size())
      __builtin_trap();
  }
  return 0;
}
