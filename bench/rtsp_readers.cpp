// rtsp_readers: N concurrent RTSP readers of one URL, for load tests of any RTSP server (streamgate, MediaMTX,
// GStreamer rtsp-server, cameras). Each reader does OPTIONS, DESCRIBE, SETUP of every track (TCP interleaved or UDP
// client ports), PLAY, counts RTP packets, bytes and sequence gaps, keeps the session alive (RTCP receiver reports
// every 5 s, GET_PARAMETER or OPTIONS at half the session timeout) and sends TEARDOWN at the end.
//
//   rtsp_readers --url rtsp://host:port/path --readers N --duration SECONDS [--transport tcp|udp] [--ramp-ms 5]
//                [--min-packets K] [--threads T] [--exact-every E] [--timeout SECONDS] [--json] [--verbose]
//
// Exit status: 0 when every reader got at least K RTP packets, 1 otherwise, 2 on bad arguments.
// Hot path: one fixed receive buffer per connection (TCP) or per socket (UDP), frames parsed in place with
// rtsp::parse_next and rtp::RtpPacket::parse; nothing is allocated per packet.
//
// Latency: when an RTP packet carries an RFC 8285 header extension element with id 1 of 8 bytes (rtsp_publishers
// puts its steady_clock send time in ns there, `a=extmap:1 urn:streamgate:send-time`), now - that time goes into a
// per-thread histogram (10 us buckets up to 1 s); p50/p99/p999 are reported when any packet carried it. Packets
// sent before this reader's PLAY (a server's GOP cache replayed at the start) are not counted. Only meaningful when
// the publisher runs on the same machine (one CLOCK_MONOTONIC).
// Two arrival times are recorded (TCP): when the packet reached this reader's socket (the kernel's receive timestamp,
// SO_TIMESTAMPNS, of the last segment of the read that completed it: never earlier than the truth) -- the server's
// forwarding latency -- and when this tool parsed it ("app"), which adds the tool's own queueing: one thread
// reads its readers one after another, so with 1000 readers the last waits for the other 999 reads.
// When the tool falls behind, one read can take the end of a unit and the start of the next (a later segment), and
// the first unit's packets then get the later arrival time. So every E-th reader (--exact-every, default 20; 0:
// none; TCP) reads one unit at a time: it peeks at what is queued, finds the end of the first RTP packet with the
// marker bit set (a unit's last packet; the server writes a unit with one send), and reads up to there, so each
// packet's time is that of its own unit's segment. Their samples are also reported on their own ("exact"): two
// reads per unit instead of one, on a twentieth of the readers.
#include <sys/socket.h>
#include <time.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/sequence_tracker.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/message.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "sdp/sdp.hpp"
#include "tool_support.hpp"

namespace {

using sg::bench::json_escape;
using sg::bench::LatencyHistogram;
using sg::bench::percentile;
using sg::bench::recv_with_control;

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Config {
  std::string url_text;
  sg::rtsp::Url url;
  std::string request_url;  // the URL without credentials
  tcp::endpoint server;
  size_t readers = 1;
  double duration_s = 10;
  bool udp = false;
  double ramp_ms = 5;
  uint64_t min_packets = 1;
  size_t threads = 1;
  size_t exact_every = 20;  // every E-th reader reads one unit at a time (TCP); 0: none
  double timeout_s = 10;  // per RTSP request (and for the connect)
  bool json = false;
  bool verbose = false;
  Clock::time_point start;
  Clock::time_point end;
};

// Payload-format knowledge needed to tell whether a reader's first video packet starts a decodable picture.
enum class VideoCodec { None, H264, H265 };

struct TrackState {
  std::string control_url;
  VideoCodec video = VideoCodec::None;
  uint8_t rtp_channel = 0;  // TCP: interleaved channel of RTP (RTCP is rtp_channel + 1 unless the server says other)
  uint16_t server_rtcp_port = 0;
  sg::rtp::SequenceTracker seq{1};
  bool have_ssrc = false;
  uint32_t ssrc = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t lost_before_reset = 0;  // loss of earlier SSRCs of this track
  // UDP sockets (unused over TCP).
  std::unique_ptr<udp::socket> rtp_socket;
  std::unique_ptr<udp::socket> rtcp_socket;
};

struct ReaderResult {
  bool played = false;  // PLAY answered 2xx
  bool teardown_ok = false;
  std::string error;    // why the reader stopped early (empty: ran to the end)
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t lost = 0;
  uint64_t invalid = 0;  // frames on an RTP channel/port that are not RTP
  uint64_t rtcp = 0;
  bool first_video_keyframe = true;  // false: the first video access unit held no keyframe/parameter set
  double seconds = 0;                // from PLAY's answer to the end
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// True when `payload` (RTP payload of H.264/H.265) starts or carries an IDR/IRAP picture or a parameter set.
bool starts_keyframe(VideoCodec codec, sg::Bytes p) {
  if (p.empty()) return false;
  if (codec == VideoCodec::H264) {
    uint8_t type = sg::u8(p, 0) & 0x1f;
    if (type == 28 && p.size() > 1) type = sg::u8(p, 1) & 0x1f;  // FU-A: the fragmented NAL's type
    if (type == 24) return true;                                 // STAP-A: parameter sets in practice
    return type == 5 || type == 7 || type == 8;
  }
  if (codec == VideoCodec::H265) {
    if (p.size() < 2) return false;
    uint8_t type = (sg::u8(p, 0) >> 1) & 0x3f;
    if (type == 49 && p.size() > 2) type = sg::u8(p, 2) & 0x3f;  // FU
    if (type == 48) return true;                                 // AP
    return (type >= 16 && type <= 21) || (type >= 32 && type <= 34);
  }
  return true;
}

constexpr uint8_t kSendTimeExtId = 1;
int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

// CLOCK_REALTIME - CLOCK_MONOTONIC (steady_clock), to put the kernel's receive timestamps (realtime) on the
// publisher's clock: the smallest of a few samples' brackets, so the error is well under the 10 us buckets.
int64_t realtime_minus_monotonic() {
  int64_t best = 0, best_gap = INT64_MAX;
  for (int i = 0; i < 16; ++i) {
    timespec a{}, r{}, b{};
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
    int64_t gap = ns(b) - ns(a);
    if (gap < best_gap) {
      best_gap = gap;
      best = ns(r) - (ns(a) + gap / 2);
    }
  }
  return best;
}
const int64_t g_realtime_offset_ns = realtime_minus_monotonic();

uint16_t g_port_seed = 0;
std::atomic<uint32_t> g_port_next{0};

class Reader {
 public:
  Reader(asio::io_context& io, const Config& cfg, size_t index, ReaderResult& result, LatencyHistogram& latency,
         LatencyHistogram& app_latency, LatencyHistogram& exact_latency)
      : io_(io),
        cfg_(cfg),
        index_(index),
        result_(result),
        latency_(latency),
        app_latency_(app_latency),
        exact_latency_(exact_latency),
        exact_(!cfg.udp && cfg.exact_every > 0 && index % cfg.exact_every == 0),
        socket_(io),
        timer_(io),
        buf_(192 * 1024) {
    chan_to_track_.fill(-1);
  }

  awaitable<void> run() {
    co_await handshake_and_stream();
    for (auto& t : tracks_) {
      result_.packets += t.packets;
      result_.bytes += t.bytes;
      result_.lost += t.lost_before_reset + static_cast<uint64_t>(std::max<int64_t>(0, t.seq.lost()));
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
    for (auto& t : tracks_) {
      if (t.rtp_socket) t.rtp_socket->close(ignored);
      if (t.rtcp_socket) t.rtcp_socket->close(ignored);
    }
    timer_.cancel();
  }

 private:
  void log(const std::string& what) {
    if (cfg_.verbose && index_ == 0) std::fprintf(stderr, "[reader 0] %s\n", what.c_str());
  }
  void fail(std::string why) {
    if (result_.error.empty()) result_.error = std::move(why);
  }

  // The watchdog: when it fires, pending socket operations are cancelled and the coroutine looks at the clock.
  void arm(Clock::time_point at) {
    fired_ = false;
    timer_.expires_at(at);
    timer_.async_wait([this, gen = ++timer_gen_](boost::system::error_code ec) {
      if (ec || gen != timer_gen_) return;
      fired_ = true;
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      if (Clock::now() >= cfg_.end) {
        stopping_ = true;
        for (auto& t : tracks_) {
          if (t.rtp_socket) t.rtp_socket->cancel(ignored);
          if (t.rtcp_socket) t.rtcp_socket->cancel(ignored);
        }
      }
    });
  }
  void arm_request() {
    arm(Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(cfg_.timeout_s * 1000)));
  }

  awaitable<void> handshake_and_stream() {
    arm_request();
    auto [cec] = co_await socket_.async_connect(cfg_.server, kTuple);
    if (cec) {
      fail("connect: " + cec.message());
      co_return;
    }
    socket_.set_option(tcp::no_delay(true));
    int on = 1;  // the kernel's receive time of each read (for the latency at the socket)
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);

    auto options = co_await request("OPTIONS", cfg_.request_url);
    if (!options) co_return;
    if (auto pub = options->headers.find("Public")) {
      for (auto& m : sg::rtsp::parse_public(*pub)) {
        if (m == "GET_PARAMETER") keepalive_method_ = "GET_PARAMETER";
      }
    }

    sg::rtsp::Headers describe_headers;
    describe_headers.set("Accept", "application/sdp");
    auto describe = co_await request("DESCRIBE", cfg_.request_url, std::move(describe_headers));
    if (!describe) co_return;
    auto sdp = sg::sdp::parse(describe->body);
    if (!sdp) {
      fail("DESCRIBE: bad SDP: " + sdp.error());
      co_return;
    }
    std::string base = cfg_.request_url;
    if (auto cb = describe->headers.find("Content-Base")) base = std::string(*cb);
    else if (auto cl = describe->headers.find("Content-Location")) base = std::string(*cl);

    tracks_.reserve(sdp->media.size());
    for (auto& m : sdp->media) {
      // Port 0 is usual in RTSP (RFC 2326 C.1: the port is chosen in SETUP), so only the protocol decides.
      if (m.proto.find("RTP/") == std::string::npos) continue;
      TrackState& t = tracks_.emplace_back();
      t.control_url = sg::rtsp::resolve_control(base, m.control().value_or(""));
      if (m.type == "video" && !m.payload_types().empty()) {
        if (auto map = m.rtpmap(m.payload_types().front())) {
          auto enc = lower(map->encoding);
          if (enc == "h264") t.video = VideoCodec::H264;
          else if (enc == "h265") t.video = VideoCodec::H265;
        }
      }
    }
    if (tracks_.empty()) {
      fail("DESCRIBE: no RTP media in the SDP");
      co_return;
    }

    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (!co_await setup(i)) co_return;
    }

    sg::rtsp::Headers play_headers;
    play_headers.set("Range", "npt=0.000-");
    auto session_url = sg::rtsp::resolve_control(base, sdp->control().value_or("*"));
    play_sent_ns_ = now_ns();
    auto play = co_await request("PLAY", session_url, std::move(play_headers));
    if (!play) co_return;
    result_.played = true;
    auto played_at = Clock::now();

    if (cfg_.udp) {
      for (size_t i = 0; i < tracks_.size(); ++i) {
        asio::co_spawn(io_, receive_udp(i, true), asio::detached);
        asio::co_spawn(io_, receive_udp(i, false), asio::detached);
      }
    }
    co_await stream();
    result_.seconds = std::chrono::duration<double>(Clock::now() - played_at).count();

    // TEARDOWN unless the connection is gone.
    if (socket_.is_open() && read_ok_) {
      auto td = co_await request("TEARDOWN", session_url, {}, /*report=*/false);
      result_.teardown_ok = td.has_value();
    }
  }

  awaitable<bool> setup(size_t i) {
    TrackState& t = tracks_[i];
    sg::rtsp::TransportSpec spec;
    spec.lower = cfg_.udp ? sg::rtsp::LowerTransport::Udp : sg::rtsp::LowerTransport::Tcp;
    if (cfg_.udp) {
      auto port = bind_udp_pair(t);
      if (!port) {
        fail("no free UDP port pair");
        co_return false;
      }
      spec.client_port = sg::rtsp::PortRange{*port, static_cast<uint16_t>(*port + 1)};
    } else {
      spec.interleaved = sg::rtsp::PortRange{static_cast<uint16_t>(2 * i), static_cast<uint16_t>(2 * i + 1)};
    }
    sg::rtsp::Headers h;
    h.set("Transport", spec.to_string());
    auto resp = co_await request("SETUP", t.control_url, std::move(h));
    if (!resp) co_return false;
    if (session_id_.empty()) {
      auto s = resp->headers.find("Session");
      if (!s) {
        fail("SETUP: no Session header in the answer");
        co_return false;
      }
      auto parsed = sg::rtsp::parse_session(*s);
      if (!parsed) {
        fail("SETUP: " + parsed.error());
        co_return false;
      }
      session_id_ = parsed->id;
      if (parsed->timeout && *parsed->timeout > 0) session_timeout_s_ = *parsed->timeout;
    }
    auto tr = resp->headers.find("Transport");
    if (!tr) {
      fail("SETUP: no Transport header in the answer");
      co_return false;
    }
    auto specs = sg::rtsp::parse_transport(*tr);
    if (!specs || specs->empty()) {
      fail("SETUP: bad Transport answer '" + std::string(*tr) + "'");
      co_return false;
    }
    const auto& got = specs->front();
    if (cfg_.udp) {
      if (got.is_tcp()) {
        fail("SETUP: asked for UDP, server answered '" + std::string(*tr) + "'");
        co_return false;
      }
      if (got.server_port) t.server_rtcp_port = got.server_port->last;
    } else {
      if (!got.is_tcp() || !got.interleaved) {
        fail("SETUP: asked for TCP interleaved, server answered '" + std::string(*tr) + "'");
        co_return false;
      }
      t.rtp_channel = static_cast<uint8_t>(got.interleaved->first);
      chan_to_track_[t.rtp_channel] = static_cast<int16_t>(2 * i);
      uint16_t rtcp = got.interleaved->last != got.interleaved->first ? got.interleaved->last
                                                                      : static_cast<uint16_t>(got.interleaved->first + 1);
      if (rtcp < 256) chan_to_track_[rtcp] = static_cast<int16_t>(2 * i + 1);
    }
    co_return true;
  }

  // An even/odd pair of UDP ports on the loopback/any address; returns the RTP port.
  std::optional<uint16_t> bind_udp_pair(TrackState& t) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      uint32_t n = g_port_next.fetch_add(1);
      auto port = static_cast<uint16_t>(20000 + ((g_port_seed + 2 * n) % 40000));
      port &= 0xfffe;
      auto a = std::make_unique<udp::socket>(io_);
      auto b = std::make_unique<udp::socket>(io_);
      boost::system::error_code ec;
      a->open(udp::v4(), ec);
      b->open(udp::v4(), ec);
      if (ec) return std::nullopt;
      a->bind(udp::endpoint(udp::v4(), port), ec);
      if (ec) continue;
      b->bind(udp::endpoint(udp::v4(), static_cast<uint16_t>(port + 1)), ec);
      if (ec) continue;
      a->set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
      t.rtp_socket = std::move(a);
      t.rtcp_socket = std::move(b);
      return port;
    }
    return std::nullopt;
  }

  // Sends a request and reads until its answer, counting interleaved frames meanwhile. Answers 401 once when the
  // URL has credentials. nullopt (with the reason recorded when `report`) on any failure or non-2xx status.
  awaitable<std::optional<sg::rtsp::Response>> request(const std::string& method, const std::string& uri,
                                                       sg::rtsp::Headers headers = {}, bool report = true) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      sg::rtsp::Request req;
      req.method = method;
      req.uri = uri;
      req.headers = headers;
      req.set_cseq(++cseq_);
      req.headers.set("User-Agent", "streamgate-rtsp_readers");
      if (!session_id_.empty()) req.headers.set("Session", session_id_);
      if (auth_) req.headers.set("Authorization", auth_->authorization(method, uri));
      auto text = req.serialize();
      log(">>> " + text);
      arm_request();
      auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(text), kTuple);
      if (wec) {
        if (report) fail(method + ": write: " + wec.message());
        co_return std::nullopt;
      }
      auto resp = co_await pump(cseq_);
      if (!resp) {
        if (report) fail(method + ": " + (fired_ ? std::string("timeout waiting for the answer") : read_error_));
        co_return std::nullopt;
      }
      log("<<< " + resp->serialize());
      if (resp->status == 401 && attempt == 0 && cfg_.url.has_credentials) {
        auto values = resp->headers.get_all("WWW-Authenticate");
        auto ch = sg::rtsp::select_challenge(values);
        if (!ch) {
          if (report) fail(method + ": 401 with no usable challenge: " + ch.error());
          co_return std::nullopt;
        }
        auth_.emplace(*ch, cfg_.url.user, cfg_.url.password);
        continue;
      }
      if (resp->status < 200 || resp->status > 299) {
        if (report) fail(method + ": " + std::to_string(resp->status) + " " + resp->reason);
        co_return std::nullopt;
      }
      co_return resp;
    }
    co_return std::nullopt;
  }

  // Reads and dispatches messages and interleaved frames until the answer with `cseq` arrives (0: none wanted),
  // or reading fails (cancelled by the watchdog, closed, framing lost).
  awaitable<std::optional<sg::rtsp::Response>> pump(uint32_t cseq) {
    for (;;) {
      while (begin_ < end_) {
        auto r = sg::rtsp::parse_next(sg::Bytes(buf_.data() + begin_, end_ - begin_));
        if (r.need_more()) {
          begin_ += r.consumed;
          break;
        }
        if (auto* f = r.interleaved()) {
          on_frame(f->channel, f->payload);
        } else if (auto* resp = r.response()) {
          begin_ += r.consumed;
          if (cseq != 0 && resp->cseq() == cseq) co_return std::move(*resp);
          continue;
        } else if (auto* req = r.request()) {
          // A request from the server (RFC 2326 allows OPTIONS, ANNOUNCE, ...): we implement none.
          begin_ += r.consumed;
          auto answer = sg::rtsp::Response::to(*req, 501).serialize();
          auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(answer), kTuple);
          if (wec) {
            read_error_ = "write: " + wec.message();
            co_return std::nullopt;
          }
          continue;
        } else if (auto* e = r.error()) {
          if (r.consumed == 0) {
            read_error_ = "framing lost: " + e->reason;
            read_ok_ = false;
            co_return std::nullopt;
          }
        }
        begin_ += r.consumed;
      }
      if (begin_ == end_) {
        begin_ = end_ = 0;
      } else if (buf_.size() - end_ < 16 * 1024) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buf_.size()) {
        read_error_ = "receive buffer full (message too large)";
        read_ok_ = false;
        co_return std::nullopt;
      }
      if (fired_) {  // the watchdog fired while no read was pending: its cancel() had nothing to cancel
        read_error_ = "timeout";
        co_return std::nullopt;
      }
      auto [ec, n] = co_await read_stamped(asio::buffer(buf_.data() + end_, buf_.size() - end_), exact_ && streaming_);
      if (ec) {
        if (ec != asio::error::operation_aborted) read_ok_ = false;
        read_error_ = ec == asio::error::eof ? "connection closed by the server" : ec.message();
        co_return std::nullopt;
      }
      end_ += n;
    }
  }

  // async_read_some, with the kernel's receive timestamp of the read kept in rx_ns_ (steady_clock ns; 0 if none).
  // After a read that did not fill the buffer the socket was empty: wait for readiness before the next recvmsg
  // instead of trying one that would fail with EAGAIN (one syscall fewer per unit per reader, which on this box is
  // CPU the server's workers then have). Safe with Asio's edge-triggered epoll on a one-thread io_context: data
  // arriving after that read raises a new event, and the reactor polls only after this wait is registered.
  // one_unit: read no further than the end of the first unit queued (see the header), after a peek at the queue.
  awaitable<std::tuple<boost::system::error_code, size_t>> read_stamped(asio::mutable_buffer into, bool one_unit) {
    if (drained_) {
      drained_ = false;
      auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kTuple);
      if (ec) co_return std::tuple{ec, size_t{0}};
    }
    for (;;) {
      size_t size = into.size();
      bool takes_all = false;  // this read empties the socket
      if (one_unit) {
        const ssize_t queued = ::recv(socket_.native_handle(), into.data(), into.size(), MSG_PEEK | MSG_DONTWAIT);
        if (queued > 0) {
          size = first_unit_end(static_cast<size_t>(queued));
          takes_all = size == static_cast<size_t>(queued) && size < into.size();
        }
      }
      std::optional<timespec> stamp;
      ssize_t n = recv_with_control(socket_.native_handle(), into.data(), size, SOL_SOCKET, SCM_TIMESTAMPNS, stamp);
      if (n > 0) {
        rx_ns_ = stamp ? int64_t{stamp->tv_sec} * 1'000'000'000 + stamp->tv_nsec - g_realtime_offset_ns : 0;
        drained_ = one_unit ? takes_all : static_cast<size_t>(n) < into.size();
        co_return std::tuple{boost::system::error_code{}, static_cast<size_t>(n)};
      }
      if (n == 0) co_return std::tuple{boost::system::error_code{asio::error::eof}, size_t{0}};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        co_return std::tuple{boost::system::error_code(errno, boost::system::system_category()), size_t{0}};
      auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kTuple);
      if (ec) co_return std::tuple{ec, size_t{0}};
    }
  }

  // With `queued` bytes peeked at buf_[end_]: how many of them reach the end of the first complete interleaved RTP
  // packet with the marker bit set (all of them when there is none, or when the data is not interleaved frames).
  // Frames ending before end_ were parsed already, so one found here ends after it.
  size_t first_unit_end(size_t queued) const {
    const size_t limit = end_ + queued;
    size_t pos = begin_;
    while (pos + 4 <= limit && buf_[pos] == std::byte{'$'}) {
      const size_t frame_end = pos + 4 + sg::be16(sg::Bytes(buf_.data() + pos, 4), 2);
      if (frame_end > limit) break;
      const int16_t slot = chan_to_track_[sg::u8(sg::Bytes(buf_.data() + pos, 4), 1)];
      const bool rtp = slot >= 0 && slot % 2 == 0;
      if (rtp && frame_end >= pos + 6 && (sg::u8(sg::Bytes(buf_.data() + pos + 5, 1), 0) & 0x80) != 0)
        return frame_end - end_;
      pos = frame_end;
    }
    return queued;
  }

  void on_frame(uint8_t channel, sg::Bytes payload) {
    int16_t slot = chan_to_track_[channel];
    if (slot < 0) {
      ++result_.invalid;
      return;
    }
    if (slot % 2 == 1) {
      ++result_.rtcp;
      return;
    }
    on_rtp(tracks_[static_cast<size_t>(slot / 2)], payload);
  }

  void on_rtp(TrackState& t, sg::Bytes data) {
    auto p = sg::rtp::RtpPacket::parse(data);
    if (!p) {
      ++result_.invalid;
      return;
    }
    if (!t.have_ssrc || p->ssrc() != t.ssrc) {
      if (t.have_ssrc) t.lost_before_reset += static_cast<uint64_t>(std::max<int64_t>(0, t.seq.lost()));
      t.seq = sg::rtp::SequenceTracker{1};
      t.have_ssrc = true;
      t.ssrc = p->ssrc();
    }
    // The first video access unit (all packets with the first video timestamp) must carry an IDR/IRAP picture or
    // parameter sets. It may begin with other NAL units (x264's first IDR starts with an SEI).
    if (t.video != VideoCodec::None && !video_decided_) {
      if (!video_seen_) {
        video_seen_ = true;
        first_video_ts_ = p->timestamp();
        result_.first_video_keyframe = false;
      }
      if (p->timestamp() == first_video_ts_) {
        if (starts_keyframe(t.video, p->payload())) result_.first_video_keyframe = true;
      } else {
        video_decided_ = true;
      }
    }
    if (p->has_extension()) {
      if (auto sent = p->extension_element(kSendTimeExtId); sent && sent->size() == 8) {
        auto sent_ns = static_cast<int64_t>(sg::be64(*sent, 0));
        if (sent_ns >= play_sent_ns_) {
          const int64_t now = now_ns();
          app_latency_.add(now - sent_ns);
          // UDP (no socket timestamp here) and reads without one count the time of parsing.
          // (rx_ns_ is the control connection's over UDP: not this packet's.)
          const int64_t rx = cfg_.udp ? 0 : rx_ns_;
          const int64_t at_socket = (rx != 0 ? std::min(rx, now) : now) - sent_ns;
          latency_.add(at_socket);
          if (exact_) exact_latency_.add(at_socket);
        }
      }
    }
    t.seq.update(p->sequence(), p->timestamp(), 0);
    ++t.packets;
    t.bytes += data.size();
  }

  awaitable<void> receive_udp(size_t i, bool rtp) {
    TrackState& t = tracks_[i];
    udp::socket& s = rtp ? *t.rtp_socket : *t.rtcp_socket;
    std::vector<std::byte> buf(rtp ? 65536 : 2048);
    while (!stopping_) {
      auto [ec, n] = co_await s.async_receive(asio::buffer(buf), kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !s.is_open()) co_return;
        continue;  // ICMP port unreachable and the like
      }
      if (rtp) on_rtp(t, sg::Bytes(buf.data(), n));
      else ++result_.rtcp;
    }
  }

  // The PLAY phase: read until the end, waking every 5 s for receiver reports and keep-alives.
  awaitable<void> stream() {
    streaming_ = true;
    auto next_report = Clock::now() + std::chrono::seconds(5);
    auto keepalive_every = std::chrono::seconds(std::max<uint32_t>(5, session_timeout_s_ / 2));
    auto next_keepalive = Clock::now() + keepalive_every;
    for (;;) {
      auto now = Clock::now();
      if (now >= cfg_.end) co_return;
      if (now >= next_report) {
        co_await send_receiver_reports();
        next_report = now + std::chrono::seconds(5);
      }
      if (now >= next_keepalive) {
        // Fire and forget: the answer is skipped by pump() (its CSeq is not awaited).
        sg::rtsp::Request req;
        req.method = keepalive_method_;
        req.uri = cfg_.request_url;
        req.set_cseq(++cseq_);
        req.headers.set("Session", session_id_);
        if (auth_) req.headers.set("Authorization", auth_->authorization(req.method, req.uri));
        auto text = req.serialize();
        auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(text), kTuple);
        if (wec) {
          fail("keep-alive: write: " + wec.message());
          co_return;
        }
        next_keepalive = now + keepalive_every;
      }
      arm(std::min({cfg_.end, next_report, next_keepalive}));
      auto r = co_await pump(0);
      (void)r;
      if (!fired_) {
        fail("during PLAY: " + read_error_);
        co_return;
      }
    }
  }

  awaitable<void> send_receiver_reports() {
    for (auto& t : tracks_) {
      if (!t.have_ssrc) continue;
      auto stats = t.seq.interval_report();
      sg::rtp::ReceiverReport rr;
      rr.ssrc = 0x52445200u + static_cast<uint32_t>(index_);
      sg::rtp::ReportBlock b;
      b.ssrc = t.ssrc;
      b.fraction_lost = stats.fraction_lost;
      b.cumulative_lost = stats.cumulative_lost;
      b.highest_sequence = stats.extended_highest;
      b.jitter = stats.jitter;
      rr.reports.push_back(b);
      report_.clear();
      if (!cfg_.udp) report_.resize(sg::rtsp::kInterleavedHeaderSize);
      sg::rtp::append_receiver_report(report_, rr);
      sg::rtp::append_sdes_cname(report_, rr.ssrc, "rtsp_readers");
      if (cfg_.udp) {
        if (t.server_rtcp_port == 0) continue;
        boost::system::error_code ec;
        udp::endpoint to(cfg_.server.address(), t.server_rtcp_port);
        t.rtcp_socket->send_to(asio::buffer(report_), to, 0, ec);  // non-blocking in practice: tiny datagram
      } else {
        auto size = static_cast<uint16_t>(report_.size() - sg::rtsp::kInterleavedHeaderSize);
        sg::rtsp::write_interleaved_header(std::span<std::byte, 4>(report_.data(), 4),
                                           static_cast<uint8_t>(t.rtp_channel + 1), size);
        auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(report_), kTuple);
        if (wec) co_return;
      }
    }
  }

  asio::io_context& io_;
  const Config& cfg_;
  size_t index_;
  ReaderResult& result_;
  LatencyHistogram& latency_;      // at the socket, shared by the readers of this thread
  LatencyHistogram& app_latency_;  // when parsed here
  LatencyHistogram& exact_latency_;  // at the socket, this thread's one-unit-per-read readers only
  const bool exact_;                 // this reader reads one unit at a time (see the header)
  bool streaming_ = false;           // in the PLAY phase (before it, reads are not limited)
  int64_t rx_ns_ = 0;              // the kernel's receive time of the last read (steady_clock ns), 0: none
  bool drained_ = false;           // the last read emptied the socket (see read_stamped)
  int64_t play_sent_ns_ = 0;   // steady_clock when PLAY was sent: earlier send times are cached replays
  tcp::socket socket_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  bool fired_ = false;
  bool stopping_ = false;
  bool read_ok_ = true;
  std::string read_error_;
  std::vector<std::byte> buf_;
  size_t begin_ = 0, end_ = 0;
  uint32_t cseq_ = 0;
  std::string session_id_;
  uint32_t session_timeout_s_ = 60;  // RFC 2326 12.37 default
  std::string keepalive_method_ = "OPTIONS";
  std::optional<sg::rtsp::ClientAuth> auth_;
  std::vector<TrackState> tracks_;
  std::array<int16_t, 256> chan_to_track_{};  // 2*track for RTP, 2*track+1 for RTCP, -1 unknown
  bool video_seen_ = false;
  bool video_decided_ = false;
  uint32_t first_video_ts_ = 0;
  sg::ByteVector report_;
};

awaitable<void> start_reader(asio::io_context& io, Reader& r, Clock::time_point at) {
  asio::steady_timer t(io);
  t.expires_at(at);
  co_await t.async_wait(kTuple);
  co_await r.run();
}

void usage() {
  std::fprintf(stderr,
               "usage: rtsp_readers --url rtsp://host:port/path [--readers N] [--duration SECONDS]\n"
               "                    [--transport tcp|udp] [--ramp-ms MS] [--min-packets K] [--threads T]\n"
               "                    [--exact-every E]\n"
               "                    [--timeout SECONDS] [--json] [--verbose]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string transport = "tcp";
  if (int rc = sg::bench::parse_args(
          argc, argv,
          {{"--url", [&](const std::string& v) { cfg.url_text = v; }},
           {"--readers", [&](const std::string& v) { cfg.readers = std::stoul(v); }},
           {"--duration", [&](const std::string& v) { cfg.duration_s = std::stod(v); }},
           {"--transport", [&](const std::string& v) { transport = v; }},
           {"--ramp-ms", [&](const std::string& v) { cfg.ramp_ms = std::stod(v); }},
           {"--min-packets", [&](const std::string& v) { cfg.min_packets = std::stoull(v); }},
           {"--threads", [&](const std::string& v) { cfg.threads = std::max<size_t>(1, std::stoul(v)); }},
           {"--exact-every", [&](const std::string& v) { cfg.exact_every = std::stoul(v); }},
           {"--timeout", [&](const std::string& v) { cfg.timeout_s = std::stod(v); }},
           {"--json", [&](const std::string&) { cfg.json = true; }, false},
           {"--verbose", [&](const std::string&) { cfg.verbose = true; }, false}},
          usage);
      rc >= 0)
    return rc;
  if (transport != "tcp" && transport != "udp") {
    usage();
    return 2;
  }
  cfg.udp = transport == "udp";
  if (cfg.url_text.empty() || cfg.readers == 0) {
    usage();
    return 2;
  }
  auto url = sg::rtsp::parse_url(cfg.url_text);
  if (!url || url->scheme != "rtsp") {
    std::fprintf(stderr, "bad URL '%s': %s\n", cfg.url_text.c_str(), url ? "only rtsp:// is supported" : url.error().c_str());
    return 2;
  }
  cfg.url = *url;
  cfg.request_url = url->to_string();
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(url->host, std::to_string(url->port), ec);
    if (ec || results.empty()) {
      std::fprintf(stderr, "cannot resolve %s: %s\n", url->host.c_str(), ec.message().c_str());
      return 2;
    }
    cfg.server = results.begin()->endpoint();
  }
  g_port_seed = static_cast<uint16_t>(std::random_device{}() % 20000 * 2);

  cfg.threads = std::min(cfg.threads, cfg.readers);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (size_t i = 0; i < cfg.threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::vector<ReaderResult> results(cfg.readers);
  std::vector<LatencyHistogram> latency(cfg.threads), app_latency(cfg.threads), exact_latency(cfg.threads);
  std::vector<std::unique_ptr<Reader>> readers;
  cfg.start = Clock::now();
  auto ramp = std::chrono::microseconds(static_cast<int64_t>(cfg.ramp_ms * 1000));
  cfg.end = cfg.start + ramp * static_cast<int64_t>(cfg.readers) +
            std::chrono::milliseconds(static_cast<int64_t>(cfg.duration_s * 1000));
  for (size_t i = 0; i < cfg.readers; ++i) {
    auto& io = *contexts[i % cfg.threads];
    readers.push_back(std::make_unique<Reader>(io, cfg, i, results[i], latency[i % cfg.threads],
                                               app_latency[i % cfg.threads], exact_latency[i % cfg.threads]));
    asio::co_spawn(io, start_reader(io, *readers.back(), cfg.start + ramp * static_cast<int64_t>(i)), asio::detached);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.threads; ++i) threads.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& t : threads) t.join();
  auto wall = std::chrono::duration<double>(Clock::now() - cfg.start).count();

  size_t played = 0, enough = 0, teardown = 0, not_key = 0;
  uint64_t lost = 0, invalid = 0, total_packets = 0, total_bytes = 0;
  std::vector<uint64_t> packets;
  std::vector<double> kbps;
  std::map<std::string, size_t> errors;
  for (auto& r : results) {
    played += r.played;
    teardown += r.teardown_ok;
    enough += r.packets >= cfg.min_packets;
    lost += r.lost;
    invalid += r.invalid;
    total_packets += r.packets;
    total_bytes += r.bytes;
    if (r.played && !r.first_video_keyframe) ++not_key;
    packets.push_back(r.packets);
    kbps.push_back(r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / 1000 / r.seconds : 0);
    if (!r.error.empty()) ++errors[r.error];
  }
  bool ok = enough == cfg.readers;
  for (size_t i = 1; i < latency.size(); ++i) {
    latency[0].merge(latency[i]);
    app_latency[0].merge(app_latency[i]);
    exact_latency[0].merge(exact_latency[i]);
  }
  const LatencyHistogram& lat = latency[0];
  const LatencyHistogram& app = app_latency[0];
  const LatencyHistogram& exact = exact_latency[0];
  const size_t exact_readers =
      cfg.udp || cfg.exact_every == 0 ? 0 : (cfg.readers + cfg.exact_every - 1) / cfg.exact_every;
  if (cfg.json) {
    std::printf(
        "{\"url\":\"%s\",\"transport\":\"%s\",\"readers\":%zu,\"connected\":%zu,\"ok\":%zu,\"min_packets\":%llu,"
        "\"teardown_ok\":%zu,\"packets\":{\"min\":%llu,\"median\":%llu,\"max\":%llu,\"total\":%llu},"
        "\"kbps\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},\"bytes_total\":%llu,\"lost\":%llu,\"invalid\":%llu,"
        "\"not_keyframe_start\":%zu,\"seconds\":%.3f,\"errors\":{",
        json_escape(cfg.request_url).c_str(), cfg.udp ? "udp" : "tcp", cfg.readers, played, enough,
        static_cast<unsigned long long>(cfg.min_packets), teardown,
        static_cast<unsigned long long>(percentile(packets, 0)), static_cast<unsigned long long>(percentile(packets, 0.5)),
        static_cast<unsigned long long>(percentile(packets, 1)), static_cast<unsigned long long>(total_packets),
        percentile(kbps, 0), percentile(kbps, 0.5), percentile(kbps, 1), static_cast<unsigned long long>(total_bytes),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(invalid), not_key, wall);
    bool first = true;
    for (auto& [e, n] : errors) {
      std::printf("%s\"%s\":%zu", first ? "" : ",", json_escape(e).c_str(), n);
      first = false;
    }
    std::printf("}");
    if (lat.samples > 0) {
      std::printf(",\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"samples\":%llu}", lat.quantile_us(0.5),
                  lat.quantile_us(0.99), lat.quantile_us(0.999), static_cast<unsigned long long>(lat.samples));
      std::printf(",\"app_latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f}", app.quantile_us(0.5),
                  app.quantile_us(0.99), app.quantile_us(0.999));
    }
    if (exact.samples > 0) {
      std::printf(",\"exact_latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"samples\":%llu,\"readers\":%zu}",
                  exact.quantile_us(0.5), exact.quantile_us(0.99), exact.quantile_us(0.999),
                  static_cast<unsigned long long>(exact.samples), exact_readers);
    }
    std::printf("}\n");
  } else {
    std::printf("url %s over %s, %.1f s\n", cfg.request_url.c_str(), cfg.udp ? "UDP" : "TCP", wall);
    std::printf("readers: %zu requested, %zu playing, %zu got >= %llu packets, %zu torn down cleanly\n", cfg.readers,
                played, enough, static_cast<unsigned long long>(cfg.min_packets), teardown);
    std::printf("packets/reader: min %llu  median %llu  max %llu  (total %llu)\n",
                static_cast<unsigned long long>(percentile(packets, 0)),
                static_cast<unsigned long long>(percentile(packets, 0.5)),
                static_cast<unsigned long long>(percentile(packets, 1)), static_cast<unsigned long long>(total_packets));
    std::printf("kbit/s/reader: min %.1f  median %.1f  max %.1f\n", percentile(kbps, 0), percentile(kbps, 0.5),
                percentile(kbps, 1));
    std::printf("lost packets (sequence gaps): %llu, invalid frames: %llu, readers not starting at a keyframe: %zu\n",
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(invalid), not_key);
    if (lat.samples > 0) {
      std::printf("latency at the socket (send-time extension, 10 us buckets): p50 %.0f us  p99 %.0f us  p999 %.0f us"
                  "  (%llu samples)\n",
                  lat.quantile_us(0.5), lat.quantile_us(0.99), lat.quantile_us(0.999),
                  static_cast<unsigned long long>(lat.samples));
      std::printf("latency when parsed by this tool: p50 %.0f us  p99 %.0f us  p999 %.0f us\n", app.quantile_us(0.5),
                  app.quantile_us(0.99), app.quantile_us(0.999));
    }
    if (exact.samples > 0) {
      std::printf(
          "latency at the socket, one unit per read (%zu readers): p50 %.0f us  p99 %.0f us  p999 %.0f us"
          "  (%llu samples)\n",
          exact_readers, exact.quantile_us(0.5), exact.quantile_us(0.99), exact.quantile_us(0.999),
          static_cast<unsigned long long>(exact.samples));
    }
    for (auto& [e, n] : errors) std::printf("error x%zu: %s\n", n, e.c_str());
  }
  return ok ? 0 : 1;
}
