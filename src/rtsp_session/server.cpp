#include "rtsp_session/server.hpp"

// GCC 12 reports -Wmismatched-new-delete for Asio's coroutine frames (its own operator new/delete pair) at -O2: a
// false positive (see bench/webrtc_viewers.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <charconv>
#include <cstdint>
#include <random>
#include <algorithm>
#include <set>
#include <tuple>

#include "app/log.hpp"
#include "auth/http_credentials.hpp"
#include "base/prometheus.hpp"
#include "net/accept_backoff.hpp"
#include "net/connection.hpp"
#include "net/tcp_listener.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/message.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "rtsp_session/burst_pacer.hpp"
#include "rtsp_session/ingest.hpp"
#include "rtsp_session/play_timing.hpp"
#include "rtsp_session/session_info.hpp"
#include "rtp/receiver_report.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/sdp.hpp"

namespace sg::rtsp_session {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadChunk = 8 * 1024;  // grows (up to 256 KiB) only for connections that need it
constexpr size_t kMaxUnitsPerWrite = 64;
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);
constexpr std::string_view kPublic =
    "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

std::string random_hex(size_t bytes) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint32_t random_u32() {
  thread_local std::mt19937 rng(std::random_device{}());
  return rng();
}

// "rtsp://host:port/a/b/trackID=1?x" -> path "a/b", track 1 (or -1 when there is no trackID suffix).
struct Target {
  std::string path;
  int track = -1;
};
std::optional<Target> parse_target(std::string_view uri) {
  std::string owned;  // keeps the path of a parsed absolute URL alive for `rest`
  std::string_view rest;
  if (uri.starts_with("rtsp://") || uri.starts_with("rtsps://")) {
    auto u = rtsp::parse_url(uri);
    if (!u) return std::nullopt;
    owned = u->stream_path();
    rest = owned;
  } else if (uri.starts_with("/")) {
    rest = uri.substr(1);
    rest = rest.substr(0, rest.find('?'));
  } else {
    return std::nullopt;
  }
  std::string path(rest);
  while (!path.empty() && path.back() == '/') path.pop_back();
  Target t;
  auto slash = path.rfind('/');
  std::string_view last = slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
  if (last.starts_with("trackID=")) {
    int n = -1;
    auto v = last.substr(8);
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 0 || n > 255) return std::nullopt;
    t.track = n;
    path = slash == std::string::npos ? std::string() : path.substr(0, slash);
  }
  t.path = path;
  return t;
}

// Text fit for a status line's reason phrase (RFC 2326 7.1: no CR or LF): printable ASCII, bounded.
std::string reason_text(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

// One RTSP connection: a publisher, a reader, or a client still asking questions.
class ServerSession : public std::enable_shared_from_this<ServerSession>,
                      public media::UnitSink,
                      private net::SendBatch::Sender {
 public:
  ServerSession(RtspServer& server, net::Connection conn, size_t worker)
      : server_(server),
        conn_(std::move(conn)),
        worker_(worker),
        id_(random_hex(8)),
        nonce_(random_hex(16)),
        watchdog_(conn_.get_executor()),
        pace_timer_(conn_.get_executor()) {
    boost::system::error_code ec;
    auto ep = conn_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
      remote_address_ = ep.address();
    }
    info_.id = id_;
    info_.remote = remote_;
    info_.transport = conn_.secure() ? "tls" : "tcp";
    info_.created_unix_ns = unix_ns();
    touch();
  }

  asio::awaitable<void> run();
  // The connection's place in the limits, given back when run() ends.
  void hold(net::ConnectionLimiter::Slot slot) { slot_ = std::move(slot); }
  // From any thread: ends the session (kicked publisher, server stop).
  void kick() {
    asio::post(conn_.get_executor(), [self = shared_from_this()] { self->close(); });
  }
  // From the UDP receive thread.
  void on_udp(size_t track, bool rtcp, Bytes packet) {
    touch();
    bytes_received_.fetch_add(packet.size(), std::memory_order_relaxed);
    packets_received_.fetch_add(1, std::memory_order_relaxed);
    if (rtcp || mode_ != Mode::Record || !udp_ingest_) return;
    note_publisher_ssrc(track, packet);
    udp_ingest_->on_rtp(track, packet, true);
  }
  const std::string& id() const { return id_; }
  // What the sessions API shows. Any thread: the session updates info_ under info_mu_ when a request changes it,
  // and counts in atomics.
  SessionInfo info() const {
    SessionInfo out;
    {
      std::lock_guard lk(info_mu_);
      out = info_;
    }
    out.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
    out.packets_sent = packets_sent_.load(std::memory_order_relaxed);
    out.bytes_received = bytes_received_.load(std::memory_order_relaxed);
    out.packets_received = packets_received_.load(std::memory_order_relaxed);
    return out;
  }
  // The fan-out's direct path (plain TCP readers): see sender().
  bool take(const media::UnitPtr& unit) override;

 private:
  void sent(boost::system::error_code ec, size_t bytes) override;  // take()'s write, from the worker's batch
  enum class Mode { None, Play, Record };
  struct TrackSetup {
    bool active = false;
    bool tcp = false;
    uint8_t rtp_channel = 0;
    udp::endpoint rtp_dest;  // UDP play: where the client receives RTP
    uint32_t ssrc = 0;
    uint16_t seq = 0;
    // Play timing: RTCP sender reports on the RTCP channel / port, RTP-Info for PLAY.
    uint8_t rtcp_channel = 1;
    udp::endpoint rtcp_dest;
    uint16_t first_seq = 0;
    std::string url;  // as the client wrote it in SETUP
  };

  void touch() {
    last_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  // reset: a peer that stopped reading gets a TCP reset, so the unread data it pins in the kernel goes at once.
  void close(bool reset = false) {
    closed_ = true;
    if (reset) {
      conn_.abort();
    } else {
      conn_.close();
    }
    watchdog_.cancel();
    pace_timer_.cancel();
    if (reader_) reader_->close();
  }
  // Every write to the connection goes through here, so the watchdog knows whether one is pending.
  template <class Buffers>
  asio::awaitable<net::Connection::ErrorAndSize> write(const Buffers& buffers) {
    if (writes_pending_++ == 0) write_started_ = Clock::now();
    auto result = co_await conn_.write(buffers);
    --writes_pending_;
    co_return result;
  }
  log::Fields base_fields() const { return {}; }
  // A request answered: the API's view of role, stream, transport and state follows (under info_mu_).
  void note_answered(const rtsp::Request& req, int status);
  void count_sent(uint64_t bytes, uint64_t packets) {
    reader_->add_sent(bytes, packets);
    bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
    packets_sent_.fetch_add(packets, std::memory_order_relaxed);
  }

  asio::awaitable<void> watchdog();
  asio::awaitable<void> handle(rtsp::Request& req);
  asio::awaitable<void> send(rtsp::Response& res);
  asio::awaitable<void> sender();
  // Appends the interleaved frames of every RTP packet of units_ to buffers_ (headers in headers_).
  void frame_units(uint64_t& bytes, uint64_t& packets);
  asio::awaitable<void> send_udp_loop();
  asio::awaitable<void> send_bye();
  void on_interleaved(uint8_t channel, Bytes payload);
  // Publisher: the SSRC of each track's RTP (the media SSRC of a PLI). From this thread or the UDP thread.
  void note_publisher_ssrc(size_t track, Bytes packet) {
    if (track >= publisher_tracks_) return;
    if (auto p = rtp::RtpPacket::parse(packet))
      publisher_ssrc_[track].store((uint64_t{1} << 32) | p->ssrc(), std::memory_order_relaxed);
  }
  // A reader asked the stream for a keyframe: RTCP PLI (RFC 4585 6.3.1) to the publisher for each video track, on
  // its RTCP channel (TCP) or to its RTCP port (UDP). Publishers that do not take PLI (ffmpeg) ignore it.
  void request_keyframe_from_publisher();
  asio::awaitable<void> write_feedback(ByteVector bytes);
  // Asks the authorization point for the request's action on its path (once per action and path per session): a
  // refusal (401 with challenges, or 403), or nothing when allowed.
  asio::awaitable<std::optional<rtsp::Response>> authorize(const rtsp::Request& req);
  void send_udp(size_t& unit, size_t& packet, int64_t budget, uint64_t& bytes, uint64_t& packets);
  void start_pacing();
  std::string rtp_info();
  void start_reports();
  void add_tcp_reports();
  void send_udp_reports();
  void cleanup();

  rtsp::Response options(const rtsp::Request& req);
  asio::awaitable<rtsp::Response> describe(const rtsp::Request& req);
  rtsp::Response announce(const rtsp::Request& req);
  rtsp::Response setup(const rtsp::Request& req);
  rtsp::Response play(const rtsp::Request& req);
  rtsp::Response record(const rtsp::Request& req);

  RtspServer& server_;
  net::Connection conn_;  // plain TCP or TLS (RTSPS)
  net::ConnectionLimiter::Slot slot_;
  size_t worker_;
  std::string id_;
  std::string nonce_;
  std::string remote_;
  asio::ip::address remote_address_;
  asio::steady_timer watchdog_;
  std::atomic<int64_t> last_activity_{0};
  Clock::time_point request_started_{};  // first byte of the message being received; {} between messages
  bool closed_ = false;
  // Write progress, for the watchdog: a write pending while the kernel accepts nothing means the peer stopped
  // reading.
  int writes_pending_ = 0;
  Clock::time_point write_started_{};  // when the pending writes began
  Clock::time_point progress_at_{};    // when the watchdog last saw bytes_written() move
  uint64_t watched_written_ = 0;
  bool teardown_ = false;  // the client asked to end (no RTCP BYE then)

  Mode mode_ = Mode::None;
  bool session_started_ = false;  // a SETUP gave the client our Session id
  std::shared_ptr<media::Stream> stream_;
  std::string path_;
  std::set<std::pair<auth::Action, std::string>> granted_;  // authorized in this session
  bool created_stream_ = false;  // this publisher created the stream (allow_any_publish): removed when it leaves
  bool publishing_ = false;      // holds the stream's publisher slot
  std::vector<media::Track> tracks_;
  std::vector<std::string> controls_;
  std::vector<TrackSetup> setups_;
  std::unique_ptr<Ingest> ingest_;  // TCP publisher (this thread)
  // Keyframe requests to the publisher (set at RECORD).
  uint64_t keyframe_handler_ = 0;
  uint32_t own_ssrc_ = 0;
  size_t publisher_tracks_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> publisher_ssrc_;  // per track: 1 << 32 | SSRC once RTP arrived
  // TCP: a PLI frame being written; responses wait behind it (deferred_responses_), as a PLI waits for a response
  // being written (feedback_out_).
  bool feedback_writing_ = false;
  ByteVector feedback_out_;
  std::vector<std::string> deferred_responses_;
  Ingest* udp_ingest_ = nullptr;    // UDP publisher: used by the UDP thread under the server's udp lock
  bool udp_registered_ = false;

  // Play
  std::unique_ptr<media::Reader> reader_;
  bool playing_ = false;
  bool sender_done_ = true;
  std::vector<std::string> pending_responses_;  // written by the sender while playing over TCP
  std::vector<media::UnitPtr> units_;
  bool sender_waiting_ = false;  // the TCP sender awaits the reader with nothing of its own to write
  ByteVector tail_;              // the rest of a unit the socket did not take at once (take()); written first
  bool batched_ = false;         // take()'s write waits in the worker's batch (until the fan-out pass ends)
  uint64_t batched_bytes_ = 0, batched_packets_ = 0;
  std::vector<std::array<std::byte, 16>> headers_;
  std::vector<asio::const_buffer> buffers_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  PlayReports reports_;
  BurstPacer pacer_;  // UDP: the GOP cache replay at PLAY
  asio::steady_timer pace_timer_;

  log::RateLimit bad_log_;

  // The sessions API (info()): read from the HTTP thread.
  mutable std::mutex info_mu_;
  SessionInfo info_;
  std::atomic<uint64_t> bytes_sent_{0}, packets_sent_{0}, bytes_received_{0}, packets_received_{0};
};

// ---------------------------------------------------------------------------------------------------------------

asio::awaitable<void> ServerSession::run() {
  server_.session_started();
  log::debug("RTSP connection", {{"session", id_}, {"remote", remote_}});
  asio::co_spawn(conn_.get_executor(), [self = shared_from_this()] { return self->watchdog(); }, asio::detached);
  if (auto ec = co_await conn_.handshake(kTlsHandshakeTimeout)) {
    log::debug("RTSPS handshake failed", {{"session", id_}, {"remote", remote_}, {"error", ec.message()}});
    closed_ = true;
  }
  // The read buffer exists only while the connection has something to read: an idle connection holds none (and a
  // burst of idle connections leaves no buffers behind to fragment the heap).
  ByteVector buf;
  size_t used = 0;
  while (!closed_) {
    // (TLS keeps its buffer: records already read may hold the next request while the socket has nothing.)
    if (used == 0 && !buf.empty() && mode_ == Mode::None && !conn_.secure()) ByteVector().swap(buf);
    if (buf.empty()) {
      if (auto wec = co_await conn_.wait_readable()) break;
      buf.resize(kReadChunk);
    }
    if (used == buf.size()) {
      // parse_next bounds a message (16 KiB header + 64 KiB body) and a frame (64 KiB), so this never grows far.
      if (buf.size() >= 256 * 1024) break;
      buf.resize(buf.size() * 2);
    }
    auto [ec, n] = co_await conn_.read_some(asio::buffer(buf.data() + used, buf.size() - used));
    if (ec) break;
    used += n;
    bytes_received_.fetch_add(n, std::memory_order_relaxed);
    // A request (or interleaved frame) runs from its first byte, empty lines included, to its end: bytes that
    // complete nothing (a CRLF or a header byte per second) neither count as activity nor extend the deadline.
    if (request_started_ == Clock::time_point{}) request_started_ = Clock::now();
    size_t off = 0;
    while (off < used && !closed_) {
      auto r = rtsp::parse_next(Bytes(buf.data() + off, used - off));
      off += r.consumed;
      if (r.need_more()) break;
      touch();
      request_started_ = off < used ? Clock::now() : Clock::time_point{};
      if (auto* il = r.interleaved()) {
        on_interleaved(il->channel, il->payload);
        continue;
      }
      if (auto* err = r.error()) {
        server_.count_bad_request();
        log::warn("RTSP bad request", {{"session", id_}, {"remote", remote_}, {"error", err->reason}});
        auto res = rtsp::Response::to(*err);
        res.headers.set("Server", "streamgate/" SG_VERSION);
        co_await send(res);
        if (r.consumed == 0) close();  // framing lost
        continue;
      }
      if (auto* req = r.request()) {
        co_await handle(*req);
        continue;
      }
      // A response from the client (e.g. to nothing we asked): ignore.
    }
    if (off > 0) {
      std::memmove(buf.data(), buf.data() + off, used - off);
      used -= off;
    }
  }
  close();
  // Let the sender finish with the socket closed before tearing down.
  while (!sender_done_) {
    asio::steady_timer t(conn_.get_executor(), 5ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  cleanup();
  server_.session_ended();
  slot_.reset();
}

void ServerSession::cleanup() {
  if (udp_registered_) server_.unregister_udp(this);  // after this the UDP thread no longer touches us
  udp_ingest_ = nullptr;
  ingest_.reset();
  reader_.reset();  // detaches on this (the reader's) thread
  if (stream_ && keyframe_handler_ != 0) stream_->clear_keyframe_handler(keyframe_handler_);
  if (stream_ && publishing_) {
    stream_->release_publisher(id_);
    log::info("RTSP publisher left", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
    if (created_stream_) server_.registry().remove(path_);
  } else if (stream_ && mode_ == Mode::Play) {
    log::info("RTSP reader left", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
  }
  stream_.reset();
}

asio::awaitable<void> ServerSession::watchdog() {
  auto self = shared_from_this();
  const auto timeout = std::chrono::seconds(server_.config().session_timeout_s);
  const auto request_timeout = std::chrono::milliseconds(server_.config().request_timeout_ms);
  const auto reader_timeout = std::chrono::milliseconds(server_.config().reader_timeout_ms);
  const auto opened = Clock::now();
  while (!closed_) {
    watchdog_.expires_after(std::min<Clock::duration>({timeout / 4, request_timeout / 4, reader_timeout / 8, 5s}));
    co_await watchdog_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (closed_) break;
    const auto now = Clock::now();
    // A peer that stopped reading: a write has been pending for reader_timeout without the kernel taking a byte.
    // Its reader queue drops units meanwhile, but drops are not progress.
    if (writes_pending_ > 0) {
      if (const uint64_t written = conn_.bytes_written(); written != watched_written_) {
        watched_written_ = written;
        progress_at_ = now;
      } else if (now - std::max(progress_at_, write_started_) > reader_timeout) {
        server_.count_stalled_peer();
        log::warn("RTSP peer stopped reading: closing", {{"session", id_},
                                                         {"remote", remote_},
                                                         {"stream", path_},
                                                         {"reader_timeout_ms", reader_timeout.count()},
                                                         {"dropped", reader_ ? reader_->dropped() : 0}});
        close(true);
        break;
      }
    }
    if (request_started_ != Clock::time_point{} && now - request_started_ > request_timeout) {
      log::info("RTSP request not completed in time: closing", {{"session", id_}, {"remote", remote_}});
      close();
      break;
    }
    // Questions alone (OPTIONS, DESCRIBE...) do not keep a connection open: it must start a session in time.
    if (!session_started_ && now - opened > timeout) {
      log::info("RTSP connection without a session timed out", {{"session", id_}, {"remote", remote_}});
      close();
      break;
    }
    // A TCP reader is kept alive by its connection; everyone else must show activity (requests, RTCP, media).
    if (mode_ == Mode::Play && !setups_.empty() && setups_[0].tcp && playing_) continue;
    auto last = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_activity_.load(std::memory_order_relaxed)));
    if (std::chrono::steady_clock::now() - last > timeout) {
      log::info("RTSP session timed out", {{"session", id_}, {"remote", remote_}, {"stream", path_}});
      close();
    }
  }
}

asio::awaitable<void> ServerSession::send(rtsp::Response& res) {
  if (closed_) co_return;
  auto text = res.serialize();
  if (playing_ && !sender_done_ && !setups_.empty() && setups_[0].tcp) {
    // The sender owns the socket's write side while playing over TCP.
    pending_responses_.push_back(std::move(text));
    if (reader_) reader_->wake();
    co_return;
  }
  if (feedback_writing_) {  // a PLI to a TCP publisher is on its way: the response follows it
    deferred_responses_.push_back(std::move(text));
    co_return;
  }
  auto [ec, n] = co_await write(asio::buffer(text));
  if (ec) close();
  if (!feedback_out_.empty() && !closed_) co_await write_feedback(std::exchange(feedback_out_, {}));
}

void ServerSession::request_keyframe_from_publisher() {
  if (closed_ || mode_ != Mode::Record || !ingest_ || !publisher_ssrc_) return;
  ByteVector tcp_out;
  for (size_t i = 0; i < setups_.size() && i < publisher_tracks_ && i < tracks_.size(); ++i) {
    const auto& setup = setups_[i];
    const uint64_t ssrc = publisher_ssrc_[i].load(std::memory_order_relaxed);
    if (!setup.active || tracks_[i].kind != media::MediaKind::Video || (ssrc >> 32) == 0) continue;
    const auto packet = rtp::receiver_rtcp(own_ssrc_, "streamgate", {}, static_cast<uint32_t>(ssrc));
    if (setup.tcp) {
      const auto h = rtsp::interleaved_header(setup.rtcp_channel, static_cast<uint16_t>(packet.size()));
      tcp_out.insert(tcp_out.end(), h.begin(), h.end());
      tcp_out.insert(tcp_out.end(), packet.begin(), packet.end());
    } else {
      // From the server's RTCP port, as its sender reports to readers; a full buffer loses it (like any RTCP).
      ::sendto(server_.rtcp_fd(), packet.data(), packet.size(), MSG_DONTWAIT, setup.rtcp_dest.data(),
               static_cast<socklen_t>(setup.rtcp_dest.size()));
    }
  }
  log::debug("RTSP publisher keyframe request", {{"stream", path_}, {"session", id_}});
  if (tcp_out.empty() || feedback_writing_) return;
  if (writes_pending_ > 0) {  // a response is being written: the PLI goes right after it (see send)
    feedback_out_ = std::move(tcp_out);
    return;
  }
  asio::co_spawn(conn_.get_executor(), [self = shared_from_this(), bytes = std::move(tcp_out)]() mutable {
    return self->write_feedback(std::move(bytes));
  }, asio::detached);
}

asio::awaitable<void> ServerSession::write_feedback(ByteVector bytes) {
  auto self = shared_from_this();
  if (feedback_writing_) co_return;  // one already on its way (requests come at most once a second anyway)
  feedback_writing_ = true;
  auto [ec, n] = co_await write(asio::buffer(bytes));
  if (ec) close();
  for (auto& text : std::exchange(deferred_responses_, {})) {
    if (closed_) break;
    auto [rec, rn] = co_await write(asio::buffer(text));
    if (rec) close();
  }
  feedback_writing_ = false;
}

asio::awaitable<std::optional<rtsp::Response>> ServerSession::authorize(const rtsp::Request& req) {
  using M = rtsp::Method;
  std::optional<auth::Action> action;
  switch (req.method_id()) {
    case M::Describe:
    case M::Play: action = auth::Action::Read; break;
    case M::Setup: if (mode_ == Mode::None) action = auth::Action::Read; break;  // later SETUPs: same path
    case M::Announce:
    case M::Record: action = auth::Action::Publish; break;
    default: break;
  }
  if (!action) co_return std::nullopt;
  std::string path;
  if ((req.method_id() == M::Play || req.method_id() == M::Record) && !path_.empty()) {
    path = path_;
  } else {
    auto target = parse_target(req.uri);
    if (!target) co_return std::nullopt;  // the method's own handler answers 400
    path = target->path;
    // SETUP "<path>/<control>" with a control we did not write: the stream is the path without it (as setup() does).
    if (req.method_id() == M::Setup && !server_.registry().find(path)) {
      if (auto slash = path.rfind('/'); slash != std::string::npos) path = path.substr(0, slash);
    }
  }
  if (granted_.contains({*action, path})) co_return std::nullopt;

  const auto& cfg = server_.config();
  auto& authorizer = server_.authorizer();
  auth::AccessRequest ar;
  ar.action = *action;
  ar.path = path;
  ar.protocol = conn_.secure() ? "rtsps" : "rtsp";
  ar.id = id_;
  if (auto ip = auth::IpAddress::parse(remote_address_.to_string())) ar.ip = *ip;
  if (auto q = req.uri.find('?'); q != std::string::npos) ar.query = req.uri.substr(q + 1);
  ar.credentials = auth::credentials_from_http("", req.uri);  // ?jwt= or ?user=&pass= in the URL
  if (auto* h = req.headers.get("Authorization")) {
    if (auto parsed = rtsp::parse_authorization(*h)) {
      if (parsed->scheme == rtsp::AuthScheme::Basic) {
        // Basic sends the password in clear: accepted only where configured or needed (callout, JWT, hashes).
        if (cfg.auth_method != "basic" && !authorizer.needs_plain_credentials()) parsed->username.clear();
        ar.credentials.user = parsed->username;
        ar.credentials.password = parsed->username.empty() ? std::string() : parsed->password;
      } else {
        ar.credentials.user = parsed->username;
        ar.credentials.password.clear();
        rtsp::ServerAuth verifier;
        verifier.realm = "streamgate";
        verifier.nonce = nonce_;
        ar.credentials.digest = [verifier, header = std::string(*h), method = req.method,
                                 user = parsed->username](std::string_view candidate) {
          return static_cast<bool>(verifier.verify(header, method, user, candidate));
        };
      }
    }
  }
  auto decision = co_await authorizer.check(std::move(ar));
  if (decision.allowed()) {
    granted_.insert({*action, path});
    co_return std::nullopt;
  }
  if (decision.verdict == auth::Verdict::Forbidden) {
    log::info("RTSP request forbidden", {{"session", id_}, {"remote", remote_}, {"path", path},
                                         {"action", auth::to_string(*action)}, {"reason", decision.reason}});
    co_return rtsp::Response::to(req, 403);
  }
  auto res = rtsp::Response::to(req, 401);
  rtsp::ServerAuth challenge;
  challenge.realm = "streamgate";
  challenge.nonce = nonce_;
  challenge.allow_basic = cfg.auth_method == "basic" || authorizer.needs_plain_credentials();
  for (auto& c : challenge.challenges()) {
    // The callout, JWT and hashed passwords need the password itself: offer Basic only.
    if (authorizer.needs_plain_credentials() && c.starts_with("Digest")) continue;
    res.headers.add("WWW-Authenticate", c);
  }
  co_return res;
}

asio::awaitable<void> ServerSession::handle(rtsp::Request& req) {
  rtsp::Response res;
  using M = rtsp::Method;
  if (auto refused = co_await authorize(req)) {
    res = std::move(*refused);
    res.headers.set("Server", "streamgate/" SG_VERSION);
    co_await send(res);
    co_return;
  }
  switch (req.method_id()) {
    case M::Options: res = options(req); break;
    case M::Describe: res = co_await describe(req); break;
    case M::Announce: res = announce(req); break;
    case M::Setup: res = setup(req); break;
    case M::Play: res = play(req); break;
    case M::Record: res = record(req); break;
    case M::GetParameter:
    case M::SetParameter:
      res = rtsp::Response::to(req, 200);
      break;
    case M::Teardown:
      teardown_ = true;
      res = rtsp::Response::to(req, 200);
      res.headers.set("Server", "streamgate/" SG_VERSION);
      co_await send(res);
      if (!pending_responses_.empty() && reader_) {
        reader_->close();  // the sender writes the queued answer, then closes the connection
      } else {
        close();
      }
      co_return;
    case M::Pause:
      res = rtsp::Response::to(req, 501);  // live streams cannot pause
      break;
    default:
      res = rtsp::Response::to(req, 501);
      break;
  }
  res.headers.set("Server", "streamgate/" SG_VERSION);
  if (session_started_ && !res.headers.has("Session"))
    res.headers.set("Session", id_ + ";timeout=" + std::to_string(server_.config().session_timeout_s));
  if (res.status >= 400 && res.status != 401)
    log::info("RTSP request refused", {{"session", id_}, {"remote", remote_}, {"method", req.method},
                                       {"uri", req.uri}, {"status", res.status}});
  note_answered(req, res.status);
  co_await send(res);
  // PLAY answered: now media may flow.
  if (req.method_id() == M::Play && res.status == 200 && !playing_ && reader_) {
    playing_ = true;
    sender_done_ = false;
    asio::co_spawn(conn_.get_executor(), [self = shared_from_this()] { return self->sender(); }, asio::detached);
  }
}

void ServerSession::note_answered(const rtsp::Request& req, int status) {
  if (status < 200 || status >= 300) return;
  using M = rtsp::Method;
  const char* state = nullptr;
  switch (req.method_id()) {
    case M::Options: if (mode_ == Mode::None && !session_started_) state = "options"; break;
    case M::Describe: if (mode_ == Mode::None) state = "described"; break;
    case M::Announce: state = "announced"; break;
    case M::Setup: if (!playing_) state = "setup"; break;
    case M::Play: state = "playing"; break;
    case M::Record: state = "recording"; break;
    default: break;
  }
  std::string stream = path_;
  if (stream.empty() && req.method_id() == M::Describe)
    if (auto target = parse_target(req.uri)) stream = target->path;
  bool udp = false;
  for (const auto& s : setups_) udp |= s.active && !s.tcp;
  std::lock_guard lk(info_mu_);
  if (state) info_.state = state;
  info_.role = mode_ == Mode::Play ? "read" : mode_ == Mode::Record ? "publish" : "none";
  if (!stream.empty()) info_.stream = std::move(stream);
  info_.transport = conn_.secure() ? "tls" : udp ? "udp" : "tcp";
}

rtsp::Response ServerSession::options(const rtsp::Request& req) {
  auto res = rtsp::Response::to(req, 200);
  res.headers.set("Public", std::string(kPublic));
  return res;
}

asio::awaitable<rtsp::Response> ServerSession::describe(const rtsp::Request& req) {
  auto target = parse_target(req.uri);
  if (!target || target->path.empty()) co_return rtsp::Response::to(req, 400);
  rtsp::Response res;
  auto stream = server_.registry().find(target->path);
  if (!stream) co_return rtsp::Response::to(req, 404);
  auto tracks = stream->tracks();
  if (tracks->empty() && !stream->started()) stream->start();  // on-demand source: start it for this reader
  // Wait a little for a starting source to learn its tracks.
  for (int i = 0; i < 100 && tracks->empty() && !closed_; ++i) {
    asio::steady_timer t(conn_.get_executor(), 100ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    tracks = stream->tracks();
  }
  if (tracks->empty()) co_return rtsp::Response::to(req, 404);
  res = rtsp::Response::to(req, 200);
  res.headers.set("Content-Type", "application/sdp");
  std::string base = req.uri.substr(0, req.uri.find('?'));  // a ?jwt= token is not part of the track URLs
  if (!base.ends_with('/')) base += '/';
  res.headers.set("Content-Base", base);
  auto local = conn_.socket().local_endpoint().address();
  res.body = sdp_from_tracks(*tracks, target->path, local.is_v4() ? local.to_string() : "127.0.0.1");
  co_return res;
}

rtsp::Response ServerSession::announce(const rtsp::Request& req) {
  if (mode_ != Mode::None) return rtsp::Response::to(req, 455);
  auto target = parse_target(req.uri);
  if (!target || target->path.empty()) {
    auto res = rtsp::Response::to(req, 400);
    res.reason = "Bad Request (invalid stream path)";
    return res;
  }
  if (auto id = media::check_stream_id(target->path); !id) {
    // The reason phrase carries the same message as the API and the config (publishers such as ffmpeg print it).
    auto res = rtsp::Response::to(req, 400);
    res.reason = "Bad Request (" + id.error() + ")";
    for (auto& c : res.reason)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    log::info("ANNOUNCE refused", {{"session", id_}, {"remote", remote_}, {"error", id.error()}});
    return res;
  }
  rtsp::Response res;
  auto* ct = req.headers.get("Content-Type");
  if (!ct || ct->find("application/sdp") == std::string::npos) return rtsp::Response::to(req, 415);
  auto parsed = sdp::parse(req.body);
  if (!parsed) {
    log::warn("ANNOUNCE with bad SDP", {{"session", id_}, {"remote", remote_}, {"error", parsed.error()}});
    res = rtsp::Response::to(req, 400);
    res.reason = "Bad Request (SDP)";
    return res;
  }
  auto sdp_tracks = tracks_from_sdp(*parsed, target->path, UnsupportedMedia::Refuse);
  if (!sdp_tracks) {
    // Every announced track or none: the publisher must not believe a track is published when it is dropped.
    log::warn("ANNOUNCE refused: a track cannot be carried", {{"session", id_}, {"error", sdp_tracks.error()}});
    res = rtsp::Response::to(req, 415);
    res.reason = "Unsupported Media Type (" + reason_text(sdp_tracks.error()) + ")";
    return res;
  }
  auto stream = server_.registry().find(target->path);
  bool created = false;
  if (!stream) {
    if (!server_.config().allow_any_publish) return rtsp::Response::to(req, 404);
    media::StreamOptions opts;
    opts.source = "publisher";
    opts.reader_queue = server_.reader_queue();
    auto made = server_.registry().create(target->path, std::move(opts));
    if (!made) {
      stream = server_.registry().find(target->path);  // created concurrently
      if (!stream && server_.registry().full()) return rtsp::Response::to(req, 453);  // limits.max_streams
      if (!stream) return rtsp::Response::to(req, 400);
    } else {
      stream = *made;
      created = true;
    }
  }
  const auto& src = stream->options().source;
  if (src != "publisher" && !src.starts_with("exec:")) {
    res = rtsp::Response::to(req, 403);
    res.reason = "Forbidden (stream has a pull source)";
    return res;
  }
  // An exec source's command publishes over loopback; nobody else may take its path.
  const bool loopback = remote_address_.is_loopback() ||
                        (remote_address_.is_v6() && remote_address_.to_v6().is_v4_mapped() &&
                         asio::ip::make_address_v4(asio::ip::v4_mapped, remote_address_.to_v6()).is_loopback());
  if (src.starts_with("exec:") && !loopback) {
    res = rtsp::Response::to(req, 403);
    res.reason = "Forbidden (stream is fed by its exec source)";
    return res;
  }
  std::weak_ptr<ServerSession> weak = weak_from_this();
  bool replace = server_.config().publish_conflict == "replace";
  if (!stream->acquire_publisher(id_, replace, [weak] {
        if (auto s = weak.lock()) s->kick();
      })) {
    log::info("RTSP publisher refused: stream busy", {{"stream", target->path}, {"session", id_}, {"remote", remote_}});
    res = rtsp::Response::to(req, 403);
    res.reason = "Forbidden (stream already has a publisher)";
    return res;
  }
  stream->describe_publisher(id_, conn_.secure() ? "rtsps" : "rtsp", remote_);
  publishing_ = true;
  created_stream_ = created;
  stream_ = stream;
  path_ = target->path;
  mode_ = Mode::Record;
  tracks_.clear();
  controls_.clear();
  for (auto& t : *sdp_tracks) {
    tracks_.push_back(t.track);
    controls_.push_back(t.control);
  }
  setups_.assign(tracks_.size(), {});
  stream_->set_tracks(tracks_);
  stream_->set_state(media::StreamState::Connecting);
  log::info("RTSP publisher announced", {{"stream", path_}, {"session", id_}, {"remote", remote_},
                                         {"tracks", tracks_.size()}});
  return rtsp::Response::to(req, 200);
}

rtsp::Response ServerSession::setup(const rtsp::Request& req) {
  auto* th = req.headers.get("Transport");
  if (!th) return rtsp::Response::to(req, 400);
  auto specs = rtsp::parse_transport(*th);
  if (!specs || specs->empty()) {
    auto res = rtsp::Response::to(req, 400);
    res.reason = "Bad Request (Transport)";
    return res;
  }
  auto target = parse_target(req.uri);
  if (!target) return rtsp::Response::to(req, 400);

  // Which track: "trackID=N" from our SDP, or (publisher) the control URL of the announced SDP.
  int track = target->track;
  if (mode_ == Mode::Record) {
    if (track < 0) {
      // Match the announced control attribute against the end of the URI.
      for (size_t i = 0; i < controls_.size(); ++i) {
        const auto& c = controls_[i];
        if (!c.empty() && (req.uri == c || req.uri.ends_with("/" + c) || req.uri.ends_with(c))) track = static_cast<int>(i);
      }
      if (track < 0 && tracks_.size() == 1) track = 0;
    }
    if (track < 0 || static_cast<size_t>(track) >= tracks_.size()) return rtsp::Response::to(req, 404);
  } else {
    if (mode_ == Mode::None) {
      auto stream = server_.registry().find(target->path);
      if (!stream) {
        // Some clients SETUP "<path>/<control>" with a control we did not write: try without the last segment.
        auto slash = target->path.rfind('/');
        if (slash != std::string::npos) stream = server_.registry().find(target->path.substr(0, slash));
        if (!stream) return rtsp::Response::to(req, 404);
        path_ = target->path.substr(0, slash);
      } else {
        path_ = target->path;
      }
      stream_ = stream;
      tracks_ = *stream->tracks();
      if (tracks_.empty()) return rtsp::Response::to(req, 404);
      setups_.assign(tracks_.size(), {});
      mode_ = Mode::Play;
    } else if (playing_) {
      return rtsp::Response::to(req, 455);
    }
    if (track < 0) track = tracks_.size() == 1 ? 0 : -1;
    if (track < 0 || static_cast<size_t>(track) >= tracks_.size()) return rtsp::Response::to(req, 404);
  }

  // First spec we can serve: TCP interleaved or UDP unicast.
  const rtsp::TransportSpec* spec = nullptr;
  for (const auto& s : *specs) {
    if (s.multicast) continue;
    if (conn_.secure() && !s.is_tcp()) continue;  // RTSPS: media stays inside the TLS connection (461 otherwise)
    if (s.is_tcp() || s.client_port) {
      spec = &s;
      break;
    }
  }
  if (!spec) return rtsp::Response::to(req, 461);
  if (mode_ == Mode::Record && spec->mode && !spec->is_record()) return rtsp::Response::to(req, 455);

  auto& ts = setups_[static_cast<size_t>(track)];
  ts.active = true;
  ts.tcp = spec->is_tcp();
  ts.ssrc = random_u32();
  ts.seq = static_cast<uint16_t>(random_u32());
  ts.first_seq = ts.seq;
  ts.url = req.uri;
  rtsp::TransportSpec reply;
  reply.lower = spec->lower;
  reply.mode = spec->mode;
  if (ts.tcp) {
    uint8_t ch = spec->interleaved ? static_cast<uint8_t>(spec->interleaved->first) : static_cast<uint8_t>(track * 2);
    ts.rtp_channel = ch;
    ts.rtcp_channel = static_cast<uint8_t>(ch + 1);
    reply.interleaved = rtsp::PortRange{ch, static_cast<uint16_t>(ch + 1)};
  } else {
    if (!remote_address_.is_v4() && !remote_address_.is_v6()) return rtsp::Response::to(req, 461);
    ts.rtp_dest = udp::endpoint(remote_address_, spec->client_port->first);
    reply.client_port = spec->client_port;
    reply.server_port = rtsp::PortRange{server_.udp_rtp_port(), server_.udp_rtcp_port()};
    // Packets from the client's ports are this session's (publisher RTP, RTCP receiver reports).
    std::weak_ptr<ServerSession> weak = weak_from_this();
    server_.register_udp(udp::endpoint(remote_address_, spec->client_port->first),
                         {weak, static_cast<size_t>(track), false});
    uint16_t rtcp_port = spec->client_port->last != spec->client_port->first ? spec->client_port->last
                                                                              : spec->client_port->first + 1;
    server_.register_udp(udp::endpoint(remote_address_, rtcp_port), {weak, static_cast<size_t>(track), true});
    ts.rtcp_dest = udp::endpoint(remote_address_, rtcp_port);
    udp_registered_ = true;
  }
  if (mode_ == Mode::Play) reply.ssrc = ts.ssrc;
  // All tracks of a session use one lower transport.
  for (const auto& other : setups_)
    if (other.active && other.tcp != ts.tcp) return rtsp::Response::to(req, 461);
  session_started_ = true;
  auto res = rtsp::Response::to(req, 200);
  res.headers.set("Transport", reply.to_string());
  return res;
}

rtsp::Response ServerSession::play(const rtsp::Request& req) {
  if (mode_ != Mode::Play || !stream_) return rtsp::Response::to(req, 455);
  if (playing_) return rtsp::Response::to(req, 200);
  bool any = false;
  for (const auto& s : setups_) any |= s.active;
  if (!any) return rtsp::Response::to(req, 455);
  rtsp::Response res;
  // Another streamgate pulling (a cluster relay, an edge) re-bases each new connection's timestamps onto its own
  // timeline by arrival time: a replayed GOP, older than it arrives, would push that timeline ahead of real time.
  // It gets live units from the next keyframe instead (Stream::attach asks the source for one).
  const auto* ua = req.headers.get("User-Agent");
  const bool downstream = ua && *ua == "streamgate";
  reader_ = stream_->attach(worker_, downstream ? "relay-" + id_ : id_);
  log::info("RTSP reader playing", {{"stream", path_}, {"session", id_}, {"remote", remote_},
                                    {"transport", setups_[0].tcp ? "tcp" : "udp"}});
  res = rtsp::Response::to(req, 200);
  res.headers.set("Range", "npt=0.000-");
  if (auto info = rtp_info(); !info.empty()) res.headers.set("RTP-Info", info);
  start_reports();
  return res;
}

rtsp::Response ServerSession::record(const rtsp::Request& req) {
  if (mode_ != Mode::Record || !stream_) return rtsp::Response::to(req, 455);
  bool any = false, udp_mode = false;
  for (const auto& s : setups_) {
    any |= s.active;
    udp_mode |= s.active && !s.tcp;
  }
  if (!any) return rtsp::Response::to(req, 455);
  ingest_ = std::make_unique<Ingest>(stream_, tracks_);
  own_ssrc_ = std::random_device{}();
  publisher_tracks_ = setups_.size();
  publisher_ssrc_ = std::make_unique<std::atomic<uint64_t>[]>(publisher_tracks_);
  keyframe_handler_ = stream_->set_keyframe_handler([weak = weak_from_this(), ex = conn_.get_executor()] {
    asio::post(ex, [weak] {
      if (auto self = weak.lock()) self->request_keyframe_from_publisher();
    });
  });
  if (udp_mode) {
    // From now on the UDP thread feeds the ingest (under the server's UDP lock); this thread leaves it alone.
    std::lock_guard lk(server_.udp_mu_);
    udp_ingest_ = ingest_.get();
  }
  stream_->set_state(media::StreamState::Ready);
  log::info("RTSP publisher recording", {{"stream", path_}, {"session", id_}, {"remote", remote_},
                                         {"transport", udp_mode ? "udp" : "tcp"}});
  return rtsp::Response::to(req, 200);
}

void ServerSession::on_interleaved(uint8_t channel, Bytes payload) {
  if (mode_ != Mode::Record || !ingest_) return;  // RTCP from readers, or data before RECORD
  packets_received_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < setups_.size(); ++i) {
    if (setups_[i].active && setups_[i].tcp && setups_[i].rtp_channel == channel) {
      note_publisher_ssrc(i, payload);
      ingest_->on_rtp(i, payload, false);
      return;
    }
  }
}

// Sends units to a playing reader until the reader is closed or the connection fails. Every packet of up to
// kMaxUnitsPerWrite units goes out in one gather write: per packet, a 16-byte header (interleaved '$' header +
// the rewritten 12-byte RTP fixed header) from this session's scratch, then the rest of the shared packet.
// Plain TCP: while this coroutine waits with nothing of its own to write, the stream's fan-out hands units to
// take(), which writes them at once from the fan-out pass (one sendmsg, no wake-up, no coroutine resume per unit);
// only what the socket does not take comes back here.
asio::awaitable<void> ServerSession::sender() {
  auto self = shared_from_this();
  const bool tcp = setups_[0].tcp;
  if (!tcp) co_await send_udp_loop();
  if (tcp && !conn_.secure()) reader_->set_sink(this);
  while (tcp && !closed_ && reader_) {
    sender_waiting_ = true;
    const bool more = co_await reader_->wait();
    sender_waiting_ = false;
    if (!more || closed_) break;
    if (!tail_.empty()) {
      auto [ec, n] = co_await write(asio::buffer(tail_));
      tail_.clear();
      if (ec) {
        close();
        break;
      }
    }
    units_.clear();
    reader_->pop(units_, kMaxUnitsPerWrite);
    buffers_.clear();
    std::vector<std::string> responses;
    responses.swap(pending_responses_);
    for (const auto& r : responses) buffers_.push_back(asio::buffer(r));
    uint64_t bytes = 0, packets = 0;
    frame_units(bytes, packets);
    if (buffers_.empty()) continue;
    add_tcp_reports();
    auto [ec, n] = co_await write(buffers_);
    if (ec) {
      close();
      break;
    }
    count_sent(bytes, packets);
  }
  sender_waiting_ = false;
  if (reader_) reader_->set_sink(nullptr);
  // A frame cut short by a full socket is finished first: anything else written after half a frame breaks the
  // interleaved framing.
  if (!closed_ && !tail_.empty()) {
    auto [ec, n] = co_await write(asio::buffer(tail_));
    if (ec) close();
  }
  tail_.clear();
  // Responses queued while the sender was stopping.
  if (!closed_ && !pending_responses_.empty()) {
    std::vector<std::string> responses;
    responses.swap(pending_responses_);
    for (auto& r : responses) {
      auto [ec, n] = co_await write(asio::buffer(r));
      if (ec) break;
    }
  }
  // The stream closed the reader (its publisher timed out, it stopped, its tracks changed): RFC 3550 6.6, a BYE
  // tells the client its sources are gone (ffmpeg ends with EOF once every track had one).
  if (!closed_ && !teardown_) co_await send_bye();
  sender_done_ = true;
  playing_ = false;
  // A reader closed by the stream (stopped, tracks changed) ends the connection: the client must reconnect.
  if (!closed_) close();
}

void ServerSession::frame_units(uint64_t& bytes, uint64_t& packets) {
  size_t count = 0;
  for (const auto& u : units_) count += u->rtp_packets.size();
  headers_.resize(count);
  buffers_.reserve(buffers_.size() + count * 2 + 4);
  size_t h = 0;
  for (const auto& u : units_) {
    if (u->track >= setups_.size()) continue;
    auto& ts = setups_[u->track];
    if (!ts.active) continue;
    for (size_t i = 0; i < u->rtp_packets.size(); ++i) {
      auto pkt = u->rtp_packet(i);
      if (pkt.size() < 12 || pkt.size() > 65535) continue;
      auto& hdr = headers_[h++];
      rtsp::write_interleaved_header(std::span<std::byte, 4>(hdr.data(), 4), ts.rtp_channel,
                                     static_cast<uint16_t>(pkt.size()));
      std::memcpy(hdr.data() + 4, pkt.data(), 12);
      put16(MutableBytes(hdr.data() + 4, 12), 2, ts.seq++);
      put32(MutableBytes(hdr.data() + 4, 12), 8, ts.ssrc);
      reports_.on_packet(u->track, u->rtp_timestamp, u->ingest_ns, pkt.size() - 12);
      buffers_.push_back(asio::buffer(hdr.data(), 16));
      if (pkt.size() > 12) buffers_.push_back(asio::buffer(pkt.data() + 12, pkt.size() - 12));
      bytes += pkt.size() + 4;
      ++packets;
    }
  }
}

// Called by the stream's fan-out on this session's thread, with the reader's queue empty. Writes the unit now when
// the sender has nothing of its own in flight (no write pending, no response or unit tail waiting): then this write
// is next in order on the socket. The write joins the worker's batch (net/send_batch.hpp), which the fan-out
// flushes by the end of its pass, before the sender can run again; sent() gets its result.
bool ServerSession::take(const media::UnitPtr& unit) {
  if (batched_ || !sender_waiting_ || closed_ || writes_pending_ > 0 || feedback_writing_ ||
      !pending_responses_.empty() || !tail_.empty())
    return false;
  units_.clear();
  units_.push_back(unit);
  buffers_.clear();
  batched_bytes_ = batched_packets_ = 0;
  frame_units(batched_bytes_, batched_packets_);
  if (buffers_.empty()) return true;  // no track of this unit was set up
  add_tcp_reports();
  batched_ = true;
  if (!conn_.try_write(buffers_, server_.pool().send_batch(worker_), this)) sent({}, 0);
  return true;
}

void ServerSession::sent(boost::system::error_code ec, size_t n) {
  batched_ = false;
  if (ec) {
    close();
    return;
  }
  count_sent(batched_bytes_, batched_packets_);
  if (n < asio::buffer_size(buffers_)) {
    // The socket is full (a slow reader): keep the rest, and let the sender wait for the socket to drain. Units
    // queue meanwhile, and the oldest are dropped when the queue is full, as without this path.
    size_t skip = n;
    for (const auto& b : buffers_) {
      if (skip >= b.size()) {
        skip -= b.size();
        continue;
      }
      const auto* p = static_cast<const std::byte*>(b.data());
      tail_.insert(tail_.end(), p + skip, p + b.size());
      skip = 0;
    }
    reader_->wake();
  }
}

// UDP: units go out as they come. The GOP cache replay queued at PLAY, and what queues behind it until the reader
// has caught up, goes out through the burst pacer instead: packets within its allowance, then a timer.
asio::awaitable<void> ServerSession::send_udp_loop() {
  size_t unit = 0, packet = 0;  // the next packet to send: units_[unit], its packet-th RTP packet
  units_.clear();
  start_pacing();
  while (!closed_ && reader_) {
    if (unit == units_.size()) {
      units_.clear();
      unit = packet = 0;
      if (pacer_.active() && reader_->queued() == 0) {
        pacer_.stop();
        log::debug("RTSP reader caught up", {{"stream", path_}, {"session", id_}});
      }
      if (!co_await reader_->wait()) break;
      if (closed_) break;
      reader_->pop(units_, kMaxUnitsPerWrite);
    }
    // Pacing must not cost the reader units (a full queue drops its oldest): near full, the rest goes out unpaced.
    if (pacer_.active() && reader_->queued() + server_.reader_queue() / 8 >= server_.reader_queue()) {
      pacer_.stop();
      log::info("RTSP reader burst pacing given up: queue nearly full",
                {{"stream", path_}, {"session", id_}, {"queued", reader_->queued()}});
    }
    const int64_t budget = pacer_.active() ? pacer_.allowance(steady_ns()) : INT64_MAX;
    uint64_t bytes = 0, packets = 0;
    if (budget > 0) send_udp(unit, packet, budget, bytes, packets);
    if (pacer_.active()) pacer_.consume(bytes);
    send_udp_reports();
    count_sent(bytes, packets);
    if (unit < units_.size()) {
      pace_timer_.expires_after(std::chrono::nanoseconds(pacer_.wait_ns()));
      boost::system::error_code ec;
      co_await pace_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

// The reader's queue holds the GOP cache replay (and anything published since): pace it at a multiple of its own
// bitrate, measured from its first unit's arrival until now.
void ServerSession::start_pacing() {
  const size_t queued = reader_->queued();
  if (queued == 0) return;
  uint64_t bytes = 0;
  for (size_t i = 0; i < queued; ++i) {
    for (const auto& p : reader_->peek(i)->rtp_packets) bytes += p.size;
  }
  const int64_t now = steady_ns();
  pacer_.start(bytes, now - reader_->peek(0)->ingest_ns, now);
  log::debug("RTSP reader burst paced", {{"stream", path_}, {"session", id_}, {"units", queued}, {"bytes", bytes},
                                         {"rate", pacer_.bytes_per_second()}});
}

// Packets of units_ from the cursor (unit, packet) in sendmmsg batches, each packet a 2-part iovec (rewritten
// header, shared rest), until `budget` bytes went out (the packet crossing it included); advances the cursor. A
// full socket buffer drops the remainder (counted): UDP never blocks a reader.
void ServerSession::send_udp(size_t& unit, size_t& packet, int64_t budget, uint64_t& bytes, uint64_t& packets) {
  size_t count = 0;
  for (size_t u = unit; u < units_.size(); ++u) count += units_[u]->rtp_packets.size();
  headers_.resize(count);
  msgs_.resize(count);
  iovs_.resize(count * 2);
  size_t m = 0;
  int64_t spent = 0;
  for (; unit < units_.size() && spent < budget; ++unit, packet = 0) {
    const auto& u = units_[unit];
    if (u->track >= setups_.size()) continue;
    auto& ts = setups_[u->track];
    if (!ts.active) continue;
    for (; packet < u->rtp_packets.size() && spent < budget; ++packet) {
      auto pkt = u->rtp_packet(packet);
      if (pkt.size() < 12) continue;
      auto& hdr = headers_[m];
      std::memcpy(hdr.data(), pkt.data(), 12);
      put16(MutableBytes(hdr.data(), 12), 2, ts.seq++);
      put32(MutableBytes(hdr.data(), 12), 8, ts.ssrc);
      reports_.on_packet(u->track, u->rtp_timestamp, u->ingest_ns, pkt.size() - 12);
      iovs_[2 * m] = {hdr.data(), 12};
      iovs_[2 * m + 1] = {const_cast<std::byte*>(pkt.data() + 12), pkt.size() - 12};
      auto& msg = msgs_[m];
      msg = {};
      msg.msg_hdr.msg_name = const_cast<sockaddr*>(ts.rtp_dest.data());
      msg.msg_hdr.msg_namelen = static_cast<socklen_t>(ts.rtp_dest.size());
      msg.msg_hdr.msg_iov = &iovs_[2 * m];
      msg.msg_hdr.msg_iovlen = pkt.size() > 12 ? 2 : 1;
      bytes += pkt.size();
      spent += static_cast<int64_t>(pkt.size());
      ++m;
    }
    if (packet < u->rtp_packets.size()) break;  // budget spent inside this unit: resume at `packet`
  }
  size_t sent = 0;
  while (sent < m) {
    int r = ::sendmmsg(server_.rtp_fd(), msgs_.data() + sent, static_cast<unsigned>(std::min<size_t>(m - sent, 1024)),
                       MSG_DONTWAIT);
    if (r <= 0) break;
    sent += static_cast<size_t>(r);
  }
  packets += sent;
  if (sent < m) server_.count_udp_dropped(m - sent);
}

// RFC 2326 12.33: per track set up, the first packet's sequence number and the RTP time play starts at (the
// GOP cache replay's first unit; see play_start_timestamps). Called right after the reader attached.
std::string ServerSession::rtp_info() {
  auto start = play_start_timestamps(*reader_, stream_->track_clocks(), steady_ns());
  std::vector<rtsp::RtpInfo> info;
  for (size_t i = 0; i < setups_.size(); ++i) {
    const auto& ts = setups_[i];
    if (!ts.active) continue;
    info.push_back({ts.url, ts.first_seq, i < start.size() ? start[i] : std::nullopt});
  }
  return rtsp::format_rtp_info(info);
}

void ServerSession::start_reports() {
  reports_.configure(setups_.size(), "streamgate@" + id_);
  for (size_t i = 0; i < setups_.size() && i < tracks_.size(); ++i)
    if (setups_[i].active) reports_.set_track(i, setups_[i].ssrc, tracks_[i].clock_rate);
}

// Sender reports ride in the same gather write as the media, each on its track's RTCP channel.
void ServerSession::add_tcp_reports() {
  const int64_t now = steady_ns();
  if (!reports_.due(now)) return;
  for (const auto& r : reports_.build(now, unix_ns())) {
    rtsp::write_interleaved_header(std::span<std::byte, 4>(r.framed.data(), 4), setups_[r.track].rtcp_channel,
                                   static_cast<uint16_t>(r.framed.size() - 4));
    buffers_.push_back(asio::buffer(r.framed.data(), r.framed.size()));
  }
}

asio::awaitable<void> ServerSession::send_bye() {
  const auto& reports = reports_.build(steady_ns(), unix_ns(), "stream ended");
  if (reports.empty()) co_return;
  if (!setups_[0].tcp) {
    for (const auto& r : reports) {
      const auto& dest = setups_[r.track].rtcp_dest;
      auto packet = r.compound();
      ::sendto(server_.rtcp_fd(), packet.data(), packet.size(), MSG_DONTWAIT, dest.data(),
               static_cast<socklen_t>(dest.size()));
    }
    co_return;
  }
  buffers_.clear();
  for (const auto& r : reports) {
    rtsp::write_interleaved_header(std::span<std::byte, 4>(r.framed.data(), 4), setups_[r.track].rtcp_channel,
                                   static_cast<uint16_t>(r.framed.size() - 4));
    buffers_.push_back(asio::buffer(r.framed.data(), r.framed.size()));
  }
  co_await write(buffers_);
}

// From the server's RTCP port to the client's; a full socket buffer loses the report (the next one follows).
void ServerSession::send_udp_reports() {
  const int64_t now = steady_ns();
  if (!reports_.due(now)) return;
  for (const auto& r : reports_.build(now, unix_ns())) {
    const auto& dest = setups_[r.track].rtcp_dest;
    auto packet = r.compound();
    ::sendto(server_.rtcp_fd(), packet.data(), packet.size(), MSG_DONTWAIT, dest.data(),
             static_cast<socklen_t>(dest.size()));
  }
}

// ---------------------------------------------------------------------------------------------------------------

RtspServer::RtspServer(net::WorkerPool& pool, media::StreamRegistry& registry, app::RtspConfig config,
                       size_t reader_queue, auth_session::Authorizer& authorizer)
    : pool_(pool), registry_(registry), config_(std::move(config)), reader_queue_(reader_queue), authorizer_(authorizer) {}

RtspServer::~RtspServer() = default;

Status RtspServer::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("RTSP: bad listen address '" + host + "'");
  acceptor_ = std::make_unique<tcp::acceptor>(pool_.accept_context());
  tcp::endpoint ep(address, port);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("RTSP: cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  // A UDP pair (even RTP port, RTCP = RTP + 1) for UDP transport.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto rtp = std::make_unique<udp::socket>(pool_.context(0));
    auto rtcp = std::make_unique<udp::socket>(pool_.context(pool_.size() > 1 ? 1 : 0));
    rtp->open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    if (ec) return make_error("RTSP: UDP socket: " + ec.message());
    rtp->bind(udp::endpoint(address, 0), ec);
    if (ec) return make_error("RTSP: cannot bind UDP: " + ec.message());
    uint16_t p = rtp->local_endpoint().port();
    if (p % 2 != 0 || p == 65535) continue;
    rtcp->open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    rtcp->bind(udp::endpoint(address, static_cast<uint16_t>(p + 1)), ec);
    if (ec) continue;
    rtp->set_option(asio::socket_base::send_buffer_size(4 * 1024 * 1024), ec);
    rtp->set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ec);
    rtp_port_ = p;
    rtp_socket_ = std::move(rtp);
    rtcp_socket_ = std::move(rtcp);
    return Ok{};
  }
  return make_error("RTSP: could not bind a UDP port pair");
}

int RtspServer::rtp_fd() const { return rtp_socket_->native_handle(); }
int RtspServer::rtcp_fd() const { return rtcp_socket_->native_handle(); }

Status RtspServer::listen_tls(const std::string& host, uint16_t port, net::TlsContext& tls) {
  auto a = net::listen_tcp(pool_.accept_context(), host, port, "RTSPS");
  if (!a) return make_error(a.error());
  tls_acceptor_ = std::move(*a);
  tls_port_ = tls_acceptor_->local_endpoint().port();
  tls_ = &tls;
  return Ok{};
}

void RtspServer::start() {
  asio::co_spawn(acceptor_->get_executor(), accept_loop(*acceptor_, nullptr), asio::detached);
  if (tls_acceptor_) asio::co_spawn(tls_acceptor_->get_executor(), accept_loop(*tls_acceptor_, tls_), asio::detached);
  asio::co_spawn(rtp_socket_->get_executor(), udp_loop(*rtp_socket_, false), asio::detached);
  asio::co_spawn(rtcp_socket_->get_executor(), udp_loop(*rtcp_socket_, true), asio::detached);
}

std::vector<SessionInfo> RtspServer::session_infos() {
  std::vector<std::shared_ptr<ServerSession>> live;
  {
    std::lock_guard lk(sessions_mu_);
    live.reserve(live_.size());
    for (auto& [p, w] : live_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  std::vector<SessionInfo> out;
  out.reserve(live.size());
  for (const auto& s : live) out.push_back(s->info());
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return std::tie(a.created_unix_ns, a.id) < std::tie(b.created_unix_ns, b.id);
  });
  return out;
}

std::optional<SessionInfo> RtspServer::session_info(std::string_view id) {
  std::shared_ptr<ServerSession> found;
  {
    std::lock_guard lk(sessions_mu_);
    for (auto& [p, w] : live_)
      if (auto s = w.lock(); s && s->id() == id) found = std::move(s);
  }
  if (!found) return std::nullopt;
  return found->info();
}

bool RtspServer::kick_session(std::string_view id) {
  std::shared_ptr<ServerSession> found;
  {
    std::lock_guard lk(sessions_mu_);
    for (auto& [p, w] : live_)
      if (auto s = w.lock(); s && s->id() == id) found = std::move(s);
  }
  if (!found) return false;
  auto info = found->info();
  log::info("rtsp session kicked",
            {{"session", info.id}, {"stream", info.stream}, {"remote", info.remote}, {"role", info.role}});
  found->kick();  // closes the connection on the session's own thread
  return true;
}

void RtspServer::stop_accepting() {
  for (auto* a : {acceptor_.get(), tls_acceptor_.get()}) {
    if (!a) continue;
    asio::post(a->get_executor(), [a] {
      boost::system::error_code ec;
      a->close(ec);
    });
  }
}

void RtspServer::stop() {
  if (stopped_.exchange(true)) return;
  stop_accepting();
  for (auto* s : {rtp_socket_.get(), rtcp_socket_.get()}) {
    if (!s) continue;
    asio::post(s->get_executor(), [s] {
      boost::system::error_code ec;
      s->close(ec);
    });
  }
  std::vector<std::shared_ptr<ServerSession>> live;
  {
    std::lock_guard lk(sessions_mu_);
    for (auto& [p, w] : live_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->kick();
}

namespace {

// Answers the first request of a connection refused by the limits with 453 (as for limits.max_streams; RTSP has
// no status for "too many connections"), then closes it, within a second or two. Answers under way are capped.
constexpr size_t kMaxRefusing = 64;
namespace beast = boost::beast;

asio::awaitable<void> refuse(tcp::socket socket, std::shared_ptr<std::atomic<size_t>> refusing) {
  struct Count {
    std::atomic<size_t>& n;
    ~Count() { --n; }
  } count{*refusing};
  beast::tcp_stream stream(std::move(socket));
  std::array<char, 4096> buf;
  size_t used = 0;
  stream.expires_after(1s);
  std::optional<rtsp::Response> res;
  while (!res && used < buf.size()) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf.data() + used, buf.size() - used),
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    used += n;
    auto r = rtsp::parse_next(std::string_view(buf.data(), used));
    if (auto* req = r.request()) res = rtsp::Response::to(*req, 453);
    else if (auto* err = r.error()) res = rtsp::Response::to(*err);
  }
  if (!res) co_return;
  res->headers.set("Server", "streamgate/" SG_VERSION);
  auto text = res->serialize();
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(text), asio::as_tuple(asio::use_awaitable));
  if (wec) co_return;
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  for (;;) {  // until the client closes (or the second is up)
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) break;
  }
}

}  // namespace

asio::awaitable<void> RtspServer::accept_loop(tcp::acceptor& acceptor, net::TlsContext* tls) {
  net::AcceptBackoff backoff(tls ? "RTSPS" : "RTSP");
  for (;;) {
    size_t worker = pool_.next();
    auto [ec, socket] = co_await acceptor.async_accept(pool_.context(worker), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      co_await backoff.failed(ec);
      continue;
    }
    backoff.succeeded();
    net::ConnectionLimiter::Slot slot;
    if (limiter_) {
      boost::system::error_code rec;
      auto admission = limiter_->admit(socket.remote_endpoint(rec).address());
      if (!admission.slot) {
        // RTSPS: closed without an answer (a plain-text one would be garbage to the client's TLS layer).
        if (!tls && refusing_->fetch_add(1) < kMaxRefusing)
          asio::post(pool_.context(worker), [this, worker, socket = std::move(socket)]() mutable {
            asio::co_spawn(pool_.context(worker), refuse(std::move(socket), refusing_), asio::detached);
          });
        else if (!tls)
          --*refusing_;
        continue;
      }
      slot = std::move(admission.slot);
    }
    socket.set_option(tcp::no_delay(true), ec);
    // The session is created on its worker, so its memory comes from that worker's arena (net/worker_pool.hpp).
    net::hand_off(pool_.handoff(), pool_.context(worker), [this, worker, socket = std::move(socket),
                                                           slot = std::move(slot),
                                                           tls_ctx = tls ? tls->current() : nullptr]() mutable {
      auto session = std::make_shared<ServerSession>(
          *this, tls_ctx ? net::Connection(std::move(socket), std::move(tls_ctx)) : net::Connection(std::move(socket)),
          worker);
      session->hold(std::move(slot));
      {
        std::lock_guard lk(sessions_mu_);
        if (stopped_.load(std::memory_order_acquire)) return;  // stopped since the accept: the connection closes
        live_[session.get()] = session;
      }
      asio::co_spawn(pool_.context(worker), [this, session]() -> asio::awaitable<void> {
        co_await session->run();
        std::lock_guard lk(sessions_mu_);
        live_.erase(session.get());
      }, asio::detached);
    });
  }
}

asio::awaitable<void> RtspServer::udp_loop(udp::socket& socket, bool rtcp) {
  constexpr size_t kSize = 65536;
  std::unique_ptr<std::byte[]> buf(new std::byte[kSize]);  // not zero-filled: no resident pages until used
  udp::endpoint from;
  log::RateLimit unknown_log;
  for (;;) {
    auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf.get(), kSize), from,
                                                      asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !socket.is_open()) co_return;
    if (ec) continue;
    std::lock_guard lk(udp_mu_);
    auto it = udp_targets_.find(from);
    if (it == udp_targets_.end()) {
      udp_unknown_.fetch_add(1, std::memory_order_relaxed);
      if (unknown_log.allow())
        log::debug("RTSP UDP packet from unknown sender dropped",
                   {{"remote", from.address().to_string() + ":" + std::to_string(from.port())}});
      continue;
    }
    if (auto s = it->second.session.lock()) s->on_udp(it->second.track, rtcp || it->second.rtcp, Bytes(buf.get(), n));
  }
}

void RtspServer::register_udp(const udp::endpoint& from, UdpTarget target) {
  std::lock_guard lk(udp_mu_);
  udp_targets_[from] = std::move(target);
}

void RtspServer::unregister_udp(const ServerSession* session) {
  std::lock_guard lk(udp_mu_);
  for (auto it = udp_targets_.begin(); it != udp_targets_.end();) {
    auto s = it->second.session.lock();
    if (!s || s.get() == session)
      it = udp_targets_.erase(it);
    else
      ++it;
  }
}

void RtspServer::write_metrics(std::string& out) const {
  write_metric(out, "streamgate_rtsp_sessions", "gauge", "RTSP connections open.", sessions_.load());
  write_metric(out, "streamgate_rtsp_bad_requests_total", "counter", "Malformed RTSP requests answered with an error.",
               bad_requests_.load());
  write_metric(out, "streamgate_rtsp_udp_send_drops_total", "counter",
               "RTP packets not sent to UDP readers (socket buffer full).", udp_send_drops_.load());
  write_metric(out, "streamgate_rtsp_udp_unknown_total", "counter", "UDP packets from senders without a session.",
               udp_unknown_.load());
  write_metric(out, "streamgate_rtsp_stalled_peers_total", "counter",
               "RTSP connections reset because they accepted no byte for reader_timeout (the peer stopped reading).",
               stalled_peers_.load());
}

}  // namespace sg::rtsp_session
