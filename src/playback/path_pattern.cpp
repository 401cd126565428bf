#include "playback/path_pattern.hpp"

#include "record/path_pattern.hpp"

namespace sg::playback {

std::optional<SegmentName> parse_segment_path(std::string_view pattern, std::string_view path) {
  auto r = record::parse_record_path(pattern, path);
  if (!r || r->format != record::RecordFormat::Fmp4) return std::nullopt;
  return SegmentName{std::move(r->stream), SysMicros{std::chrono::microseconds{r->start_us}}};
}

std::string pattern_root(std::string_view pattern) { return record::record_root(pattern); }

std::string pattern_root(std::string_view pattern, std::string_view stream) {
  std::string filled;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i, 7) == "%stream") {
      // A '%' in the name would start a field: written as "%%".
      for (char c : stream) filled += c == '%' ? std::string("%%") : std::string(1, c);
      i += 7;
    } else if (pattern[i] == '%' && i + 1 < pattern.size()) {
      filled.append(pattern.substr(i, 2));
      i += 2;
    } else {
      filled += pattern[i++];
    }
  }
  return record::record_root(filled);
}

}  // namespace sg::playback
