#pragma once
// RTSP server (RFC 2326): publishers ANNOUNCE / SETUP (mode=record) / RECORD, readers DESCRIBE / SETUP / PLAY, over
// TCP (interleaved) and UDP. One coroutine per connection on one worker thread; readers take units from the
// stream's fan-out and send every packet of a unit in one gather write (TCP) or one sendmmsg (UDP), with small
// per-reader headers (interleaved header + rewritten RTP fixed header) in front of the shared payload.
// RTSPS: the same sessions over TLS (net::Connection), TCP-interleaved only.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "auth_session/authorizer.hpp"
#include "base/result.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "net/connection_limiter.hpp"
#include "net/worker_pool.hpp"
#include "rtsp_session/session_info.hpp"

namespace sg::net {
class TlsContext;
}

namespace sg::rtsp_session {

class ServerSession;

class RtspServer {
 public:
  // Every DESCRIBE/SETUP/PLAY (read) and ANNOUNCE/RECORD (publish) is decided by `authorizer`.
  RtspServer(net::WorkerPool& pool, media::StreamRegistry& registry, app::RtspConfig config, size_t reader_queue,
             auth_session::Authorizer& authorizer);
  ~RtspServer();

  // Binds the TCP port and the UDP RTP/RTCP pair.
  Status listen(const std::string& host, uint16_t port);
  // RTSPS: a second TCP listener whose connections speak TLS (certificate from `tls`, which must outlive the
  // server); media goes TCP-interleaved inside the TLS connection. Call after listen(), before start().
  Status listen_tls(const std::string& host, uint16_t port, net::TlsContext& tls);
  void start();
  // Connections over the limits (RTSP and RTSPS together) are answered 453 to their first request and closed
  // (RTSPS: closed). Before start(); none = no limit.
  void set_connection_limiter(std::shared_ptr<net::ConnectionLimiter> limiter) { limiter_ = std::move(limiter); }
  // Stops accepting and closes every session.
  void stop();
  // Closes the listening socket only (new connections are refused); open sessions go on. Any thread.
  void stop_accepting();

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }
  uint16_t udp_rtp_port() const { return rtp_port_; }
  uint16_t udp_rtcp_port() const { return rtp_port_ + 1; }
  size_t sessions() const { return sessions_.load(); }
  // Prometheus lines for the RTSP server.
  void write_metrics(std::string& out) const;

  // The sessions API (like the WebRTC one): every open connection, oldest first; one by id; kick = close its
  // connection (the client sees EOF), false when no session has that id. Any thread.
  std::vector<SessionInfo> session_infos();
  std::optional<SessionInfo> session_info(std::string_view id);
  bool kick_session(std::string_view id);
  // GET /api/v1/rtsp/sessions[?stream=NAME], GET and DELETE /api/v1/rtsp/sessions/{id} (sessions_api.cpp).
  void add_routes(http::Router& router);

  // ---- for sessions
  struct UdpTarget {
    std::weak_ptr<ServerSession> session;
    size_t track = 0;
    bool rtcp = false;
  };
  void register_udp(const boost::asio::ip::udp::endpoint& from, UdpTarget target);
  void unregister_udp(const ServerSession* session);
  int rtp_fd() const;
  int rtcp_fd() const;
  net::WorkerPool& pool() { return pool_; }
  media::StreamRegistry& registry() { return registry_; }
  const app::RtspConfig& config() const { return config_; }
  auth_session::Authorizer& authorizer() { return authorizer_; }
  size_t reader_queue() const { return reader_queue_; }
  void session_started() { sessions_.fetch_add(1); }
  void session_ended() { sessions_.fetch_sub(1); }
  void count_bad_request() { bad_requests_.fetch_add(1, std::memory_order_relaxed); }
  void count_udp_dropped(uint64_t n) { udp_send_drops_.fetch_add(n, std::memory_order_relaxed); }
  void count_stalled_peer() { stalled_peers_.fetch_add(1, std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, net::TlsContext* tls);
  boost::asio::awaitable<void> udp_loop(boost::asio::ip::udp::socket& socket, bool rtcp);

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  const app::RtspConfig config_;
  const size_t reader_queue_;
  auth_session::Authorizer& authorizer_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> tls_acceptor_;  // RTSPS
  net::TlsContext* tls_ = nullptr;
  uint16_t tls_port_ = 0;
  std::unique_ptr<boost::asio::ip::udp::socket> rtp_socket_, rtcp_socket_;
  uint16_t port_ = 0, rtp_port_ = 0;

  mutable std::mutex udp_mu_;
  std::map<boost::asio::ip::udp::endpoint, UdpTarget> udp_targets_;

  std::mutex sessions_mu_;
  std::map<const ServerSession*, std::weak_ptr<ServerSession>> live_;
  friend class ServerSession;

  std::shared_ptr<net::ConnectionLimiter> limiter_;
  std::shared_ptr<std::atomic<size_t>> refusing_ = std::make_shared<std::atomic<size_t>>(0);
  std::atomic<size_t> sessions_{0};
  std::atomic<uint64_t> bad_requests_{0}, udp_send_drops_{0}, udp_unknown_{0}, stalled_peers_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace sg::rtsp_session
