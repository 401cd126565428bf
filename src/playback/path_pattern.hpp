#pragma once
// Playback's view of the recorder's file names: record/path_pattern.hpp parses them (one parser for both sides);
// this adds the time type playback computes with and the scan helpers. The pattern is record_path as configured
// (without extension); only fMP4 segments (".mp4") are played back.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sg::playback {

using SysMicros = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

struct SegmentName {
  std::string stream;
  SysMicros start;
};

// Nothing when `path` is not an fMP4 segment of `pattern` (record::parse_record_path decides).
std::optional<SegmentName> parse_segment_path(std::string_view pattern, std::string_view path);

// The directory where a scan for the segments of `pattern` starts (record::record_root); with `stream`, the one
// for that stream's segments only (its %stream fields filled in).
std::string pattern_root(std::string_view pattern);
std::string pattern_root(std::string_view pattern, std::string_view stream);

}  // namespace sg::playback
