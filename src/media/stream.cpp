#include "media/stream.hpp"

// GCC 12 reports -Wmismatched-new-delete for Asio's coroutine frames (its own operator new/delete pair) at -O2: a
// false positive (see src/rtsp_session/server.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/log.hpp"
#include "net/worker_pool.hpp"

namespace sg::media {

namespace asio = boost::asio;

namespace {
int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A GOP larger than this is not cached (new readers then wait for the next keyframe); it bounds memory per stream.
constexpr size_t kMaxGopUnits = 4096;
constexpr size_t kMaxGopBytes = 64 * 1024 * 1024;

// "10 s", "1.5 s": how long a publisher was silent, for last_error.
std::string seconds_text(std::chrono::milliseconds d) {
  std::string s = std::to_string(d.count() / 1000);
  if (d.count() % 1000 != 0) {
    std::string frac = std::to_string(1000 + d.count() % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}
}  // namespace

std::string_view to_string(StreamState state) {
  switch (state) {
    case StreamState::Idle: return "idle";
    case StreamState::Connecting: return "connecting";
    case StreamState::Ready: return "ready";
    case StreamState::Error: return "error";
  }
  return "unknown";
}

std::string_view to_string(KeyframeRequest result) {
  switch (result) {
    case KeyframeRequest::Sent: return "sent";
    case KeyframeRequest::RateLimited: return "rate_limited";
    case KeyframeRequest::Unsupported: return "unsupported";
  }
  return "unknown";
}

Stream::Stream(std::string id, StreamOptions options, net::WorkerPool& pool, SourceFactory factory)
    : id_(std::move(id)),
      options_(std::move(options)),
      pool_(pool),
      factory_(std::move(factory)),
      slots_(std::make_unique<WorkerSlot[]>(pool.size())),
      tracks_(std::make_shared<const std::vector<Track>>()) {
  on_demand_.store(options_.on_demand, std::memory_order_release);
}

Stream::~Stream() {
  if (source_) source_->stop();
}

void Stream::set_tracks(std::vector<Track> tracks) {
  bool changed;
  {
    std::lock_guard lk(mu_);
    changed = *tracks_ != tracks;
    if (!changed) return;
    has_video_ = false;
    for (const auto& t : tracks) has_video_ |= t.kind == MediaKind::Video;
    rebasers_.clear();
    for (const auto& t : tracks) rebasers_.emplace_back(t.clock_rate);
    tracks_ = std::make_shared<const std::vector<Track>>(std::move(tracks));
    gop_.clear();
    gop_bytes_ = 0;
    reception_.assign(tracks_->size(), {});
  }
  if (readers() > 0) {
    log::info("tracks changed, closing readers", {{"stream", id_}});
    close_readers();
  }
}

void Stream::update_track(size_t index, Track track) {
  std::lock_guard lk(mu_);
  if (index >= tracks_->size()) return;
  auto copy = *tracks_;
  copy[index] = std::move(track);
  tracks_ = std::make_shared<const std::vector<Track>>(std::move(copy));
}

std::shared_ptr<const std::vector<Track>> Stream::tracks() const {
  std::lock_guard lk(mu_);
  return tracks_;
}

uint32_t Stream::begin_source() {
  std::lock_guard lk(mu_);
  stale_logged_ = false;
  return ++source_session_;
}

std::vector<Stream::TrackClock> Stream::track_clocks() const {
  std::lock_guard lk(mu_);
  std::vector<TrackClock> out(rebasers_.size());
  for (size_t i = 0; i < rebasers_.size(); ++i) {
    const auto& r = rebasers_[i];
    out[i] = {r.started(), r.clock_rate(), r.last_timestamp(), r.last_arrival_ns()};
  }
  return out;
}

void Stream::publish(std::shared_ptr<Unit> unit) {
  UnitPtr shared;
  {
    std::lock_guard lk(mu_);
    if (unit->source < source_session_) {
      // A replaced publisher still sending: its timeline is not the stream's any more.
      if (!stale_logged_) {
        stale_logged_ = true;
        log::debug("units of a replaced source session dropped", {{"stream", id_}, {"source", unit->source}});
      }
      return;
    }
    if (unit->track < rebasers_.size()) {
      const uint32_t ts = rebasers_[unit->track].rebase(unit->source, unit->rtp_timestamp, unit->ingest_ns);
      if (ts != unit->rtp_timestamp) {
        // Once per unit at ingest, never per reader: the shared packets carry the re-based timestamp.
        const uint32_t shift = ts - unit->rtp_timestamp;
        MutableBytes data(unit->data);
        for (const auto& p : unit->rtp_packets) {
          if (p.size < 12) continue;
          auto packet = data.subspan(p.offset, p.size);
          put32(packet, 4, be32(packet, 4) + shift);
        }
        unit->rtp_timestamp = ts;
      }
    }
    unit->seq = ++seq_;
    shared = std::move(unit);
    if (has_video_) {
      // RTSP/WebRTC/HLS readers must start on a keyframe: keep everything since the last one.
      if (shared->video && shared->keyframe) {
        gop_.clear();
        gop_bytes_ = 0;
      }
      if (!gop_.empty() || (shared->video && shared->keyframe)) {
        gop_.push_back(shared);
        gop_bytes_ += shared->data.size();
        if (gop_.size() > kMaxGopUnits || gop_bytes_ > kMaxGopBytes) {
          gop_.clear();
          gop_bytes_ = 0;
        }
      }
    }
  }
  units_in_.fetch_add(1, std::memory_order_relaxed);
  const int64_t published_ns = steady_now_ns();
  for (size_t w = 0; w < pool_.size(); ++w) {
    if (slots_[w].count.load(std::memory_order_acquire) == 0) continue;
    asio::post(pool_.context(w),
               [self = shared_from_this(), shared, w, published_ns] { self->deliver(w, shared, published_ns); });
  }
}

size_t FanoutHistogram::bucket(int64_t ns) {
  const double seconds = static_cast<double>(ns) / 1e9;
  size_t b = 0;
  while (b < std::size(kBounds) && seconds > kBounds[b]) ++b;
  return b;
}

void Stream::deliver(size_t worker, const UnitPtr& unit, int64_t published_ns) {
  auto& slot = slots_[worker];
  const auto& readers = slot.readers;
  const size_t n = readers.size();
  if (n == 0) return;
  // Each unit starts at the next reader: no reader is always served last (the pass over a worker's readers takes
  // time: a socket write each, or a queue push and a wake-up).
  const size_t start = slot.rotation++ % n;
  // Each push touches a reader and its session that the pass before left cold: load the next ones meanwhile.
  auto pass = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (i + 2 < to) __builtin_prefetch(readers[i + 2]);
      if (i + 1 < to) readers[i + 1]->prefetch_sink();
      readers[i]->push(unit);
    }
  };
  pass(start, n);
  pass(0, start);
  // Sinks queue their socket writes in the worker's batch (net/send_batch.hpp); the last ones go out now.
  pool_.send_batch(worker).flush();
  const int64_t took = std::max<int64_t>(0, steady_now_ns() - published_ns);
  slot.fanout[FanoutHistogram::bucket(took)].fetch_add(1, std::memory_order_relaxed);
  slot.fanout_ns.fetch_add(static_cast<uint64_t>(took), std::memory_order_relaxed);
}

void Stream::set_state(StreamState state, std::string error) {
  uint64_t watch_epoch = 0;
  {
    std::lock_guard lk(mu_);
    if (state == StreamState::Ready && state_ != StreamState::Ready) {
      ready_since_ = std::chrono::steady_clock::now();
      last_error_.clear();  // recovered: the API shows last_error null again
    }
    state_ = state;
    if (!error.empty()) last_error_ = std::move(error);
    // A publisher made the stream ready: from now on it must keep sending.
    if (state == StreamState::Ready && !publisher_.empty() && options_.publisher_timeout.count() > 0 &&
        watched_epoch_ != publisher_epoch_) {
      watched_epoch_ = publisher_epoch_;
      watch_epoch = publisher_epoch_;
    }
  }
  if (watch_epoch != 0 && !pool_.stopped())
    asio::co_spawn(pool_.context(0), watch_publisher(weak_from_this(), watch_epoch, options_.publisher_timeout),
                   asio::detached);
}

asio::awaitable<void> Stream::watch_publisher(std::weak_ptr<Stream> weak, uint64_t epoch,
                                              std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  // Sampling the packet counter costs the data path nothing; a silence is seen at most one step late.
  const auto step = std::clamp<Clock::duration>(timeout / 8, std::chrono::milliseconds(50), std::chrono::seconds(1));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  uint64_t seen = 0;
  if (auto self = weak.lock()) seen = self->packets_in_.load(std::memory_order_relaxed);
  auto progress_at = Clock::now();
  for (;;) {
    timer.expires_after(step);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    auto self = weak.lock();
    if (!self) co_return;
    bool current;
    {
      std::lock_guard lk(self->mu_);
      current = self->publisher_epoch_ == epoch && !self->publisher_.empty();
    }
    if (!current) co_return;  // the publisher left, was replaced or the stream stopped
    const auto now = Clock::now();
    const uint64_t packets = self->packets_in_.load(std::memory_order_relaxed);
    if (packets != seen) {
      seen = packets;
      progress_at = now;
    } else if (now - progress_at >= timeout) {
      self->publisher_timed_out(epoch);
      co_return;
    }
  }
}

void Stream::publisher_timed_out(uint64_t epoch) {
  std::string session;
  std::function<void()> kick;
  {
    std::lock_guard lk(mu_);
    if (publisher_epoch_ != epoch || publisher_.empty()) return;
    session = std::move(publisher_);
    publisher_.clear();
    kick = std::move(kick_publisher_);
    kick_publisher_ = nullptr;
    state_ = StreamState::Idle;
    last_error_ = "publisher sent no data for " + seconds_text(options_.publisher_timeout);
    // Its last GOP is stale: a reader arriving now must not start on it.
    gop_.clear();
    gop_bytes_ = 0;
    publisher_timeouts_.fetch_add(1, std::memory_order_relaxed);  // counted with the state change, never after it
  }
  log::warn("publisher sent no data: stream no longer ready, publisher and readers closed",
            {{"stream", id_},
             {"session", session},
             {"timeout_ms", options_.publisher_timeout.count()},
             {"readers", readers()}});
  if (kick) kick();
  close_readers();
}

void Stream::add_received(uint64_t bytes, uint64_t packets) {
  bytes_in_.fetch_add(bytes, std::memory_order_relaxed);
  packets_in_.fetch_add(packets, std::memory_order_relaxed);
}

void Stream::count_reconnect() { reconnects_.fetch_add(1, std::memory_order_relaxed); }

void Stream::add_reception(size_t track, uint64_t received, uint64_t lost) {
  std::lock_guard lk(mu_);
  if (reception_.size() < tracks_->size()) reception_.resize(tracks_->size());
  if (track >= reception_.size()) return;
  reception_[track].received += received;
  reception_[track].lost += lost;
}

void Stream::set_source_transport(std::string transport) {
  std::lock_guard lk(mu_);
  source_transport_ = std::move(transport);
}

bool Stream::acquire_publisher(const std::string& session, bool replace, std::function<void()> kick) {
  std::function<void()> old_kick;
  if (options_.publish_gate && !options_.publish_gate(id_)) return false;
  {
    std::lock_guard lk(mu_);
    if (!publisher_.empty()) {
      if (!replace) return false;
      old_kick = std::move(kick_publisher_);
    }
    publisher_ = session;
    publisher_protocol_.clear();
    publisher_remote_.clear();
    kick_publisher_ = std::move(kick);
    ++publisher_epoch_;
    started_ = true;
  }
  if (old_kick) old_kick();
  return true;
}

void Stream::describe_publisher(const std::string& session, std::string protocol, std::string remote) {
  std::lock_guard lk(mu_);
  if (publisher_ != session) return;
  publisher_protocol_ = std::move(protocol);
  publisher_remote_ = std::move(remote);
}

void Stream::release_publisher(const std::string& session) {
  std::lock_guard lk(mu_);
  if (publisher_ != session) return;
  publisher_.clear();
  kick_publisher_ = nullptr;
  state_ = StreamState::Idle;
  // Cluster: the next reader starts the stream's source again (its relay from wherever the stream is published).
  if (options_.publisher_source && !source_) started_ = false;
}

std::unique_ptr<Reader> Stream::attach(size_t worker, std::string session) {
  auto reader = std::make_unique<Reader>(shared_from_this(), worker, pool_.context(worker).get_executor(),
                                         options_.reader_queue, std::move(session));
  if (reader->session() == "hls") hls_readers_.fetch_add(1, std::memory_order_relaxed);
  if (reader->session() == "webrtc") webrtc_feed_readers_.fetch_add(1, std::memory_order_relaxed);
  if (reader->session().starts_with("rtmp-")) rtmp_readers_.fetch_add(1, std::memory_order_relaxed);
  if (reader->session().starts_with("srt-")) srt_readers_.fetch_add(1, std::memory_order_relaxed);
  bool start_source = false, ask_keyframe = false;
  {
    std::lock_guard lk(mu_);
    auto& slot = slots_[worker];
    slot.readers.push_back(reader.get());
    slot.count.fetch_add(1, std::memory_order_release);
    // Replay the GOP cache so the reader starts on a keyframe at once; a GOP larger than the reader's queue
    // would be cut at its head, so then the reader waits for the next keyframe instead.
    // A downstream streamgate ("relay-" session, rtsp_session/server.cpp) starts on a live keyframe instead.
    const bool live_only = reader->session().starts_with("relay-");
    if (has_video_ && (gop_.empty() || gop_.size() > options_.reader_queue || live_only)) {
      reader->set_wait_keyframe(true);
      // The reader would wait for the source's next keyframe (seconds with a long GOP): ask for one now when the
      // source can be asked (a WHIP or RTSP publisher, an RTSP camera), rate-limited like a viewer's PLI.
      ask_keyframe = keyframe_handler_ && state_ == StreamState::Ready;
    } else {
      for (const auto& u : gop_) reader->push(u);
    }
    reader->set_last_seq(seq_);
    if (on_demand_timer_) on_demand_timer_->cancel();
    start_source = on_demand() && !started_;
  }
  if (start_source) {
    log::info("on-demand source starting for first reader", {{"stream", id_}});
    start();
  }
  if (ask_keyframe) request_keyframe();
  return reader;
}

void Stream::detach(Reader* reader) {
  if (reader->session() == "hls") hls_readers_.fetch_sub(1, std::memory_order_relaxed);
  if (reader->session() == "webrtc") webrtc_feed_readers_.fetch_sub(1, std::memory_order_relaxed);
  if (reader->session().starts_with("rtmp-")) rtmp_readers_.fetch_sub(1, std::memory_order_relaxed);
  if (reader->session().starts_with("srt-")) srt_readers_.fetch_sub(1, std::memory_order_relaxed);
  auto& slot = slots_[reader->worker()];
  std::erase(slot.readers, reader);
  slot.count.fetch_sub(1, std::memory_order_release);
  if (on_demand() && readers() == 0 && !pool_.stopped()) schedule_on_demand_stop();
}

void Stream::set_on_demand(bool on) {
  if (on_demand_.exchange(on, std::memory_order_acq_rel) == on) return;
  if (on) {
    if (readers() == 0 && !pool_.stopped()) schedule_on_demand_stop();
  } else {
    std::lock_guard lk(mu_);
    if (on_demand_timer_) on_demand_timer_->cancel();
  }
}

void Stream::schedule_on_demand_stop() {
  std::lock_guard lk(mu_);
  if (!started_ || !source_) return;
  on_demand_timer_ = std::make_unique<asio::steady_timer>(pool_.context(0), options_.on_demand_close_after);
  std::weak_ptr<Stream> weak = weak_from_this();
  on_demand_timer_->async_wait([weak](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->readers() > 0 || !self->on_demand()) return;
    log::info("on-demand source stopping, no readers left", {{"stream", self->id()}});
    std::unique_ptr<Source> source;
    {
      std::lock_guard lk(self->mu_);
      source = std::move(self->source_);
      // A publisher on this node still feeds the stream (cluster: its source is the relay, unused here).
      if (self->publisher_.empty()) {
        self->started_ = false;
        self->state_ = StreamState::Idle;
      }
    }
    if (source) source->stop();
  });
}

size_t Stream::readers() const {
  size_t n = 0;
  for (size_t w = 0; w < pool_.size(); ++w) n += slots_[w].count.load(std::memory_order_relaxed);
  int64_t total = static_cast<int64_t>(n) + external_readers_.load(std::memory_order_relaxed);
  return total > 0 ? static_cast<size_t>(total) : 0;
}

std::vector<UnitPtr> Stream::gop_snapshot() const {
  std::lock_guard lk(mu_);
  return gop_;
}

void Stream::close_readers() {
  for (size_t w = 0; w < pool_.size(); ++w) {
    if (slots_[w].count.load(std::memory_order_acquire) == 0) continue;
    asio::post(pool_.context(w), [self = shared_from_this(), w] {
      for (Reader* r : self->slots_[w].readers) r->close();
    });
  }
}

void Stream::start() {
  {
    std::lock_guard lk(mu_);
    if (started_) return;
    started_ = true;
    if ((options_.source == "publisher" && !options_.publisher_source) || !factory_) return;
    state_ = StreamState::Connecting;
  }
  // The factory may call back into the stream (set_state), so it runs without the lock.
  auto source = factory_(shared_from_this());
  {
    std::lock_guard lk(mu_);
    if (started_ && !source_) {
      source_ = std::move(source);
      return;
    }
  }
  if (source) source->stop();  // stopped meanwhile
}

void Stream::stop() {
  std::unique_ptr<Source> source;
  std::function<void()> kick;
  {
    std::lock_guard lk(mu_);
    source = std::move(source_);
    kick = std::move(kick_publisher_);
    publisher_.clear();
    started_ = false;
    state_ = StreamState::Idle;
    keyframe_handler_ = nullptr;  // the source is gone; a new one registers again
    gop_.clear();
    gop_bytes_ = 0;
    if (on_demand_timer_) on_demand_timer_->cancel();
  }
  if (source) source->stop();
  if (kick) kick();
  {
    // The source may have reported a state while it was stopping: a stopped stream is idle.
    std::lock_guard lk(mu_);
    if (!started_) state_ = StreamState::Idle;
  }
  close_readers();
}

bool Stream::started() const {
  std::lock_guard lk(mu_);
  return started_;
}

uint64_t Stream::set_keyframe_handler(std::function<void()> handler) {
  std::lock_guard lk(mu_);
  keyframe_handler_ = std::move(handler);
  return ++keyframe_handler_id_;
}

void Stream::clear_keyframe_handler(uint64_t id) {
  std::lock_guard lk(mu_);
  if (id == keyframe_handler_id_) keyframe_handler_ = nullptr;
}

KeyframeRequest Stream::request_keyframe(std::chrono::steady_clock::time_point now) {
  std::function<void()> handler;
  {
    std::lock_guard lk(mu_);
    if (!keyframe_handler_) {
      ++keyframe_requests_.unsupported;
      return KeyframeRequest::Unsupported;
    }
    if (keyframe_requested_at_ && now - *keyframe_requested_at_ < kKeyframeRequestInterval) {
      ++keyframe_requests_.rate_limited;
      return KeyframeRequest::RateLimited;
    }
    keyframe_requested_at_ = now;
    ++keyframe_requests_.sent;
    handler = keyframe_handler_;
  }
  handler();  // outside the lock: it posts to the source's executor
  return KeyframeRequest::Sent;
}

StreamStats Stream::stats() const {
  StreamStats s;
  {
    std::lock_guard lk(mu_);
    s.state = state_;
    s.last_error = last_error_;
    s.tracks = tracks_;
    s.has_publisher = !publisher_.empty();
    if (s.has_publisher) {
      s.publisher_protocol = publisher_protocol_;
      s.publisher_remote = publisher_remote_;
    }
    s.source_transport = source_transport_;
    s.reception = reception_;
    s.keyframe_requests = keyframe_requests_;
    if (state_ == StreamState::Ready)
      s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ready_since_).count();
  }
  s.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  s.packets_in = packets_in_.load(std::memory_order_relaxed);
  s.units_in = units_in_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.publisher_timeouts = publisher_timeouts_.load(std::memory_order_relaxed);
  for (size_t w = 0; w < pool_.size(); ++w) {
    s.readers += slots_[w].count.load(std::memory_order_relaxed);
    s.bytes_out += slots_[w].bytes_out.load(std::memory_order_relaxed);
    s.packets_out += slots_[w].packets_out.load(std::memory_order_relaxed);
    s.units_dropped += slots_[w].drops.load(std::memory_order_relaxed);
    for (size_t b = 0; b < FanoutHistogram::kBuckets; ++b) {
      const uint64_t c = slots_[w].fanout[b].load(std::memory_order_relaxed);
      s.fanout.counts[b] += c;
      s.fanout.count += c;
    }
    s.fanout.sum_seconds += static_cast<double>(slots_[w].fanout_ns.load(std::memory_order_relaxed)) / 1e9;
  }
  const int64_t attached = static_cast<int64_t>(s.readers);
  const int64_t external = external_readers_.load(std::memory_order_relaxed);
  int64_t readers = attached + external;
  s.readers = readers > 0 ? static_cast<size_t>(readers) : 0;
  const int64_t hls = hls_readers_.load(std::memory_order_relaxed);
  const int64_t feeds = webrtc_feed_readers_.load(std::memory_order_relaxed);
  auto clamp = [](int64_t v) { return v > 0 ? static_cast<size_t>(v) : size_t{0}; };
  s.readers_hls = clamp(hls);
  s.readers_webrtc = clamp(feeds + external);  // a feed's own reader is offset in external_readers_
  const int64_t rtmp = rtmp_readers_.load(std::memory_order_relaxed);
  s.readers_rtmp = clamp(rtmp);
  const int64_t srt = srt_readers_.load(std::memory_order_relaxed);
  s.readers_srt = clamp(srt);
  s.readers_rtsp = clamp(attached - hls - feeds - rtmp - srt);
  {
    std::lock_guard lk(mu_);
    s.bitrate_in = ingest_rate_.sample(std::chrono::steady_clock::now(), s.bytes_in);
  }
  return s;
}

}  // namespace sg::media
