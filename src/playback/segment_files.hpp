#pragma once
// Recorded segments on disk: finding them by the record_path pattern and indexing one (its moov and moofs, read
// box by box with pread in bounded pieces; mdat is never read here). Blocking file I/O: callers on a worker thread
// keep it to one request's segments.
#include <string>
#include <vector>

#include "base/result.hpp"
#include "playback/path_pattern.hpp"
#include "playback/playback_file.hpp"

namespace sg::playback {

struct SegmentFile {
  std::string path;
  SysMicros start;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// `pattern` is record_path. Streams with at least one fMP4 segment, sorted.
std::vector<std::string> recorded_streams(const std::string& pattern);
// The segments of `stream`, sorted by start.
std::vector<SegmentFile> segment_files(const std::string& pattern, const std::string& stream);

// Indexes the file: tracks from its moov, samples from every complete moof whose samples lie within the file (a
// fragment cut short by a crash is left out). Bounded: a moov or moof larger than 16 MiB is an error.
Result<SegmentIndex> read_segment_index(const SegmentFile& file);

}  // namespace sg::playback
