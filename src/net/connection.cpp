#include "net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace sg::net {

namespace asio = boost::asio;
using asio::ip::tcp;

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
  if (!tls_) co_return co_await asio::async_write(*plain_, buffers, asio::as_tuple(asio::use_awaitable));
  scratch_.resize(asio::buffer_size(buffers));
  size_t off = 0;
  for (const auto& b : buffers) {
    std::memcpy(scratch_.data() + off, b.data(), b.size());
    off += b.size();
  }
  co_return co_await asio::async_write(*tls_, asio::buffer(scratch_), asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<Connection::ErrorAndSize> Connection::write(asio::const_buffer buffer) {
  if (tls_) co_return co_await asio::async_write(*tls_, buffer, asio::as_tuple(asio::use_awaitable));
  co_return co_await asio::async_write(*plain_, buffer, asio::as_tuple(asio::use_awaitable));
}

void Connection::close() {
  boost::system::error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

}  // namespace sg::net
