#pragma once
// A bound, listening TCP acceptor (SO_REUSEADDR) on `host:port`; errors start with `what` ("HTTPS: cannot listen
// on 0.0.0.0:8443: Address already in use").
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::net {

Result<std::unique_ptr<boost::asio::ip::tcp::acceptor>> listen_tcp(boost::asio::io_context& context,
                                                                   const std::string& host, uint16_t port,
                                                                   std::string_view what);

}  // namespace sg::net
