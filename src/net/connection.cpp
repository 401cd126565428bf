#include "net/connection.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace sg::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// asio::transfer_all that also records the progress of a pending write: asked before each further write_some with
// the bytes written so far (not after the last one: write() counts that).
struct CountProgress {
  uint64_t& total;
  uint64_t base;
  size_t operator()(const boost::system::error_code& ec, size_t written) const {
    total = base + written;
    return ec ? 0 : asio::detail::default_max_transfer_size;
  }
};
}  // namespace

Connection::Connection(tcp::socket socket) : plain_(std::move(socket)) {}

Connection::Connection(tcp::socket socket, std::shared_ptr<SslContext> context)
    : context_(std::move(context)),
      tls_(std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket), *context_)) {}

asio::awaitable<boost::system::error_code> Connection::handshake(std::chrono::steady_clock::duration timeout) {
  if (!tls_) co_return boost::system::error_code{};
  // The timer cancels the socket when the handshake takes too long. `done` is set before this coroutine returns,
  // so a timer that fires later (its handler already queued) leaves the socket alone.
  auto done = std::make_shared<bool>(false);
  asio::steady_timer timer(get_executor(), timeout);
  timer.async_wait([done, sock = &socket()](boost::system::error_code ec) {
    if (!ec && !*done) {
      boost::system::error_code ignored;
      sock->cancel(ignored);
    }
  });
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  *done = true;
  timer.cancel();
  if (!ec && !socket().is_open()) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<boost::system::error_code> Connection::wait_readable() {
  if (tls_) co_return boost::system::error_code{};
  auto [ec] = co_await plain_->async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

asio::awaitable<Connection::ErrorAndSize> Connection::read_some(asio::mutable_buffer buffer) {
  if (tls_) co_return co_await tls_->async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
  co_return co_await plain_->async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<Connection::ErrorAndSize> Connection::write(const std::vector<asio::const_buffer>& buffers) {
  const CountProgress progress{written_, written_};
  ErrorAndSize result;
  if (!tls_) {
    result = co_await asio::async_write(*plain_, buffers, progress, asio::as_tuple(asio::use_awaitable));
  } else {
    scratch_.resize(asio::buffer_size(buffers));
    size_t off = 0;
    for (const auto& b : buffers) {
      std::memcpy(scratch_.data() + off, b.data(), b.size());
      off += b.size();
    }
    result = co_await asio::async_write(*tls_, asio::buffer(scratch_), progress, asio::as_tuple(asio::use_awaitable));
  }
  written_ = progress.base + std::get<1>(result);  // the condition is not asked after the last part
  co_return result;
}

asio::awaitable<Connection::ErrorAndSize> Connection::write(asio::const_buffer buffer) {
  const CountProgress progress{written_, written_};
  ErrorAndSize result;
  if (tls_) {
    result = co_await asio::async_write(*tls_, buffer, progress, asio::as_tuple(asio::use_awaitable));
  } else {
    result = co_await asio::async_write(*plain_, buffer, progress, asio::as_tuple(asio::use_awaitable));
  }
  written_ = progress.base + std::get<1>(result);
  co_return result;
}

bool Connection::try_write(const std::vector<asio::const_buffer>& buffers, SendBatch& batch, SendBatch::Sender* done) {
  if (tls_ || !plain_->is_open()) return false;
  iov_.clear();
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    if (iov_.size() == IOV_MAX) break;  // the rest is the caller's to write (a partial write)
    iov_.push_back(iovec{const_cast<void*>(b.data()), b.size()});
  }
  if (iov_.empty()) return false;
  batch_done_ = done;
  batch.add(plain_->native_handle(), iov_.data(), iov_.size(), this);
  return true;
}

void Connection::sent(boost::system::error_code ec, size_t bytes) {
  written_ += bytes;
  std::exchange(batch_done_, nullptr)->sent(ec, bytes);
}

void Connection::abort() {
  boost::system::error_code ec;
  socket().set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends RST and drops the queue
  socket().close(ec);
}

void Connection::close() {
  boost::system::error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

}  // namespace sg::net
