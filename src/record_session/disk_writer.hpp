#pragma once
// The one disk-writer thread of all recordings. Recorders (on worker threads) hand it chunks through a bounded
// queue per recording (RecordingSink) and never wait for the disk: a full queue drops the chunk (counted, logged
// once per episode) and the recording skips to its next segment. This thread creates the files, writes each
// fragment with one write() and makes it durable (fdatasync) before the next, so after a crash or power loss a file
// holds whole fragments only, up to the last one synced.
//
// A write error (disk full, unwritable path) truncates the file back to its last whole fragment, closes it and puts
// the recording in error (API, one log line per episode, metrics); chunks are discarded from then on, and every
// retry interval the recorder is asked for a new segment, which this thread tries to create: when it works the
// recording has resumed. Live streaming never notices: nothing here runs on a worker thread.
//
// Retention runs on this thread too (deleting files is disk I/O): see set_retention.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "record/path_pattern.hpp"
#include "record/segmenter.hpp"

namespace sg::record_session {

struct RecordingStatus {
  bool failed = false;
  std::string error;  // why it failed (kept while failed)
  std::string file;   // the file being written, "" when none
  uint64_t bytes = 0, segments = 0, write_errors = 0, drops = 0;
};

class DiskWriter;

// One stream's recording: the queue from its recorder to the writer thread, and the writer's state for it.
class RecordingSink {
 public:
  RecordingSink(DiskWriter& writer, std::string stream, std::string pattern, size_t max_queue_bytes);

  // ---- producer (the recorder's worker thread): never blocks on the disk.
  // False when dropped: the queue is full, or the recording waits for its next segment after a drop.
  bool push(record::Chunk chunk);
  // True once after the writer asked for a new segment (resume after an error, or after a drop).
  bool take_cut_request() { return cut_request_.exchange(false, std::memory_order_acq_rel); }

  // ---- any thread
  // No more chunks: the writer writes what is queued, closes the file and forgets the sink.
  void close();
  RecordingStatus status() const;
  const std::string& stream() const { return stream_; }
  const std::string& pattern() const { return pattern_; }

 private:
  friend class DiskWriter;
  DiskWriter& writer_;
  const std::string stream_;
  const std::string pattern_;
  const size_t max_queue_bytes_;

  mutable std::mutex mu_;
  std::deque<record::Chunk> queue_;
  size_t queued_bytes_ = 0;
  bool dropping_ = false;  // a chunk was dropped: Appends are dropped until the next Open
  bool closed_ = false;
  RecordingStatus status_;  // under mu_, written by the writer thread (drops by the producer)
  std::atomic<bool> cut_request_{false};

  // Writer-thread state.
  int fd_ = -1;
  std::string path_;
  int64_t size_ = 0;         // bytes of whole chunks in the file
  int64_t header_size_ = 0;  // of which the header (a file with no fragment after it is removed on failure)
  bool failed_ = false;      // in error until a fragment is written again
  std::chrono::steady_clock::time_point retry_at_{};
};

// Which files retention may delete: those parsed by `pattern`, with the max age of their stream (per_stream, else
// default_max_age_us; < 0 = not this rule's files; 0 = keep forever).
struct RetentionRule {
  std::string pattern;
  int64_t default_max_age_us = -1;
  std::map<std::string, int64_t> per_stream;
};

class DiskWriter {
 public:
  explicit DiskWriter(std::chrono::milliseconds retry_interval = std::chrono::seconds(2));
  ~DiskWriter();
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  std::shared_ptr<RecordingSink> add(std::string stream, std::string pattern, size_t max_queue_bytes = 16u << 20);
  // Replaces the retention rules; they are applied every `interval` (and once soon after this call).
  void set_retention(std::vector<RetentionRule> rules, std::chrono::milliseconds interval);
  // Joins the thread after writing what is queued.
  void stop();

  // Free bytes of each recording volume (the pattern's root folder), sampled every few seconds.
  std::map<std::string, uint64_t> disk_free() const;
  uint64_t files_deleted() const { return files_deleted_.load(std::memory_order_relaxed); }
  uint64_t drop_episodes() const { return drop_episodes_.load(std::memory_order_relaxed); }

 private:
  friend class RecordingSink;
  void notify();
  void run();
  void drain(RecordingSink& sink);
  void write_chunk(RecordingSink& sink, record::Chunk& chunk);
  void open_file(RecordingSink& sink, const record::Chunk& chunk);
  void close_file(RecordingSink& sink);
  void fail(RecordingSink& sink, const std::string& what, int err);
  void sweep_retention();
  void sample_disk_free();

  const std::chrono::milliseconds retry_interval_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool work_ = false;
  bool stop_ = false;
  std::vector<std::shared_ptr<RecordingSink>> sinks_;
  std::vector<RetentionRule> rules_;
  std::chrono::milliseconds retention_interval_{60000};
  std::chrono::steady_clock::time_point next_retention_{};
  std::chrono::steady_clock::time_point next_disk_sample_{};
  std::map<std::string, uint64_t> disk_free_;
  std::atomic<uint64_t> files_deleted_{0}, drop_episodes_{0};
};

}  // namespace sg::record_session
