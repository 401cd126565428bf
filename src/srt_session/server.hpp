#pragma once
// SRT server (libsrt, listener mode): callers publish MPEG-TS (`streamid=publish:{stream}`) or read a stream as
// MPEG-TS (`streamid=read:{stream}`); see srt/stream_id.hpp for every accepted form.
//
// Threads: libsrt runs its own threads; one I/O thread of ours waits on srt_epoll for the listener and every
// socket, accepts, and reads publishers' messages. It never touches a stream: it posts the bytes to the session's
// worker (bounded per session: what is over kMaxQueuedBytes is dropped and counted). Readers run on their worker
// and send with non-blocking srt_sendmsg2. Nothing here blocks a worker thread.
//
// Authorization: in libsrt's listen callback (on a libsrt thread, before the handshake is answered), through the
// Authorizer (protocol "srt") with the user and password of the stream id; a refusal rejects the connection with
// an SRT_REJX_* reason (401/403; 400 for a malformed stream id). The passphrase (AES) and latency are set on the
// listener and apply to every connection; a caller with another passphrase is rejected by libsrt.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/log.hpp"
#include "auth_session/authorizer.hpp"
#include "base/result.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

struct sockaddr;

namespace sg::srt_session {

class SrtSession;

struct SrtOptions {
  std::string passphrase;     // empty = no encryption; else 10..79 characters (SRTO_PASSPHRASE)
  int latency_ms = 120;       // SRTO_LATENCY (receiver and peer)
  std::string publish_conflict = "refuse";
  bool allow_any_publish = true;
  size_t reader_queue = 512;
  std::chrono::milliseconds play_wait{10000};  // a reader waits this long for a stream without tracks yet
};

class SrtServer {
 public:
  SrtServer(net::WorkerPool& pool, media::StreamRegistry& registry, SrtOptions options,
            auth_session::Authorizer& authorizer);
  ~SrtServer();

  Status listen(const std::string& host, uint16_t port);
  void start();
  void stop();
  // Drain: new callers are rejected (SRT_REJX_DOWN); open sessions go on.
  void stop_accepting() { accepting_.store(false); }
  uint16_t port() const { return port_; }
  size_t sessions() const { return sessions_.load(); }
  void write_metrics(std::string& out) const;

  static constexpr size_t kMaxQueuedBytes = 4 << 20;  // per publisher, posted to its worker and not yet handled
  static constexpr size_t kMessageSize = 1316;         // 7 TS packets: the SRT live-mode payload

  // ---- for sessions
  net::WorkerPool& pool() { return pool_; }
  media::StreamRegistry& registry() { return registry_; }
  const SrtOptions& options() const { return options_; }
  void bad_connection(const std::string& remote, const std::string& error);
  // Ends a session's socket (removes it from the I/O thread's set and closes it). Any thread.
  void close_socket(int socket);
  void count_publish() { publishes_.fetch_add(1, std::memory_order_relaxed); }
  void count_read() { reads_.fetch_add(1, std::memory_order_relaxed); }
  void count_send_drop(uint64_t bytes) { send_dropped_.fetch_add(bytes, std::memory_order_relaxed); }

 private:
  int on_listen(int socket, const sockaddr* peer, const char* stream_id);
  static int listen_callback(void* self, int socket, int hs_version, const sockaddr* peer, const char* stream_id);
  void io_loop();
  void accept_all();
  void read_publisher(int socket);
  void on_socket_error(int socket);

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  const SrtOptions options_;
  auth_session::Authorizer& authorizer_;
  int listener_ = -1;
  int epoll_ = -1;
  uint16_t port_ = 0;
  std::thread io_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accepting_{true};
  std::mutex mu_;
  std::map<int, std::shared_ptr<SrtSession>> live_;  // by SRT socket
  std::mutex bad_mu_;
  log::RateLimit bad_log_;
  std::atomic<size_t> sessions_{0};
  std::atomic<uint64_t> bad_connections_{0}, refused_{0}, publishes_{0}, reads_{0}, dropped_bytes_{0}, send_dropped_{0};
  bool started_up_ = false;
};

}  // namespace sg::srt_session
