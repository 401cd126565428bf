// net::Connection over real loopback sockets: progress of a pending write, and abort() resetting a peer that stopped
// reading.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // Asio coroutine frames, see src/rtsp_session/server.cpp
#endif

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "net/connection.hpp"

namespace sg::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A server-side Connection on its own io_context thread and a raw client socket with a small receive buffer that
// reads only when told to.
class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(acceptor.local_endpoint().port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    conn.emplace(acceptor.accept());
    thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    asio::post(io, [this] {
      if (conn) conn->close();
    });
    work.reset();
    if (thread.joinable()) thread.join();
    if (client >= 0) ::close(client);
  }
  // bytes_written() read on the connection's thread.
  uint64_t written() {
    std::promise<uint64_t> p;
    asio::post(io, [&] { p.set_value(conn->bytes_written()); });
    return p.get_future().get();
  }
  // Starts writing `data` in one gather write; `done` is set when the write completes.
  void start_write(const std::vector<std::byte>& data) {
    asio::co_spawn(
        io,
        [this, &data]() -> asio::awaitable<void> {
          std::vector<asio::const_buffer> buffers{asio::buffer(data.data(), data.size() / 2),
                                                  asio::buffer(data.data() + data.size() / 2, data.size() / 2)};
          auto [ec, n] = co_await conn->write(buffers);
          result = ec;
          done = true;
        },
        asio::detached);
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::optional<Connection> conn;
  std::thread thread;
  int client = -1;
  std::atomic<bool> done{false};
  boost::system::error_code result;
};

TEST_F(ConnectionTest, PendingWriteToAPeerThatStoppedReadingStandsStillThenCompletesWhenItReads) {
  std::vector<std::byte> data(32 * 1024 * 1024, std::byte{0x24});  // far more than both socket buffers hold
  start_write(data);
  // The kernel takes what fits in the buffers, then nothing more: the write stays pending, the count stands still.
  uint64_t before = 0;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(20ms);
    const uint64_t now = written();
    if (now != 0 && now == before) break;
    before = now;
  }
  ASSERT_GT(before, 0u);
  EXPECT_LT(before, data.size());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(written(), before);
  EXPECT_FALSE(done);
  // The peer reads again: the count moves on to the whole write.
  std::vector<char> sink(1 << 20);
  size_t got = 0;
  while (got < data.size()) {
    auto n = ::recv(client, sink.data(), sink.size(), 0);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(done);
  EXPECT_FALSE(result);
  EXPECT_EQ(written(), data.size());
}

TEST_F(ConnectionTest, AbortResetsThePeerAndFailsThePendingWrite) {
  std::vector<std::byte> data(32 * 1024 * 1024, std::byte{0x24});
  start_write(data);
  for (int i = 0; i < 100 && written() == 0; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_GT(written(), 0u);
  asio::post(io, [this] { conn->abort(); });
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(done);
  EXPECT_TRUE(result);
  // A reset, not an orderly close after the queued data: once the peer has read the little it had received, its
  // read fails with ECONNRESET instead of seeing the rest of the write and an end of stream.
  std::vector<char> sink(1 << 20);
  ssize_t n = 0;
  int err = 0;
  for (int i = 0; i < 1000; ++i) {
    n = ::recv(client, sink.data(), sink.size(), 0);
    if (n <= 0) {
      err = errno;
      break;
    }
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, ECONNRESET);
}

}  // namespace
}  // namespace sg::net
