#include "app/probe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sg::app {

namespace asio = boost::asio;
namespace beast = boost::beast;

Result<ProbeUrl> parse_probe_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return make_error("--probe: '" + std::string(url) + "' is not an http:// URL");
  std::string_view rest = url.substr(kScheme.size());
  ProbeUrl out;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(rest.substr(slash));
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("--probe: bad host in '" + std::string(url) + "'");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return make_error("--probe: bad host in '" + std::string(url) + "'");
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return make_error("--probe: no host in '" + std::string(url) + "'");
  if (!port.empty()) {
    for (char c : port)
      if (c < '0' || c > '9') return make_error("--probe: bad port in '" + std::string(url) + "'");
    out.port = std::string(port);
  }
  return out;
}

Result<unsigned> probe(const ProbeUrl& url, std::chrono::milliseconds timeout) {
  asio::io_context io(1);
  std::string error = "timed out after " + std::to_string(timeout.count()) + " ms";
  unsigned status = 0;
  auto get = [&]() -> asio::awaitable<void> {
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    beast::http::request<beast::http::empty_body> req(beast::http::verb::get, url.target, 11);
    req.set(beast::http::field::host, url.host);
    req.set(beast::http::field::user_agent, "streamgate-probe");
    req.set(beast::http::field::connection, "close");
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    try {
      auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
      co_await stream.async_connect(endpoints, asio::use_awaitable);
      co_await beast::http::async_write(stream, req, asio::use_awaitable);
      co_await beast::http::async_read(stream, buffer, res, asio::use_awaitable);
      status = res.result_int();
    } catch (const boost::system::system_error& e) {
      error = e.code().message();
    }
  };
  asio::co_spawn(io, get(), asio::detached);
  io.run_for(timeout);
  if (status == 0) return make_error(url.host + ":" + url.port + url.target + ": " + error);
  return status;
}

}  // namespace sg::app
