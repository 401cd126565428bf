#pragma once
// What an accept loop does when accept() fails. Out of descriptors (EMFILE, ENFILE) or memory, the pending
// connection stays in the backlog, so retrying at once fails again at once: a loop that only logs and retries spins
// a core and writes the same line millions of times. Instead the acceptor pauses (20 ms, doubling to 250 ms).
//
// Logging is once per episode, and at most one episode per `log_every` (10 s): near the limit a closing connection
// frees one descriptor, one accept works and the next fails again, so episodes can follow each other every few
// milliseconds. The first of them is logged (its start, and its end with how many accepts failed); those that follow
// within `log_every` are only counted, and the next episode logged says how many there were.
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace sg::net {

class AcceptBackoff {
 public:
  explicit AcceptBackoff(std::string protocol, std::chrono::milliseconds log_every = std::chrono::seconds(10))
      : protocol_(std::move(protocol)), log_every_(log_every) {}

  // After a failed accept: logs if this starts an episode that is to be logged, then waits before the next attempt.
  boost::asio::awaitable<void> failed(const boost::system::error_code& ec);
  // After a successful accept: ends an episode (logged if its start was) and resets the pause.
  void succeeded();

  uint64_t episodes() const { return episodes_; }
  uint64_t lines_logged() const { return lines_; }
  std::chrono::milliseconds pause() const { return pause_; }

 private:
  std::string protocol_;
  std::chrono::milliseconds log_every_;
  std::chrono::milliseconds pause_{0};
  bool in_episode_ = false;
  bool episode_logged_ = false;
  uint64_t failures_ = 0;  // in the current episode
  uint64_t episodes_ = 0;
  uint64_t unlogged_episodes_ = 0;  // since the last episode logged
  uint64_t lines_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace sg::net
