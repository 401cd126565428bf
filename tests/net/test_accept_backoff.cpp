// net::AcceptBackoff: an acceptor out of descriptors pauses instead of spinning, and logs once per episode, at most
// one episode per interval, however fast episodes follow each other near the limit.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <thread>

#include "net/accept_backoff.hpp"

namespace sg::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const auto kEmfile = boost::system::error_code(EMFILE, boost::system::system_category());

// Runs `body` as a coroutine to completion.
void run(const std::function<asio::awaitable<void>()>& body) {
  asio::io_context io;
  asio::co_spawn(io, body, asio::detached);
  io.run();
}

TEST(AcceptBackoff, ConsecutiveFailuresDoubleThePauseUpTo250MsAndLogOneLine) {
  AcceptBackoff backoff("TEST");
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 6; ++i) co_await backoff.failed(kEmfile);
  });
  EXPECT_EQ(backoff.pause(), 250ms);  // 20, 40, 80, 160, 250, 250
  EXPECT_EQ(backoff.episodes(), 1u);
  EXPECT_EQ(backoff.lines_logged(), 1u);
  backoff.succeeded();
  EXPECT_EQ(backoff.pause(), 0ms);
  EXPECT_EQ(backoff.lines_logged(), 2u);  // "works again"
}

// Near the limit one accept works between failures (a connection closed and freed a descriptor): each is an episode,
// but only the first within the interval is logged; the pause starts again at 20 ms after each success.
TEST(AcceptBackoff, EpisodesInQuickSuccessionAreCountedNotLogged) {
  AcceptBackoff backoff("TEST", 400ms);
  const auto start = std::chrono::steady_clock::now();
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      co_await backoff.failed(kEmfile);
      co_await backoff.failed(kEmfile);
      EXPECT_EQ(backoff.pause(), 40ms);
      backoff.succeeded();
    }
  });
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(backoff.episodes(), 10u);
  // 10 episodes of at least 60 ms: two lines (start and end) for the first and for at most one per 400 ms after it,
  // 4 lines in the usual 600 ms (a slow machine stretches the pauses, hence the bound).
  EXPECT_GE(backoff.lines_logged(), 4u);
  EXPECT_LE(backoff.lines_logged(), 2u * (static_cast<uint64_t>(elapsed.count()) / 400 + 1)) << elapsed.count();
}

TEST(AcceptBackoff, AnEpisodeAfterTheIntervalIsLoggedAgain) {
  AcceptBackoff backoff("TEST", 50ms);
  run([&]() -> asio::awaitable<void> { co_await backoff.failed(kEmfile); });
  backoff.succeeded();
  std::this_thread::sleep_for(60ms);
  run([&]() -> asio::awaitable<void> { co_await backoff.failed(kEmfile); });
  backoff.succeeded();
  EXPECT_EQ(backoff.episodes(), 2u);
  EXPECT_EQ(backoff.lines_logged(), 4u);
}

}  // namespace
}  // namespace sg::net
