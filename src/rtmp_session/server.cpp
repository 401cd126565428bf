#include "rtmp_session/server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <deque>
#include <random>

#include "auth/http_credentials.hpp"
#include "base/prometheus.hpp"
#include "net/accept_backoff.hpp"
#include "net/handoff.hpp"
#include "net/send_batch.hpp"
#include "net/tcp_listener.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/command.hpp"
#include "rtmp/handshake.hpp"
#include "rtmp/stream_name.hpp"
#include "rtmp_session/flv_egress.hpp"
#include "rtmp_session/flv_ingest.hpp"

namespace sg::rtmp_session {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using rtmp::Amf0Value;
using rtmp::MessageType;

namespace {

// Chunk streams we send on (RTMP 5.3.1.1: 2 is for protocol control).
constexpr uint32_t kControlChunkStream = 2;
constexpr uint32_t kCommandChunkStream = 3;
constexpr uint32_t kAudioChunkStream = 4;
constexpr uint32_t kDataChunkStream = 5;
constexpr uint32_t kVideoChunkStream = 6;
constexpr uint32_t kMediaStreamId = 1;            // the one message stream createStream hands out
constexpr uint32_t kOutChunkSize = 4096;          // what we announce with Set Chunk Size and send with
constexpr uint32_t kWindowAckSize = 2'500'000;    // asked of the peer (RTMP 5.4.4)
constexpr size_t kReadBuffer = 64 * 1024;         // grows to one whole chunk when the peer's chunk size is larger
constexpr size_t kMaxBacklogBytes = 8 << 20;      // messages held while a publish/play is being authorized
constexpr size_t kMaxPendingOut = 4 << 20;        // a player with more unsent bytes stops taking units
constexpr size_t kUnitsPerPass = 64;

uint8_t type_id(MessageType t) { return static_cast<uint8_t>(t); }

}  // namespace

class RtmpSession : public std::enable_shared_from_this<RtmpSession>,
                    public media::UnitSink,
                    private net::SendBatch::Sender {
 public:
  RtmpSession(RtmpServer& server, tcp::socket socket, size_t worker)
      : server_(server),
        socket_(std::move(socket)),
        worker_(worker),
        wake_writer_(socket_.get_executor()),
        drained_(socket_.get_executor()) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
      remote_address_ = ep.address();
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    static std::atomic<uint64_t> next{1};
    id_ = "rtmp-" + std::to_string(next.fetch_add(1));
    wake_writer_.expires_at(asio::steady_timer::time_point::max());
    drained_.expires_at(asio::steady_timer::time_point::max());
  }

  void hold(net::ConnectionLimiter::Slot slot) { slot_ = std::move(slot); }

  // From any thread: ends the session (kicked publisher, server stop).
  void kick() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  asio::awaitable<void> run() {
    server_.session_started();
    started_at_ = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    asio::co_spawn(socket_.get_executor(), [self] { return self->watchdog(); }, asio::detached);
    if (co_await handshake()) {
      asio::co_spawn(socket_.get_executor(), [self] { return self->writer(); }, asio::detached);
      co_await read_loop();
    }
    close();
    while (player_running_ || writer_running_) {
      asio::steady_timer t(socket_.get_executor(), 5ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    cleanup();
    server_.session_ended();
    slot_.reset();
  }

 private:
  // ---- connection

  asio::awaitable<bool> read_exact(ByteVector& buf, size_t n) {
    buf.resize(n);
    size_t got = 0;
    while (got < n) {
      auto [ec, k] = co_await socket_.async_read_some(asio::buffer(buf.data() + got, n - got),
                                                       asio::as_tuple(asio::use_awaitable));
      if (ec) co_return false;
      got += k;
      received_ += k;
    }
    co_return true;
  }

  // RTMP 5.2: C0+C1 in, S0+S1+S2 out, C2 in (its content is not checked: clients echo S1 loosely).
  asio::awaitable<bool> handshake() {
    ByteVector c0c1;
    if (!co_await read_exact(c0c1, 1 + rtmp::kHandshakeSize)) co_return false;
    ByteVector random(rtmp::kHandshakeSize - 8);
    std::mt19937 rng(std::random_device{}());
    for (auto& b : random) b = std::byte(rng() & 0xff);
    auto reply = rtmp::server_handshake(c0c1, random);
    if (!reply) {
      server_.bad_connection(remote_, reply.error());
      co_return false;
    }
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(*reply), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return false;
    ByteVector c2;
    if (!co_await read_exact(c2, rtmp::kHandshakeSize)) co_return false;
    handshake_done_ = true;
    co_return true;
  }

  asio::awaitable<void> read_loop() {
    ByteVector in(kReadBuffer);
    size_t used = 0;
    while (!closed_) {
      if (used == in.size()) {
        if (in.size() >= reader_.max_chunk_bytes() + 64 || in.size() >= (2u << 20)) {
          fail("a chunk larger than the read buffer");
          co_return;
        }
        in.resize(std::max(in.size() * 2, reader_.max_chunk_bytes() + 64));
      }
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(in.data() + used, in.size() - used),
                                                       asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      used += n;
      count_received(n);
      auto consumed = reader_.read(Bytes(in.data(), used), [this](const rtmp::Message& m) { on_message(m); });
      if (!consumed) {
        fail(consumed.error());
        co_return;
      }
      if (*consumed > 0) {
        std::memmove(in.data(), in.data() + *consumed, used - *consumed);
        used -= *consumed;
      }
      if (!error_.empty()) {
        fail(error_);
        co_return;
      }
      co_await process_backlog();
      if (in.size() > kReadBuffer && used <= kReadBuffer && reader_.max_chunk_bytes() + 64 <= kReadBuffer) {
        in.resize(kReadBuffer);
        in.shrink_to_fit();
      }
    }
  }

  void count_received(size_t n) {
    received_ += n;
    // RTMP 5.4.3: acknowledge every window the peer asked for.
    if (peer_window_ > 0 && received_ - acked_ >= peer_window_) {
      acked_ = received_;
      send(kControlChunkStream, MessageType::Acknowledgement, 0, 0, rtmp::u32_payload(static_cast<uint32_t>(received_)));
    }
  }

  asio::awaitable<void> writer() {
    writer_running_ = true;
    ByteVector writing;
    while (!closed_) {
      if (out_.empty() && close_after_flush_) break;
      if (out_.empty()) {
        co_await wake_writer_.async_wait(asio::as_tuple(asio::use_awaitable));
        wake_writer_.expires_at(asio::steady_timer::time_point::max());
        continue;
      }
      writing.swap(out_);
      out_.clear();
      writing_ = true;
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing), asio::as_tuple(asio::use_awaitable));
      writing_ = false;
      written_ += n;
      writing.clear();
      if (writing.capacity() > kMaxPendingOut) writing.shrink_to_fit();
      drained_.cancel();
      if (ec) break;
      if (close_after_flush_ && out_.empty()) break;
    }
    writer_running_ = false;
    close();
  }

  void send(uint32_t chunk_stream, MessageType type, uint32_t stream_id, uint32_t timestamp, Bytes payload) {
    if (closed_) return;
    rtmp::write_message(out_, {chunk_stream, timestamp, type_id(type), stream_id, payload}, out_chunk_size_);
    wake_writer_.cancel();
  }
  void send_command(uint32_t stream_id, std::string_view name, double txn, const Amf0Value& object,
                    const std::vector<Amf0Value>& args = {}) {
    send(kCommandChunkStream, MessageType::CommandAmf0, stream_id, 0, rtmp::encode_command(name, txn, object, args));
  }
  void on_status(std::string_view level, std::string_view code, std::string_view description) {
    send_command(kMediaStreamId, "onStatus", 0, Amf0Value::make_null(),
                 {rtmp::status_object(level, code, description)});
  }
  // Refuses the publish/play: the status goes out, then the connection closes.
  void refuse(std::string_view code, std::string_view description) {
    on_status("error", code, description);
    close_after_flush_ = true;
    stop_reading_ = true;
    wake_writer_.cancel();
  }

  void fail(const std::string& error) {
    if (!closed_) server_.bad_connection(remote_, error);
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (player_) player_->set_sink(nullptr);
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    wake_writer_.cancel();
    drained_.cancel();
    if (player_) player_->close();
  }

  void cleanup() {
    player_.reset();  // detaches on this (the reader's) thread
    ingest_.reset();
    if (stream_ && publishing_) {
      stream_->release_publisher(id_);
      log::info("RTMP publisher left", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
      if (created_stream_) server_.registry().remove(path_);
    } else if (stream_ && playing_) {
      log::info("RTMP player left", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
    }
    stream_.reset();
  }

  asio::awaitable<void> watchdog() {
    auto self = shared_from_this();
    uint64_t last_written = 0;
    auto stalled_since = std::chrono::steady_clock::now();
    while (!closed_) {
      asio::steady_timer t(socket_.get_executor(), 500ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (closed_) break;
      auto now = std::chrono::steady_clock::now();
      if (!publishing_ && !playing_ && now - started_at_ > server_.options().setup_timeout) {
        server_.bad_connection(remote_, handshake_done_ ? "no publish or play within the setup timeout"
                                                        : "handshake not completed within the setup timeout");
        close();
        break;
      }
      // A peer that stopped reading: a write pending without progress for reader_timeout.
      if (!writing_ || written_ != last_written) {
        last_written = written_;
        stalled_since = now;
      } else if (now - stalled_since > server_.options().reader_timeout) {
        server_.count_stalled_peer();
        log::warn("RTMP peer stopped reading: connection closed", {{"session", id_}, {"remote", remote_},
                                                                  {"stream", path_}});
        close();
        break;
      }
    }
  }

  // ---- messages

  void on_message(const rtmp::Message& m) {
    if (closed_ || stop_reading_) return;
    if (blocked_) {
      // A publish/play is being authorized: keep what follows, in order, for after it.
      backlog_bytes_ += m.payload.size();
      if (backlog_bytes_ > kMaxBacklogBytes) {
        error_ = "more than " + std::to_string(kMaxBacklogBytes) + " bytes sent before publish/play was answered";
        return;
      }
      backlog_.push_back({m.timestamp, m.type, m.stream_id, to_vector(m.payload)});
      return;
    }
    handle(m.timestamp, m.type, m.stream_id, m.payload);
  }

  void handle(uint32_t timestamp, uint8_t type, uint32_t stream_id, Bytes payload) {
    switch (static_cast<MessageType>(type)) {
      case MessageType::Video:
        if (ingest_) media_error(ingest_->on_video(timestamp, payload));
        return;
      case MessageType::Audio:
        if (ingest_) media_error(ingest_->on_audio(timestamp, payload));
        return;
      case MessageType::WindowAckSize:
        if (payload.size() >= 4) peer_window_ = be32(payload, 0);
        return;
      case MessageType::UserControl:
        // 7.1.7: a ping request is answered with the same timestamp.
        if (payload.size() >= 6 && be16(payload, 0) == static_cast<uint16_t>(rtmp::UserControlEvent::PingRequest))
          send(kControlChunkStream, MessageType::UserControl, 0, 0,
               rtmp::user_control_payload(rtmp::UserControlEvent::PingResponse, be32(payload, 2)));
        return;
      case MessageType::DataAmf0:
      case MessageType::DataAmf3:
        on_data(type == type_id(MessageType::DataAmf3) && !payload.empty() ? payload.subspan(1) : payload);
        return;
      case MessageType::CommandAmf0:
      case MessageType::CommandAmf3:
        on_command(stream_id, type == type_id(MessageType::CommandAmf3) && !payload.empty() ? payload.subspan(1) : payload);
        return;
      default:
        return;  // Set Chunk Size / Abort (applied by the reader), acknowledgements, bandwidth, aggregates
    }
  }

  void media_error(const Status& s) {
    if (s) return;
    ++bad_tags_;
    if (!bad_tag_logged_) {  // once per publication: a broken encoder would otherwise log per frame
      bad_tag_logged_ = true;
      log::warn("RTMP publisher sent a tag that cannot be used (dropped; further ones are counted)",
                {{"stream", path_}, {"session", id_}, {"remote", remote_}, {"error", s.error()}});
    }
  }

  void on_data(Bytes payload) {
    if (!ingest_) return;
    if (auto metadata = rtmp::metadata_object(payload)) ingest_->on_metadata(*metadata);
  }

  void on_command(uint32_t stream_id, Bytes payload) {
    auto cmd = rtmp::parse_command(payload);
    if (!cmd) {
      error_ = cmd.error();
      return;
    }
    const std::string& name = cmd->name;
    if (name == "connect") {
      app_ = std::string(cmd->object.get_string("app").value_or(""));
      tc_url_ = std::string(cmd->object.get_string("tcUrl").value_or(""));
      connected_ = true;
      send(kControlChunkStream, MessageType::WindowAckSize, 0, 0, rtmp::u32_payload(kWindowAckSize));
      send(kControlChunkStream, MessageType::SetPeerBandwidth, 0, 0, rtmp::peer_bandwidth_payload(kWindowAckSize, 2));
      send(kControlChunkStream, MessageType::SetChunkSize, 0, 0, rtmp::u32_payload(kOutChunkSize));
      out_chunk_size_ = kOutChunkSize;
      auto info = rtmp::status_object("status", "NetConnection.Connect.Success", "Connection succeeded.");
      info.keys.push_back("objectEncoding");
      info.values.push_back(Amf0Value::make_number(0));
      send_command(0, "_result", cmd->transaction,
                   Amf0Value::make_object({{"fmsVer", Amf0Value::make_string("FMS/3,0,1,123")},
                                           {"capabilities", Amf0Value::make_number(31)}}),
                   {info});
    } else if (name == "createStream") {
      send_command(0, "_result", cmd->transaction, Amf0Value::make_null(), {Amf0Value::make_number(kMediaStreamId)});
    } else if (name == "getStreamLength") {
      // ffmpeg's player asks; a live stream has no length (0).
      send_command(0, "_result", cmd->transaction, Amf0Value::make_null(), {Amf0Value::make_number(0)});
    } else if (name == "releaseStream" || name == "FCPublish" || name == "FCUnpublish") {
      if (cmd->transaction > 0)
        send_command(0, "_result", cmd->transaction, Amf0Value::make_null(), {Amf0Value::make_undefined()});
    } else if (name == "publish" || name == "play") {
      if (!connected_) {
        error_ = "'" + name + "' before 'connect'";
        return;
      }
      if (publishing_ || playing_) return;  // one publish or play per connection
      pending_ = PendingRequest{name == "publish", std::string(cmd->string_arg(0)), cmd->transaction};
      blocked_ = true;
    } else if (name == "deleteStream" || name == "closeStream") {
      if (publishing_ || playing_) {
        close_after_flush_ = true;
        stop_reading_ = true;
        wake_writer_.cancel();
      }
    }
    (void)stream_id;
  }

  // Runs a pending publish/play (its authorization awaits), then what arrived meanwhile.
  asio::awaitable<void> process_backlog() {
    while (pending_ && !closed_) {
      PendingRequest req = std::move(*pending_);
      pending_.reset();
      // Not `co_await (c ? a() : b())`: GCC 12 destroys that temporary awaitable twice.
      if (req.publish)
        co_await start_publish(req);
      else
        co_await start_play(req);
      blocked_ = false;
      backlog_bytes_ = 0;
      std::deque<Held> held = std::move(backlog_);
      backlog_.clear();
      while (!held.empty() && !closed_ && !stop_reading_) {
        Held h = std::move(held.front());
        held.pop_front();
        if (blocked_) {
          backlog_.push_back(std::move(h));  // a second request: keep the rest for after it
          continue;
        }
        handle(h.timestamp, h.type, h.stream_id, h.payload);
      }
      if (!error_.empty()) {
        fail(error_);
        co_return;
      }
    }
  }

  struct PendingRequest {
    bool publish = false;
    std::string name;
    double transaction = 0;
  };
  struct Held {
    uint32_t timestamp;
    uint8_t type;
    uint32_t stream_id;
    ByteVector payload;
  };

  asio::awaitable<bool> authorize(auth::Action action, const rtmp::StreamTarget& target) {
    auth::AccessRequest ar;
    ar.action = action;
    ar.path = target.path;
    ar.protocol = "rtmp";
    ar.id = id_;
    ar.query = target.query;
    if (auto ip = auth::IpAddress::parse(remote_address_.to_string())) ar.ip = *ip;
    ar.credentials = auth::credentials_from_http("", "/?" + target.query);
    if (!target.user.empty()) {
      ar.credentials.user = target.user;
      ar.credentials.password = target.pass;
    }
    auto decision = co_await server_.authorizer().check(std::move(ar));
    if (decision.allowed()) co_return true;
    log::info("RTMP request refused", {{"session", id_}, {"remote", remote_}, {"path", target.path},
                                       {"action", auth::to_string(action)}, {"reason", decision.reason}});
    co_return false;
  }

  asio::awaitable<void> start_publish(const PendingRequest& req) {
    auto target = rtmp::stream_target(app_, req.name, tc_url_);
    if (!target || !media::valid_stream_id(target->path)) {
      refuse("NetStream.Publish.BadName", target ? "invalid stream name" : target.error());
      co_return;
    }
    path_ = target->path;
    if (!co_await authorize(auth::Action::Publish, *target)) {
      refuse("NetStream.Publish.Unauthorized", "not authorized to publish");
      co_return;
    }
    if (closed_) co_return;
    auto stream = server_.registry().find(path_);
    bool created = false;
    if (!stream) {
      if (!server_.options().allow_any_publish) {
        refuse("NetStream.Publish.BadName", "no such stream");
        co_return;
      }
      media::StreamOptions opts;
      opts.source = "publisher";
      opts.reader_queue = server_.options().reader_queue;
      auto made = server_.registry().create(path_, std::move(opts));
      if (made) {
        stream = *made;
        created = true;
      } else {
        stream = server_.registry().find(path_);  // created concurrently
        if (!stream) {
          refuse("NetStream.Publish.BadName", made.error());
          co_return;
        }
      }
    }
    if (stream->options().source != "publisher") {
      refuse("NetStream.Publish.BadName", "the stream has a source of its own");
      co_return;
    }
    std::weak_ptr<RtmpSession> weak = weak_from_this();
    if (!stream->acquire_publisher(id_, server_.options().publish_conflict == "replace", [weak] {
          if (auto s = weak.lock()) s->kick();
        })) {
      log::info("RTMP publisher refused: stream busy", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
      if (created) server_.registry().remove(path_);
      refuse("NetStream.Publish.BadName", "the stream already has a publisher");
      co_return;
    }
    stream->describe_publisher(id_, "rtmp", remote_);
    stream->set_state(media::StreamState::Connecting);
    stream_ = stream;
    created_stream_ = created;
    publishing_ = true;
    ingest_ = std::make_unique<FlvIngest>(stream_);
    server_.count_publish();
    send(kControlChunkStream, MessageType::UserControl, 0, 0,
         rtmp::user_control_payload(rtmp::UserControlEvent::StreamBegin, kMediaStreamId));
    on_status("status", "NetStream.Publish.Start", path_ + " is now published.");
    log::info("RTMP publisher started", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
  }

  asio::awaitable<void> start_play(const PendingRequest& req) {
    auto target = rtmp::stream_target(app_, req.name, tc_url_);
    if (!target || !media::valid_stream_id(target->path)) {
      refuse("NetStream.Play.StreamNotFound", target ? "invalid stream name" : target.error());
      co_return;
    }
    path_ = target->path;
    if (!co_await authorize(auth::Action::Read, *target)) {
      refuse("NetStream.Play.Failed", "not authorized to play");
      co_return;
    }
    if (closed_) co_return;
    auto stream = server_.registry().find(path_);
    if (!stream) {
      refuse("NetStream.Play.StreamNotFound", "no such stream");
      co_return;
    }
    stream_ = stream;
    playing_ = true;
    player_ = stream_->attach(worker_, id_);  // also starts an on-demand source
    // Wait for the stream's tracks (a publisher or source that is still connecting).
    auto deadline = std::chrono::steady_clock::now() + server_.options().play_wait;
    std::shared_ptr<const std::vector<media::Track>> tracks;
    while (!closed_) {
      tracks = stream_->tracks();
      if (tracks && !tracks->empty() && stream_->stats().state == media::StreamState::Ready) break;
      if (std::chrono::steady_clock::now() > deadline || player_->closed()) {
        refuse("NetStream.Play.StreamNotFound", "the stream is not ready");
        co_return;
      }
      asio::steady_timer t(socket_.get_executor(), 50ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (closed_) co_return;
    egress_ = std::make_unique<FlvEgress>(*tracks);
    if (!egress_->carries_anything()) {
      refuse("NetStream.Play.Failed", "no track of the stream can be sent over RTMP (H.264, H.265, AAC)");
      co_return;
    }
    server_.count_play();
    send(kControlChunkStream, MessageType::UserControl, 0, 0,
         rtmp::user_control_payload(rtmp::UserControlEvent::StreamBegin, kMediaStreamId));
    on_status("status", "NetStream.Play.Reset", "Playing and resetting " + path_ + ".");
    on_status("status", "NetStream.Play.Start", "Started playing " + path_ + ".");
    send(kDataChunkStream, MessageType::DataAmf0, kMediaStreamId, 0,
         rtmp::encode_amf0({Amf0Value::make_string("|RtmpSampleAccess"), Amf0Value::make_boolean(true),
                            Amf0Value::make_boolean(true)}));
    std::vector<FlvMessage> msgs;
    egress_->start(msgs);
    send_media(msgs);
    log::info("RTMP player started", {{"stream", path_}, {"session", id_}, {"remote", remote_}});
    auto self = shared_from_this();
    player_running_ = true;
    asio::co_spawn(socket_.get_executor(), [self] { return self->player(); }, asio::detached);
  }

  size_t send_media(std::vector<FlvMessage>& msgs) {
    const size_t bytes = append_media(msgs);
    if (!out_.empty()) wake_writer_.cancel();
    return bytes;
  }
  // The messages' chunks appended to out_, without waking the writer.
  size_t append_media(std::vector<FlvMessage>& msgs) {
    size_t bytes = 0;
    for (auto& m : msgs) {
      uint32_t cs = m.type == MessageType::Video ? kVideoChunkStream
                    : m.type == MessageType::Audio ? kAudioChunkStream
                                                   : kDataChunkStream;
      const Bytes sample = m.sample ? Bytes(*m.sample) : Bytes{};
      bytes += m.body.size() + sample.size();
      if (!closed_)
        rtmp::write_message(out_, {cs, m.timestamp, type_id(m.type), kMediaStreamId, m.body}, sample, out_chunk_size_);
    }
    msgs.clear();
    return bytes;
  }

  // Called by the stream's fan-out on this session's thread, with the reader's queue empty. When nothing of this
  // connection is queued or being written and the player waits for units, the unit's messages are written at once
  // (a non-blocking send in the worker's batch, net/send_batch.hpp, which the fan-out flushes by the end of its
  // pass): no queue, no wake-up of the player or the writer per unit. sent() gets the result; what the socket does
  // not take stays in out_ for the writer, in order. While the send is queued out_ is not empty, so the next unit
  // queues behind it.
  bool take(const media::UnitPtr& unit) override {
    if (!player_waiting_ || closed_ || writing_ || !out_.empty() || !egress_) return false;
    egress_->add(unit, server_.samples(worker_), take_msgs_);
    batched_bytes_ = append_media(take_msgs_);
    if (out_.empty()) return true;
    batched_iov_ = iovec{out_.data(), out_.size()};
    server_.pool().send_batch(worker_).add(socket_.native_handle(), &batched_iov_, 1, this);
    return true;
  }

  void sent(boost::system::error_code ec, size_t n) override {
    if (ec) {
      close();
      return;
    }
    if (n > 0) {
      written_ += n;
      out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    if (!out_.empty()) wake_writer_.cancel();  // the socket is full: the writer sends the rest when it drains
    if (batched_bytes_ && player_) player_->add_sent(batched_bytes_, 1);
  }

  // Units from the reader to the connection. A player whose connection does not keep up stops taking units
  // (kMaxPendingOut unsent): its reader queue then drops the oldest, as for any slow reader.
  asio::awaitable<void> player() {
    std::vector<media::UnitPtr> units;
    std::vector<FlvMessage> msgs;
    player_->set_sink(this);
    while (!closed_ && player_) {
      if (out_.size() > kMaxPendingOut) {
        co_await drained_.async_wait(asio::as_tuple(asio::use_awaitable));
        drained_.expires_at(asio::steady_timer::time_point::max());
        continue;
      }
      player_waiting_ = true;
      const bool more = co_await player_->wait();
      player_waiting_ = false;
      if (!more || closed_) break;
      units.clear();
      player_->pop(units, kUnitsPerPass);
      for (const auto& u : units) {
        egress_->add(u, server_.samples(worker_), msgs);
        uint64_t bytes = send_media(msgs);
        if (bytes) player_->add_sent(bytes, 1);
      }
    }
    player_waiting_ = false;
    if (player_) player_->set_sink(nullptr);
    player_running_ = false;
    if (!closed_) {
      // The stream ended (publisher gone, tracks changed): tell the player, then close.
      on_status("status", "NetStream.Play.UnpublishNotify", path_ + " is no longer published.");
      close_after_flush_ = true;
      wake_writer_.cancel();
    }
  }

  RtmpServer& server_;
  tcp::socket socket_;
  size_t worker_;
  std::string id_;
  std::string remote_;
  asio::ip::address remote_address_;
  net::ConnectionLimiter::Slot slot_;
  std::chrono::steady_clock::time_point started_at_;

  rtmp::ChunkReader reader_;
  uint64_t received_ = 0, acked_ = 0;
  uint32_t peer_window_ = 0;
  ByteVector out_;
  uint32_t out_chunk_size_ = rtmp::kDefaultChunkSize;
  asio::steady_timer wake_writer_;
  asio::steady_timer drained_;
  bool writing_ = false;
  uint64_t written_ = 0;
  bool writer_running_ = false, player_running_ = false;
  bool player_waiting_ = false;        // the player coroutine waits for units: take() may write (see there)
  std::vector<FlvMessage> take_msgs_;  // take()'s scratch
  iovec batched_iov_{};                // take()'s send, queued in the worker's batch until sent()
  uint64_t batched_bytes_ = 0;         // its media bytes, counted when it went
  bool closed_ = false, close_after_flush_ = false, stop_reading_ = false;
  bool handshake_done_ = false;
  std::string error_;

  bool connected_ = false;
  std::string app_, tc_url_;
  std::optional<PendingRequest> pending_;
  bool blocked_ = false;
  std::deque<Held> backlog_;
  size_t backlog_bytes_ = 0;

  std::string path_;
  std::shared_ptr<media::Stream> stream_;
  bool publishing_ = false, playing_ = false, created_stream_ = false;
  std::unique_ptr<FlvIngest> ingest_;
  uint64_t bad_tags_ = 0;
  bool bad_tag_logged_ = false;
  std::unique_ptr<media::Reader> player_;
  std::unique_ptr<FlvEgress> egress_;
};

RtmpServer::RtmpServer(net::WorkerPool& pool, media::StreamRegistry& registry, RtmpOptions options,
                       auth_session::Authorizer& authorizer)
    : pool_(pool),
      registry_(registry),
      options_(std::move(options)),
      authorizer_(authorizer),
      samples_(std::make_unique<SampleCache[]>(pool.size())) {}

RtmpServer::~RtmpServer() = default;

SampleCache& RtmpServer::samples(size_t worker) { return samples_[worker]; }

Status RtmpServer::listen(const std::string& host, uint16_t port) {
  auto a = net::listen_tcp(pool_.accept_context(), host, port, "RTMP");
  if (!a) return make_error(a.error());
  acceptor_ = std::move(*a);
  port_ = acceptor_->local_endpoint().port();
  return Ok{};
}

void RtmpServer::start() {
  if (acceptor_) asio::co_spawn(acceptor_->get_executor(), accept_loop(), asio::detached);
}

void RtmpServer::stop_accepting() {
  if (!acceptor_) return;
  asio::post(acceptor_->get_executor(), [a = acceptor_.get()] {
    boost::system::error_code ec;
    a->close(ec);
  });
}

void RtmpServer::stop() {
  if (stopped_.exchange(true)) return;
  stop_accepting();
  std::vector<std::shared_ptr<RtmpSession>> live;
  {
    std::lock_guard lk(sessions_mu_);
    for (auto& [p, w] : live_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->kick();
}

void RtmpServer::bad_connection(const std::string& remote, const std::string& error) {
  bad_connections_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lk(bad_mu_);
  if (!bad_log_.allow()) return;
  log::warn("RTMP connection closed: bad input (similar ones within 5 s are counted, not logged)",
            {{"remote", remote}, {"error", error}, {"suppressed", bad_log_.suppressed()}});
}

asio::awaitable<void> RtmpServer::accept_loop() {
  net::AcceptBackoff backoff("RTMP");
  for (;;) {
    size_t worker = pool_.next();
    auto [ec, socket] = co_await acceptor_->async_accept(pool_.context(worker), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
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
        refused_.fetch_add(1, std::memory_order_relaxed);
        continue;  // closed: RTMP has no way to say why before the handshake
      }
      slot = std::move(admission.slot);
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::hand_off(pool_.handoff(), pool_.context(worker),
                  [this, worker, socket = std::move(socket), slot = std::move(slot)]() mutable {
                    auto session = std::make_shared<RtmpSession>(*this, std::move(socket), worker);
                    session->hold(std::move(slot));
                    {
                      std::lock_guard lk(sessions_mu_);
                      if (stopped_.load(std::memory_order_acquire)) return;
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

void RtmpServer::write_metrics(std::string& out) const {
  write_metric(out, "streamgate_rtmp_sessions", "gauge", "RTMP connections open.", sessions_.load());
  write_metric(out, "streamgate_rtmp_publishes_total", "counter", "RTMP publishes started.", publishes_.load());
  write_metric(out, "streamgate_rtmp_plays_total", "counter", "RTMP plays started.", plays_.load());
  write_metric(out, "streamgate_rtmp_bad_connections_total", "counter",
               "RTMP connections closed for bad input (handshake, chunk stream, commands) or a setup timeout.",
               bad_connections_.load());
  write_metric(out, "streamgate_rtmp_stalled_peers_total", "counter",
               "RTMP connections closed because they accepted no byte for reader_timeout.", stalled_peers_.load());
  write_metric(out, "streamgate_rtmp_refused_total", "counter", "RTMP connections refused by the connection limits.",
               refused_.load());
}

}  // namespace sg::rtmp_session
