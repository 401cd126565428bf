#pragma once
// All streams by id (path). Thread-safe; lookups take a short lock, never per packet.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "media/stream.hpp"

namespace sg::media {

// The stream id syntax, one rule for every place that creates a stream (config file and reload, REST API, RTSP
// ANNOUNCE): 1..128 characters of [A-Za-z0-9._~-] (safe in URLs, RTSP paths and file names), not starting with '-'
// (reads as a command-line option) or '.' (hidden file, "." and ".."), and none of kReservedStreamIds in any case
// (they are top-level HTTP routes: a stream there would shadow them or be shadowed).
inline constexpr std::string_view kReservedStreamIds[] = {"api", "assets", "healthz", "metrics", "readyz", "ws"};
bool valid_stream_id(std::string_view id);
// Ok for a valid id; else the one error message used wherever an id is refused.
Status check_stream_id(std::string_view id);
// "rtsp://...", "exec:<command>" or "publisher"; the error names what is wrong.
Status validate_source(std::string_view source);

class StreamRegistry {
 public:
  StreamRegistry(net::WorkerPool& pool, SourceFactory factory);
  ~StreamRegistry();

  // Creates a stream; fails when the id is invalid or taken, the source is invalid, or max_streams are there
  // (counted in limit_refusals()).
  Result<std::shared_ptr<Stream>> create(const std::string& id, StreamOptions options);
  std::shared_ptr<Stream> find(std::string_view id) const;
  // Stops and removes a stream; false when there is none.
  bool remove(std::string_view id);
  // Sorted by id.
  std::vector<std::shared_ptr<Stream>> list() const;
  size_t size() const;
  void stop_all();
  // At most this many streams (0 = no limit); set before the first create.
  void set_max_streams(size_t n) { max_streams_ = n; }
  size_t max_streams() const { return max_streams_; }
  bool full() const { return max_streams_ != 0 && size() >= max_streams_; }
  uint64_t limit_refusals() const { return limit_refusals_.load(std::memory_order_relaxed); }
  // Changes whenever a stream is created or removed (cache key for listings).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Every stream created from now on drops a publisher silent for this long (StreamOptions::publisher_timeout,
  // config `publisher_timeout`); 0 = never.
  void set_publisher_timeout(std::chrono::milliseconds timeout) { publisher_timeout_ = timeout; }
  // Cluster: every stream created from now on has StreamOptions::publisher_source and publish_gate set so.
  void set_cluster_hooks(std::function<bool(const std::string&)> publish_gate) {
    std::lock_guard lk(mu_);
    publish_gate_ = std::move(publish_gate);
  }

 private:
  net::WorkerPool& pool_;
  SourceFactory factory_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Stream>, std::less<>> streams_;
  std::atomic<uint64_t> generation_{0};
  size_t max_streams_ = 0;
  std::atomic<uint64_t> limit_refusals_{0};
  std::chrono::milliseconds publisher_timeout_{10000};
  std::function<bool(const std::string&)> publish_gate_;
};

}  // namespace sg::media
