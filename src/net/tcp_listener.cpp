#include "net/tcp_listener.hpp"

namespace sg::net {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<std::unique_ptr<tcp::acceptor>> listen_tcp(asio::io_context& context, const std::string& host, uint16_t port,
                                                  std::string_view what) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(std::string(what) + ": bad listen address '" + host + "'");
  auto acceptor = std::make_unique<tcp::acceptor>(context);
  tcp::endpoint ep(address, port);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(std::string(what) + ": cannot listen on " + host + ":" + std::to_string(port) + ": " +
                      ec.message());
  return acceptor;
}

}  // namespace sg::net
