#pragma once
// HTTP/1.1 server on Beast: a listener coroutine accepts and hands each connection to a worker thread, where one
// session coroutine reads a request, dispatches it through the Router and writes the response, in a loop.
// WebSocket upgrades are handed over with the connection. Errors are JSON: {"error": "..."}.
// HTTPS: a second listener serves the same Router over TLS (one session loop, a template over the stream type).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/policy.hpp"
#include "base/result.hpp"
#include "net/connection_limiter.hpp"

namespace sg::net {
class WorkerPool;
class TlsContext;
}
namespace sg::auth_session {
class Authorizer;
}

namespace sg::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// The connection a request came on.
struct Peer {
  boost::asio::ip::address address;
  bool secure = false;  // TLS
};

// Captured {name} segments of a route pattern, percent-decoded.
class Params {
 public:
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  const std::string& get(std::string_view name) const;
  // The connection the request came on (set by the server before the handler runs).
  const Peer& peer() const { return peer_; }
  void set_peer(const Peer& peer) { peer_ = peer; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
  Peer peer_;
};

using Handler = std::function<boost::asio::awaitable<Response>(const Request&, const Params&)>;
// A handler that never suspends, written as a plain function. Preferred wherever possible: GCC 12 miscompiles some
// coroutine lambdas (temporaries in co_return expressions destroyed twice), and plain code is easier to test.
using SyncHandler = std::function<Response(const Request&, const Params&)>;
Handler sync_handler(SyncHandler handler);
// A response body too large to hold in memory (recordings): the server writes the head, then asks `read` for the
// body in bounded chunks (at most the span's size each; 0 = end or failure, which closes the connection) until
// Content-Length bytes are sent. `read` runs on the connection's worker thread, so it must not block for long.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual size_t read(std::span<std::byte> into) = 0;
};
struct StreamedResponse {
  Response head;                       // status and headers, Content-Length included; its body is ignored
  std::shared_ptr<BodySource> body;    // null: `head` is a complete ordinary response
};
using StreamedHandler = std::function<boost::asio::awaitable<StreamedResponse>(const Request&, const Params&)>;
// Takes over the connection for a WebSocket upgrade request: one function per stream type (plain, TLS).
// Router::add_upgrade makes both from one generic callable.
struct UpgradeHandler {
  std::function<boost::asio::awaitable<void>(boost::beast::tcp_stream, Request, Params)> plain;
  std::function<boost::asio::awaitable<void>(TlsStream, Request, Params)> tls;
  // Takes a plain GET instead of a WebSocket upgrade: a response streamed for the connection's life (Server-Sent
  // Events). The handler writes the status line and headers itself.
  bool event_stream = false;
  explicit operator bool() const { return plain && tls; }
};

constexpr size_t kMaxBodyBytes = 1 << 20;  // 413 beyond this

// JSON text like boost::json::serialize, but numbers with a fraction are plain decimals rounded to 6 places
// ("0.686646", "12.0"), never exponent form; NaN and infinities are null. Every API response is written by it.
std::string serialize_json(const boost::json::value& v);
Response json_response(bhttp::status status, const boost::json::value& body, const Request& req);
Response error_response(bhttp::status status, std::string_view message, const Request& req);
Response text_response(bhttp::status status, std::string body, std::string_view content_type, const Request& req);
// The query parameter `name` of a request target, percent-decoded; empty when absent.
std::string query_param(std::string_view target, std::string_view name);

// Who may use a route. The server asks the authorization point (src/auth_session) before the handler runs, so no
// handler can forget it: every route states its access when it is added.
struct Access {
  enum class Kind {
    Public,  // health checks, static pages and assets: no data, no effect
    Stream,  // `action` on the stream named by the {stream} parameter (HLS, WHEP, /ws)
    Api,     // the REST API: GET/HEAD need api_read, every other method api_write
    Metrics,
  };
  Kind kind = Kind::Public;
  auth::Action action = auth::Action::Read;
  std::string protocol;  // as reported to the callout: "hls", "webrtc", "api", "metrics"

  static Access open() { return {}; }
  static Access stream(auth::Action action, std::string protocol) { return {Kind::Stream, action, std::move(protocol)}; }
  static Access api() { return {Kind::Api, auth::Action::ApiRead, "api"}; }
  static Access metrics() { return {Kind::Metrics, auth::Action::Metrics, "metrics"}; }
};

// Browser-facing rules (CSRF, CORS, DNS rebinding), from the config.
struct HttpPolicy {
  // Host names the server answers to (besides IP literals and localhost). Empty: any name for media routes, while
  // the API and metrics then accept only IP literals and localhost in Host (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // Origins that may call the API from a browser (CORS). "*" applies to media routes (WHEP, HLS) only.
  std::vector<std::string> cors_origins{"*"};
};

class Router {
 public:
  // Pattern: "/api/v1/streams/{id}/start"; a {name} segment matches one path segment. A final "{name...}" segment
  // matches the rest of the path.
  void add(bhttp::verb method, std::string pattern, Access access, Handler handler);
  void add_upgrade(std::string pattern, Access access, UpgradeHandler handler);
  // A route whose body is written in chunks after the handler returns (StreamedResponse).
  void add_streamed(bhttp::verb method, std::string pattern, Access access, StreamedHandler handler);
  // `handler` is callable as (Stream, Request, Params) -> awaitable<void> for both stream types.
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, UpgradeHandler>)
  void add_upgrade(std::string pattern, Access access, F handler) {
    add_upgrade(std::move(pattern), std::move(access), UpgradeHandler{handler, handler});
  }

  // A GET whose response is an endless stream (text/event-stream): `handler` as for add_upgrade, called for a
  // plain GET after the access check; the connection is the handler's until it returns.
  template <class F>
  void add_event_stream(std::string pattern, Access access, F handler) {
    UpgradeHandler h{handler, handler};
    h.event_stream = true;
    add_upgrade(std::move(pattern), std::move(access), std::move(h));
  }

  struct Match {
    const Handler* handler = nullptr;
    const UpgradeHandler* upgrade = nullptr;
    const StreamedHandler* streamed = nullptr;
    const Access* access = nullptr;
    Params params;
    std::string allow;  // when the path exists but not for this method (405)
  };
  Match match(bhttp::verb method, std::string_view path, bool upgrade) const;
  // The literal first segments of all routes ("api", "metrics", ...): names a stream id must not take.
  std::vector<std::string> top_level_names() const;

 private:
  struct Route {
    bhttp::verb method;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
    UpgradeHandler upgrade;
    StreamedHandler streamed;
  };
  std::vector<Route> routes_;
};

class HttpServer {
 public:
  // `authorizer` may be null only in tests of the router itself (then every route is open).
  HttpServer(net::WorkerPool& pool, const Router& router, auth_session::Authorizer* authorizer = nullptr,
             HttpPolicy policy = {});
  ~HttpServer();

  Status listen(const std::string& host, uint16_t port);
  // HTTPS on a second port, certificate from `tls` (which must outlive the server). Before start().
  Status listen_tls(const std::string& host, uint16_t port, net::TlsContext& tls);
  uint16_t port() const;
  uint16_t tls_port() const;
  void start();
  void stop();
  // Shutdown with a grace period: keeps serving (health checks, API, HLS, requests of open WebRTC sessions) but
  // refuses what would open a new session (POST to a stream route such as WHEP, WebSocket upgrades) with 503.
  void drain() { draining_ = true; }
  size_t sessions() const;
  // A request must arrive whole within this from its first byte (slow clients are closed); default 10 s.
  void set_request_timeout(std::chrono::milliseconds timeout) { request_timeout_ = timeout; }
  // Connections over the limits (HTTP and HTTPS together) are answered 503 (in all) or 429 (per address) and
  // closed. Before start(); none = no limit.
  void set_connection_limiter(std::shared_ptr<net::ConnectionLimiter> limiter) { limiter_ = std::move(limiter); }

 private:
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, net::TlsContext* tls);
  boost::asio::awaitable<void> tls_session(boost::asio::ip::tcp::socket socket,
                                           std::shared_ptr<boost::asio::ssl::context> context, Peer peer,
                                           net::ConnectionLimiter::Slot slot);
  template <class Stream>
  boost::asio::awaitable<void> session(Stream stream, Peer peer, net::ConnectionLimiter::Slot slot);
  boost::asio::awaitable<StreamedResponse> dispatch(Request& req, const Peer& peer);
  // Host, CSRF and authorization checks for a matched route: a refusal response, or nothing when allowed.
  void add_cors(Response& res, const Request& req, const Access& access) const;
  boost::asio::awaitable<std::optional<Response>> admit(const Request& req, const Peer& peer, const Router::Match& m);

  net::WorkerPool& pool_;
  const Router& router_;
  auth_session::Authorizer* authorizer_;
  HttpPolicy policy_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> tls_acceptor_;
  net::TlsContext* tls_ = nullptr;
  std::shared_ptr<std::atomic<size_t>> sessions_;
  std::shared_ptr<net::ConnectionLimiter> limiter_;
  std::shared_ptr<std::atomic<size_t>> refusing_;  // refused connections still being answered
  std::chrono::milliseconds request_timeout_{10000};
  std::atomic<bool> draining_{false};
};

}  // namespace sg::http
