// GET /api/v1/events: the stream list as Server-Sent Events for the web console. Each client is one coroutine on
// its connection's worker: every kEventInterval it takes a snapshot of the streams' JSON and writes what changed
// since its last event. Nothing runs while no client is connected; a client holds one snapshot and at most one
// event being written, and one that does not take an event within kEventWriteTimeout is dropped (a slow client
// never makes the server buffer). At most ApiContext::max_event_clients at once (503 beyond).
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/json.hpp>
#include <cerrno>

#include "api/api.hpp"
#include "api/stream_events.hpp"
#include "app/log.hpp"

namespace sg::api {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr std::chrono::milliseconds kEventInterval{500};
constexpr std::chrono::seconds kEventWriteTimeout{5};
constexpr std::chrono::seconds kKeepAlive{15};  // a comment line, so proxies and the client see the link alive

StreamSnapshot take_snapshot(ApiContext& ctx) {
  StreamSnapshot out;
  for (const auto& s : ctx.registry.list()) out.emplace(s->id(), http::serialize_json(stream_json(ctx, *s)));
  return out;
}

std::string head(std::string_view status, std::string_view type, size_t length) {
  std::string h = "HTTP/1.1 ";
  h += status;
  h += "\r\nContent-Type: ";
  h += type;
  h += "\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n";
  if (length != std::string::npos) h += "Content-Length: " + std::to_string(length) + "\r\n";
  h += "\r\n";
  return h;
}

// An event client sends nothing after its request: end of stream, an error, or any bytes (a TLS close_notify)
// mean it has gone, and its place is freed at once rather than at the next failed write.
bool client_left(int fd) {
  char byte;
  auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// A place among the event clients, held for the life of the stream. A refused client never counts, not even while
// its 503 is being written: `event_clients` (in /api/v1/server) is the number of clients being served.
struct ClientSlot {
  std::atomic<size_t>& n;
  bool admitted = false;
  ClientSlot(std::atomic<size_t>& count, size_t max) : n(count) {
    size_t now = n.load();
    while (now < max && !n.compare_exchange_weak(now, now + 1)) {
    }
    admitted = now < max;
  }
  ~ClientSlot() {
    if (admitted) n.fetch_sub(1);
  }
  ClientSlot(const ClientSlot&) = delete;
  ClientSlot& operator=(const ClientSlot&) = delete;
};

template <class Stream>
asio::awaitable<void> serve_events(Stream stream, ApiContext& ctx) {
  auto& tcp = beast::get_lowest_layer(stream);
  ClientSlot slot(ctx.event_clients, ctx.max_event_clients);
  if (!slot.admitted) {
    std::string body = R"({"error":"too many event clients (at most )" + std::to_string(ctx.max_event_clients) + ")\"}\n";
    std::string out = head("503 Service Unavailable", "application/json", body.size()) + body;
    tcp.expires_after(kEventWriteTimeout);
    co_await asio::async_write(stream, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  StreamSnapshot last = take_snapshot(ctx);
  std::string out = head("200 OK", "text/event-stream", std::string::npos) + "retry: 2000\n\n" + snapshot_event(last);
  auto quiet_since = std::chrono::steady_clock::now();
  for (;;) {
    if (!out.empty()) {
      tcp.expires_after(kEventWriteTimeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == beast::error::timeout) log::info("event client too slow: dropped");
        break;
      }
      quiet_since = std::chrono::steady_clock::now();
    }
    timer.expires_after(kEventInterval);
    auto [tec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (tec || client_left(tcp.socket().native_handle())) break;
    StreamSnapshot now = take_snapshot(ctx);
    out = diff_event(diff_streams(last, now));
    last = std::move(now);
    if (out.empty() && std::chrono::steady_clock::now() - quiet_since >= kKeepAlive) out = ": keep-alive\n\n";
  }
  tcp.close();
}

}  // namespace

void add_event_routes(http::Router& router, ApiContext& ctx) {
  // Not under /api/v1/streams/: a stream may be named "events".
  router.add_event_stream("/api/v1/events", http::Access::api(),
                          [&ctx](auto stream, http::Request, http::Params) -> asio::awaitable<void> {
                            return serve_events(std::move(stream), ctx);
                          });
}

}  // namespace sg::api
