#pragma once
// A recorder: one reader of a stream (the shared Stream: no second pull of the camera) on one worker thread. It
// turns units into samples (hls_session::SampleBuilder: the same timeline as HLS), cuts them into segment files
// (record::RecordSegmenter) and hands the chunks to the disk-writer thread (RecordingSink), never touching the disk.
// It ends when its reader is closed (the stream's tracks changed, the stream stopped) or on stop(); the manager
// starts a new one, which begins a new segment with the new tracks.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hls_session/sample_builder.hpp"
#include "media/reader.hpp"
#include "media/stream.hpp"
#include "record/segmenter.hpp"
#include "record_session/disk_writer.hpp"

namespace sg::record_session {

struct RecorderOptions {
  record::RecordFormat format = record::RecordFormat::Fmp4;
  int64_t segment_us = 3600'000'000;
  int64_t part_us = 1'000'000;
};

class Recorder : public std::enable_shared_from_this<Recorder> {
 public:
  Recorder(std::shared_ptr<media::Stream> stream, size_t worker, boost::asio::io_context& context,
           std::shared_ptr<RecordingSink> sink, RecorderOptions options);
  ~Recorder();

  void start();
  // Any thread: ends the recorder (what was built so far is written; then, with close_sink, the sink is closed).
  void stop(bool close_sink = false);
  bool ended() const { return ended_.load(std::memory_order_acquire); }
  // Why it could not record (no track it can record, bad codec config); "" otherwise.
  std::string error() const;
  const std::shared_ptr<media::Stream>& stream() const { return stream_; }

 private:
  boost::asio::awaitable<void> run();
  // A stream that sends nothing for a while (publisher gone, source down): the segment is finished, so its last
  // fragment reaches the disk now rather than when (if ever) the stream continues.
  boost::asio::awaitable<void> watch_idle();
  void push_chunks();
  void handle(const media::Unit& unit);
  void set_error(std::string e);

  std::shared_ptr<media::Stream> stream_;
  size_t worker_;
  boost::asio::io_context& context_;
  std::shared_ptr<RecordingSink> sink_;
  RecorderOptions options_;

  // Worker-thread state.
  std::unique_ptr<media::Reader> reader_;
  std::optional<hls_session::SampleBuilder> builder_;
  std::optional<record::RecordSegmenter> segmenter_;
  std::optional<uint32_t> source_;
  std::vector<hls_session::SampleBuilder::Output> samples_;
  std::vector<record::Chunk> chunks_;
  bool stop_requested_ = false;
  bool close_sink_ = false;
  std::chrono::steady_clock::time_point last_unit_{};

  std::atomic<bool> ended_{false};
  mutable std::mutex mu_;
  std::string error_;
};

}  // namespace sg::record_session
