// net::hand_off: an accepted connection's hand-over to its worker takes its memory from the pool, never from malloc
// per connection (net/handoff.hpp says why).
#include "net/handoff.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

namespace sg::net {
namespace {

TEST(Handoff, AnAcceptedConnectionsHandOverFitsOneBlockAndBlocksAreReused) {
  boost::asio::io_context acceptor_context, worker;
  HandoffPool pool;
  int ran = 0;
  for (int i = 0; i < 3; ++i) {
    // What the HTTP and RTSP accept loops capture: the socket, the peer address, a pointer, a shared pointer.
    boost::asio::ip::tcp::socket socket(worker);
    auto address = boost::asio::ip::make_address("2001:db8::1");
    auto shared = std::make_shared<int>(i);
    hand_off(pool, worker, [&ran, socket = std::move(socket), address, shared, self = &pool]() mutable {
      ++ran;
      EXPECT_FALSE(socket.is_open());
      EXPECT_TRUE(address.is_v6());
      (void)self;
    });
    worker.run();
    worker.restart();
  }
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(pool.oversized(), 0u) << "a hand-over no longer fits HandoffPool::kBlock: raise it";
  EXPECT_EQ(pool.kept(), 1u) << "one block, reused by each hand-over";
}

}  // namespace
}  // namespace sg::net
