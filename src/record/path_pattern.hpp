#pragma once
// Recording file names: the `record_path` pattern, expanded with a segment's start time, and parsed back.
//
// A pattern is a path with fields: %stream (the stream id), %Y %m %d %H %M %S (UTC, zero-padded: 4/2/2/2/2/2
// digits), %f (microseconds, 6 digits), %s (Unix seconds) and %% (a literal '%'). Any other field is refused, so
// that every expanded name can be parsed back into (stream, start time): the playback side finds its segments by
// listing files and parsing their paths with the same pattern. A segment file is the expanded pattern plus the
// format's extension (".mp4" for fMP4, ".ts" for MPEG-TS).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::record {

inline constexpr std::string_view kDefaultRecordPath = "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f";

enum class RecordFormat { Fmp4, MpegTs };
std::string_view extension(RecordFormat format);  // ".mp4" | ".ts"

// Ok when the pattern can be expanded and parsed back: only known fields, a time to the second at least (%s, or
// %Y %m %d %H %M %S), %stream present, no empty path and no "." / ".." component made by a field.
Status check_record_path(std::string_view pattern);

// The pattern with its fields filled from `stream` and `start_us` (Unix time in microseconds, UTC), without
// extension. `start_us` must be >= 0 and before year 10000.
std::string expand_record_path(std::string_view pattern, std::string_view stream, int64_t start_us);

struct RecordPath {
  std::string stream;
  int64_t start_us = 0;  // Unix microseconds, UTC
  RecordFormat format = RecordFormat::Fmp4;
};

// The inverse: a file path (as listed on disk, with its ".mp4" / ".ts" extension) against the pattern. nullopt
// when the path does not match (other files, partial names, impossible dates, fields that disagree, e.g. %s and
// %Y.. giving different times, or two %stream with different values).
std::optional<RecordPath> parse_record_path(std::string_view pattern, std::string_view path);

// The directory that holds every file of the pattern: its text before the first field, cut after the last '/'
// ("./recordings/%stream/..." -> "./recordings/"); "." when the first field is in the first component.
std::string record_root(std::string_view pattern);

// Days since 1970-01-01 <-> proleptic Gregorian date (Howard Hinnant's civil calendar algorithms).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d);

}  // namespace sg::record
