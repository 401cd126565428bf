#include "net/connection_limiter.hpp"

#include "app/log.hpp"
#include "base/prometheus.hpp"

namespace sg::net {

namespace {

// An episode ends when the count is back below 90 % of its limit.
bool well_below(size_t count, size_t limit) { return count < limit - limit / 10; }

}  // namespace

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    reset();
    limiter_ = std::move(o.limiter_);
    address_ = o.address_;
    counted_ = o.counted_;
  }
  return *this;
}

void ConnectionLimiter::Slot::reset() {
  if (auto l = std::move(limiter_)) l->release(address_, counted_);
  limiter_.reset();
}

ConnectionLimiter::ConnectionLimiter(std::string protocol, ConnectionLimits limits)
    : protocol_(std::move(protocol)), limits_(std::move(limits)) {}

std::shared_ptr<ConnectionLimiter> ConnectionLimiter::make(std::string protocol, ConnectionLimits limits) {
  return std::shared_ptr<ConnectionLimiter>(new ConnectionLimiter(std::move(protocol), std::move(limits)));
}

bool ConnectionLimiter::limited(const boost::asio::ip::address& address) const {
  auto ip = auth::IpAddress::parse(address.to_string());
  if (!ip) return true;
  for (const auto& range : limits_.per_address_exempt)
    if (range.contains(*ip)) return false;
  return true;
}

ConnectionLimiter::Admission ConnectionLimiter::admit(const boost::asio::ip::address& address) {
  const bool per_address = limited(address);
  Admission a;
  std::lock_guard lk(mu_);
  if (open_ >= limits_.total) {
    ++refused_total_;
    if (total_refused_in_episode_++ == 0) {
      ++episodes_;
      log::warn(protocol_ + ": connection limit reached, refusing new connections",
                {{"limit", limits_.total}, {"remote", address.to_string()}});
    }
    a.refusal = Refusal::Total;
    return a;
  }
  if (per_address) {
    auto it = from_.find(address);
    if (it != from_.end() && it->second.open >= limits_.per_address) {
      ++refused_per_address_;
      if (it->second.refused++ == 0) {
        ++episodes_;
        log::warn(protocol_ + ": per-address connection limit reached, refusing new connections from this address",
                  {{"limit", limits_.per_address}, {"remote", address.to_string()}});
      }
      a.refusal = Refusal::PerAddress;
      return a;
    }
    ++from_[address].open;
  }
  ++open_;
  a.slot.limiter_ = shared_from_this();
  a.slot.address_ = address;
  a.slot.counted_ = per_address;
  return a;
}

void ConnectionLimiter::release(const boost::asio::ip::address& address, bool counted) {
  std::lock_guard lk(mu_);
  --open_;
  if (total_refused_in_episode_ > 0 && well_below(open_, limits_.total)) {
    log::info(protocol_ + ": below the connection limit again, accepting",
              {{"limit", limits_.total}, {"refused", total_refused_in_episode_}});
    total_refused_in_episode_ = 0;
  }
  if (!counted) return;
  auto it = from_.find(address);
  if (it == from_.end()) return;
  --it->second.open;
  if (it->second.refused > 0 && well_below(it->second.open, limits_.per_address)) {
    log::info(protocol_ + ": below the per-address connection limit again, accepting from this address",
              {{"limit", limits_.per_address}, {"remote", address.to_string()}, {"refused", it->second.refused}});
    it->second.refused = 0;
  }
  if (it->second.open == 0) from_.erase(it);
}

size_t ConnectionLimiter::open() const {
  std::lock_guard lk(mu_);
  return open_;
}

size_t ConnectionLimiter::open_from(const boost::asio::ip::address& address) const {
  std::lock_guard lk(mu_);
  auto it = from_.find(address);
  return it == from_.end() ? 0 : it->second.open;
}

uint64_t ConnectionLimiter::refused(Refusal why) const {
  std::lock_guard lk(mu_);
  return why == Refusal::Total ? refused_total_ : why == Refusal::PerAddress ? refused_per_address_ : 0;
}

uint64_t ConnectionLimiter::episodes() const {
  std::lock_guard lk(mu_);
  return episodes_;
}

void ConnectionLimiter::write_metrics(std::string& out, const std::vector<const ConnectionLimiter*>& limiters) {
  write_metric_header(out, "streamgate_connections", "gauge", "TCP connections open, by protocol (limits.*)");
  for (const auto* l : limiters)
    out += "streamgate_connections{protocol=\"" + l->protocol() + "\"} " + std::to_string(l->open()) + "\n";
  write_metric_header(out, "streamgate_connections_refused_total", "counter",
                      "TCP connections refused by limits.<protocol>_connections (reason total) or "
                      "limits.<protocol>_connections_per_address (reason per_address)");
  for (const auto* l : limiters) {
    out += "streamgate_connections_refused_total{protocol=\"" + l->protocol() + "\",reason=\"total\"} " +
           std::to_string(l->refused(Refusal::Total)) + "\n";
    out += "streamgate_connections_refused_total{protocol=\"" + l->protocol() + "\",reason=\"per_address\"} " +
           std::to_string(l->refused(Refusal::PerAddress)) + "\n";
  }
}

}  // namespace sg::net
