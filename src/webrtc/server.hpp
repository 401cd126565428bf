#pragma once
// WebRTC egress: browsers play streams through WHEP (draft-ietf-wish-whep, `POST /{stream}/whep`) or the JSON
// WebSocket at `/ws/{stream}`. One UDP port: each worker has its own socket on it (SO_REUSEPORT), demultiplexed per RFC
// 7983 (STUN / DTLS / SRTP) and matched to a peer by STUN USERNAME (our ufrag) on its first check, then by remote
// address. We are ICE-lite (RFC 8445 2.5): we answer checks and never send any; DTLS 1.2 passive, keys exported
// into our SRTP (webrtc/srtp.hpp; libsrtp2 only cross-checks it in tests). Sessions spread over the workers
// (webrtc/shard.hpp): the worker whose socket gets a session's first valid check owns it, and its peer, DTLS, SRTP,
// RTCP and NACK state and its stream's feed on that worker live there without locks. Each worker's feed of a stream is
// one reader of the stream: its units' RTP packets are forwarded with each peer's SSRC, payload type and sequence
// numbers.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json/array.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "auth/policy.hpp"
#include "base/result.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"
#include "webrtc/answer.hpp"

namespace sg::webrtc {

struct WebRtcOptions {
  std::vector<std::string> additional_hosts;  // extra host candidates (e.g. a public address)
  bool interface_discovery = true;            // bound to 0.0.0.0: one candidate per interface address
  size_t reader_queue = 512;
  std::string web_root;  // folder with the player pages (index.html, streams.html); empty = embedded in the binary
  std::chrono::milliseconds consent_timeout{30000};  // RFC 7675 5.1: no ICE check for this long ends a session
  size_t max_sessions = 2000;
  // A session that has not finished ICE and DTLS this long after its offer ends: offers that never connect must
  // not hold slots for the whole consent timeout.
  std::chrono::milliseconds setup_timeout{10000};
  // Sessions still setting up (offer answered, DTLS not done) per client address; further offers get 429.
  size_t max_pending_per_address = 16;
  // Client addresses without the per-address cap (a reverse proxy or a test client on this machine).
  std::vector<auth::IpRange> per_address_exempt;
  // WHIP publishing, as for RTSP and RTMP publishers: publishing to an unconfigured path creates it
  // (allow_any_publish); a second publisher to a busy path is refused or replaces the first (publish_conflict).
  bool allow_any_publish = true;
  std::string publish_conflict = "refuse";
  uint64_t whip_bitrate = 2'500'000;  // REMB estimate sent to WHIP publishers (bit/s)
};

inline WebRtcOptions make_options(size_t reader_queue, std::vector<std::string> additional_hosts = {},
                                  bool interface_discovery = true) {
  WebRtcOptions o;
  o.reader_queue = reader_queue;
  o.additional_hosts = std::move(additional_hosts);
  o.interface_discovery = interface_discovery;
  return o;
}

class WebRtcServer {
 public:
  WebRtcServer(net::WorkerPool& pool, media::StreamRegistry& registry, WebRtcOptions options);
  ~WebRtcServer();
  WebRtcServer(const WebRtcServer&) = delete;
  WebRtcServer& operator=(const WebRtcServer&) = delete;

  // Binds one UDP socket per worker to the port (the DTLS certificate is made on the first session). A port held
  // by anything else is an error, even a SO_REUSEPORT group of another process of this user.
  Status listen(const std::string& host, uint16_t port);
  void start();
  void stop();  // closes every peer; idempotent
  uint16_t port() const { return port_; }

  // WHEP, WebSocket signaling and the player pages.
  void add_routes(http::Router& router);
  void write_metrics(std::string& out) const;

  struct Created {
    int status = 201;  // or the HTTP status of the failure
    std::string error;
    std::string session;
    std::string answer;
    std::vector<Candidate> candidates;
  };
  // From any thread: a peer for `stream_id` answering `offer` from `client` (the HTTP connection's address).
  boost::asio::awaitable<Created> create_session(std::string stream_id, std::string offer,
                                                 boost::asio::ip::address client);
  // WHIP (RFC 9725): a session receiving `offer` from a publisher of `stream_id`, which it claims as a publisher
  // does (created when allow_any_publish and absent; refused with 409 when it has a publisher and
  // publish_conflict is refuse; 403 when the stream has a source of its own; 422 with the reason for an offer we
  // cannot take as a whole).
  boost::asio::awaitable<Created> create_publish_session(std::string stream_id, std::string offer,
                                                         boost::asio::ip::address client);
  // From any thread; true if it existed.
  boost::asio::awaitable<bool> close_session(std::string session);
  // Whether the session exists (claimed or not), and whether it receives (WHIP) rather than sends.
  struct SessionKind {
    bool exists = false;
    bool publisher = false;
    std::string stream;
  };
  SessionKind session_kind(const std::string& session) const;
  size_t sessions() const;
  // From any thread: every session (id, stream, state, worker, remote, counters, RTT, tracks).
  boost::asio::awaitable<boost::json::array> list_sessions();

  struct Impl;

 private:
  std::string options_web_root() const;
  std::shared_ptr<Impl> impl_;
  std::string impl_web_root_;
  uint16_t port_ = 0;
};

// Host candidate addresses: `host` itself unless it is a wildcard, else the interface IPv4 addresses (loopback
// included, so a browser on the same machine can connect), then `additional`.
std::vector<std::string> host_candidates(const std::string& host, bool discover,
                                         const std::vector<std::string>& additional);

}  // namespace sg::webrtc
