// net::SendBatch over real sockets: writes queued for many sockets reach each peer whole and in order, each sender
// learns its own result (bytes taken, a full socket, a closed peer, a bad descriptor) in the order it was added,
// and the io_uring path and the direct path give the same results.
#include <gtest/gtest.h>
#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "net/connection.hpp"
#include "net/send_batch.hpp"

namespace sg::net {
namespace {

// True when this process can set up an io_uring (the batch's Auto mode should then use it).
bool kernel_has_io_uring() {
  io_uring ring{};
  if (io_uring_queue_init(4, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

struct Result {
  boost::system::error_code ec;
  size_t bytes = 0;
  int order = -1;
};

// Records each result and the order results came in.
struct Recorder : SendBatch::Sender {
  Recorder() = default;
  Recorder(std::vector<Result>* r, size_t i, int* c) : results(r), index(i), counter(c) {}
  std::vector<Result>* results = nullptr;
  size_t index = 0;
  int* counter = nullptr;
  void sent(boost::system::error_code ec, size_t bytes) override { (*results)[index] = {ec, bytes, (*counter)++}; }
};

struct Pair {
  int ours = -1, peer = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0];
    peer = fds[1];
  }
  ~Pair() {
    if (ours >= 0) ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  std::string read_all() {
    std::string got;
    char buf[4096];
    for (;;) {
      auto n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

// 100 writes of two buffers each, round-robin over 10 sockets, through one batch.
void many_writes_arrive_in_order(SendBatch& batch) {
  constexpr size_t kSockets = 10, kWrites = 100;
  std::vector<Pair> pairs(kSockets);
  std::vector<std::string> heads(kWrites), bodies(kWrites);
  std::vector<std::array<iovec, 2>> iovs(kWrites);
  std::vector<Result> results(kWrites);
  std::vector<Recorder> senders(kWrites);
  std::vector<std::string> expected(kSockets);
  int counter = 0;
  for (size_t i = 0; i < kWrites; ++i) {
    heads[i] = "[" + std::to_string(i) + "]";
    bodies[i] = std::string(100 + i, static_cast<char>('a' + i % 26));
    iovs[i] = {iovec{heads[i].data(), heads[i].size()}, iovec{bodies[i].data(), bodies[i].size()}};
    senders[i].results = &results;
    senders[i].index = i;
    senders[i].counter = &counter;
    expected[i % kSockets] += heads[i] + bodies[i];
    batch.add(pairs[i % kSockets].ours, iovs[i].data(), 2, &senders[i]);
  }
  batch.flush();
  EXPECT_EQ(batch.queued(), 0u);
  for (size_t i = 0; i < kWrites; ++i) {
    EXPECT_FALSE(results[i].ec) << i;
    EXPECT_EQ(results[i].bytes, heads[i].size() + bodies[i].size()) << i;
    EXPECT_EQ(results[i].order, static_cast<int>(i));
  }
  for (size_t s = 0; s < kSockets; ++s) EXPECT_EQ(pairs[s].read_all(), expected[s]) << s;
}

TEST(SendBatch, WritesToManySocketsArriveWholeAndInOrderInFewSubmissions) {
  SendBatch batch;
  many_writes_arrive_in_order(batch);
  EXPECT_EQ(batch.batching(), kernel_has_io_uring());
  if (batch.batching()) {
    // 64 went out when the batch filled, the other 36 at flush().
    EXPECT_EQ(batch.submissions(), 2u);
  } else {
    EXPECT_EQ(batch.submissions(), 0u);
  }
}

TEST(SendBatch, DirectModeGivesTheSameResultsWithOneSendEach) {
  SendBatch batch(SendBatch::Mode::Direct);
  many_writes_arrive_in_order(batch);
  EXPECT_FALSE(batch.batching());
  EXPECT_EQ(batch.submissions(), 0u);
}

// A full socket, a closed peer and a bad descriptor in one batch, between two good writes: each gets its own result.
void failures_are_reported_to_their_own_sender(SendBatch::Mode mode) {
  SendBatch batch(mode);
  Pair good1, full, closed, good2;
  int small = 4096;
  ::setsockopt(full.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(full.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ::close(closed.peer);
  closed.peer = -1;
  const int bad = -1;  // not a descriptor (a closed number could be the ring's own, opened at the first add)

  std::string small_data = "hello";
  std::string big(1 << 20, 'x');  // far more than the full socket's buffers
  iovec small_iov{small_data.data(), small_data.size()};
  iovec big_iov{big.data(), big.size()};
  std::vector<Result> results(6);
  std::vector<Recorder> senders(6);
  int counter = 0;
  for (size_t i = 0; i < senders.size(); ++i) senders[i] = Recorder(&results, i, &counter);
  batch.add(good1.ours, &small_iov, 1, &senders[0]);
  batch.add(full.ours, &big_iov, 1, &senders[1]);      // takes part
  batch.add(full.ours, &big_iov, 1, &senders[2]);      // takes nothing: the socket is full
  batch.add(closed.ours, &small_iov, 1, &senders[3]);  // the peer is gone (no SIGPIPE either)
  batch.add(bad, &small_iov, 1, &senders[4]);
  batch.add(good2.ours, &small_iov, 1, &senders[5]);
  batch.flush();

  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].order, static_cast<int>(i)) << i;
  EXPECT_FALSE(results[0].ec);
  EXPECT_EQ(results[0].bytes, small_data.size());
  EXPECT_FALSE(results[1].ec);
  EXPECT_GT(results[1].bytes, 0u);
  EXPECT_LT(results[1].bytes, big.size());
  EXPECT_FALSE(results[2].ec);
  EXPECT_EQ(results[2].bytes, 0u);
  EXPECT_EQ(results[3].ec.value(), EPIPE);
  EXPECT_EQ(results[4].ec.value(), EBADF);
  EXPECT_FALSE(results[5].ec);
  EXPECT_EQ(results[5].bytes, small_data.size());
  EXPECT_EQ(good1.read_all(), small_data);
  EXPECT_EQ(good2.read_all(), small_data);
  EXPECT_EQ(full.read_all().size(), results[1].bytes);
}

TEST(SendBatch, EachFailureGoesToItsOwnSenderAndTheOthersStillGo) {
  failures_are_reported_to_their_own_sender(SendBatch::Mode::Auto);
}

TEST(SendBatch, DirectModeReportsTheSameFailures) {
  failures_are_reported_to_their_own_sender(SendBatch::Mode::Direct);
}

TEST(SendBatch, ABatchCanBeReusedAfterFlushAndAnEmptyFlushDoesNothing) {
  SendBatch batch;
  batch.flush();
  EXPECT_EQ(batch.submissions(), 0u);
  Pair p;
  std::vector<Result> results(1);
  int counter = 0;
  Recorder r(&results, 0, &counter);
  std::string expected;
  for (int round = 0; round < 3; ++round) {
    std::string data = "round " + std::to_string(round);
    iovec iov{data.data(), data.size()};
    batch.add(p.ours, &iov, 1, &r);
    batch.flush();
    EXPECT_EQ(counter, round + 1);
    EXPECT_EQ(results[0].bytes, data.size());
    expected += data;
  }
  EXPECT_EQ(p.read_all(), expected);
  if (batch.batching()) {
    EXPECT_EQ(batch.submissions(), 3u);
  }
}

namespace asio = boost::asio;
using asio::ip::tcp;

// A TCP connection over loopback, as the readers' are: `client` is the reader, `server` the streamgate side.
struct TcpPair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  tcp::socket client{io};
  tcp::socket server{io};
  TcpPair() {
    client.connect(acceptor.local_endpoint());
    server = acceptor.accept();
  }
};

// Connection's batched try_write: the caller hears the result at flush, and bytes_written() counts it from then.
TEST(SendBatch, ConnectionCountsABatchedWriteWhenTheBatchIsFlushed) {
  TcpPair tcp;
  auto& client = tcp.client;
  Connection conn(std::move(tcp.server));

  SendBatch batch;
  std::vector<Result> results(1);
  int counter = 0;
  Recorder r(&results, 0, &counter);
  std::string a = "unit-", b = "payload";
  std::vector<asio::const_buffer> buffers{asio::buffer(a), asio::const_buffer(), asio::buffer(b)};
  ASSERT_TRUE(conn.try_write(buffers, batch, &r));
  EXPECT_EQ(conn.bytes_written(), 0u);  // not sent yet: the batch holds it
  EXPECT_EQ(counter, batch.batching() ? 0 : 1);
  batch.flush();
  EXPECT_EQ(counter, 1);
  EXPECT_FALSE(results[0].ec);
  EXPECT_EQ(results[0].bytes, a.size() + b.size());
  EXPECT_EQ(conn.bytes_written(), a.size() + b.size());
  std::string got(a.size() + b.size(), '\0');
  asio::read(client, asio::buffer(got));
  EXPECT_EQ(got, a + b);

  // Nothing to write: nothing queued, the caller is not called.
  std::vector<asio::const_buffer> empty{asio::const_buffer()};
  EXPECT_FALSE(conn.try_write(empty, batch, &r));
  EXPECT_EQ(batch.queued(), 0u);
  conn.close();
  EXPECT_FALSE(conn.try_write(buffers, batch, &r));  // closed: takes nothing
  EXPECT_EQ(counter, 1);
}

// TCP, as the readers are: a socket whose peer reads nothing fills, and then a write through the ring completes at
// once with nothing taken (MSG_DONTWAIT), as a direct sendmsg would: the batch never waits for a peer to read.
TEST(SendBatch, AFullTcpSocketTakesNothingAndTheFlushDoesNotWaitForThePeer) {
  TcpPair tcp;
  auto& client = tcp.client;
  auto& server = tcp.server;
  server.non_blocking(true);

  SendBatch batch;
  std::string big(1 << 20, 'x');
  iovec iov{big.data(), big.size()};
  std::vector<Result> results(1);
  int counter = 0;
  Recorder r(&results, 0, &counter);
  size_t taken = 0;
  bool full = false;
  // Loopback autotunes its buffers up to a few MB: keep writing until a write takes nothing.
  for (int i = 0; i < 64 && !full; ++i) {
    batch.add(server.native_handle(), &iov, 1, &r);
    const auto before = std::chrono::steady_clock::now();
    batch.flush();
    // A flush that waited for the peer would never return (it reads nothing); this bounds a slow machine.
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
    ASSERT_FALSE(results[0].ec) << results[0].ec.message();
    taken += results[0].bytes;
    full = results[0].bytes == 0;
  }
  EXPECT_TRUE(full) << "the socket took " << taken << " bytes without filling";
  EXPECT_GT(taken, 0u);
  // The peer gets exactly what was reported taken.
  client.non_blocking(true);
  size_t got = 0;
  std::vector<char> buf(1 << 16);
  boost::system::error_code ec;
  for (int idle = 0; idle < 50 && got < taken;) {
    const size_t n = client.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) {
      ++idle;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ASSERT_FALSE(ec) << ec.message();
    got += n;
  }
  EXPECT_EQ(got, taken);
}

}  // namespace
}  // namespace sg::net
