#include "rtsp_session/client_source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstring>
#include <mutex>
#include <optional>

#include "app/log.hpp"
#include "rtp/loss_window.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/message.hpp"
#include "rtsp/pending_requests.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "rtsp_session/ingest.hpp"
#include "sdp/sdp.hpp"

namespace sg::rtsp_session {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using media::StreamState;
using namespace std::chrono_literals;

namespace {

constexpr auto kTick = 250ms;
constexpr size_t kInBuffer = 256 * 1024;
constexpr int kUdpReceiveBuffer = 1 << 20;
constexpr std::string_view kUserAgent = "streamgate";

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string error_text(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

std::string status_text(const rtsp::Response& r) {
  return std::to_string(r.status) + " " + (r.reason.empty() ? std::string(rtsp::reason_phrase(r.status)) : r.reason);
}

// One connection attempt: the control connection, the UDP sockets, the ingest. Lives as long as any of the
// coroutines working on it (they hold a shared_ptr); closed once.
struct Conn {
  explicit Conn(asio::io_context& ctx) : resolver(ctx), sock(ctx), tick(ctx) {}

  struct UdpTrack {
    explicit UdpTrack(asio::io_context& ctx) : rtp(ctx), rtcp(ctx) {}
    udp::socket rtp;
    udp::socket rtcp;
  };

  tcp::resolver resolver;
  tcp::socket sock;
  asio::steady_timer tick;
  std::vector<std::unique_ptr<UdpTrack>> udp;
  // Bytes of the control connection: [in_begin, in_end) not parsed yet. Larger than any message or frame the
  // parser accepts, so compacting always makes room.
  std::vector<std::byte> in = std::vector<std::byte>(kInBuffer);
  size_t in_begin = 0, in_end = 0;
  std::array<int, 256> channel_track{};  // interleaved channel -> track (RTP channels only), -1 none
  asio::ip::address server_address;
  std::unique_ptr<Ingest> ingest;
  std::optional<rtp::LossWindow> loss;  // while playing

  bool tcp_mode = false;
  bool playing = false;
  std::string op = "connect";  // what we wait for in the handshake (for the timeout message)
  Clock::time_point deadline;
  Clock::time_point play_time, last_packet, last_keepalive;
  bool got_data = false;
  std::string session;
  rtsp::PendingRequests pending;  // keep-alives may pile up while playing
  std::chrono::milliseconds keepalive_interval{30000};
  bool use_get_parameter = false;
  std::optional<rtsp::ClientAuth> auth;

  std::string play_uri;  // the aggregate control URI (PLAY, TEARDOWN)
  // Leaving for TCP: a TEARDOWN was sent so the server ends the UDP session before the TCP one begins (cameras
  // limit sessions, and gst-rtsp-server has crashed on a new PLAY racing the old session's cleanup). Its answer, or
  // the deadline, closes the connection.
  uint32_t teardown_cseq = 0;
  std::string teardown_reason;
  Clock::time_point teardown_deadline;

  bool closed = false;
  bool fallback_tcp = false;
  std::string error;

  void close(std::string why, bool fallback = false) {
    if (closed) return;
    closed = true;
    error = std::move(why);
    fallback_tcp = fallback;
    boost::system::error_code ec;
    resolver.cancel();
    sock.close(ec);
    for (auto& u : udp) {
      u->rtp.close(ec);
      u->rtcp.close(ec);
    }
    tick.cancel();
  }
};

struct Outcome {
  std::string error;
  bool fallback_tcp = false;
  bool delivered = false;
};

}  // namespace

struct ClientSource::Control {
  std::mutex mu;
  bool stopped = false;
};

struct ClientSource::Runner : std::enable_shared_from_this<Runner> {
  Runner(asio::io_context& c, std::shared_ptr<media::Stream> s, ClientOptions o, std::shared_ptr<Control> ctl)
      : ctx(c), stream(std::move(s)), opt(std::move(o)), control(std::move(ctl)), backoff(c) {}

  asio::io_context& ctx;
  std::shared_ptr<media::Stream> stream;
  ClientOptions opt;
  std::shared_ptr<Control> control;
  asio::steady_timer backoff;
  rtsp::Url url;
  std::string url_text;  // without credentials
  std::shared_ptr<Conn> conn;
  bool force_tcp = false;
  uint32_t cseq = 0;
  StreamState shown = StreamState::Connecting;
  std::string shown_error;

  bool stopped() {
    std::lock_guard lk(control->mu);
    return control->stopped;
  }

  // On the worker thread, after Control::stopped was set.
  void stop_now() {
    if (conn) conn->close("stopped");
    backoff.cancel();
  }

  void report(StreamState state, const std::string& error = {}) {
    std::lock_guard lk(control->mu);
    if (control->stopped) return;
    stream->set_state(state, error);
    if (state == shown && error == shown_error) return;
    shown = state;
    shown_error = error;
    if (state == StreamState::Error) {
      log::warn("rtsp source error", {{"stream", stream->id()}, {"url", url_text}, {"error", error}});
    } else {
      log::info(state == StreamState::Ready ? "rtsp source ready" : "rtsp source connecting",
                {{"stream", stream->id()},
                 {"url", url_text},
                 {"transport", conn && conn->tcp_mode ? "tcp" : "udp"}});
    }
  }

  asio::awaitable<void> run(std::shared_ptr<Runner> self);
  asio::awaitable<Outcome> attempt();
  asio::awaitable<std::string> handshake(std::shared_ptr<Conn> c);
  asio::awaitable<Result<rtsp::Response>> transact(Conn& c, rtsp::Request req);
  asio::awaitable<Result<rtsp::Response>> read_response(Conn& c);
  asio::awaitable<void> control_loop(std::shared_ptr<Conn> c);
  // The side coroutines hold `self` so the runner outlives them.
  asio::awaitable<void> udp_loop(std::shared_ptr<Conn> c, size_t track, std::shared_ptr<Runner> self);
  asio::awaitable<void> rtcp_drain(std::shared_ptr<Conn> c, size_t track);
  asio::awaitable<void> housekeeping(std::shared_ptr<Conn> c, std::shared_ptr<Runner> self);
  void on_packet(Conn& c, size_t track, Bytes packet, bool over_udp);
  void prepare(Conn& c, rtsp::Request& req);
};

asio::awaitable<void> ClientSource::Runner::run(std::shared_ptr<Runner> self) {
  auto parsed = rtsp::parse_url(opt.url);
  if (!parsed) {
    report(StreamState::Error, "bad source URL: " + parsed.error());
    co_return;
  }
  url = std::move(*parsed);
  url_text = url.to_string();
  auto delay = opt.backoff_initial;
  while (!stopped()) {
    Outcome out = co_await attempt();
    if (stopped()) break;
    if (out.fallback_tcp && opt.transport == "auto" && !force_tcp) {
      force_tcp = true;
      log::info("rtsp source falls back to TCP", {{"stream", stream->id()}, {"url", url_text}, {"reason", out.error}});
      continue;
    }
    if (out.delivered) delay = opt.backoff_initial;
    report(StreamState::Error, out.error);
    backoff.expires_after(delay);
    boost::system::error_code ec;
    co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped()) break;
    delay = std::min(delay * 2, opt.backoff_max);
    stream->count_reconnect();
    log::info("rtsp source reconnecting", {{"stream", stream->id()}, {"url", url_text}});
  }
  log::debug("rtsp source stopped", {{"stream", self->stream->id()}, {"url", url_text}});
}

asio::awaitable<Outcome> ClientSource::Runner::attempt() {
  auto c = std::make_shared<Conn>(ctx);
  c->channel_track.fill(-1);
  c->tcp_mode = opt.transport == "tcp" || force_tcp;
  c->deadline = Clock::now() + opt.request_timeout;
  conn = c;
  asio::co_spawn(ctx, housekeeping(c, shared_from_this()), asio::detached);
  std::string err = co_await handshake(c);
  if (err.empty() && !c->closed) {
    if (!c->tcp_mode) {
      for (size_t i = 0; i < c->udp.size(); ++i) {
        asio::co_spawn(ctx, udp_loop(c, i, shared_from_this()), asio::detached);
        asio::co_spawn(ctx, rtcp_drain(c, i), asio::detached);
      }
    }
    co_await control_loop(c);
  } else {
    c->close(err);
  }
  conn.reset();
  if (!stopped()) stream->set_source_transport({});
  co_return Outcome{c->error, c->fallback_tcp, c->got_data};
}

void ClientSource::Runner::prepare(Conn& c, rtsp::Request& req) {
  req.set_cseq(++cseq);
  c.pending.sent(cseq);
  req.headers.set("User-Agent", std::string(kUserAgent));
  if (!c.session.empty()) req.headers.set("Session", c.session);
  if (c.auth) req.headers.set("Authorization", c.auth->authorization(req.method, req.uri));
}

asio::awaitable<Result<rtsp::Response>> ClientSource::Runner::read_response(Conn& c) {
  for (;;) {
    auto r = rtsp::parse_next(Bytes(c.in.data() + c.in_begin, c.in_end - c.in_begin));
    c.in_begin += r.consumed;
    if (auto* resp = r.response()) co_return std::move(*resp);
    if (const auto* il = r.interleaved()) {
      int track = c.channel_track[il->channel];
      if (track >= 0 && c.ingest) on_packet(c, static_cast<size_t>(track), il->payload, false);
      continue;
    }
    if (const auto* e = r.error()) {
      if (r.consumed == 0) co_return make_error("bad RTSP message from server: " + e->reason);
      continue;
    }
    if (!r.need_more()) continue;  // a request from the server (rare: ANNOUNCE, GET_PARAMETER): ignored
    if (c.in_begin > 0) {
      std::memmove(c.in.data(), c.in.data() + c.in_begin, c.in_end - c.in_begin);
      c.in_end -= c.in_begin;
      c.in_begin = 0;
    }
    auto [ec, n] =
        co_await c.sock.async_read_some(asio::buffer(c.in.data() + c.in_end, c.in.size() - c.in_end), use_tuple);
    c.in_end += n;
    if (c.closed) co_return make_error(c.error);
    if (ec == asio::error::eof) co_return make_error("connection closed by the server");
    if (ec) co_return make_error("read: " + error_text(ec));
  }
}

asio::awaitable<Result<rtsp::Response>> ClientSource::Runner::transact(Conn& c, rtsp::Request req) {
  for (int round = 0; round < 2; ++round) {
    rtsp::Request r = req;
    prepare(c, r);
    c.op = req.method;
    c.deadline = Clock::now() + opt.request_timeout;
    std::string bytes = r.serialize();
    auto [wec, wn] = co_await asio::async_write(c.sock, asio::buffer(bytes), use_tuple);
    if (c.closed) co_return make_error(c.error);
    if (wec) co_return make_error(req.method + ": write: " + error_text(wec));
    const uint32_t sent = cseq;
    Result<rtsp::Response> resp = make_error("no answer");
    for (;;) {
      resp = co_await read_response(c);
      if (!resp) co_return make_error(c.closed ? c.error : req.method + ": " + resp.error());
      auto which = c.pending.answer(*resp);
      if (!which) co_return make_error(req.method + ": " + which.error());
      // A late answer to an earlier request is skipped; any other answer (ours, or one with a CSeq we never sent,
      // as some cameras echo wrongly) is taken as ours, one request being outstanding in the handshake.
      if (*which && **which != sent) continue;
      if (!*which) c.pending.forget(sent);
      break;
    }
    // RFC 2326 D.2.2 / RFC 2617: answer one challenge; a second 401 means the credentials are wrong.
    if (resp->status == 401 && round == 0 && url.has_credentials && !c.auth) {
      auto values = resp->headers.get_all("WWW-Authenticate");
      auto challenge = rtsp::select_challenge(values);
      if (!challenge) co_return resp;
      c.auth.emplace(std::move(*challenge), url.user, url.password);
      continue;
    }
    co_return resp;
  }
  co_return make_error(req.method + ": authentication failed");
}

asio::awaitable<std::string> ClientSource::Runner::handshake(std::shared_ptr<Conn> cp) {
  Conn& c = *cp;
  const std::string target = (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
                             std::to_string(url.port);
  c.op = "connect to " + target;
  auto [rec, endpoints] = co_await c.resolver.async_resolve(url.host, std::to_string(url.port), use_tuple);
  if (c.closed) co_return c.error;
  if (rec) co_return "resolve " + url.host + ": " + error_text(rec);
  auto [cec, ep] = co_await asio::async_connect(c.sock, endpoints, use_tuple);
  if (c.closed) co_return c.error;
  if (cec) co_return "connect to " + target + ": " + error_text(cec);
  boost::system::error_code ec;
  c.sock.set_option(tcp::no_delay(true), ec);
  c.server_address = ep.address();

  // OPTIONS: learn whether GET_PARAMETER works for keep-alive. Some cameras refuse OPTIONS; that is not fatal.
  {
    rtsp::Request req;
    req.method = "OPTIONS";
    req.uri = url_text;
    auto r = co_await transact(c, req);
    if (!r) co_return r.error();
    if (r->status == 200) {
      if (auto pub = r->headers.find("Public")) {
        for (const auto& m : rtsp::parse_public(*pub))
          if (m == "GET_PARAMETER") c.use_get_parameter = true;
      }
    }
  }

  // DESCRIBE
  std::string base = url_text;
  std::vector<SdpTrack> tracks;
  std::string session_control;
  {
    rtsp::Request req;
    req.method = "DESCRIBE";
    req.uri = url_text;
    req.headers.set("Accept", "application/sdp");
    auto r = co_await transact(c, req);
    if (!r) co_return r.error();
    if (r->status != 200) co_return "DESCRIBE: " + status_text(*r);
    auto sdp = sdp::parse(r->body);
    if (!sdp) co_return "DESCRIBE: bad SDP: " + sdp.error();
    if (auto cb = r->headers.find("Content-Base"); cb && !cb->empty()) {
      base = std::string(*cb);
    } else if (auto cl = r->headers.find("Content-Location"); cl && !cl->empty()) {
      base = std::string(*cl);
    }
    auto t = tracks_from_sdp(*sdp, stream->id());
    if (!t) co_return "DESCRIBE: " + t.error();
    tracks = std::move(*t);
    if (auto sc = sdp->control()) session_control = std::string(*sc);
  }

  // SETUP each track
  for (size_t i = 0; i < tracks.size(); ++i) {
    rtsp::TransportSpec spec;
    if (c.tcp_mode) {
      spec.lower = rtsp::LowerTransport::Tcp;
      spec.interleaved = rtsp::PortRange{static_cast<uint16_t>(2 * i), static_cast<uint16_t>(2 * i + 1)};
    } else {
      auto u = std::make_unique<Conn::UdpTrack>(ctx);
      bool bound = false;
      // An even RTP port and the next one for RTCP (RFC 3550 11).
      for (int tries = 0; tries < 32 && !bound; ++tries) {
        u->rtp.close(ec);
        u->rtcp.close(ec);
        udp::endpoint any(c.server_address.is_v6() ? udp::v6() : udp::v4(), 0);
        u->rtp.open(any.protocol(), ec);
        if (!ec) u->rtp.bind(any, ec);
        if (ec) continue;
        uint16_t port = u->rtp.local_endpoint(ec).port();
        if (ec || port % 2 != 0 || port == 65535) continue;
        u->rtcp.open(any.protocol(), ec);
        if (!ec) u->rtcp.bind(udp::endpoint(any.address(), static_cast<uint16_t>(port + 1)), ec);
        if (ec) continue;
        bound = true;
        spec.client_port = rtsp::PortRange{port, static_cast<uint16_t>(port + 1)};
      }
      if (!bound) co_return "SETUP: no free local UDP port pair";
      u->rtp.set_option(udp::socket::receive_buffer_size(kUdpReceiveBuffer), ec);
      c.udp.push_back(std::move(u));
    }
    rtsp::Request req;
    req.method = "SETUP";
    req.uri = rtsp::resolve_control(base, tracks[i].control);
    req.headers.set("Transport", spec.to_string());
    auto r = co_await transact(c, req);
    if (!r) co_return r.error();
    if (r->status == 461 && !c.tcp_mode && opt.transport == "auto") {
      c.close("SETUP: " + status_text(*r), true);
      co_return c.error;
    }
    if (r->status != 200) co_return "SETUP: " + status_text(*r);
    if (auto sh = r->headers.find("Session")) {
      auto s = rtsp::parse_session(*sh);
      if (!s) co_return "SETUP: " + s.error();
      c.session = s->id;
      if (s->timeout && *s->timeout > 0) c.keepalive_interval = std::chrono::seconds(std::max<uint32_t>(1, *s->timeout / 2));
    }
    auto th = r->headers.find("Transport");
    if (!th) co_return "SETUP: answer has no Transport header";
    auto ts = rtsp::parse_transport(*th);
    if (!ts || ts->empty()) co_return "SETUP: bad Transport header '" + std::string(*th) + "'";
    const auto& got = ts->front();
    if (got.is_tcp() != c.tcp_mode) {
      if (!c.tcp_mode && opt.transport == "auto") {
        c.close("SETUP: server chose TCP", true);
        co_return c.error;
      }
      co_return "SETUP: server answered with transport '" + std::string(*th) + "'";
    }
    if (c.tcp_mode) {
      uint16_t ch = got.interleaved ? got.interleaved->first : static_cast<uint16_t>(2 * i);
      if (ch > 255) co_return "SETUP: bad interleaved channel";
      c.channel_track[ch] = static_cast<int>(i);
    }
  }
  if (c.session.empty()) co_return "SETUP: answer has no Session header";

  // PLAY
  {
    rtsp::Request req;
    req.method = "PLAY";
    req.uri = session_control.empty() ? base : rtsp::resolve_control(base, session_control);
    c.play_uri = req.uri;
    req.headers.set("Range", "npt=0.000-");
    auto r = co_await transact(c, req);
    if (!r) co_return r.error();
    if (r->status != 200) co_return "PLAY: " + status_text(*r);
  }

  std::vector<media::Track> list;
  for (auto& t : tracks) list.push_back(t.track);
  stream->set_tracks(list);
  c.ingest = std::make_unique<Ingest>(stream, list);
  c.loss.emplace(rtp::LossWindow::Options{opt.loss_threshold, opt.loss_window});
  stream->set_source_transport(c.tcp_mode ? "tcp" : "udp");
  c.playing = true;
  c.play_time = c.last_packet = c.last_keepalive = Clock::now();
  log::debug("rtsp source playing", {{"stream", stream->id()},
                                    {"url", url_text},
                                    {"transport", c.tcp_mode ? "tcp" : "udp"},
                                    {"tracks", tracks.size()}});
  co_return std::string();
}

void ClientSource::Runner::on_packet(Conn& c, size_t track, Bytes packet, bool over_udp) {
  c.last_packet = Clock::now();
  c.ingest->on_rtp(track, packet, over_udp);
  if (!c.got_data) {
    c.got_data = true;
    report(StreamState::Ready);
  }
}

asio::awaitable<void> ClientSource::Runner::control_loop(std::shared_ptr<Conn> c) {
  // The data phase: interleaved frames (TCP) and answers to keep-alives. Ends when the connection does.
  for (;;) {
    auto r = co_await read_response(*c);
    if (!r) {
      if (c->teardown_cseq != 0)
        c->close(c->teardown_reason, true);  // the server may close the connection with the session
      else
        c->close(r.error());
      co_return;
    }
    auto which = c->pending.answer(*r);
    if (!which) {
      c->close(which.error());
      co_return;
    }
    if (c->teardown_cseq != 0 && *which == c->teardown_cseq) {
      c->close(c->teardown_reason, true);
      co_return;
    }
    if (r->status == 454) {  // Session Not Found: the server forgot us
      c->close("keep-alive: " + status_text(*r));
      co_return;
    }
  }
}

asio::awaitable<void> ClientSource::Runner::udp_loop(std::shared_ptr<Conn> c, size_t track, std::shared_ptr<Runner>) {
  std::vector<std::byte> buf(65536);
  udp::endpoint from;
  auto& sock = c->udp[track]->rtp;
  for (;;) {
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (c->closed) co_return;
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // e.g. ICMP errors reported on the socket: keep going, the watchdog decides
    if (from.address() != c->server_address) continue;  // not from our server
    on_packet(*c, track, Bytes(buf.data(), n), true);
  }
}

asio::awaitable<void> ClientSource::Runner::rtcp_drain(std::shared_ptr<Conn> c, size_t track) {
  std::array<std::byte, 2048> buf;
  udp::endpoint from;
  auto& sock = c->udp[track]->rtcp;
  for (;;) {
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, use_tuple);
    (void)n;
    if (c->closed || ec == asio::error::operation_aborted) co_return;
  }
}

asio::awaitable<void> ClientSource::Runner::housekeeping(std::shared_ptr<Conn> c, std::shared_ptr<Runner>) {
  for (;;) {
    c->tick.expires_after(kTick);
    boost::system::error_code ec;
    co_await c->tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (c->closed) co_return;
    auto now = Clock::now();
    if (!c->playing) {
      if (now > c->deadline) {
        c->close(c->op + ": no answer within " + seconds_text(opt.request_timeout));
        co_return;
      }
      continue;
    }
    if (!c->got_data && !c->tcp_mode && opt.transport == "auto" && now - c->play_time > opt.udp_probe) {
      c->close("no UDP packet within " + seconds_text(opt.udp_probe) + " after PLAY", true);
      co_return;
    }
    if (now - c->last_packet > opt.source_timeout) {
      c->close("no data for " + seconds_text(opt.source_timeout));
      co_return;
    }
    if (c->teardown_cseq != 0) {
      if (now > c->teardown_deadline) {
        c->close(c->teardown_reason, true);
        co_return;
      }
      continue;
    }
    if (c->ingest && c->loss) {
      const auto counts = c->ingest->reception();
      const auto change = c->loss->sample(now, counts.expected, counts.received);
      auto percent = [&] { return std::to_string(static_cast<int>(c->loss->loss() * 100 + 0.5)) + " %"; };
      if (change == rtp::LossWindow::Change::Began) {
        log::warn("rtsp source packet loss", {{"stream", stream->id()},
                                              {"url", url_text},
                                              {"transport", c->tcp_mode ? "tcp" : "udp"},
                                              {"loss", percent()},
                                              {"window", seconds_text(opt.loss_window)}});
        if (!c->tcp_mode && opt.transport == "auto") {
          c->teardown_reason = "packet loss " + percent() + " over " + seconds_text(opt.loss_window) + " over UDP";
          rtsp::Request req;
          req.method = "TEARDOWN";
          req.uri = c->play_uri;
          prepare(*c, req);
          c->teardown_cseq = cseq;
          c->teardown_deadline = now + std::min<std::chrono::milliseconds>(opt.request_timeout, 2s);
          auto bytes = std::make_shared<std::string>(req.serialize());
          auto [wec, wn] = co_await asio::async_write(c->sock, asio::buffer(*bytes), use_tuple);
          if (c->closed) co_return;
          if (wec) {
            c->close(c->teardown_reason, true);
            co_return;
          }
          continue;
        }
      } else if (change == rtp::LossWindow::Change::Ended) {
        log::info("rtsp source packet loss ended", {{"stream", stream->id()}, {"url", url_text}, {"loss", percent()}});
      }
    }
    if (now - c->last_keepalive > c->keepalive_interval) {
      c->last_keepalive = now;
      rtsp::Request req;
      req.method = c->use_get_parameter ? "GET_PARAMETER" : "OPTIONS";
      req.uri = url_text;
      prepare(*c, req);
      auto bytes = std::make_shared<std::string>(req.serialize());
      // The only writer while playing; the reply is read (and ignored) by control_loop.
      auto [wec, wn] = co_await asio::async_write(c->sock, asio::buffer(*bytes), use_tuple);
      if (c->closed) co_return;
      if (wec) {
        c->close("keep-alive: write: " + error_text(wec));
        co_return;
      }
    }
  }
}

ClientSource::ClientSource(asio::io_context& context, std::shared_ptr<media::Stream> stream, ClientOptions options)
    : context_(context), control_(std::make_shared<Control>()) {
  auto runner = std::make_shared<Runner>(context, std::move(stream), std::move(options), control_);
  runner_ = runner;
  auto* r = runner.get();
  asio::co_spawn(context, r->run(std::move(runner)), asio::detached);
}

ClientSource::~ClientSource() { stop(); }

void ClientSource::stop() {
  {
    std::lock_guard lk(control_->mu);
    if (control_->stopped) return;
    control_->stopped = true;
  }
  asio::post(context_, [runner = runner_] {
    if (auto r = runner.lock()) r->stop_now();
  });
}

}  // namespace sg::rtsp_session
