#include "webrtc/session_table.hpp"

#include "app/log.hpp"

namespace sg::webrtc {

SessionTable::Refusal SessionTable::refusal(const boost::asio::ip::address& client, bool per_address) {
  std::lock_guard lk(mu_);
  return refusal_locked(client, per_address);
}

SessionTable::Refusal SessionTable::refusal_locked(const boost::asio::ip::address& client, bool per_address) {
  if (by_id_.size() >= options_.max_sessions) {
    refused_full_.fetch_add(1, std::memory_order_relaxed);
    if (full_refused_++ == 0)
      log::warn("webrtc: max_sessions reached; refusing offers",
                {{"max_sessions", options_.max_sessions}, {"pending", pending_total_}});
    return {503, "too many WebRTC sessions"};
  }
  if (!per_address) return {};
  auto it = pending_from_.find(client);
  if (it == pending_from_.end() || it->second.pending < options_.max_pending_per_address) return {};
  refused_pending_.fetch_add(1, std::memory_order_relaxed);
  if (it->second.refused++ == 0)
    log::warn("webrtc: too many sessions setting up from one address; refusing its offers",
              {{"remote", client.to_string()},
               {"pending", it->second.pending},
               {"max_pending_per_address", options_.max_pending_per_address}});
  return {429, "too many WebRTC sessions setting up from " + client.to_string() + " (" +
                   std::to_string(it->second.pending) +
                   "): retry when they have connected or timed out (webrtc.setup_timeout)"};
}

SessionTable::Refusal SessionTable::add(const std::shared_ptr<Peer>& peer, bool per_address) {
  std::lock_guard lk(mu_);
  if (auto r = refusal_locked(peer->client, per_address); r.status) return r;
  by_id_[peer->id] = Entry{peer->ufrag, peer, -1, peer->publisher != nullptr, peer->stream_id};
  unclaimed_.insert(peer.get());
  id_by_ufrag_[peer->ufrag] = peer->id;
  peer->pending = true;
  ++pending_total_;
  peer->per_address = per_address;
  if (per_address) ++pending_from_[peer->client].pending;
  sessions_.store(by_id_.size(), std::memory_order_relaxed);
  pending_.store(pending_total_, std::memory_order_relaxed);
  sessions_total_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

bool SessionTable::find(const std::string& id, bool& publisher, std::string& stream) const {
  std::lock_guard lk(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  publisher = it->second.publisher;
  stream = it->second.stream;
  return true;
}

SessionTable::Claim SessionTable::claim(const std::string& ufrag, int worker) {
  std::lock_guard lk(mu_);
  auto u = id_by_ufrag_.find(ufrag);
  if (u == id_by_ufrag_.end()) return {};
  auto& entry = by_id_.at(u->second);
  if (!entry.unclaimed) return {nullptr, entry.owner};
  entry.owner = worker;
  entry.unclaimed->worker = worker;
  unclaimed_.erase(entry.unclaimed.get());
  return {std::move(entry.unclaimed), worker};
}

int SessionTable::owner_of(const udp::endpoint& remote) const {
  std::lock_guard lk(mu_);
  auto it = owner_by_path_.find(remote);
  return it == owner_by_path_.end() ? -1 : it->second;
}

void SessionTable::set_path(const std::optional<udp::endpoint>& old, const udp::endpoint& now, int worker) {
  std::lock_guard lk(mu_);
  if (old) {
    auto it = owner_by_path_.find(*old);
    if (it != owner_by_path_.end() && it->second == worker) owner_by_path_.erase(it);
  }
  owner_by_path_[now] = worker;
}

void SessionTable::end_pending(Peer& peer) {
  std::lock_guard lk(mu_);
  end_pending_locked(peer);
}

void SessionTable::end_pending_locked(Peer& peer) {
  if (!peer.pending) return;
  peer.pending = false;
  --pending_total_;
  pending_.store(pending_total_, std::memory_order_relaxed);
  if (!peer.per_address) return;
  auto it = pending_from_.find(peer.client);
  if (it == pending_from_.end() || --it->second.pending > 0) return;
  if (it->second.refused > 0)
    log::info("webrtc: no session is setting up from this address any more; offers accepted again",
              {{"remote", peer.client.to_string()}, {"refused", it->second.refused}});
  pending_from_.erase(it);
}

void SessionTable::erase_locked(Peer& peer) {
  end_pending_locked(peer);
  unclaimed_.erase(&peer);
  by_id_.erase(peer.id);
  auto u = id_by_ufrag_.find(peer.ufrag);
  if (u != id_by_ufrag_.end() && u->second == peer.id) id_by_ufrag_.erase(u);
  if (peer.remote) {
    auto it = owner_by_path_.find(*peer.remote);
    if (it != owner_by_path_.end() && it->second == peer.worker) owner_by_path_.erase(it);
  }
  sessions_.store(by_id_.size(), std::memory_order_relaxed);
  if (full_refused_ > 0 && by_id_.size() < options_.max_sessions - options_.max_sessions / 10) {
    log::info("webrtc: below max_sessions again; offers accepted", {{"refused", full_refused_}});
    full_refused_ = 0;
  }
}

void SessionTable::remove(Peer& peer) {
  std::lock_guard lk(mu_);
  erase_locked(peer);
}

SessionTable::Claim SessionTable::take(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return {};
  if (!it->second.unclaimed) return {nullptr, it->second.owner};
  auto peer = it->second.unclaimed;
  peer->closed = true;
  erase_locked(*peer);
  return {peer, -1};
}

std::vector<std::shared_ptr<Peer>> SessionTable::take_expired(Clock::time_point now) {
  std::vector<std::shared_ptr<Peer>> out;
  std::lock_guard lk(mu_);
  // Only the sessions no worker has claimed: with thousands of connected viewers this runs every tick.
  for (Peer* p : unclaimed_) {
    auto age = now - p->created;
    if (age > options_.setup_timeout || age > options_.consent_timeout) out.push_back(by_id_.at(p->id).unclaimed);
  }
  for (auto& p : out) {
    p->closed = true;
    erase_locked(*p);
  }
  return out;
}

std::vector<std::shared_ptr<Peer>> SessionTable::take_all_unclaimed() {
  std::vector<std::shared_ptr<Peer>> out;
  std::lock_guard lk(mu_);
  for (auto& [id, e] : by_id_)
    if (e.unclaimed) out.push_back(e.unclaimed);
  for (auto& p : out) {
    p->closed = true;
    erase_locked(*p);
  }
  return out;
}

void SessionTable::visit_unclaimed(const std::function<void(const Peer&)>& visit) const {
  std::lock_guard lk(mu_);
  for (const auto& [id, e] : by_id_)
    if (e.unclaimed) visit(*e.unclaimed);
}

}  // namespace sg::webrtc
