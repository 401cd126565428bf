#include "auth/login_limiter.hpp"

namespace sg::auth {

size_t FailedLoginLimiter::IpHash::operator()(const IpAddress& ip) const {
  // FNV-1a over the 16 bytes.
  uint64_t h = 1469598103934665603ull;
  for (auto b : ip.bytes) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

bool FailedLoginLimiter::blocked(const IpAddress& ip, int64_t now_ms) const {
  auto it = entries_.find(ip);
  return it != entries_.end() && it->second.blocking && now_ms < it->second.blocked_until;
}

bool FailedLoginLimiter::record_failure(const IpAddress& ip, int64_t now_ms) {
  if (config_.max_tracked == 0) return false;
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (entries_.size() >= config_.max_tracked) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(ip);
    it = entries_.emplace(ip, Entry{0, now_ms, 0, false, std::prev(order_.end())}).first;
  } else {
    order_.splice(order_.end(), order_, it->second.order);
  }
  Entry& e = it->second;
  if (e.blocking) {
    if (now_ms < e.blocked_until) return false;  // the same episode
    e = Entry{0, now_ms, 0, false, e.order};
  }
  if (now_ms - e.window_start >= config_.window_ms) {
    e.failures = 0;
    e.window_start = now_ms;
  }
  if (++e.failures < config_.max_failures) return false;
  e.blocking = true;
  e.blocked_until = now_ms + config_.block_ms;
  return true;
}

void FailedLoginLimiter::record_success(const IpAddress& ip) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return;
  order_.erase(it->second.order);
  entries_.erase(it);
}

}  // namespace sg::auth
