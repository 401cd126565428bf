#include "http/http_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

#include "app/log.hpp"
#include "auth/http_credentials.hpp"
#include "auth_session/authorizer.hpp"
#include "net/accept_backoff.hpp"
#include "net/tcp_listener.hpp"
#include "net/tls_context.hpp"
#include "net/worker_pool.hpp"

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);

std::string percent_decode(std::string_view s, bool plus_is_space = false) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void common_headers(Response& res, const Request& req) {
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(bhttp::field::server, "streamgate/" SG_VERSION);
}

}  // namespace

namespace {
asio::awaitable<Response> run_sync(std::shared_ptr<const SyncHandler> handler, const Request* req, const Params* params) {
  Response res = (*handler)(*req, *params);
  co_return res;
}
}  // namespace

Handler sync_handler(SyncHandler handler) {
  auto shared = std::make_shared<const SyncHandler>(std::move(handler));
  // Not a coroutine itself: it returns the awaitable of a free coroutine function.
  return [shared](const Request& req, const Params& params) { return run_sync(shared, &req, &params); };
}

const std::string& Params::get(std::string_view name) const {
  static const std::string empty;
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return empty;
}

namespace {

void write_json(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: {
      double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      // Plain decimal, rounded to 6 places (Boost.JSON would write 6.866455078125E-1); "-0" becomes "0".
      std::array<char, 400> buf{};  // enough for any finite double in fixed notation
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::fixed, 6);
      std::string_view text(buf.data(), static_cast<size_t>(r.ptr - buf.data()));
      while (text.ends_with('0')) text.remove_suffix(1);
      if (text.ends_with('.')) text.remove_suffix(1);
      if (text == "-0") text = "0";
      out += text;
      if (text.find('.') == std::string_view::npos) out += ".0";
      break;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_json(out, e);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(k));
        out += ':';
        write_json(out, e);
      }
      out += '}';
      break;
    }
    default:
      out += boost::json::serialize(v);
  }
}

}  // namespace

std::string serialize_json(const boost::json::value& v) {
  std::string out;
  write_json(out, v);
  return out;
}

Response json_response(bhttp::status status, const boost::json::value& body, const Request& req) {
  Response res{status, req.version()};
  common_headers(res, req);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = serialize_json(body);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

Response error_response(bhttp::status status, std::string_view message, const Request& req) {
  return json_response(status, boost::json::object{{"error", message}}, req);
}

Response text_response(bhttp::status status, std::string body, std::string_view content_type, const Request& req) {
  Response res{status, req.version()};
  common_headers(res, req);
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void Router::add(bhttp::verb method, std::string pattern, Access access, Handler handler) {
  Route r{method, {}, std::move(access), std::move(handler), {}, {}};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::add_streamed(bhttp::verb method, std::string pattern, Access access, StreamedHandler handler) {
  Route r{method, {}, std::move(access), {}, {}, std::move(handler)};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::add_upgrade(std::string pattern, Access access, UpgradeHandler handler) {
  Route r{bhttp::verb::get, {}, std::move(access), {}, std::move(handler), {}};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

std::vector<std::string> Router::top_level_names() const {
  std::vector<std::string> out;
  for (const auto& r : routes_)
    if (!r.segments.empty() && !r.segments[0].starts_with('{') &&
        std::find(out.begin(), out.end(), r.segments[0]) == out.end())
      out.push_back(r.segments[0]);
  return out;
}

Router::Match Router::match(bhttp::verb method, std::string_view path, bool upgrade) const {
  Match m;
  auto parts = split_path(path);
  for (const auto& route : routes_) {
    if (static_cast<bool>(route.upgrade) != upgrade) continue;
    Params params;
    bool ok = true;
    size_t i = 0;
    for (; i < route.segments.size() && ok; ++i) {
      const auto& seg = route.segments[i];
      bool capture = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
      if (capture && seg.ends_with("...}")) {
        if (i >= parts.size()) {
          ok = false;
          break;
        }
        std::string rest;
        for (size_t j = i; j < parts.size(); ++j) rest += (j > i ? "/" : "") + percent_decode(parts[j]);
        params.add(seg.substr(1, seg.size() - 5), std::move(rest));
        i = route.segments.size();
        parts.resize(i);
        break;
      }
      if (i >= parts.size()) {
        ok = false;
      } else if (capture) {
        params.add(seg.substr(1, seg.size() - 2), percent_decode(parts[i]));
      } else if (seg != parts[i]) {
        ok = false;
      }
    }
    if (!ok || i != parts.size()) continue;
    if (route.method != method && !upgrade) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += std::string(bhttp::to_string(route.method));
      continue;
    }
    m.handler = route.handler ? &route.handler : nullptr;
    m.streamed = route.streamed ? &route.streamed : nullptr;
    m.upgrade = route.upgrade ? &route.upgrade : nullptr;
    m.access = &route.access;
    m.params = std::move(params);
    return m;
  }
  return m;
}

HttpServer::HttpServer(net::WorkerPool& pool, const Router& router, auth_session::Authorizer* authorizer,
                       HttpPolicy policy)
    : pool_(pool),
      router_(router),
      authorizer_(authorizer),
      policy_(std::move(policy)),
      sessions_(std::make_shared<std::atomic<size_t>>(0)),
      refusing_(std::make_shared<std::atomic<size_t>>(0)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen(const std::string& host, uint16_t port) {
  auto a = net::listen_tcp(pool_.accept_context(), host, port, "HTTP");
  if (!a) return make_error(a.error());
  acceptor_ = std::move(*a);
  return Ok{};
}

Status HttpServer::listen_tls(const std::string& host, uint16_t port, net::TlsContext& tls) {
  auto a = net::listen_tcp(pool_.accept_context(), host, port, "HTTPS");
  if (!a) return make_error(a.error());
  tls_acceptor_ = std::move(*a);
  tls_ = &tls;
  return Ok{};
}

uint16_t HttpServer::port() const { return acceptor_ ? acceptor_->local_endpoint().port() : 0; }
uint16_t HttpServer::tls_port() const { return tls_acceptor_ ? tls_acceptor_->local_endpoint().port() : 0; }

size_t HttpServer::sessions() const { return sessions_->load(); }

void HttpServer::start() {
  asio::co_spawn(acceptor_->get_executor(), accept_loop(*acceptor_, nullptr), asio::detached);
  if (tls_acceptor_) asio::co_spawn(tls_acceptor_->get_executor(), accept_loop(*tls_acceptor_, tls_), asio::detached);
}

void HttpServer::stop() {
  for (auto* a : {acceptor_.get(), tls_acceptor_.get()}) {
    if (!a) continue;
    asio::post(a->get_executor(), [a] {
      boost::system::error_code ec;
      a->close(ec);
    });
  }
}

namespace {

// Answers a connection refused by the limits with a JSON error, then closes it: reads what the client sent first
// (closing over unread bytes would reset the connection before the client reads the answer), all within a
// second or two. Refused connections being answered are capped (kMaxRefusing); beyond that they are just closed.
constexpr size_t kMaxRefusing = 64;

asio::awaitable<void> refuse(tcp::socket socket, bhttp::status status, std::string message,
                             std::shared_ptr<std::atomic<size_t>> refusing) {
  struct Count {
    std::atomic<size_t>& n;
    ~Count() { --n; }
  } count{*refusing};
  beast::tcp_stream stream(std::move(socket));
  std::array<char, 4096> buf;
  stream.expires_after(std::chrono::seconds(1));
  co_await stream.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
  Request dummy;
  dummy.version(11);
  dummy.keep_alive(false);
  Response res = error_response(status, message, dummy);
  res.set(bhttp::field::retry_after, "1");
  stream.expires_after(std::chrono::seconds(1));
  auto [wec, wn] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return;
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  for (;;) {  // until the client closes (or a second passes)
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) break;
  }
}

}  // namespace

asio::awaitable<void> HttpServer::accept_loop(tcp::acceptor& acceptor, net::TlsContext* tls) {
  net::AcceptBackoff backoff(tls ? "HTTPS" : "HTTP");
  for (;;) {
    auto& ctx = pool_.context(pool_.next());
    auto [ec, socket] = co_await acceptor.async_accept(ctx, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      co_await backoff.failed(ec);
      continue;
    }
    backoff.succeeded();
    socket.set_option(tcp::no_delay(true), ec);
    Peer peer{socket.remote_endpoint(ec).address(), tls != nullptr};
    net::ConnectionLimiter::Slot slot;
    if (limiter_) {
      auto admission = limiter_->admit(peer.address);
      if (!admission.slot) {
        // TLS: closed without an answer (a plain-text one would be garbage to the client's TLS layer).
        if (!tls && refusing_->fetch_add(1) < kMaxRefusing) {
          bool total = admission.refusal == net::ConnectionLimiter::Refusal::Total;
          auto status = total ? bhttp::status::service_unavailable : bhttp::status::too_many_requests;
          std::string why = total ? "too many HTTP connections (limits.http_connections)"
                                  : "too many HTTP connections from " + peer.address.to_string() +
                                        " (limits.http_connections_per_address)";
          asio::post(ctx, [this, socket = std::move(socket), status, why = std::move(why)]() mutable {
            auto exec = socket.get_executor();
            asio::co_spawn(exec, refuse(std::move(socket), status, std::move(why), refusing_), asio::detached);
          });
        } else if (!tls) {
          --*refusing_;
        }
        continue;  // the socket closes here when not answered
      }
      slot = std::move(admission.slot);
    }
    // The session is created on its worker, so its memory comes from that worker's arena (net/worker_pool.hpp).
    net::hand_off(pool_.handoff(), ctx, [this, socket = std::move(socket), peer, slot = std::move(slot),
                                         tls_ctx = tls ? tls->current() : nullptr]() mutable {
      auto exec = socket.get_executor();
      if (tls_ctx)
        asio::co_spawn(exec, tls_session(std::move(socket), std::move(tls_ctx), peer, std::move(slot)), asio::detached);
      else
        asio::co_spawn(exec, session(beast::tcp_stream(std::move(socket)), peer, std::move(slot)), asio::detached);
    });
  }
}

// The TLS handshake (bounded), then the same session loop as plain HTTP. The context stays alive with the
// connection even when a certificate reload replaces it for new ones.
asio::awaitable<void> HttpServer::tls_session(tcp::socket socket, std::shared_ptr<asio::ssl::context> context,
                                              Peer peer, net::ConnectionLimiter::Slot slot) {
  TlsStream stream(beast::tcp_stream(std::move(socket)), *context);
  stream.next_layer().expires_after(kTlsHandshakeTimeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    log::debug("HTTPS handshake failed", {{"remote", peer.address.to_string()}, {"error", ec.message()}});
    co_return;
  }
  co_await session(std::move(stream), peer, std::move(slot));
}

namespace {

std::string_view header(const Request& req, bhttp::field f) {
  auto v = req[f];
  return {v.data(), v.size()};
}

// "host:port", "[v6]:port" or "host" -> host, lower case.
std::string host_name(std::string_view host) {
  if (host.starts_with('[')) {
    auto close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  std::string out(host);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ip_literal_or_localhost(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec || host == "localhost" || host.ends_with(".localhost");
}

// "https://a.example:8443" -> "a.example:8443" (the authority an Origin names).
std::string_view origin_authority(std::string_view origin) {
  auto scheme = origin.find("://");
  return scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
}

bool state_changing(bhttp::verb v) {
  return v != bhttp::verb::get && v != bhttp::verb::head && v != bhttp::verb::options;
}

bool listed(const std::vector<std::string>& list, std::string_view value) {
  for (const auto& x : list)
    if (x == value) return true;
  return false;
}

}  // namespace

asio::awaitable<std::optional<Response>> HttpServer::admit(const Request& req, const Peer& peer,
                                                           const Router::Match& m) {
  const Access& access = m.access ? *m.access : Access{};
  const bool api_like = access.kind == Access::Kind::Api || access.kind == Access::Kind::Metrics;
  if (draining_.load(std::memory_order_relaxed) && access.kind == Access::Kind::Stream &&
      (m.upgrade || req.method() == bhttp::verb::post)) {
    Response res = error_response(bhttp::status::service_unavailable, "server is shutting down", req);
    res.set(bhttp::field::retry_after, "1");
    co_return res;
  }
  // DNS rebinding: a page on evil.example resolving to our address sends Host: evil.example.
  // Without configured names, a DNS name may still reach the API with credentials (a browser never sends ours to a
  // rebinding page), but not the anonymous access the defaults give to localhost.
  const auto target = std::string_view(req.target().data(), req.target().size());
  auto credentials = auth::credentials_from_http(header(req, bhttp::field::authorization), target);
  auto host = host_name(header(req, bhttp::field::host));
  if (!host.empty() && !is_ip_literal_or_localhost(host)) {
    bool ok = policy_.allowed_hosts.empty() ? !api_like || !credentials.empty() : listed(policy_.allowed_hosts, host);
    if (!ok) co_return error_response(bhttp::status::misdirected_request, "host '" + host + "' is not served here", req);
  }
  // CSRF: a browser always sends Origin with a cross-site state-changing request; only listed origins (or our own)
  // may make one. Simple-request bodies (forms, text/plain) never reach the API.
  auto origin = header(req, bhttp::field::origin);
  if (state_changing(req.method()) && !origin.empty()) {
    bool same = host_name(origin_authority(origin)) == host && origin_authority(origin) == header(req, bhttp::field::host);
    bool allowed = same || listed(policy_.cors_origins, origin) ||
                   (!api_like && listed(policy_.cors_origins, "*"));
    if (!allowed) co_return error_response(bhttp::status::forbidden, "cross-origin request refused (origin not allowed)", req);
  }
  if (access.kind == Access::Kind::Api && state_changing(req.method()) && !req.body().empty()) {
    auto ct = header(req, bhttp::field::content_type);
    if (!ct.starts_with("application/json"))
      co_return error_response(bhttp::status::unsupported_media_type, "the API needs Content-Type: application/json", req);
  }
  if (access.kind == Access::Kind::Public || !authorizer_) co_return std::nullopt;

  auth::AccessRequest ar;
  ar.credentials = std::move(credentials);
  if (auto ip = auth::IpAddress::parse(peer.address.to_string())) ar.ip = *ip;
  ar.protocol = access.protocol;
  if (auto q = target.find('?'); q != std::string_view::npos) ar.query = std::string(target.substr(q + 1));
  switch (access.kind) {
    case Access::Kind::Stream:
      ar.action = access.action;
      ar.path = m.params.get("stream");
      break;
    case Access::Kind::Api:
      ar.action = state_changing(req.method()) ? auth::Action::ApiWrite : auth::Action::ApiRead;
      break;
    default:
      ar.action = auth::Action::Metrics;
      break;
  }
  auto decision = co_await authorizer_->check(std::move(ar));
  if (decision.allowed()) co_return std::nullopt;
  if (decision.verdict == auth::Verdict::Unauthenticated) {
    auto res = error_response(bhttp::status::unauthorized, "authentication required", req);
    res.set(bhttp::field::www_authenticate, "Basic realm=\"streamgate\"");
    co_return res;
  }
  if (decision.reason == auth_session::kBlockedReason)
    co_return error_response(bhttp::status::too_many_requests, "too many failed logins: try again later", req);
  co_return error_response(bhttp::status::forbidden, "not allowed", req);
}

void HttpServer::add_cors(Response& res, const Request& req, const Access& access) const {
  if (access.kind != Access::Kind::Api && access.kind != Access::Kind::Metrics) return;  // media routes set their own
  auto origin = header(req, bhttp::field::origin);
  if (origin.empty() || !listed(policy_.cors_origins, origin)) return;
  res.set(bhttp::field::access_control_allow_origin, origin);
  res.set(bhttp::field::access_control_allow_credentials, "true");
  res.set(bhttp::field::vary, "Origin");
}

asio::awaitable<StreamedResponse> HttpServer::dispatch(Request& req, const Peer& peer) {
  auto target = std::string_view(req.target().data(), req.target().size());
  auto path = target.substr(0, target.find('?'));
  auto m = router_.match(req.method(), path, false);
  const bool has_handler = m.handler || m.streamed;
  if (!has_handler && !m.allow.empty() && req.method() == bhttp::verb::options) {
    // CORS preflight for a route without its own OPTIONS handler: only for explicitly listed origins.
    auto origin = header(req, bhttp::field::origin);
    if (!origin.empty() && listed(policy_.cors_origins, origin)) {
      auto res = text_response(bhttp::status::no_content, "", "text/plain", req);
      res.set(bhttp::field::access_control_allow_origin, origin);
      res.set(bhttp::field::access_control_allow_credentials, "true");
      res.set(bhttp::field::access_control_allow_methods, m.allow);
      res.set(bhttp::field::access_control_allow_headers, "Content-Type, Authorization");
      res.set(bhttp::field::vary, "Origin");
      co_return StreamedResponse{std::move(res), nullptr};
    }
  }
  if (!has_handler) {
    if (!m.allow.empty()) {
      auto res = error_response(bhttp::status::method_not_allowed,
                                "method " + std::string(req.method_string()) + " not allowed on " + std::string(path), req);
      res.set(bhttp::field::allow, m.allow);
      co_return StreamedResponse{std::move(res), nullptr};
    }
    std::string message = "not found: ";
    message.append(path);
    Response res = error_response(bhttp::status::not_found, message, req);
    co_return StreamedResponse{std::move(res), nullptr};
  }
  if (auto refused = co_await admit(req, peer, m)) co_return StreamedResponse{std::move(*refused), nullptr};
  m.params.set_peer(peer);
  std::string failure;
  try {
    StreamedResponse out;
    if (m.streamed) {
      out = co_await (*m.streamed)(req, m.params);
    } else {
      out.head = co_await (*m.handler)(req, m.params);
    }
    add_cors(out.head, req, *m.access);
    co_return out;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  log::error("HTTP handler failed", {{"path", path}, {"error", failure}});
  Response res = error_response(bhttp::status::internal_server_error, "internal error", req);
  co_return StreamedResponse{std::move(res), nullptr};
}

// `slot`: the connection's place in the limits, held (in the coroutine frame) for its life, WebSocket included.
template <class Stream>
asio::awaitable<void> HttpServer::session(Stream stream, Peer peer, [[maybe_unused]] net::ConnectionLimiter::Slot slot) {
  struct Count {
    std::shared_ptr<std::atomic<size_t>> n;
    explicit Count(std::shared_ptr<std::atomic<size_t>> c) : n(std::move(c)) { ++*n; }
    ~Count() { --*n; }
  } count(sessions_);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  auto& tcp_layer = beast::get_lowest_layer(stream);  // timeouts and shutdown, under TLS or not
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(kMaxBodyBytes);
    // Idle between requests for up to kIdleTimeout; once the first byte is in, the whole request must arrive
    // within request_timeout_ (tcp_stream's expiry is one deadline for every read until it is set again).
    boost::system::error_code rec;
    if (buffer.size() == 0) {
      tcp_layer.expires_after(kIdleTimeout);
      auto [iec, in] = co_await stream.async_read_some(buffer.prepare(512), asio::as_tuple(asio::use_awaitable));
      buffer.commit(in);
      rec = iec;
    }
    if (!rec) {
      tcp_layer.expires_after(request_timeout_);
      auto [pec, pn] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      rec = pec;
    }
    if (rec) {
      Request dummy;
      dummy.version(11);
      dummy.keep_alive(false);
      std::optional<Response> res;
      if (rec == bhttp::error::body_limit) {
        res = error_response(bhttp::status::payload_too_large,
                             "request body larger than " + std::to_string(kMaxBodyBytes) + " bytes", dummy);
      } else if (rec == bhttp::error::header_limit) {
        res = error_response(bhttp::status::request_header_fields_too_large, "request header too large", dummy);
      } else if (rec != bhttp::error::end_of_stream && rec != asio::error::eof && rec != beast::error::timeout &&
                 rec != asio::error::connection_reset && rec != asio::error::operation_aborted) {
        res = error_response(bhttp::status::bad_request, "malformed HTTP request: " + rec.message(), dummy);
      }
      if (res) {
        tcp_layer.expires_after(kWriteTimeout);
        co_await bhttp::async_write(stream, *res, asio::as_tuple(asio::use_awaitable));
      }
      break;
    }
    Request req = parser.release();
    const bool websocket = beast::websocket::is_upgrade(req);
    if (websocket || req.method() == bhttp::verb::get) {
      auto target = std::string_view(req.target().data(), req.target().size());
      auto m = router_.match(req.method(), target.substr(0, target.find('?')), true);
      if (m.upgrade && m.upgrade->event_stream == !websocket) {
        if (auto refused = co_await admit(req, peer, m)) {
          tcp_layer.expires_after(kWriteTimeout);
          co_await bhttp::async_write(stream, *refused, asio::as_tuple(asio::use_awaitable));
          break;
        }
        tcp_layer.expires_never();
        m.params.set_peer(peer);
        if constexpr (std::is_same_v<Stream, TlsStream>)
          co_await m.upgrade->tls(std::move(stream), std::move(req), std::move(m.params));
        else
          co_await m.upgrade->plain(std::move(stream), std::move(req), std::move(m.params));
        co_return;
      }
    }
    StreamedResponse out = co_await dispatch(req, peer);
    bool keep_alive = out.head.keep_alive();
    tcp_layer.expires_after(kWriteTimeout);
    if (!out.body) {
      auto [wec, wn] = co_await bhttp::async_write(stream, out.head, asio::as_tuple(asio::use_awaitable));
      if (wec || !keep_alive) break;
      continue;
    }
    // Streamed body: the head as given (its Content-Length included), then bounded chunks until that length.
    uint64_t left = 0;
    if (auto cl = out.head.find(bhttp::field::content_length); cl != out.head.end())
      std::from_chars(cl->value().data(), cl->value().data() + cl->value().size(), left);
    bhttp::response<bhttp::empty_body> head{std::move(out.head.base())};
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    auto [hec, hn] = co_await bhttp::async_write_header(stream, serializer, asio::as_tuple(asio::use_awaitable));
    if (hec) break;
    std::vector<std::byte> chunk(std::min<uint64_t>(left, 256 * 1024));
    bool failed = false;
    while (left > 0) {
      const size_t n = out.body->read(std::span<std::byte>(chunk.data(), std::min<uint64_t>(left, chunk.size())));
      if (n == 0) {
        failed = true;
        break;
      }
      tcp_layer.expires_after(kWriteTimeout);
      auto [bec, bn] = co_await asio::async_write(stream, asio::buffer(chunk.data(), n), asio::as_tuple(asio::use_awaitable));
      if (bec) {
        failed = true;
        break;
      }
      left -= n;
    }
    if (failed || !keep_alive) break;
  }
  tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace sg::http
