#pragma once
// The WebRTC server on one worker thread: its own UDP socket (one of a SO_REUSEPORT group on the WebRTC port), the
// sessions it owns (ICE, DTLS, SRTP, RTCP, NACK history) and one feed per stream its sessions play. Linux hands
// each datagram to one socket of the group by a hash of its 4-tuple, so a remote address always lands on the same
// worker: the worker that gets the first valid STUN check of a session claims it (SessionTable) and builds its
// peer there. A datagram that lands on a worker that does not own its session (another candidate pair) is posted
// to the owner, which answers from its own socket: same local port, same 5-tuple for the browser.
// Everything here runs on the shard's worker thread, except counters() and sessions() (atomics).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <vector>

#include "webrtc/server.hpp"
#include "webrtc/session_table.hpp"

namespace sg::webrtc {

// Written by the shard's thread only; summed over shards for /metrics (one cache line set per shard).
struct ShardCounters {
  std::atomic<size_t> sessions{0};  // owned by this shard now
  std::atomic<uint64_t> packets_sent{0}, bytes_sent{0}, stun_requests{0}, bad_datagrams{0}, forwarded{0},
      setup_timeouts{0}, nacks{0}, retransmits{0}, plis{0}, send_drops{0}, transcoded_packets{0};
  // WHIP publishers: RTP received, sequence numbers NACKed, PLIs sent, lost video packets NACK did not repair.
  std::atomic<uint64_t> whip_packets{0}, whip_bytes{0}, whip_nacks_sent{0}, whip_plis_sent{0}, whip_unrecovered{0};
};

class Shard {
 public:
  Shard(size_t index, boost::asio::io_context& context, std::shared_ptr<SessionTable> table, WebRtcOptions options);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  size_t index() const { return index_; }
  boost::asio::io_context& context() { return context_; }
  boost::asio::ip::udp::socket& socket();
  // The shards of the server (this one included), for datagrams of sessions another shard owns.
  void set_shards(std::vector<std::weak_ptr<Shard>> shards);

  void start();  // receive loop and timers
  // On the shard's thread from here on.
  void stop();  // closes the socket and every peer of the shard
  bool close(const std::string& session, std::string_view why);
  void list(boost::json::array& out) const;

  const ShardCounters& counters() const;

  struct Impl;
  std::shared_ptr<Impl> impl_for_forwarding();

 private:
  size_t index_;
  boost::asio::io_context& context_;
  std::shared_ptr<Impl> impl_;
};

// A session as GET /api/v1/webrtcsessions shows it.
boost::json::object describe_session(const Peer& peer);

}  // namespace sg::webrtc
