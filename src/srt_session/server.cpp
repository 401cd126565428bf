#include "srt_session/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/access_control.h>
#include <srt/srt.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "base/prometheus.hpp"
#include "hls_session/sample_builder.hpp"
#include "mpegts/muxer.hpp"
#include "srt/stream_id.hpp"
#include "srt_session/libsrt.hpp"
#include "srt_session/ts_ingest.hpp"

namespace sg::srt_session {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr size_t kMaxPendingOut = 2 << 20;  // a reader whose send buffer stays full loses what is over this
constexpr size_t kUnitsPerPass = 64;
constexpr auto kAuthWait = 5s;  // the listen callback waits this long for a decision (the callout has its own timeout)

std::string address_of(const sockaddr* sa, uint16_t* port = nullptr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!sa) return {};
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (port) *port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    if (port) *port = ntohs(in->sin6_port);
  }
  return text;
}

std::string srt_error() { return last_error(); }

}  // namespace

class SrtSession : public std::enable_shared_from_this<SrtSession> {
 public:
  SrtSession(SrtServer& server, SRTSOCKET socket, size_t worker, srt::StreamId id, std::string remote)
      : server_(server), socket_(socket), worker_(worker), target_(std::move(id)), remote_(std::move(remote)) {
    static std::atomic<uint64_t> next{1};
    id_ = "srt-" + std::to_string(next.fetch_add(1));
  }

  SRTSOCKET socket() const { return socket_; }
  size_t worker() const { return worker_; }
  bool publisher() const { return target_.mode == srt::Mode::Publish; }
  std::atomic<size_t> queued{0};  // bytes posted to the worker, not yet handled

  // On the session's worker.
  void start() {
    if (publisher()) {
      start_publish();
    } else {
      auto self = shared_from_this();
      asio::co_spawn(server_.pool().context(worker_), [self] { return self->run_reader(); }, asio::detached);
    }
  }

  // From any thread: ends the session (socket broken, kicked publisher, server stop).
  void kick() {
    asio::post(server_.pool().context(worker_), [self = shared_from_this()] { self->close(); });
  }

  // On the worker: bytes of publisher messages, in order.
  void on_data(const ByteVector& data) {
    queued.fetch_sub(data.size(), std::memory_order_relaxed);
    if (closed_ || !ingest_) return;
    if (auto s = ingest_->on_data(data); !s && !error_logged_) {
      error_logged_ = true;  // once per publication: a broken encoder would otherwise log per frame
      log::warn("SRT publisher sent media that cannot be used", {{"stream", target_.path}, {"session", id_},
                                                                 {"remote", remote_}, {"error", s.error()}});
    }
  }

 private:
  void start_publish() {
    auto stream = server_.registry().find(target_.path);
    bool created = false;
    if (!stream) {
      if (!server_.options().allow_any_publish) return refuse("no such stream");
      media::StreamOptions opts;
      opts.source = "publisher";
      opts.reader_queue = server_.options().reader_queue;
      auto made = server_.registry().create(target_.path, std::move(opts));
      if (made) {
        stream = *made;
        created = true;
      } else if (!(stream = server_.registry().find(target_.path))) {
        return refuse(made.error());
      }
    }
    if (stream->options().source != "publisher") return refuse("the stream has a source of its own");
    std::weak_ptr<SrtSession> weak = weak_from_this();
    if (!stream->acquire_publisher(id_, server_.options().publish_conflict == "replace", [weak] {
          if (auto s = weak.lock()) s->kick();
        })) {
      if (created) server_.registry().remove(target_.path);
      return refuse("the stream already has a publisher");
    }
    stream->describe_publisher(id_, "srt", remote_);
    stream->set_state(media::StreamState::Connecting);
    stream_ = stream;
    created_stream_ = created;
    ingest_ = std::make_unique<TsIngest>(stream_);
    server_.count_publish();
    log::info("SRT publisher started", {{"stream", target_.path}, {"session", id_}, {"remote", remote_}});
  }

  void refuse(const std::string& why) {
    log::info("SRT request refused", {{"stream", target_.path}, {"session", id_}, {"remote", remote_}, {"reason", why}});
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (reader_) reader_->close();  // the reader coroutine ends and cleans up on this thread
    if (stream_ && ingest_) {
      ingest_.reset();
      stream_->release_publisher(id_);
      log::info("SRT publisher left", {{"stream", target_.path}, {"session", id_}, {"remote", remote_}});
      if (created_stream_) server_.registry().remove(target_.path);
      stream_.reset();
    }
    if (!reader_running_) server_.close_socket(socket_);
  }

  asio::awaitable<void> run_reader() {
    auto self = shared_from_this();
    reader_running_ = true;
    co_await read_stream();
    reader_.reset();  // detaches on this (the reader's) thread
    if (stream_) log::info("SRT reader left", {{"stream", target_.path}, {"session", id_}, {"remote", remote_}});
    stream_.reset();
    reader_running_ = false;
    closed_ = false;
    close();
  }

  asio::awaitable<void> read_stream() {
    auto executor = co_await asio::this_coro::executor;
    stream_ = server_.registry().find(target_.path);
    if (!stream_ || closed_) co_return;
    reader_ = stream_->attach(worker_, id_);  // also starts an on-demand source
    auto deadline = std::chrono::steady_clock::now() + server_.options().play_wait;
    while (!closed_) {
      auto tracks = stream_->tracks();
      if (tracks && !tracks->empty() && stream_->stats().state == media::StreamState::Ready) break;
      if (std::chrono::steady_clock::now() > deadline || reader_->closed()) {
        log::info("SRT reader refused: the stream is not ready", {{"stream", target_.path}, {"session", id_}});
        co_return;
      }
      asio::steady_timer t(executor, 50ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    server_.count_read();
    log::info("SRT reader started", {{"stream", target_.path}, {"session", id_}, {"remote", remote_}});
    hls_session::SampleBuilder builder(hls::Variant::MpegTs);
    std::optional<mpegts::Muxer> muxer;
    std::vector<int> muxer_track;  // builder track -> muxer track (-1: not carried in TS, Opus)
    std::vector<media::UnitPtr> units;
    std::vector<hls_session::SampleBuilder::Output> samples;
    ByteVector out;
    size_t audio_since_tables = 0;
    while (!closed_) {
      if (!pending_.empty()) {
        if (!flush()) co_return;
        if (!pending_.empty()) {
          asio::steady_timer t(executor, 10ms);  // the send buffer is full: let libsrt send, the queue drops oldest
          co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          continue;
        }
      }
      if (!co_await reader_->wait() || closed_) co_return;
      units.clear();
      reader_->pop(units, kUnitsPerPass);
      auto tracks = stream_->tracks();
      if (!tracks) continue;
      for (const auto& u : units) {
        samples.clear();
        if (auto s = builder.add(*u, *tracks, samples); !s) {
          if (!builder.ready() && s.error().find("no track") != std::string::npos) {
            log::info("SRT reader: no track of the stream fits MPEG-TS", {{"stream", target_.path}, {"error", s.error()}});
            co_return;
          }
          continue;
        }
        if (builder.ready() && !muxer) {
          std::vector<mp4::TrackInfo> infos;
          for (const auto& t : builder.tracks()) {
            muxer_track.push_back(t.codec == mp4::TrackInfo::Codec::Opus ? -1 : static_cast<int>(infos.size()));
            if (t.codec != mp4::TrackInfo::Codec::Opus) infos.push_back(t);
          }
          auto m = mpegts::Muxer::create(std::move(infos));
          if (!m) {
            log::info("SRT reader: cannot mux the stream", {{"stream", target_.path}, {"error", m.error()}});
            co_return;
          }
          muxer.emplace(std::move(*m));
          muxer->write_tables(out);
        }
        if (!muxer) continue;
        uint64_t bytes = 0;
        for (const auto& o : samples) {
          const int t = o.track < muxer_track.size() ? muxer_track[o.track] : -1;
          if (t < 0) continue;
          const bool video = builder.tracks()[o.track].is_video();
          // Tables before every keyframe (a reader joining mid-stream decodes from there), or every 50 audio frames.
          if ((video && o.sample.keyframe) || (!video && ++audio_since_tables >= 50)) {
            muxer->write_tables(out);
            audio_since_tables = 0;
          }
          const size_t before = out.size();
          if (muxer->write_sample(static_cast<size_t>(t), o.sample, out)) bytes += out.size() - before;
        }
        if (bytes) reader_->add_sent(bytes, 1);
      }
      append(pending_, out);
      out.clear();
      if (pending_.size() > kMaxPendingOut) {
        server_.count_send_drop(pending_.size());
        pending_.clear();
      }
      if (!flush()) co_return;
    }
  }

  // Sends whole 1316-byte messages (and a last shorter one of whole TS packets). False when the connection broke.
  bool flush() {
    size_t at = 0;
    while (at < pending_.size()) {
      const size_t n = std::min(SrtServer::kMessageSize, pending_.size() - at);
      const int r = srt_sendmsg2(socket_, reinterpret_cast<const char*>(pending_.data() + at), static_cast<int>(n), nullptr);
      if (r == SRT_ERROR) {
        if (srt_getlasterror(nullptr) == SRT_EASYNCSND) break;
        pending_.clear();
        return false;
      }
      at += n;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(at));
    return true;
  }

  SrtServer& server_;
  SRTSOCKET socket_;
  size_t worker_;
  srt::StreamId target_;
  std::string remote_;
  std::string id_;
  bool closed_ = false;
  bool reader_running_ = false;
  bool error_logged_ = false;
  std::shared_ptr<media::Stream> stream_;
  bool created_stream_ = false;
  std::unique_ptr<TsIngest> ingest_;
  std::unique_ptr<media::Reader> reader_;
  ByteVector pending_;
};

SrtServer::SrtServer(net::WorkerPool& pool, media::StreamRegistry& registry, SrtOptions options,
                     auth_session::Authorizer& authorizer)
    : pool_(pool), registry_(registry), options_(std::move(options)), authorizer_(authorizer) {}

SrtServer::~SrtServer() {
  stop();
  if (started_up_) cleanup();
}

Status SrtServer::listen(const std::string& host, uint16_t port) {
  if (auto s = startup(); !s) return s;
  started_up_ = true;
  listener_ = srt_create_socket();
  if (listener_ == SRT_INVALID_SOCK) return make_error("SRT: cannot create a socket: " + srt_error());
  // Options set on the listener are inherited by every accepted socket.
  const int no = 0;
  const int latency = options_.latency_ms;
  bool ok = srt_setsockflag(listener_, SRTO_RCVSYN, &no, sizeof no) == 0 &&
            srt_setsockflag(listener_, SRTO_SNDSYN, &no, sizeof no) == 0 &&
            srt_setsockflag(listener_, SRTO_LATENCY, &latency, sizeof latency) == 0;
  if (ok && !options_.passphrase.empty())
    ok = srt_setsockflag(listener_, SRTO_PASSPHRASE, options_.passphrase.data(),
                         static_cast<int>(options_.passphrase.size())) == 0;
  if (!ok) return make_error("SRT: cannot set socket options: " + srt_error());
  sockaddr_storage ss{};
  int len = 0;
  const std::string h = host.empty() ? "0.0.0.0" : host;
  if (h.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) != 1) return make_error("SRT: bad listen address '" + h + "'");
    len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (inet_pton(AF_INET, h.c_str(), &in->sin_addr) != 1) return make_error("SRT: bad listen address '" + h + "'");
    len = sizeof(sockaddr_in);
  }
  if (srt_bind(listener_, reinterpret_cast<sockaddr*>(&ss), len) == SRT_ERROR)
    return make_error("SRT: cannot listen on " + h + ":" + std::to_string(port) + ": " + srt_error());
  if (srt_listen_callback(listener_, &SrtServer::listen_callback, this) == SRT_ERROR ||
      srt_listen(listener_, 64) == SRT_ERROR)
    return make_error("SRT: listen failed: " + srt_error());
  sockaddr_storage bound{};
  int blen = sizeof bound;
  if (srt_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &blen) == 0)
    address_of(reinterpret_cast<sockaddr*>(&bound), &port_);
  epoll_ = srt_epoll_create();
  const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (epoll_ < 0 || srt_epoll_add_usock(epoll_, listener_, &events) == SRT_ERROR)
    return make_error("SRT: epoll: " + srt_error());
  return Ok{};
}

void SrtServer::start() {
  if (epoll_ >= 0) io_ = std::thread([this] { io_loop(); });
}

void SrtServer::stop() {
  if (stopping_.exchange(true)) return;
  if (io_.joinable()) io_.join();
  std::map<int, std::shared_ptr<SrtSession>> live;
  {
    std::lock_guard lk(mu_);
    live.swap(live_);
  }
  for (auto& [s, session] : live) {
    session->kick();
    srt_close(s);
  }
  if (listener_ != SRT_INVALID_SOCK && listener_ >= 0) srt_close(listener_);
  if (epoll_ >= 0) srt_epoll_release(epoll_);
  listener_ = epoll_ = -1;
}

int SrtServer::listen_callback(void* self, SRTSOCKET socket, int, const sockaddr* peer, const char* stream_id) {
  return static_cast<SrtServer*>(self)->on_listen(socket, peer, stream_id);
}

// On a libsrt thread, during the handshake: decides whether the caller may connect (0) or is rejected (-1).
int SrtServer::on_listen(SRTSOCKET socket, const sockaddr* peer, const char* stream_id) {
  if (!accepting_.load()) {
    srt_setrejectreason(socket, SRT_REJX_DOWN);
    return -1;
  }
  uint16_t peer_port = 0;
  const std::string ip = address_of(peer, &peer_port);
  const std::string remote = ip + ":" + std::to_string(peer_port);
  auto id = srt::parse_stream_id(stream_id ? std::string_view(stream_id) : std::string_view{});
  if (!id || !media::valid_stream_id(id->path)) {
    srt_setrejectreason(socket, SRT_REJX_BAD_REQUEST);
    bad_connection(remote, id ? "invalid stream name '" + id->path + "'" : id.error());
    return -1;
  }
  if (id->mode == srt::Mode::Read && !registry_.find(id->path)) {
    srt_setrejectreason(socket, SRT_REJX_NOTFOUND);
    refused_.fetch_add(1, std::memory_order_relaxed);
    return -1;
  }
  auth::AccessRequest ar;
  ar.action = id->mode == srt::Mode::Publish ? auth::Action::Publish : auth::Action::Read;
  ar.path = id->path;
  ar.protocol = "srt";
  ar.id = "srt-handshake";
  if (auto parsed = auth::IpAddress::parse(ip)) ar.ip = *parsed;
  ar.credentials.user = id->user;
  ar.credentials.password = id->pass;
  auto decision = asio::co_spawn(pool_.context(pool_.next()), authorizer_.check(std::move(ar)), asio::use_future);
  if (decision.wait_for(kAuthWait) != std::future_status::ready) {
    srt_setrejectreason(socket, SRT_REJX_DOWN);
    refused_.fetch_add(1, std::memory_order_relaxed);
    log::warn("SRT connection refused: no authorization decision in time", {{"remote", remote}, {"path", id->path}});
    return -1;
  }
  auth::Decision d;
  try {
    d = decision.get();
  } catch (...) {
    d.reason = "authorization failed";
  }
  if (!d.allowed()) {
    srt_setrejectreason(socket, d.verdict == auth::Verdict::Forbidden ? SRT_REJX_FORBIDDEN : SRT_REJX_UNAUTHORIZED);
    refused_.fetch_add(1, std::memory_order_relaxed);
    log::info("SRT request refused", {{"remote", remote}, {"path", id->path},
                                      {"action", auth::to_string(ar.action)}, {"reason", d.reason}});
    return -1;
  }
  return 0;
}

void SrtServer::io_loop() {
  std::vector<SRT_EPOLL_EVENT> events(256);
  while (!stopping_.load(std::memory_order_acquire)) {
    const int n = srt_epoll_uwait(epoll_, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      const SRTSOCKET s = events[static_cast<size_t>(i)].fd;
      const int ev = events[static_cast<size_t>(i)].events;
      if (s == listener_) {
        accept_all();
        continue;
      }
      if (ev & SRT_EPOLL_IN) read_publisher(s);
      if ((ev & SRT_EPOLL_ERR) || srt_getsockstate(s) > SRTS_CONNECTED) on_socket_error(s);
    }
  }
}

void SrtServer::accept_all() {
  for (;;) {
    sockaddr_storage peer{};
    int len = sizeof peer;
    const SRTSOCKET s = srt_accept(listener_, reinterpret_cast<sockaddr*>(&peer), &len);
    if (s == SRT_INVALID_SOCK) return;  // SRT_EASYNCRCV: no more pending
    char sid[600] = {};
    int sid_len = sizeof sid - 1;
    srt_getsockflag(s, SRTO_STREAMID, sid, &sid_len);
    auto id = srt::parse_stream_id(std::string_view(sid, static_cast<size_t>(std::max(0, sid_len))));
    if (!id) {  // checked in the listen callback already
      srt_close(s);
      continue;
    }
    uint16_t port = 0;
    const std::string ip = address_of(reinterpret_cast<sockaddr*>(&peer), &port);
    const size_t worker = pool_.next();
    auto session = std::make_shared<SrtSession>(*this, s, worker, std::move(*id), ip + ":" + std::to_string(port));
    {
      std::lock_guard lk(mu_);
      live_[s] = session;
    }
    sessions_.fetch_add(1);
    // Readers are watched for errors too (a closed connection ends the session); what they send is discarded.
    const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    srt_epoll_add_usock(epoll_, s, &events);
    asio::post(pool_.context(worker), [session] { session->start(); });
  }
}

void SrtServer::read_publisher(SRTSOCKET s) {
  std::shared_ptr<SrtSession> session;
  {
    std::lock_guard lk(mu_);
    if (auto it = live_.find(s); it != live_.end()) session = it->second;
  }
  // Every message waiting now, in one buffer posted once.
  ByteVector data;
  char buf[1500];
  for (;;) {
    const int n = srt_recvmsg(s, buf, sizeof buf);
    if (n <= 0) break;
    if (session && session->publisher()) append(data, Bytes(reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(n)));
    if (data.size() >= 256 * 1024) break;
  }
  if (!session || data.empty()) return;
  if (session->queued.load(std::memory_order_relaxed) + data.size() > kMaxQueuedBytes) {
    dropped_bytes_.fetch_add(data.size(), std::memory_order_relaxed);  // the worker is behind: bounded, counted
    return;
  }
  session->queued.fetch_add(data.size(), std::memory_order_relaxed);
  asio::post(pool_.context(session->worker()), [session, data = std::move(data)] { session->on_data(data); });
}

void SrtServer::on_socket_error(SRTSOCKET s) {
  std::shared_ptr<SrtSession> session;
  {
    std::lock_guard lk(mu_);
    if (auto it = live_.find(s); it != live_.end()) session = it->second;
  }
  srt_epoll_remove_usock(epoll_, s);
  if (session) session->kick();
}

void SrtServer::close_socket(SRTSOCKET s) {
  std::shared_ptr<SrtSession> session;
  {
    std::lock_guard lk(mu_);
    if (auto it = live_.find(s); it != live_.end()) {
      session = std::move(it->second);
      live_.erase(it);
    }
  }
  if (!session) return;  // closed already (server stop)
  if (epoll_ >= 0) srt_epoll_remove_usock(epoll_, s);
  srt_close(s);
  sessions_.fetch_sub(1);
}

void SrtServer::bad_connection(const std::string& remote, const std::string& error) {
  bad_connections_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lk(bad_mu_);
  if (!bad_log_.allow()) return;
  log::warn("SRT connection refused: bad stream id (similar ones within 5 s are counted, not logged)",
            {{"remote", remote}, {"error", error}, {"suppressed", bad_log_.suppressed()}});
}

void SrtServer::write_metrics(std::string& out) const {
  write_metric(out, "streamgate_srt_sessions", "gauge", "SRT connections open.", sessions_.load());
  write_metric(out, "streamgate_srt_publishes_total", "counter", "SRT publishes started.", publishes_.load());
  write_metric(out, "streamgate_srt_reads_total", "counter", "SRT reads started.", reads_.load());
  write_metric(out, "streamgate_srt_bad_connections_total", "counter",
               "SRT connections rejected for a malformed stream id.", bad_connections_.load());
  write_metric(out, "streamgate_srt_refused_total", "counter",
               "SRT connections rejected by authorization, or reading a stream that does not exist.", refused_.load());
  write_metric(out, "streamgate_srt_dropped_bytes_total", "counter",
               "Bytes from SRT publishers dropped because their worker was behind (bounded queue).",
               dropped_bytes_.load());
  write_metric(out, "streamgate_srt_reader_dropped_bytes_total", "counter",
               "MPEG-TS bytes not sent to SRT readers whose send buffer stayed full.", send_dropped_.load());
}

}  // namespace sg::srt_session
