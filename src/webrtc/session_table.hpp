#pragma once
// What the workers that share the WebRTC UDP port must agree on: the sessions answered but not claimed by a worker
// yet, which worker owns each session (by our ICE ufrag, and by the remote address of its ICE path), and the limits
// that hold across workers (webrtc.max_sessions, webrtc.max_pending_per_address). One mutex, taken on the setup path
// only (offer, first STUN check of a session, connection, close, the API) and for a datagram a worker cannot place
// among its own sessions; never per media packet.
#include <atomic>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "webrtc/peer.hpp"
#include "webrtc/server.hpp"

namespace sg::webrtc {

class SessionTable {
 public:
  using udp = boost::asio::ip::udp;
  explicit SessionTable(WebRtcOptions options) : options_(std::move(options)) {}

  struct Refusal {
    int status = 0;  // 0: admitted, else the HTTP status (503 at max_sessions, 429 per address)
    std::string error;
  };
  // Whether an offer from `client` would be refused now (checked before the offer is parsed).
  Refusal refusal(const boost::asio::ip::address& client, bool per_address);
  // Checks the limits again and inserts `peer` unclaimed, atomically: two offers racing for the last slot.
  Refusal add(const std::shared_ptr<Peer>& peer, bool per_address);

  struct Claim {
    std::shared_ptr<Peer> peer;  // claimed now by the asking worker (or taken, for take())
    int owner = -1;              // else the worker that owns it; -1 when the session is unknown
  };
  // A worker got a STUN check for our `ufrag`: the peer if no worker owns it yet (the asking worker owns it from
  // now on), else the owner.
  Claim claim(const std::string& ufrag, int worker);
  // The worker whose session uses `remote` as its ICE path, or -1.
  int owner_of(const udp::endpoint& remote) const;
  // `worker` moved a session's path from `old` (if any) to `now`.
  void set_path(const std::optional<udp::endpoint>& old, const udp::endpoint& now, int worker);

  // The peer no longer counts as setting up (it connected, or it ends).
  void end_pending(Peer& peer);
  // The owner closed the peer.
  void remove(Peer& peer);

  // close_session: an unclaimed session is removed and returned (marked closed), else its owner is returned.
  Claim take(const std::string& id);
  // Unclaimed sessions past the setup timeout (or the consent timeout), removed and marked closed.
  std::vector<std::shared_ptr<Peer>> take_expired(Clock::time_point now);
  std::vector<std::shared_ptr<Peer>> take_all_unclaimed();
  // Calls `visit` for each unclaimed session, under the lock (a worker may claim it at any time).
  void visit_unclaimed(const std::function<void(const Peer&)>& visit) const;

  // Whether `id` is a session (claimed or not); `publisher` and `stream` say what it is.
  bool find(const std::string& id, bool& publisher, std::string& stream) const;

  size_t sessions() const { return sessions_.load(std::memory_order_relaxed); }
  size_t pending() const { return pending_.load(std::memory_order_relaxed); }
  uint64_t sessions_total() const { return sessions_total_.load(std::memory_order_relaxed); }
  uint64_t refused_full() const { return refused_full_.load(std::memory_order_relaxed); }
  uint64_t refused_pending() const { return refused_pending_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::string ufrag;
    std::shared_ptr<Peer> unclaimed;  // set until a worker claims the session
    int owner = -1;
    bool publisher = false;  // WHIP
    std::string stream;
  };
  // Sessions still setting up, per client address; `refused` counts the offers turned away in the current episode
  // (logged when it starts and when the address has no pending session left).
  struct PendingFrom {
    size_t pending = 0;
    uint64_t refused = 0;
  };
  Refusal refusal_locked(const boost::asio::ip::address& client, bool per_address);
  void end_pending_locked(Peer& peer);
  void erase_locked(Peer& peer);

  const WebRtcOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_id_;
  std::unordered_set<Peer*> unclaimed_;  // the peers of by_id_ whose Entry::unclaimed is set
  std::unordered_map<std::string, std::string> id_by_ufrag_;
  std::map<udp::endpoint, int> owner_by_path_;
  std::map<boost::asio::ip::address, PendingFrom> pending_from_;
  size_t pending_total_ = 0;
  uint64_t full_refused_ = 0;  // offers refused at max_sessions in the current episode
  std::atomic<size_t> sessions_{0}, pending_{0};
  std::atomic<uint64_t> sessions_total_{0}, refused_full_{0}, refused_pending_{0};
};

}  // namespace sg::webrtc
