#pragma once
// One accepted TCP connection, plain or TLS, for session code that must not care which (the RTSP server).
// Plain: reads and gather writes go straight to the socket (one sendmsg for a whole buffer sequence), as before.
// TLS: a gather write is first packed into this connection's scratch buffer (reused, so no allocation per write
// once warm), then encrypted in records of up to 16 KiB; OpenSSL copies while encrypting anyway, and writing the
// buffers one by one would make one TLS record per 16-byte header.
#include <sys/uio.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "net/send_batch.hpp"
#include "net/tls_context.hpp"

namespace sg::net {

class Connection : private SendBatch::Sender {
 public:
  using Executor = boost::asio::ip::tcp::socket::executor_type;
  using ErrorAndSize = std::tuple<boost::system::error_code, size_t>;

  explicit Connection(boost::asio::ip::tcp::socket socket);
  // TLS: handshake() must succeed before reads and writes.
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<SslContext> context);
  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  bool secure() const { return tls_ != nullptr; }
  // The TCP socket (under TLS when secure): endpoints, options, shutdown.
  boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  Executor get_executor() { return socket().get_executor(); }

  // TLS server handshake, bounded by `timeout`; a no-op for plain connections.
  boost::asio::awaitable<boost::system::error_code> handshake(std::chrono::steady_clock::duration timeout);
  // Plain: until the socket has bytes to read (so an idle connection needs no read buffer). TLS: at once, since
  // records already taken from the socket may hold the next bytes while the socket itself has none.
  boost::asio::awaitable<boost::system::error_code> wait_readable();
  boost::asio::awaitable<ErrorAndSize> read_some(boost::asio::mutable_buffer buffer);
  // Writes all of `buffers` (in order).
  boost::asio::awaitable<ErrorAndSize> write(const std::vector<boost::asio::const_buffer>& buffers);
  boost::asio::awaitable<ErrorAndSize> write(boost::asio::const_buffer buffer);
  // Plain only: one non-blocking gather write (sendmsg, MSG_DONTWAIT) of as much of `buffers` as the kernel takes,
  // queued in the worker's `batch` (net/send_batch.hpp), without suspending. For a caller that must not wait (a
  // fan-out pass over many readers). `done->sent()` gets the result when the batch is flushed (or at once): the
  // bytes written (0 when the socket is full) or the error when the connection failed; the rest is the caller's to
  // write with write(). bytes_written() counts it from then. `buffers` and the bytes they point to must stay
  // unchanged until then, and the connection must not move. False (nothing queued, `done` not called) for TLS
  // connections (their writes must go through write()), a closed socket, or no bytes.
  bool try_write(const std::vector<boost::asio::const_buffer>& buffers, SendBatch& batch, SendBatch::Sender* done);
  // Bytes the kernel has accepted so far (plaintext under TLS), counted as they go, also while a write is pending:
  // a write that is pending while this stands still means the peer stopped reading.
  uint64_t bytes_written() const { return written_; }
  // Shuts the TCP connection down both ways and closes it; pending operations end with an error.
  void close();
  // Closes with a reset: whatever the peer did not read is discarded at once instead of lingering in the kernel
  // (a peer that stopped reading would pin its send buffer for minutes).
  void abort();

 private:
  std::optional<boost::asio::ip::tcp::socket> plain_;
  std::shared_ptr<SslContext> context_;  // kept while the connection lives (certificate reloads swap the holder's)
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  std::vector<std::byte> scratch_;
  std::vector<iovec> iov_;  // try_write's gather list (reused)
  uint64_t written_ = 0;
  SendBatch::Sender* batch_done_ = nullptr;  // the batched write's caller, until its result comes

  void sent(boost::system::error_code ec, size_t bytes) override;
};

}  // namespace sg::net
