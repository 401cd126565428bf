#pragma once
// Failed-login limiting per client address: after `max_failures` wrong credentials within `window_ms`, the address
// is refused for `block_ms` without evaluating its credentials (slows password guessing; PBKDF2 costs CPU too).
// Pure: the caller passes a monotonic time in milliseconds and serialises access (one limiter per worker, or a
// mutex).
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "auth/policy.hpp"

namespace sg::auth {

class FailedLoginLimiter {
 public:
  struct Config {
    int max_failures = 10;
    int64_t window_ms = 60'000;
    int64_t block_ms = 60'000;
    size_t max_tracked = 10'000;  // addresses remembered; the least recently failed is forgotten first
  };

  FailedLoginLimiter() : FailedLoginLimiter(Config{}) {}
  explicit FailedLoginLimiter(Config config) : config_(config) {}

  bool blocked(const IpAddress& ip, int64_t now_ms) const;
  // Counts a failure; true exactly when this failure starts a block episode (log it once then).
  bool record_failure(const IpAddress& ip, int64_t now_ms);
  // A successful login forgets the address's failures.
  void record_success(const IpAddress& ip);
  size_t tracked() const { return entries_.size(); }

 private:
  struct IpHash {
    size_t operator()(const IpAddress& ip) const;
  };
  struct Entry {
    int failures = 0;
    int64_t window_start = 0;
    int64_t blocked_until = 0;
    bool blocking = false;
    std::list<IpAddress>::iterator order;
  };

  Config config_;
  std::unordered_map<IpAddress, Entry, IpHash> entries_;
  std::list<IpAddress> order_;  // least recently failed first
};

}  // namespace sg::auth
