// Fuzzes what playback reads from recorded segments: the moov/moof sample-table reader (src/mp4/fragment_reader).
// The file names are parsed by record/path_pattern (fuzz/record_path.cpp).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mp4/box_parser.hpp"
#include "mp4/fragment_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sg::Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
  std::vector<sg::mp4::RecordedTrack> tracks;
  if (auto boxes = sg::mp4::parse_boxes(bytes)) {
    for (const auto& b : *boxes) {
      if (b.type == "moov") {
        if (auto t = sg::mp4::parse_moov(b.payload)) tracks = std::move(*t);
      } else if (b.type == "moof") {
        std::vector<sg::mp4::FragmentSample> samples;
        (void)sg::mp4::parse_moof(b.payload, b.offset, tracks, samples);
        for (const auto& s : samples)
          if (s.offset < b.offset) (void)s;  // offsets may point anywhere: the reader checks them against the file
      }
    }
  }
  return 0;
}
