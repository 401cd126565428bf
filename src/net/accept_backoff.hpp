#pragma once
// What an accept loop does when accept() fails. Out of descriptors (EMFILE, ENFILE) or memory, the pending
// connection stays in the backlog, so retrying at once fails again at once: a loop that only logs and retries spins
// a core and writes the same line millions of times. Instead the acceptor pauses (20 ms, doubling to 250 ms) and logs
// once per episode: when the first failure happens, and when accept works again (with how many failed between).
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace sg::net {

class AcceptBackoff {
 public:
  explicit AcceptBackoff(std::string protocol) : protocol_(std::move(protocol)) {}

  // After a failed accept: logs if this starts an episode, then waits before the next attempt.
  boost::asio::awaitable<void> failed(const boost::system::error_code& ec);
  // After a successful accept: ends an episode (logged) and resets the pause.
  void succeeded();

  uint64_t episodes() const { return episodes_; }

 private:
  std::string protocol_;
  std::chrono::milliseconds pause_{0};
  uint64_t failures_ = 0;  // in the current episode
  uint64_t episodes_ = 0;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace sg::net
