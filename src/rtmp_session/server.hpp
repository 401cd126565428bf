#pragma once
// RTMP server (Adobe RTMP 1.0 + AMF0 commands; Enhanced RTMP for H.265): publishers (connect / createStream /
// publish, then FLV audio and video messages) feed a stream like an RTSP publisher; players (play) read it. One
// coroutine per connection on one worker thread, over the pure protocol code of src/rtmp/.
//
// Stream ids: see rtmp/stream_name.hpp (rtmp://host/live/cam and rtmp://host/cam are both the stream "cam").
// Authorization: every publish and play is decided by the Authorizer (protocol "rtmp"), with the credentials of
// `?user=&pass=` (or `?jwt=`) in the stream name, the app or the tcUrl.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "app/log.hpp"
#include "auth_session/authorizer.hpp"
#include "base/result.hpp"
#include "media/stream_registry.hpp"
#include "net/connection_limiter.hpp"
#include "net/worker_pool.hpp"

namespace sg::rtmp_session {

class RtmpSession;
class SampleCache;

struct RtmpOptions {
  std::string publish_conflict = "refuse";  // refuse | replace (as rtsp.publish_conflict)
  bool allow_any_publish = true;            // publishing to an unconfigured path creates it
  size_t reader_queue = 512;
  // Connect to publish/play must be done within this (a connection that never gets there is closed).
  std::chrono::milliseconds setup_timeout{10000};
  // A player whose connection accepts no byte for this long (it stopped reading) is closed.
  std::chrono::milliseconds reader_timeout{10000};
  // How long a player waits for a stream that has no tracks yet (on-demand source starting, publisher connecting).
  std::chrono::milliseconds play_wait{10000};
};

class RtmpServer {
 public:
  RtmpServer(net::WorkerPool& pool, media::StreamRegistry& registry, RtmpOptions options,
             auth_session::Authorizer& authorizer);
  ~RtmpServer();

  Status listen(const std::string& host, uint16_t port);
  void start();
  // Connections over the limits are closed at once. Before start(); none = no limit.
  void set_connection_limiter(std::shared_ptr<net::ConnectionLimiter> limiter) { limiter_ = std::move(limiter); }
  void stop();
  void stop_accepting();
  uint16_t port() const { return port_; }
  size_t sessions() const { return sessions_.load(); }
  void write_metrics(std::string& out) const;

  // ---- for sessions
  net::WorkerPool& pool() { return pool_; }
  media::StreamRegistry& registry() { return registry_; }
  auth_session::Authorizer& authorizer() { return authorizer_; }
  const RtmpOptions& options() const { return options_; }
  // One log line per episode of bad connections (garbage, broken chunk streams): held back and counted in between.
  void bad_connection(const std::string& remote, const std::string& error);
  void count_publish() { publishes_.fetch_add(1, std::memory_order_relaxed); }
  void count_play() { plays_.fetch_add(1, std::memory_order_relaxed); }
  void count_stalled_peer() { stalled_peers_.fetch_add(1, std::memory_order_relaxed); }
  void session_started() { sessions_.fetch_add(1); }
  void session_ended() { sessions_.fetch_sub(1); }
  // The players' shared video samples of one worker (used only on that worker's thread).
  SampleCache& samples(size_t worker);

 private:
  boost::asio::awaitable<void> accept_loop();

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  const RtmpOptions options_;
  auth_session::Authorizer& authorizer_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::shared_ptr<net::ConnectionLimiter> limiter_;
  std::mutex sessions_mu_;
  std::map<const RtmpSession*, std::weak_ptr<RtmpSession>> live_;
  std::mutex bad_mu_;
  log::RateLimit bad_log_;
  std::atomic<size_t> sessions_{0};
  std::atomic<uint64_t> bad_connections_{0}, publishes_{0}, plays_{0}, stalled_peers_{0}, refused_{0};
  std::atomic<bool> stopped_{false};
  std::unique_ptr<SampleCache[]> samples_;  // one per worker
};

}  // namespace sg::rtmp_session
