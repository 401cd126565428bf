#pragma once
// Builds the MP4 a playback request returns from the sample tables of recorded segments, without transcoding and
// without reading media: the result is a list of pieces (bytes written here: ftyp, moov, moof, box headers; and
// ranges of segment files: the samples), so a server streams it from the files in bounded chunks and answers
// byte ranges. Pure: segment indexes in, pieces out.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mp4/fragment_reader.hpp"
#include "playback/path_pattern.hpp"

namespace sg::playback {

// One recorded segment: its start (from the file name) and its sample index (from its moov and moofs).
struct SegmentIndex {
  SysMicros start;
  std::vector<mp4::RecordedTrack> tracks;
  std::vector<mp4::FragmentSample> samples;  // file order (by fragment, then track)
  // Media time covered: the largest track end (tfdt-based, relative to `start`).
  std::chrono::microseconds duration() const;
};

// A time span covered by recordings.
struct Span {
  SysMicros start, end;
};
// Sorts and merges spans that touch or are separated by at most `tolerance` (segment boundaries).
std::vector<Span> merge_spans(std::vector<Span> spans, std::chrono::microseconds tolerance);

enum class Format { Mp4, Fmp4 };

// The output: `size` bytes, the concatenation of `pieces`.
struct PlaybackFile {
  struct Piece {
    int32_t file = -1;     // index into the request's segments; -1: bytes of `memory`
    uint64_t offset = 0;   // in that file, or in `memory`
    uint64_t size = 0;
  };
  ByteVector memory;
  std::vector<Piece> pieces;
  uint64_t size = 0;
  std::chrono::microseconds duration{0};  // of the reference (video) track
  SysMicros start;                        // wall-clock time of the first frame (the keyframe)
};

// Starts at the last video keyframe at or before `start` (or the first one after it when `start` falls in a gap),
// ends before `end`; spans segment boundaries as long as the tracks stay the same (same count, same stsd).
// `segments` must be sorted by start. Fails when no keyframe lies in the range.
Result<PlaybackFile> build_playback_file(const std::vector<SegmentIndex>& segments, SysMicros start, SysMicros end,
                                         Format format);

// An HTTP Range header against a body of `size` bytes (RFC 9110 14.2): one range only; several ranges are served
// as the whole body, like servers that do not support multipart answers.
struct ByteRange {
  enum class Kind { Whole, Partial, Unsatisfiable } kind = Kind::Whole;
  uint64_t first = 0, last = 0;  // inclusive, when Partial
};
ByteRange parse_byte_range(std::string_view header, uint64_t size);

// RFC 3339 date-time ("2026-12-01T23:50:21Z", "...21.5+01:00") -> UTC; durations "60s", "1m30s", "1.5h", "90".
std::optional<SysMicros> parse_rfc3339(std::string_view text);
std::optional<std::chrono::microseconds> parse_duration(std::string_view text);
std::string format_rfc3339(SysMicros t);

}  // namespace sg::playback
