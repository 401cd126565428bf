// rtsp_publishers: N concurrent RTSP publishers of a real H.264 stream, for ingest load tests of any RTSP server
// (streamgate, MediaMTX, GStreamer rtsp-server). Publisher i publishes to `<url path><i>` (with N = 1: the URL's
// path itself) over RTSP/TCP interleaved: OPTIONS, ANNOUNCE (SDP with one H.264 track), SETUP (interleaved 0-1,
// mode=record), RECORD, then paced RTP at the given bitrate and frame rate until the end, then TEARDOWN.
//
//   rtsp_publishers --url rtsp://host:port/path --publishers N --duration SECONDS [--bitrate BITS_PER_S]
//                   [--fps F] [--ramp-ms 5] [--threads T] [--timeout SECONDS] [--json] [--verbose]
//
// Media: the 30 pictures of bench/h264_clip.hpp (320x240, one closed GOP) looped with increasing RTP timestamps,
// an IDR picture (with SPS and PPS in front) every second, padded to the bitrate with filler NAL units (type 12),
// FU-A at 1400 bytes. Every RTP packet carries an RFC 8285 one-byte header extension, id 1, 8 bytes: the sender's
// steady_clock (CLOCK_MONOTONIC) time in ns at send, declared as `a=extmap:1 urn:streamgate:send-time`;
// rtsp_readers turns it into forwarding latency.
//
// Exit status: 0 when every publisher got RECORD answered and sent until the end, 1 otherwise, 2 on bad arguments.
// Hot path: the packets of one GOP are built once at startup and shared; each publisher copies a frame's packets
// into its own fixed send buffer, fills in sequence, timestamp and send time, and writes them with one write.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "h264_clip.hpp"
#include "codec/rtp_h264.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/message.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "tool_support.hpp"

namespace {

using sg::bench::json_escape;
using sg::bench::percentile;

namespace asio = boost::asio;
namespace clip = sg::bench::h264_clip;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr uint8_t kPayloadType = 96;
constexpr size_t kMaxPayload = 1400;
constexpr uint8_t kSendTimeExtId = 1;
// 4-byte extension header (0xBEDE, length 3 words) + element header + 8 bytes + 3 bytes padding.
constexpr size_t kExtensionSize = 16;
constexpr size_t kPacketOverhead = sg::rtsp::kInterleavedHeaderSize + sg::rtp::kFixedHeaderSize + kExtensionSize;

struct Config {
  std::string url_text;
  sg::rtsp::Url url;
  std::string request_url;  // the URL without credentials
  tcp::endpoint server;
  size_t publishers = 1;
  double duration_s = 10;
  uint64_t bitrate = 1'000'000;  // H.264 bits per second (NAL units, without RTP/RTSP overhead)
  int fps = 30;
  double ramp_ms = 5;
  size_t threads = 1;
  double timeout_s = 10;  // per RTSP request, for the connect and for one frame's write
  bool json = false;
  bool verbose = false;
  Clock::time_point start;
  Clock::time_point end;
};

// One second of video (fps frames), packetized once for all publishers.
struct Packet {
  sg::ByteVector payload;
  bool marker = false;
};
struct Frame {
  std::vector<Packet> packets;
  size_t wire_size = 0;  // interleaved frames of all packets
};
struct Gop {
  std::vector<Frame> frames;
  size_t max_wire = 0;
  uint64_t nal_bytes = 0;  // H.264 bytes per GOP (one second)
};

sg::Bytes clip_frame(size_t i) {
  return sg::Bytes(reinterpret_cast<const std::byte*>(clip::kFrameData) + clip::kFrameOffset[i],
                   clip::kFrameOffset[i + 1] - clip::kFrameOffset[i]);
}
sg::Bytes sps() { return sg::Bytes(reinterpret_cast<const std::byte*>(clip::kSps), sizeof clip::kSps); }
sg::Bytes pps() { return sg::Bytes(reinterpret_cast<const std::byte*>(clip::kPps), sizeof clip::kPps); }

// Frame k of the GOP: the IDR picture (k = 0) or a P picture of the clip, repeated when fps > the clip's frames.
size_t clip_index(int k) { return k == 0 ? 0 : 1 + static_cast<size_t>(k - 1) % (clip::kFrameCount - 1); }

std::optional<Gop> build_gop(const Config& cfg, std::string& error) {
  uint64_t natural = sps().size() + pps().size();
  for (int k = 0; k < cfg.fps; ++k) natural += clip_frame(clip_index(k)).size();
  uint64_t budget = cfg.bitrate / 8;
  // Filler per frame: a NAL unit of (header, 0xFF..., rbsp_trailing_bits 0x80), at least 2 bytes.
  uint64_t filler = budget > natural ? (budget - natural) / static_cast<uint64_t>(cfg.fps) : 0;
  if (filler < 2) filler = 0;
  sg::ByteVector filler_nal(filler, std::byte{0xff});
  if (filler) {
    filler_nal.front() = std::byte{12};
    filler_nal.back() = std::byte{0x80};
  }
  Gop gop;
  sg::codec::H264PacketizerOptions opts;
  opts.max_payload = kMaxPayload;
  for (int k = 0; k < cfg.fps; ++k) {
    std::vector<sg::Bytes> nalus;
    if (k == 0) {
      nalus.push_back(sps());
      nalus.push_back(pps());
    }
    nalus.push_back(clip_frame(clip_index(k)));
    if (filler) nalus.push_back(filler_nal);
    for (auto& n : nalus) gop.nal_bytes += n.size();
    auto payloads = sg::codec::packetize_h264(nalus, opts);
    if (!payloads) {
      error = "packetize_h264: " + payloads.error();
      return std::nullopt;
    }
    Frame f;
    for (auto& p : *payloads) {
      f.wire_size += kPacketOverhead + p.data.size();
      f.packets.push_back(Packet{std::move(p.data), p.marker});
    }
    gop.max_wire = std::max(gop.max_wire, f.wire_size);
    gop.frames.push_back(std::move(f));
  }
  return gop;
}

std::string build_sdp(const Config& cfg) {
  auto s = sps();
  char profile[7];
  std::snprintf(profile, sizeof profile, "%02X%02X%02X", sg::u8(s, 1), sg::u8(s, 2), sg::u8(s, 3));
  std::string host = cfg.server.address().is_v6() ? "IP6 ::1" : "IP4 127.0.0.1";
  std::string sdp;
  sdp += "v=0\r\n";
  sdp += "o=- 0 0 IN " + host + "\r\n";
  sdp += "s=rtsp_publishers\r\n";
  sdp += "c=IN " + std::string(cfg.server.address().is_v6() ? "IP6 ::" : "IP4 0.0.0.0") + "\r\n";
  sdp += "t=0 0\r\n";
  sdp += "m=video 0 RTP/AVP " + std::to_string(kPayloadType) + "\r\n";
  sdp += "a=rtpmap:" + std::to_string(kPayloadType) + " H264/90000\r\n";
  sdp += "a=fmtp:" + std::to_string(kPayloadType) + " packetization-mode=1;profile-level-id=" + profile +
         ";sprop-parameter-sets=" + sg::base64_encode(s) + "," + sg::base64_encode(pps()) + "\r\n";
  sdp += "a=extmap:" + std::to_string(kSendTimeExtId) + " urn:streamgate:send-time\r\n";
  sdp += "a=control:trackID=0\r\n";
  return sdp;
}

struct PublisherResult {
  bool recorded = false;  // RECORD answered 2xx
  bool teardown_ok = false;
  std::string error;      // why the publisher stopped early (empty: ran to the end)
  uint64_t frames = 0;
  uint64_t late_frames = 0;  // sent more than one frame interval after their time
  uint64_t packets = 0;
  uint64_t bytes = 0;  // RTP bytes (without the 4-byte interleaved headers)
  uint64_t rtcp = 0;   // interleaved frames received from the server
  double seconds = 0;  // from RECORD's answer to the end
};

class Publisher {
 public:
  Publisher(const Config& cfg, const Gop& gop, const std::string& sdp, size_t index, PublisherResult& result,
            asio::io_context& io)
      : cfg_(cfg),
        gop_(gop),
        sdp_(sdp),
        index_(index),
        result_(result),
        socket_(io),
        timer_(io),
        buf_(64 * 1024),
        out_(gop.max_wire) {
    url_ = cfg.publishers == 1 ? cfg.request_url : cfg.request_url + std::to_string(index);
    std::mt19937 rng(static_cast<uint32_t>(std::random_device{}()) ^ static_cast<uint32_t>(index * 2654435761u));
    ssrc_ = rng();
    seq_ = static_cast<uint16_t>(rng());
    ts_base_ = rng();
  }

  awaitable<void> run() {
    co_await handshake_and_stream();
    boost::system::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

 private:
  void log(const std::string& what) {
    if (cfg_.verbose && index_ == 0) std::fprintf(stderr, "[publisher 0] %s\n", what.c_str());
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
    });
  }
  Clock::duration timeout() const {
    return std::chrono::milliseconds(static_cast<int64_t>(cfg_.timeout_s * 1000));
  }

  awaitable<void> handshake_and_stream() {
    arm(Clock::now() + timeout());
    auto [cec] = co_await socket_.async_connect(cfg_.server, kTuple);
    if (cec) {
      fail("connect: " + cec.message());
      co_return;
    }
    socket_.set_option(tcp::no_delay(true));

    auto options = co_await request("OPTIONS", url_);
    if (!options) co_return;
    if (auto pub = options->headers.find("Public")) {
      for (auto& m : sg::rtsp::parse_public(*pub)) {
        if (m == "GET_PARAMETER") keepalive_method_ = "GET_PARAMETER";
      }
    }

    sg::rtsp::Headers announce_headers;
    announce_headers.set("Content-Type", "application/sdp");
    auto announce = co_await request("ANNOUNCE", url_, std::move(announce_headers), sdp_);
    if (!announce) co_return;

    sg::rtsp::TransportSpec spec;
    spec.lower = sg::rtsp::LowerTransport::Tcp;
    spec.interleaved = sg::rtsp::PortRange{0, 1};
    spec.mode = sg::rtsp::TransportMode::Record;
    sg::rtsp::Headers setup_headers;
    setup_headers.set("Transport", spec.to_string());
    auto setup = co_await request("SETUP", sg::rtsp::resolve_control(url_, "trackID=0"), std::move(setup_headers));
    if (!setup) co_return;
    auto s = setup->headers.find("Session");
    if (!s) {
      fail("SETUP: no Session header in the answer");
      co_return;
    }
    auto parsed = sg::rtsp::parse_session(*s);
    if (!parsed) {
      fail("SETUP: " + parsed.error());
      co_return;
    }
    session_id_ = parsed->id;
    if (parsed->timeout && *parsed->timeout > 0) session_timeout_s_ = *parsed->timeout;
    if (auto tr = setup->headers.find("Transport")) {
      auto specs = sg::rtsp::parse_transport(*tr);
      if (specs && !specs->empty() && specs->front().interleaved) {
        channel_ = static_cast<uint8_t>(specs->front().interleaved->first);
      } else if (!specs || specs->empty() || !specs->front().is_tcp()) {
        fail("SETUP: asked for TCP interleaved, server answered '" + std::string(*tr) + "'");
        co_return;
      }
    }

    sg::rtsp::Headers record_headers;
    record_headers.set("Range", "npt=0.000-");
    auto record = co_await request("RECORD", url_, std::move(record_headers));
    if (!record) co_return;
    result_.recorded = true;
    auto recorded_at = Clock::now();
    co_await stream();
    result_.seconds = std::chrono::duration<double>(Clock::now() - recorded_at).count();

    if (socket_.is_open() && read_ok_ && write_ok_) {
      auto td = co_await request("TEARDOWN", url_, {}, {}, /*report=*/false);
      result_.teardown_ok = td.has_value();
    }
  }

  // Sends a request and reads until its answer. Answers 401 once when the URL has credentials. nullopt (with the
  // reason recorded when `report`) on any failure or non-2xx status.
  awaitable<std::optional<sg::rtsp::Response>> request(const std::string& method, const std::string& uri,
                                                       sg::rtsp::Headers headers = {}, std::string body = {},
                                                       bool report = true) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      sg::rtsp::Request req;
      req.method = method;
      req.uri = uri;
      req.headers = headers;
      req.body = body;
      req.set_cseq(++cseq_);
      req.headers.set("User-Agent", "streamgate-rtsp_publishers");
      if (!session_id_.empty()) req.headers.set("Session", session_id_);
      if (auth_) req.headers.set("Authorization", auth_->authorization(method, uri));
      auto text = req.serialize();
      log(">>> " + text);
      arm(Clock::now() + timeout());
      auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(text), kTuple);
      if (wec) {
        write_ok_ = false;
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
        if (r.interleaved()) {
          ++result_.rtcp;  // receiver reports; nothing else is expected from a server we publish to
        } else if (auto* resp = r.response()) {
          begin_ += r.consumed;
          if (cseq != 0 && resp->cseq() == cseq) co_return std::move(*resp);
          continue;
        } else if (auto* req = r.request()) {
          begin_ += r.consumed;
          auto answer = sg::rtsp::Response::to(*req, 501).serialize();
          auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(answer), kTuple);
          if (wec) {
            write_ok_ = false;
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
      if (fired_) {
        read_error_ = "timeout";
        co_return std::nullopt;
      }
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_), kTuple);
      if (ec) {
        if (ec != asio::error::operation_aborted) read_ok_ = false;
        read_error_ = ec == asio::error::eof ? "connection closed by the server" : ec.message();
        co_return std::nullopt;
      }
      end_ += n;
    }
  }

  // Writes frame n (its packets as interleaved frames) into out_; returns the bytes to send.
  size_t build_frame(uint64_t n) {
    const Frame& f = gop_.frames[static_cast<size_t>(n % gop_.frames.size())];
    auto ts = static_cast<uint32_t>(ts_base_ + n * 90000 / static_cast<uint64_t>(cfg_.fps));
    auto now_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
    sg::MutableBytes out(out_);
    size_t at = 0;
    for (const Packet& p : f.packets) {
      size_t rtp_size = sg::rtp::kFixedHeaderSize + kExtensionSize + p.payload.size();
      sg::rtsp::write_interleaved_header(std::span<std::byte, 4>(out_.data() + at, 4), channel_,
                                         static_cast<uint16_t>(rtp_size));
      size_t h = at + sg::rtsp::kInterleavedHeaderSize;
      sg::put8(out, h, 0x90);  // V=2, X=1
      sg::put8(out, h + 1, static_cast<uint8_t>((p.marker ? 0x80 : 0) | kPayloadType));
      sg::put16(out, h + 2, seq_++);
      sg::put32(out, h + 4, ts);
      sg::put32(out, h + 8, ssrc_);
      sg::put16(out, h + 12, sg::rtp::kOneByteExtensionProfile);
      sg::put16(out, h + 14, 3);                                    // extension body: 3 words
      sg::put8(out, h + 16, static_cast<uint8_t>(kSendTimeExtId << 4 | 7));  // id 1, 8 bytes
      sg::put64(out, h + 17, now_ns);
      sg::put8(out, h + 25, 0);
      sg::put16(out, h + 26, 0);
      std::memcpy(out_.data() + h + 28, p.payload.data(), p.payload.size());
      at = h + rtp_size;
      ++result_.packets;
      result_.bytes += rtp_size;
    }
    return at;
  }

  // The RECORD phase: frame n at start + n / fps; between frames, read what the server sends (RTCP, answers).
  awaitable<void> stream() {
    auto start = Clock::now();
    auto keepalive_every = std::chrono::seconds(std::max<uint32_t>(5, session_timeout_s_ / 2));
    auto next_keepalive = start + keepalive_every;
    for (uint64_t n = 0;; ++n) {
      auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(n * 1'000'000'000ull /
                                                                       static_cast<uint64_t>(cfg_.fps)));
      if (due >= cfg_.end) co_return;
      if (Clock::now() < due) {
        arm(due);
        auto r = co_await pump(0);
        (void)r;
        if (!fired_) {
          fail("during RECORD: " + read_error_);
          co_return;
        }
      } else if (n > 0 && Clock::now() - due > std::chrono::nanoseconds(1'000'000'000ll / cfg_.fps)) {
        ++result_.late_frames;
      }
      auto now = Clock::now();
      if (now >= next_keepalive) {
        // Fire and forget: the answer is skipped by pump() (its CSeq is not awaited).
        sg::rtsp::Request req;
        req.method = keepalive_method_;
        req.uri = url_;
        req.set_cseq(++cseq_);
        req.headers.set("Session", session_id_);
        if (auth_) req.headers.set("Authorization", auth_->authorization(req.method, req.uri));
        keepalive_ = req.serialize();
        arm(now + timeout());
        auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(keepalive_), kTuple);
        if (wec) {
          write_ok_ = false;
          fail("keep-alive: write: " + (fired_ ? std::string("timeout") : wec.message()));
          co_return;
        }
        next_keepalive = now + keepalive_every;
      }
      size_t size = build_frame(n);
      arm(Clock::now() + timeout());
      auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(out_.data(), size), kTuple);
      if (wec) {
        write_ok_ = false;
        fail("RTP write: " + (fired_ ? std::string("timeout") : wec.message()));
        co_return;
      }
      ++result_.frames;
    }
  }

  const Config& cfg_;
  const Gop& gop_;
  const std::string& sdp_;
  size_t index_;
  PublisherResult& result_;
  std::string url_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  bool fired_ = false;
  bool read_ok_ = true;
  bool write_ok_ = true;
  std::string read_error_;
  std::vector<std::byte> buf_;
  size_t begin_ = 0, end_ = 0;
  std::vector<std::byte> out_;
  std::string keepalive_;
  uint32_t cseq_ = 0;
  std::string session_id_;
  uint32_t session_timeout_s_ = 60;  // RFC 2326 12.37 default
  std::string keepalive_method_ = "OPTIONS";
  std::optional<sg::rtsp::ClientAuth> auth_;
  uint8_t channel_ = 0;
  uint32_t ssrc_ = 0;
  uint16_t seq_ = 0;
  uint32_t ts_base_ = 0;
};

awaitable<void> start_publisher(asio::io_context& io, Publisher& p, Clock::time_point at) {
  asio::steady_timer t(io);
  t.expires_at(at);
  co_await t.async_wait(kTuple);
  co_await p.run();
}

void usage() {
  std::fprintf(stderr,
               "usage: rtsp_publishers --url rtsp://host:port/path [--publishers N] [--duration SECONDS]\n"
               "                       [--bitrate BITS_PER_S] [--fps F] [--ramp-ms MS] [--threads T]\n"
               "                       [--timeout SECONDS] [--json] [--verbose]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (int rc = sg::bench::parse_args(
          argc, argv,
          {{"--url", [&](const std::string& v) { cfg.url_text = v; }},
           {"--publishers", [&](const std::string& v) { cfg.publishers = std::stoul(v); }},
           {"--duration", [&](const std::string& v) { cfg.duration_s = std::stod(v); }},
           {"--bitrate", [&](const std::string& v) { cfg.bitrate = std::stoull(v); }},
           {"--fps", [&](const std::string& v) { cfg.fps = std::stoi(v); }},
           {"--ramp-ms", [&](const std::string& v) { cfg.ramp_ms = std::stod(v); }},
           {"--threads", [&](const std::string& v) { cfg.threads = std::max<size_t>(1, std::stoul(v)); }},
           {"--timeout", [&](const std::string& v) { cfg.timeout_s = std::stod(v); }},
           {"--json", [&](const std::string&) { cfg.json = true; }, false},
           {"--verbose", [&](const std::string&) { cfg.verbose = true; }, false}},
          usage);
      rc >= 0)
    return rc;
  if (cfg.url_text.empty() || cfg.publishers == 0 || cfg.fps < 1 || cfg.fps > 240 || cfg.bitrate > 1'000'000'000) {
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
  std::string gop_error;
  auto gop = build_gop(cfg, gop_error);
  if (!gop) {
    std::fprintf(stderr, "%s\n", gop_error.c_str());
    return 2;
  }
  if (gop->max_wire > 16 * 1024 * 1024) {
    std::fprintf(stderr, "bitrate too high for %d fps\n", cfg.fps);
    return 2;
  }
  const std::string sdp = build_sdp(cfg);

  cfg.threads = std::min(cfg.threads, cfg.publishers);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (size_t i = 0; i < cfg.threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::vector<PublisherResult> results(cfg.publishers);
  std::vector<std::unique_ptr<Publisher>> publishers;
  cfg.start = Clock::now();
  auto ramp = std::chrono::microseconds(static_cast<int64_t>(cfg.ramp_ms * 1000));
  cfg.end = cfg.start + ramp * static_cast<int64_t>(cfg.publishers) +
            std::chrono::milliseconds(static_cast<int64_t>(cfg.duration_s * 1000));
  for (size_t i = 0; i < cfg.publishers; ++i) {
    auto& io = *contexts[i % cfg.threads];
    publishers.push_back(std::make_unique<Publisher>(cfg, *gop, sdp, i, results[i], io));
    asio::co_spawn(io, start_publisher(io, *publishers.back(), cfg.start + ramp * static_cast<int64_t>(i)),
                   asio::detached);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.threads; ++i) threads.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& t : threads) t.join();
  auto wall = std::chrono::duration<double>(Clock::now() - cfg.start).count();

  size_t recorded = 0, failed = 0, teardown = 0;
  uint64_t total_packets = 0, total_bytes = 0, total_frames = 0, late = 0;
  std::vector<double> kbps;
  std::map<std::string, size_t> errors;
  for (auto& r : results) {
    recorded += r.recorded;
    teardown += r.teardown_ok;
    failed += !r.error.empty();
    total_packets += r.packets;
    total_bytes += r.bytes;
    total_frames += r.frames;
    late += r.late_frames;
    kbps.push_back(r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / 1000 / r.seconds : 0);
    if (!r.error.empty()) ++errors[r.error];
  }
  double target_kbps = static_cast<double>(gop->nal_bytes) * 8 / 1000;
  bool ok = recorded == cfg.publishers && failed == 0;
  if (cfg.json) {
    std::printf(
        "{\"url\":\"%s\",\"publishers\":%zu,\"connected\":%zu,\"failed\":%zu,\"teardown_ok\":%zu,"
        "\"bitrate\":%llu,\"fps\":%d,\"h264_kbps\":%.1f,\"frames\":%llu,\"late_frames\":%llu,\"packets\":%llu,"
        "\"bytes\":%llu,\"kbps\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},\"seconds\":%.3f,\"errors\":{",
        json_escape(cfg.request_url).c_str(), cfg.publishers, recorded, failed, teardown,
        static_cast<unsigned long long>(cfg.bitrate), cfg.fps, target_kbps,
        static_cast<unsigned long long>(total_frames), static_cast<unsigned long long>(late),
        static_cast<unsigned long long>(total_packets), static_cast<unsigned long long>(total_bytes),
        percentile(kbps, 0), percentile(kbps, 0.5), percentile(kbps, 1), wall);
    bool first = true;
    for (auto& [e, n] : errors) {
      std::printf("%s\"%s\":%zu", first ? "" : ",", json_escape(e).c_str(), n);
      first = false;
    }
    std::printf("}}\n");
  } else {
    std::printf("url %s%s, %.1f s, H.264 %.1f kbit/s at %d fps\n", cfg.request_url.c_str(),
                cfg.publishers > 1 ? "<i>" : "", wall, target_kbps, cfg.fps);
    std::printf("publishers: %zu requested, %zu recording, %zu failed, %zu torn down cleanly\n", cfg.publishers,
                recorded, failed, teardown);
    std::printf("sent: %llu frames (%llu late), %llu packets, %llu bytes\n",
                static_cast<unsigned long long>(total_frames), static_cast<unsigned long long>(late),
                static_cast<unsigned long long>(total_packets), static_cast<unsigned long long>(total_bytes));
    std::printf("kbit/s/publisher (RTP): min %.1f  median %.1f  max %.1f\n", percentile(kbps, 0),
                percentile(kbps, 0.5), percentile(kbps, 1));
    for (auto& [e, n] : errors) std::printf("error x%zu: %s\n", n, e.c_str());
  }
  return ok ? 0 : 1;
}
