#include "rtmp_session/client_source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <mutex>
#include <random>

#include "app/log.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/command.hpp"
#include "rtmp/handshake.hpp"
#include "rtmp/url.hpp"
#include "rtmp_session/flv_ingest.hpp"

namespace sg::rtmp_session {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using rtmp::Amf0Value;
using rtmp::MessageType;
using Clock = std::chrono::steady_clock;
using media::StreamState;

namespace {

// Chunk streams we send on (RTMP 5.3.1.1: 2 is for protocol control); ffmpeg's client uses the same ones.
constexpr uint32_t kControlChunkStream = 2;
constexpr uint32_t kCommandChunkStream = 3;
constexpr uint32_t kPlayChunkStream = 8;
constexpr uint32_t kWindowAckSize = 2'500'000;  // asked of the server (RTMP 5.4.4)
constexpr uint32_t kBufferMs = 1000;            // Set Buffer Length for the play stream (RTMP 7.1.7)
constexpr size_t kReadBuffer = 64 * 1024;       // grows to one whole chunk when the server's chunk size is larger

uint8_t type_id(MessageType t) { return static_cast<uint8_t>(t); }

std::string seconds_text(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000.0).substr(0, 4) + " s"; }

// What one connection ended with.
struct Outcome {
  std::string error;
  bool delivered = false;  // media reached the stream: the next retry starts from the initial backoff
};

}  // namespace

struct RtmpClientSource::Control {
  std::mutex mu;
  bool stopped = false;
};

struct RtmpClientSource::Runner : std::enable_shared_from_this<Runner> {
  Runner(asio::io_context& c, std::shared_ptr<media::Stream> s, RtmpClientOptions o, std::shared_ptr<Control> ctl)
      : ctx(c), stream(std::move(s)), opt(std::move(o)), control(std::move(ctl)), backoff(c) {}

  asio::io_context& ctx;
  std::shared_ptr<media::Stream> stream;
  RtmpClientOptions opt;
  std::shared_ptr<Control> control;
  asio::steady_timer backoff;
  rtmp::RtmpUrl url;
  std::string url_text;  // for logs and errors: without the query, which may carry credentials
  StreamState shown = StreamState::Connecting;
  std::string shown_error;

  // The current connection (one at a time, all on the worker thread).
  std::shared_ptr<tcp::socket> socket;
  uint64_t attempt_no = 0;
  bool active = false;
  Clock::time_point deadline;
  rtmp::ChunkReader reader;
  ByteVector out;  // bytes to send after the messages just read were handled
  std::unique_ptr<FlvIngest> ingest;
  uint32_t media_stream = 0;
  bool playing = false;
  std::string error;  // set by a handler or the watchdog: ends the connection
  uint64_t received = 0, acked = 0;
  uint32_t peer_window = 0;
  bool bad_tag_logged = false;

  bool stopped() {
    std::lock_guard lk(control->mu);
    return control->stopped;
  }

  // On the worker thread, after Control::stopped was set.
  void stop_now() {
    if (socket) {
      boost::system::error_code ec;
      socket->close(ec);
    }
    backoff.cancel();
  }

  void report(StreamState state, const std::string& why = {}) {
    std::lock_guard lk(control->mu);
    if (control->stopped) return;
    stream->set_state(state, why);
    if (state == shown && why == shown_error) return;
    shown = state;
    shown_error = why;
    if (state == StreamState::Error)
      log::warn("rtmp source error", {{"stream", stream->id()}, {"url", url_text}, {"error", why}});
    else
      log::info("rtmp source connecting", {{"stream", stream->id()}, {"url", url_text}});
  }

  void send(uint32_t chunk_stream, MessageType type, uint32_t stream_id, Bytes payload) {
    rtmp::write_message(out, {chunk_stream, 0, type_id(type), stream_id, payload}, rtmp::kDefaultChunkSize);
  }
  void send_command(uint32_t stream_id, uint32_t chunk_stream, std::string_view name, double txn,
                    const Amf0Value& object, const std::vector<Amf0Value>& args = {}) {
    auto payload = rtmp::encode_command(name, txn, object, args);
    send(chunk_stream, MessageType::CommandAmf0, stream_id, payload);
  }

  void count_received(size_t n) {
    received += n;
    // RTMP 5.4.3: acknowledge every window the server asked for.
    if (peer_window > 0 && received - acked >= peer_window) {
      acked = received;
      send(kControlChunkStream, MessageType::Acknowledgement, 0, rtmp::u32_payload(static_cast<uint32_t>(received)));
    }
  }

  void media_error(const Status& s) {
    if (s || bad_tag_logged) return;
    bad_tag_logged = true;  // once per connection: a broken origin would otherwise log per frame
    log::warn("rtmp source sent a tag that cannot be used (dropped)",
              {{"stream", stream->id()}, {"url", url_text}, {"error", s.error()}});
  }

  void on_message(const rtmp::Message& m) {
    if (!error.empty()) return;
    const Bytes payload = m.payload;
    switch (static_cast<MessageType>(m.type)) {
      case MessageType::Video:
      case MessageType::Audio:
        if (!ingest || stopped()) return;
        deadline = Clock::now() + opt.source_timeout;
        media_error(m.type == type_id(MessageType::Video) ? ingest->on_video(m.timestamp, payload)
                                                           : ingest->on_audio(m.timestamp, payload));
        return;
      case MessageType::WindowAckSize:
        if (payload.size() >= 4) peer_window = be32(payload, 0);
        return;
      case MessageType::UserControl:
        // 7.1.7: a ping request is answered with the same timestamp.
        if (payload.size() >= 6 && be16(payload, 0) == static_cast<uint16_t>(rtmp::UserControlEvent::PingRequest))
          send(kControlChunkStream, MessageType::UserControl, 0,
               rtmp::user_control_payload(rtmp::UserControlEvent::PingResponse, be32(payload, 2)));
        return;
      case MessageType::DataAmf0:
      case MessageType::DataAmf3:
        on_data(m.type == type_id(MessageType::DataAmf3) && !payload.empty() ? payload.subspan(1) : payload);
        return;
      case MessageType::CommandAmf0:
      case MessageType::CommandAmf3:
        on_command(m.type == type_id(MessageType::CommandAmf3) && !payload.empty() ? payload.subspan(1) : payload);
        return;
      default:
        return;  // Set Chunk Size / Abort (applied by the reader), bandwidth, acknowledgements, aggregates
    }
  }

  void on_data(Bytes payload) {
    if (!ingest) return;
    if (auto metadata = rtmp::metadata_object(payload)) ingest->on_metadata(*metadata);
  }

  void on_command(Bytes payload) {
    auto cmd = rtmp::parse_command(payload);
    if (!cmd) {
      error = "bad command from the RTMP server: " + cmd.error();
      return;
    }
    const std::string& name = cmd->name;
    if (name == "_result" && cmd->transaction == 1) {  // connect
      send_command(0, kCommandChunkStream, "createStream", 2, Amf0Value::make_null());
    } else if (name == "_result" && cmd->transaction == 2) {  // createStream
      if (cmd->args.empty() || !cmd->args[0].is_number() || cmd->args[0].number < 0 || cmd->args[0].number > 1e6) {
        error = "the RTMP server's createStream result has no stream id";
        return;
      }
      media_stream = static_cast<uint32_t>(cmd->args[0].number);
      ByteVector buffer_length = rtmp::user_control_payload(rtmp::UserControlEvent::SetBufferLength, media_stream);
      append32(buffer_length, kBufferMs);
      send(kControlChunkStream, MessageType::UserControl, 0, buffer_length);
      // Start -2: a live stream, else a recorded one (RTMP 7.2.2.1).
      send_command(media_stream, kPlayChunkStream, "play", 0, Amf0Value::make_null(),
                   {Amf0Value::make_string(url.name), Amf0Value::make_number(-2)});
      ingest = std::make_unique<FlvIngest>(stream);
    } else if (name == "_error") {
      const Amf0Value* info = cmd->args.empty() ? nullptr : &cmd->args[0];
      const std::string what = cmd->transaction == 1 ? "connect" : cmd->transaction == 2 ? "createStream" : "a command";
      error = "the RTMP server refused " + what + ": " +
              std::string(info ? info->get_string("description").value_or(info->get_string("code").value_or(""))
                               : std::string_view{});
    } else if (name == "onStatus") {
      const Amf0Value* info = cmd->args.empty() ? nullptr : &cmd->args[0];
      const std::string code(info ? info->get_string("code").value_or("") : std::string_view{});
      const std::string level(info ? info->get_string("level").value_or("") : std::string_view{});
      const std::string description(info ? info->get_string("description").value_or("") : std::string_view{});
      if (code == "NetStream.Play.Start" || code == "NetStream.Play.Reset") {
        playing = true;
        deadline = Clock::now() + opt.source_timeout;
      } else if (level == "error" || code == "NetStream.Play.StreamNotFound" || code == "NetStream.Play.Failed") {
        error = "the RTMP server answered play with " + (code.empty() ? std::string("an error") : code) +
                (description.empty() ? "" : ": " + description);
      } else if (code == "NetStream.Play.Stop" || code == "NetStream.Play.UnpublishNotify") {
        error = "the RTMP server ended the stream (" + code + ")";
      }
    }
    // Anything else (onBWDone, _checkbw, |RtmpSampleAccess, ...) needs no answer from a player.
  }

  asio::awaitable<void> watchdog(uint64_t n, std::shared_ptr<Runner> /*self: keeps the runner alive*/) {
    while (active && attempt_no == n && !stopped()) {
      asio::steady_timer t(ctx, 250ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!active || attempt_no != n) break;
      if (Clock::now() > deadline) {
        error = playing ? "no media from the RTMP server for " + seconds_text(opt.source_timeout)
                        : "the RTMP server did not get to play within " + seconds_text(opt.request_timeout);
        boost::system::error_code ec;
        socket->close(ec);
        break;
      }
    }
  }

  asio::awaitable<Outcome> attempt() {
    Outcome o;
    reader = rtmp::ChunkReader{};
    out.clear();
    ingest.reset();
    media_stream = 0;
    playing = false;
    error.clear();
    received = acked = 0;
    peer_window = 0;
    bad_tag_logged = false;
    socket = std::make_shared<tcp::socket>(ctx);
    auto sock = socket;
    deadline = Clock::now() + opt.request_timeout;
    active = true;
    const uint64_t n = ++attempt_no;
    asio::co_spawn(ctx, watchdog(n, shared_from_this()), asio::detached);
    o.error = co_await connection(*sock);
    active = false;
    o.delivered = ingest && ingest->frames() > 0;
    boost::system::error_code ec;
    sock->close(ec);
    ingest.reset();
    co_return o;
  }

  asio::awaitable<Status> flush(tcp::socket& sock) {
    if (out.empty()) co_return Ok{};
    ByteVector w;
    w.swap(out);
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(w), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return make_error("cannot send to the RTMP server: " + ec.message());
    co_return Ok{};
  }

  // One connection from connect to its end; the error that ended it.
  asio::awaitable<std::string> connection(tcp::socket& sock) {
    tcp::resolver resolver(ctx);
    auto [rec, results] = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                          asio::as_tuple(asio::use_awaitable));
    if (stopped()) co_return "stopped";
    if (rec) co_return "cannot resolve " + url.host + ": " + rec.message();
    auto [cec, endpoint] = co_await asio::async_connect(sock, results, asio::as_tuple(asio::use_awaitable));
    if (cec) co_return error.empty() ? "cannot connect to " + url_text + ": " + cec.message() : error;
    boost::system::error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);

    // Handshake (RTMP 5.2): C0+C1, read S0+S1+S2, C2 echoes S1.
    ByteVector random(rtmp::kHandshakeSize - 8);
    std::mt19937 rng(std::random_device{}());
    for (auto& b : random) b = static_cast<std::byte>(rng());
    out = rtmp::client_handshake(random);
    if (auto s = co_await flush(sock); !s) co_return s.error();
    ByteVector s0s1s2(1 + 2 * rtmp::kHandshakeSize);
    auto [hec, hn] = co_await asio::async_read(sock, asio::buffer(s0s1s2), asio::as_tuple(asio::use_awaitable));
    if (hec) co_return error.empty() ? "RTMP handshake with " + url_text + " failed: " + hec.message() : error;
    if (std::to_integer<uint8_t>(s0s1s2[0]) != rtmp::kRtmpVersion)
      co_return "the RTMP server answered the handshake with version " +
          std::to_string(std::to_integer<int>(s0s1s2[0]));
    out.assign(s0s1s2.begin() + 1, s0s1s2.begin() + 1 + rtmp::kHandshakeSize);

    send(kControlChunkStream, MessageType::WindowAckSize, 0, rtmp::u32_payload(kWindowAckSize));
    send_command(0, kCommandChunkStream, "connect", 1,
                 Amf0Value::make_object({{"app", Amf0Value::make_string(url.app)},
                                         {"flashVer", Amf0Value::make_string("LNX 9,0,124,2")},
                                         {"tcUrl", Amf0Value::make_string(url.tc_url)},
                                         {"fpad", Amf0Value::make_boolean(false)},
                                         {"capabilities", Amf0Value::make_number(15)},
                                         {"audioCodecs", Amf0Value::make_number(4071)},
                                         {"videoCodecs", Amf0Value::make_number(252)},
                                         {"videoFunction", Amf0Value::make_number(1)}}));
    if (auto s = co_await flush(sock); !s) co_return s.error();

    ByteVector in(kReadBuffer);
    size_t used = 0;
    for (;;) {
      if (in.size() - used < reader.max_chunk_bytes()) in.resize(used + reader.max_chunk_bytes());
      auto [ec, k] =
          co_await sock.async_read_some(asio::buffer(in.data() + used, in.size() - used), asio::as_tuple(asio::use_awaitable));
      if (!error.empty()) co_return error;  // the watchdog closed it
      if (ec) co_return ec == asio::error::eof ? "the RTMP server closed the connection" : "RTMP read failed: " + ec.message();
      used += k;
      count_received(k);
      auto consumed = reader.read(Bytes(in.data(), used), [this](const rtmp::Message& m) { on_message(m); });
      if (!consumed) co_return "bad RTMP data from the server: " + consumed.error();
      if (*consumed > 0) {
        std::memmove(in.data(), in.data() + *consumed, used - *consumed);
        used -= *consumed;
      }
      if (!error.empty()) co_return error;
      if (auto s = co_await flush(sock); !s) co_return s.error();
    }
  }

  asio::awaitable<void> run(std::shared_ptr<Runner> self) {
    auto parsed = rtmp::parse_rtmp_url(opt.url);
    if (!parsed) {
      report(StreamState::Error, "bad source URL: " + parsed.error());
      co_return;
    }
    url = std::move(*parsed);
    const size_t q = url.name.find('?');
    url_text = url.tc_url + "/" + url.name.substr(0, q);
    auto delay = opt.backoff_initial;
    while (!stopped()) {
      report(StreamState::Connecting);
      Outcome o = co_await attempt();
      if (stopped()) break;
      if (o.delivered) delay = opt.backoff_initial;
      report(StreamState::Error, o.error);
      backoff.expires_after(delay);
      boost::system::error_code ec;
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped()) break;
      delay = std::min(delay * 2, opt.backoff_max);
      stream->count_reconnect();
      log::info("rtmp source reconnecting", {{"stream", stream->id()}, {"url", url_text}});
    }
    log::debug("rtmp source stopped", {{"stream", self->stream->id()}, {"url", url_text}});
  }
};

RtmpClientSource::RtmpClientSource(asio::io_context& context, std::shared_ptr<media::Stream> stream,
                                   RtmpClientOptions options)
    : context_(context), control_(std::make_shared<Control>()) {
  auto runner = std::make_shared<Runner>(context, std::move(stream), std::move(options), control_);
  runner_ = runner;
  auto* r = runner.get();
  asio::co_spawn(context, r->run(std::move(runner)), asio::detached);
}

RtmpClientSource::~RtmpClientSource() { stop(); }

void RtmpClientSource::stop() {
  {
    std::lock_guard lk(control_->mu);
    if (control_->stopped) return;
    control_->stopped = true;
  }
  asio::post(context_, [runner = runner_] {
    if (auto r = runner.lock()) r->stop_now();
  });
}

}  // namespace sg::rtmp_session
