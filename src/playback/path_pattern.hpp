#pragma once
// The inverse of the recorder's segment path pattern (record_path): from a file's path back to the stream and the
// segment's start time. Pure; the pattern is record_path with the file extension appended (".mp4").
// Fields: %stream, %Y (4 digits), %m %d %H %M %S (2 digits), %f (microseconds, 6 digits), %s (Unix seconds),
// %% (a literal '%'). The time fields are UTC. Any other field makes the pattern unusable (nothing matches).
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

// Nothing when `path` does not match `pattern`, or its date is invalid. %stream matches one or more characters
// other than '/'.
std::optional<SegmentName> parse_segment_path(std::string_view pattern, std::string_view path);

// The literal directory part of `pattern` before its first field ("./recordings/%stream/..." -> "./recordings"):
// where a scan for segments starts. "." when the pattern starts with a field.
std::string pattern_root(std::string_view pattern);

// `pattern` with every %stream replaced by `stream` (other fields kept), for a scan limited to one stream.
std::string pattern_for_stream(std::string_view pattern, std::string_view stream);

}  // namespace sg::playback
