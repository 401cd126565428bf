#pragma once
// Retention: which recorded files are past `record_delete_after`. Pure: the caller lists the files and deletes.
//
// A file is judged by the END of what it holds, so nothing younger than the limit is ever deleted: a segment ends
// where the next segment of the same stream (same pattern) starts, by the start times in their names; the newest
// file of a stream ends at its last write (mtime). A file still being written is never selected.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sg::record {

struct RecordedFile {
  std::string path;
  std::string stream;
  int64_t start_us = 0;    // from the file name (parse_record_path)
  int64_t mtime_us = 0;    // last modification
  int64_t max_age_us = 0;  // the stream's record_delete_after; <= 0 = keep forever
  bool open = false;       // being written
};

// The paths to delete at `now_us`, oldest first.
std::vector<std::string> expired_files(std::span<const RecordedFile> files, int64_t now_us);

}  // namespace sg::record
