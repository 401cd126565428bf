#pragma once
// A minimal HTTP/1.1 client for the server's own outbound calls (auth callout, JWKS download): one request per
// connection, plain http:// only, a deadline for the whole exchange, bodies capped at 1 MiB.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "base/result.hpp"

namespace sg::http {

struct ClientReply {
  int status = 0;
  std::string body;
};

// `url`: http://host[:port]/path?query. Runs on the caller's executor.
boost::asio::awaitable<Result<ClientReply>> fetch(std::string method, std::string url, std::string body,
                                                  std::string content_type, std::chrono::milliseconds timeout);

}  // namespace sg::http
