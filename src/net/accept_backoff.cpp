#include "net/accept_backoff.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/log.hpp"

namespace sg::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kFirstPause = 20ms;
constexpr auto kMaxPause = 250ms;
}  // namespace

asio::awaitable<void> AcceptBackoff::failed(const boost::system::error_code& ec) {
  const auto now = std::chrono::steady_clock::now();
  if (!in_episode_) {
    in_episode_ = true;
    ++episodes_;
    failures_ = 0;
    started_ = now;
    pause_ = kFirstPause;
    episode_logged_ = episodes_ == 1 || now - last_logged_ >= log_every_;
    if (episode_logged_) {
      log::warn(protocol_ + " accept failed: pausing the acceptor until it works again",
                {{"error", ec.message()},
                 {"pause_ms", static_cast<int64_t>(pause_.count())},
                 {"episodes_not_logged", unlogged_episodes_}});
      ++lines_;
      last_logged_ = now;
      unlogged_episodes_ = 0;
    } else {
      ++unlogged_episodes_;
    }
  } else {
    pause_ = std::min<std::chrono::milliseconds>(pause_ * 2, kMaxPause);
  }
  ++failures_;
  asio::steady_timer timer(co_await asio::this_coro::executor, pause_);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void AcceptBackoff::succeeded() {
  if (!in_episode_) return;
  in_episode_ = false;
  pause_ = 0ms;
  if (!episode_logged_) return;
  auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  log::info(protocol_ + " accept works again",
            {{"failures", failures_}, {"lasted_ms", static_cast<int64_t>(lasted.count())}});
  ++lines_;
}

}  // namespace sg::net
