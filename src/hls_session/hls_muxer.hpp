#pragma once
// One HLS muxer per stream, shared by every HLS viewer of that stream: it reads the stream through ONE Reader on
// one worker thread, feeds the segmenter, and publishes an immutable Snapshot (rendered playlists, segment and
// part buffers are shared) after every new part or segment. Viewers on any thread read the latest snapshot and
// may wait for the next one (blocking playlist reload, preload hints) without polling.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/log.hpp"
#include "hls/segmenter.hpp"
#include "hls_session/sample_builder.hpp"
#include "media/reader.hpp"
#include "media/stream.hpp"

namespace sg::hls_session {

struct HlsOptions {
  hls::Variant variant = hls::Variant::LowLatency;
  double segment_duration = 2.0;  // seconds
  double part_duration = 0.2;     // seconds
  size_t segment_count = 7;
  std::string directory;  // optional on-disk copy: <directory>/<stream>/
  std::chrono::milliseconds idle_timeout{60000};
};

// What viewers see; replaced as a whole, never modified.
struct Snapshot {
  uint64_t version = 0;
  // What the segments are made in: the configured variant, or fMP4 for an MPEG-TS stream with H.265 or Opus.
  hls::Variant variant = hls::Variant::LowLatency;
  bool failed = false;  // the muxer stopped (stream gone, no usable track)
  std::string error;
  bool has_segment = false;  // at least one complete segment
  hls::PlaylistPosition position;
  uint64_t next_part_id = 0;
  std::optional<uint64_t> first_msn, first_part_id;  // oldest in the window
  std::string media_playlist;
  std::string multivariant_playlist;
  hls::SharedBytes init;
  struct Item {
    uint64_t id = 0;
    hls::SharedBytes data;
  };
  std::vector<Item> segments;  // complete, oldest first
  std::vector<Item> parts;     // complete parts in the window, oldest first (LL only)

  hls::SharedBytes segment(uint64_t msn) const;
  hls::SharedBytes part(uint64_t id) const;
};

class HlsMuxer : public std::enable_shared_from_this<HlsMuxer> {
 public:
  HlsMuxer(std::shared_ptr<media::Stream> stream, size_t worker, boost::asio::io_context& context,
           HlsOptions options);
  ~HlsMuxer();

  // Starts reading the stream on the worker; `on_end` runs there when the muxer stops.
  void start(std::function<void(HlsMuxer*)> on_end);
  // Any thread: closes the reader; the muxer ends and wakes every waiting viewer.
  void stop();
  // Any thread: a viewer request arrived (keeps the muxer alive for idle_timeout).
  void touch();

  const std::string& stream_id() const { return stream_id_; }
  std::shared_ptr<const Snapshot> snapshot() const;
  // Waits (on the caller's executor) until the snapshot's version differs from `seen` or `deadline` passes.
  boost::asio::awaitable<void> wait_update(uint64_t seen, std::chrono::steady_clock::time_point deadline);

  // Counters for /metrics.
  uint64_t segments_total() const { return segments_total_.load(std::memory_order_relaxed); }
  uint64_t parts_total() const { return parts_total_.load(std::memory_order_relaxed); }
  size_t waiters() const;
  // Time from the arrival of a part's (non-LL: a segment's) first frame until viewers can get it, summed.
  uint64_t latency_sum_us() const { return latency_sum_us_.load(std::memory_order_relaxed); }
  uint64_t latency_count() const { return latency_count_.load(std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> watch_idle();
  void handle(const media::Unit& unit);
  void publish_snapshot();
  void fail(std::string error);
  void notify();
  void write_directory(const Snapshot& snap);
  void directory_failed(std::string_view what);  // logged once per 10 s

  std::shared_ptr<media::Stream> stream_;
  const std::string stream_id_;
  size_t worker_;
  boost::asio::io_context& context_;
  HlsOptions options_;
  std::function<void(HlsMuxer*)> on_end_;

  // Worker-thread state.
  std::unique_ptr<media::Reader> reader_;
  std::optional<hls::Segmenter> segmenter_;
  std::optional<SampleBuilder> builder_;
  std::shared_ptr<const std::vector<media::Track>> tracks_;
  std::string last_error_;
  hls::PlaylistPosition last_position_{};
  std::vector<std::string> written_files_;
  log::RateLimit directory_log_{std::chrono::seconds(10)};
  bool stop_requested_ = false;

  std::atomic<int64_t> last_touch_ms_{0};
  std::atomic<uint64_t> segments_total_{0}, parts_total_{0};
  std::atomic<uint64_t> latency_sum_us_{0}, latency_count_{0};
  int64_t part_first_ingest_ns_ = 0;  // the unit that started the part being built

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace sg::hls_session
