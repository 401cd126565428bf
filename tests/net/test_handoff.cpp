// net::hand_off: an accepted connection's hand-over to its worker takes its memory from the pool, never from malloc
// per connection (net/handoff.hpp says why).
#include "net/handoff.hpp"

#include "net/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstring>
#include <memory>
#include <vector>

namespace sg::net {
namespace {

TEST(Handoff, AnAcceptedConnectionsHandOverFitsOneBlockAndBlocksAreReused) {
  boost::asio::io_context acceptor_context, worker;
  HandoffPool pool;
  int ran = 0;
  for (int i = 0; i < 3; ++i) {
    // What the HTTP and RTSP accept loops capture: the socket, the peer (address and a flag), the connection's
    // slot, the TLS context (a shared pointer), the server and the worker index.
    boost::asio::ip::tcp::socket socket(worker);
    struct Peer {
      boost::asio::ip::address address;
      bool secure = false;
    } peer{boost::asio::ip::make_address("2001:db8::1")};
    ConnectionLimiter::Slot slot;
    auto tls = std::make_shared<int>(i);
    size_t index = 1;
    hand_off(pool, worker, [&ran, socket = std::move(socket), peer, slot = std::move(slot), tls, self = &pool,
                            index]() mutable {
      ++ran;
      EXPECT_FALSE(socket.is_open());
      EXPECT_TRUE(peer.address.is_v6());
      EXPECT_FALSE(slot);
      (void)self;
      (void)index;
    });
    worker.run();
    worker.restart();
  }
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(pool.oversized(), 0u) << "a hand-over no longer fits HandoffPool::kBlock: raise it";
  EXPECT_EQ(pool.used(), 1u) << "one block, reused by each hand-over";
}

// A burst's blocks come from the slab and go back to the kernel once no hand-over is in flight.
TEST(Handoff, ABurstsBlocksAreReleasedWhenNoHandOverIsInFlight) {
  HandoffPool pool;
  std::vector<void*> blocks;
  for (size_t i = 0; i < HandoffPool::kBlocks + 10; ++i) blocks.push_back(pool.allocate(HandoffPool::kBlock));
  for (void* b : blocks) std::memset(b, 0xab, HandoffPool::kBlock);  // touch every page
  EXPECT_EQ(pool.used(), HandoffPool::kBlocks) << "past the slab, blocks come from malloc";
  EXPECT_FALSE(pool.release()) << "blocks are in flight";
  for (void* b : blocks) pool.deallocate(b, HandoffPool::kBlock);
  EXPECT_TRUE(pool.release());
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_FALSE(pool.release()) << "nothing touched since";
  // Released pages read as zeros; the slab is reused from its start.
  void* again = pool.allocate(HandoffPool::kBlock);
  EXPECT_EQ(again, blocks.front());
  EXPECT_EQ(static_cast<unsigned char*>(again)[0], 0u);
  pool.deallocate(again, HandoffPool::kBlock);
  EXPECT_FALSE(pool.release()) << "a handful of blocks is the steady state, kept";
}

}  // namespace
}  // namespace sg::net
