// ws_signaling: the seed's signaling load test. N users connect to the JSON WebSocket signaling endpoint
// (`/ws/{stream}`), ramped evenly over R seconds; each sends {"type":"offer","sdp":...} (a browser-like recvonly
// H.264 + Opus offer with its own ICE credentials) and waits for {"type":"answer"}; the time from sending the offer
// to the answer is recorded. Users stay connected until every user is done (they are concurrent, like viewers).
//
//   ws_signaling --url ws://127.0.0.1:8080/ws/demo --users N [--ramp SECONDS] [--hold SECONDS] [--timeout SECONDS]
//                [--json]
//
// Exit status: 0 when every user got an answer, 1 otherwise, 2 on bad arguments.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tool_support.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Config {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string target = "/ws/demo";
  size_t users = 100;
  double ramp_s = 10;
  double hold_s = 1;
  double timeout_s = 10;
  bool json = false;
};

struct Stats {
  size_t started = 0, answered = 0, failed = 0;
  std::vector<double> answer_ms;
  std::map<std::string, size_t> errors;
  std::vector<beast::tcp_stream*> live;  // connected users, closed by run() at the end
};

std::string offer_sdp(size_t user) {
  char ufrag[16];
  std::snprintf(ufrag, sizeof ufrag, "u%06zu", user);
  std::string s = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n";
  for (int m = 0; m < 2; ++m) {
    s += m == 0 ? "m=video 9 UDP/TLS/RTP/SAVPF 102 108\r\n" : "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n";
    s += "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
    s += std::string("a=ice-ufrag:") + ufrag + "\r\na=ice-pwd:wsloadtoolpasswordpasswd\r\n";
    s += "a=fingerprint:sha-256 D8:33:79:28:6F:9C:4B:A6:08:77:3D:34:25:BA:7B:0D:AB:A0:54:97:81:FC:C6:90:96:38:8A:66:"
         "A2:AF:79:3A\r\na=setup:actpass\r\n";
    s += "a=mid:" + std::to_string(m) + "\r\na=recvonly\r\na=rtcp-mux\r\n";
    if (m == 0) {
      s += "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
           "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
           "a=rtpmap:108 H264/90000\r\n"
           "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";
    } else {
      s += "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
           "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
    }
  }
  return s;
}

awaitable<void> user(const Config& cfg, tcp::endpoint server, size_t index, Stats& stats) {
  auto fail = [&](std::string why) {
    ++stats.failed;
    ++stats.errors[why];
  };
  ++stats.started;
  beast::websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
  beast::get_lowest_layer(ws).expires_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(cfg.timeout_s)));
  auto [ec] = co_await beast::get_lowest_layer(ws).async_connect(server, kTuple);
  if (ec) {
    fail("connect: " + ec.message());
    co_return;
  }
  std::tie(ec) = co_await ws.async_handshake(cfg.host + ":" + cfg.port, cfg.target, kTuple);
  if (ec) {
    fail("handshake: " + ec.message());
    co_return;
  }
  json::object offer;
  offer["type"] = "offer";
  offer["sdp"] = offer_sdp(index);
  std::string text = json::serialize(offer);
  auto t0 = Clock::now();
  size_t n = 0;
  std::tie(ec, n) = co_await ws.async_write(asio::buffer(text), kTuple);
  if (ec) {
    fail("write: " + ec.message());
    co_return;
  }
  bool answered = false;
  while (!answered) {
    beast::flat_buffer buffer;
    std::tie(ec, n) = co_await ws.async_read(buffer, kTuple);
    if (ec) {
      fail("read: " + ec.message());
      co_return;
    }
    boost::system::error_code jec;
    auto v = json::parse(beast::buffers_to_string(buffer.data()), jec);
    const json::object* o = jec ? nullptr : v.if_object();
    const json::value* type = o ? o->if_contains("type") : nullptr;
    if (!type || !type->is_string()) {
      fail("unexpected message");
      co_return;
    }
    if (type->as_string() == "answer") {
      answered = true;
    } else if (type->as_string() == "error") {
      const json::value* m = o->if_contains("message");
      fail("error: " + (m && m->is_string() ? std::string(m->as_string()) : std::string("?")));
      co_return;
    }  // "ice" candidates: keep reading until the answer
  }
  stats.answer_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  ++stats.answered;
  // Stay connected (a viewer would) until everyone is done, reading so that the server's pings are answered;
  // run() cancels the socket at the end.
  beast::get_lowest_layer(ws).expires_never();
  stats.live[index] = &beast::get_lowest_layer(ws);
  for (;;) {
    beast::flat_buffer buffer;
    std::tie(ec, n) = co_await ws.async_read(buffer, kTuple);
    if (ec) break;
  }
  stats.live[index] = nullptr;
}

awaitable<void> run(const Config& cfg, Stats& stats) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [ec, results] = co_await resolver.async_resolve(cfg.host, cfg.port, kTuple);
  if (ec || results.empty()) {
    std::fprintf(stderr, "ws_signaling: cannot resolve %s:%s\n", cfg.host.c_str(), cfg.port.c_str());
    co_return;
  }
  tcp::endpoint server = *results.begin();
  asio::steady_timer pace(ex);
  auto start = Clock::now();
  for (size_t i = 0; i < cfg.users; ++i) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(cfg.ramp_s * static_cast<double>(i) /
                                                         static_cast<double>(std::max<size_t>(cfg.users, 1))));
    pace.expires_at(due);
    co_await pace.async_wait(kTuple);
    asio::co_spawn(ex, user(cfg, server, i, stats), asio::detached);
  }
  // Wait until every user has an answer or failed, then hold, then let them close.
  while (stats.answered + stats.failed < cfg.users) {
    pace.expires_after(std::chrono::milliseconds(20));
    co_await pace.async_wait(kTuple);
  }
  pace.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.hold_s)));
  co_await pace.async_wait(kTuple);
  for (auto* s : stats.live)
    if (s) s->socket().close();
}

void usage() {
  std::fprintf(stderr,
               "usage: ws_signaling --url ws://HOST:PORT/ws/STREAM --users N [--ramp SECONDS] [--hold SECONDS]\n"
               "                    [--timeout SECONDS] [--json]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string url;
  if (int rc = sg::bench::parse_args(
          argc, argv,
          {{"--url", [&](const std::string& v) { url = v; }},
           {"--users", [&](const std::string& v) { cfg.users = std::stoul(v); }},
           {"--ramp", [&](const std::string& v) { cfg.ramp_s = std::stod(v); }},
           {"--hold", [&](const std::string& v) { cfg.hold_s = std::stod(v); }},
           {"--timeout", [&](const std::string& v) { cfg.timeout_s = std::stod(v); }},
           {"--json", [&](const std::string&) { cfg.json = true; }, false}},
          usage);
      rc >= 0)
    return rc;
  if (!url.starts_with("ws://") || cfg.users == 0) {
    usage();
    return 2;
  }
  auto rest = url.substr(5);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  cfg.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  cfg.host = hostport.substr(0, colon);
  cfg.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);

  sg::bench::raise_file_limit();
  asio::io_context io(1);
  Stats stats;
  stats.live.assign(cfg.users, nullptr);
  auto t0 = Clock::now();
  asio::co_spawn(io, run(cfg, stats), asio::detached);
  io.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double p50 = sg::bench::percentile(stats.answer_ms, 0.5), p99 = sg::bench::percentile(stats.answer_ms, 0.99),
         max = sg::bench::percentile(stats.answer_ms, 1.0);
  if (cfg.json) {
    json::object o;
    o["users"] = cfg.users;
    o["answered"] = stats.answered;
    o["failed"] = stats.failed;
    o["answer_ms"] = json::object{{"p50", p50}, {"p99", p99}, {"max", max}};
    json::object errors;
    for (auto& [why, n] : stats.errors) errors[why] = n;
    o["errors"] = std::move(errors);
    o["elapsed_s"] = elapsed;
    std::printf("%s\n", json::serialize(o).c_str());
  } else {
    std::printf("users %zu answered %zu failed %zu | answer ms p50 %.2f p99 %.2f max %.2f | %.1f s\n", cfg.users,
                stats.answered, stats.failed, p50, p99, max, elapsed);
    for (auto& [why, n] : stats.errors) std::printf("  %zu x %s\n", n, why.c_str());
  }
  return stats.answered == cfg.users ? 0 : 1;
}
