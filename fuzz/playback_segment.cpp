// Fuzzes what playback reads from recorded segments: the moov/moof sample-table reader (src/mp4/fragment_reader)
// and the segment path pattern's inverse (src/playback/path_pattern).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mp4/box_parser.hpp"
#include "mp4/fragment_reader.hpp"
#include "playback/path_pattern.hpp"

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
  // The same bytes as "pattern\npath".
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  if (nl != std::string_view::npos) {
    (void)sg::playback::parse_segment_path(text.substr(0, nl), text.substr(nl + 1));
    (void)sg::playback::pattern_root(text.substr(0, nl));
    (void)sg::playback::pattern_for_stream(text.substr(0, nl), text.substr(nl + 1));
  }
  return 0;
}
