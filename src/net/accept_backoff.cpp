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
  if (failures_++ == 0) {
    ++episodes_;
    started_ = std::chrono::steady_clock::now();
    pause_ = kFirstPause;
    log::warn(protocol_ + " accept failed: pausing the acceptor until it works again",
              {{"error", ec.message()}, {"pause_ms", static_cast<int64_t>(pause_.count())}});
  } else {
    pause_ = std::min<std::chrono::milliseconds>(pause_ * 2, kMaxPause);
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, pause_);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void AcceptBackoff::succeeded() {
  if (failures_ == 0) return;
  auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  log::info(protocol_ + " accept works again",
            {{"failures", failures_}, {"lasted_ms", static_cast<int64_t>(lasted.count())}});
  failures_ = 0;
  pause_ = 0ms;
}

}  // namespace sg::net
