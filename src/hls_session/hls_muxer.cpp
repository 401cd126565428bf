#include "hls_session/hls_muxer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "app/log.hpp"

namespace sg::hls_session {

namespace asio = boost::asio;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename Items>
hls::SharedBytes find_item(const Items& items, uint64_t id) {
  if (items.empty() || id < items.front().id || id > items.back().id) return nullptr;
  // Ids are consecutive within the window.
  const auto& item = items[id - items.front().id];
  return item.id == id ? item.data : nullptr;
}

// The on-disk copy must never write through a symlink planted in the directory (by whoever else can write there):
// every file is created fresh (O_CREAT | O_EXCL | O_NOFOLLOW) under a temporary name and renamed over the old one,
// which replaces a planted link instead of following it; names are plain (no '/'), relative to the opened directory.
class DirectoryFd {
 public:
  explicit DirectoryFd(int fd) : fd_(fd) {}
  ~DirectoryFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryFd(const DirectoryFd&) = delete;
  DirectoryFd& operator=(const DirectoryFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

bool write_file(int dir, const std::string& name, const void* data, size_t size) {
  if (!plain_name(name)) return false;
  const std::string tmp = name + ".tmp";
  ::unlinkat(dir, tmp.c_str(), 0);
  int fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  auto* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  if (left > 0 || ::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
    ::unlinkat(dir, tmp.c_str(), 0);
    return false;
  }
  return true;
}

}  // namespace

hls::SharedBytes Snapshot::segment(uint64_t msn) const { return find_item(segments, msn); }
hls::SharedBytes Snapshot::part(uint64_t id) const { return find_item(parts, id); }

HlsMuxer::HlsMuxer(std::shared_ptr<media::Stream> stream, size_t worker, asio::io_context& context,
                   HlsOptions options)
    : stream_(std::move(stream)),
      stream_id_(stream_->id()),
      worker_(worker),
      context_(context),
      options_(std::move(options)),
      snapshot_([this] {
        auto first = std::make_shared<Snapshot>();
        first->variant = options_.variant;
        return first;
      }()) {
  touch();
}

HlsMuxer::~HlsMuxer() = default;

void HlsMuxer::start(std::function<void(HlsMuxer*)> on_end) {
  on_end_ = std::move(on_end);
  asio::co_spawn(context_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void HlsMuxer::stop() {
  asio::post(context_, [self = shared_from_this()] {
    self->stop_requested_ = true;
    if (self->reader_) self->reader_->close();
  });
}

void HlsMuxer::touch() { last_touch_ms_.store(steady_ms(), std::memory_order_relaxed); }

std::shared_ptr<const Snapshot> HlsMuxer::snapshot() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

size_t HlsMuxer::waiters() const {
  std::lock_guard lk(mu_);
  return waiters_.size();
}

asio::awaitable<void> HlsMuxer::wait_update(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
  {
    std::lock_guard lk(mu_);
    if (snapshot_->version != seen || snapshot_->failed) co_return;
    waiters_.push_back(timer);
  }
  // notify() cancels the timer through a post to this executor, so a wake-up cannot be lost between the check
  // above and the wait below.
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

void HlsMuxer::notify() {
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;
  {
    std::lock_guard lk(mu_);
    waiters.swap(waiters_);
  }
  for (auto& t : waiters) asio::post(t->get_executor(), [t] { t->cancel(); });
}

asio::awaitable<void> HlsMuxer::watch_idle() {
  asio::steady_timer timer(context_);
  while (reader_ && !reader_->closed()) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!reader_ || reader_->closed()) break;
    if (steady_ms() - last_touch_ms_.load(std::memory_order_relaxed) > options_.idle_timeout.count()) {
      log::info("HLS muxer idle, stopping", {{"stream", stream_id_}});
      stop_requested_ = true;
      reader_->close();
    }
  }
}

asio::awaitable<void> HlsMuxer::run() {
  auto self = shared_from_this();
  builder_.emplace(options_.variant);
  reader_ = stream_->attach(worker_, "hls");
  log::info("HLS muxer started", {{"stream", stream_id_}, {"worker", worker_}});
  asio::co_spawn(context_, [self]() { return self->watch_idle(); }, asio::detached);
  std::vector<media::UnitPtr> units;
  while (!stop_requested_ && co_await reader_->wait()) {
    units.clear();
    reader_->pop(units);
    for (const auto& u : units) {
      handle(*u);
      if (stop_requested_) break;
    }
  }
  if (last_error_.empty()) last_error_ = stop_requested_ ? "HLS muxer stopped" : "stream closed its readers";
  fail(last_error_);
  log::info("HLS muxer stopped", {{"stream", stream_id_}, {"reason", last_error_}});
  reader_.reset();  // detach on this worker
  if (on_end_) on_end_(this);
}

void HlsMuxer::handle(const media::Unit& unit) {
  auto tracks = stream_->tracks();
  if (!tracks) return;
  tracks_ = tracks;
  std::vector<SampleBuilder::Output> out;
  const bool was_ready = builder_->ready();
  if (auto s = builder_->add(unit, *tracks, out); !s) {
    if (s.error() != last_error_) log::warn("HLS: unit not usable", {{"stream", stream_id_}, {"error", s.error()}});
    last_error_ = s.error();
    if (!builder_->ready() && s.error().find("no track") != std::string::npos) {
      stop_requested_ = true;  // nothing this variant can carry
    }
    return;
  }
  if (!was_ready && builder_->ready()) {
    hls::SegmenterConfig cfg;
    cfg.variant = builder_->variant();
    if (cfg.variant != options_.variant)
      log::info("HLS: MPEG-TS does not carry this stream's codecs (H.265 / Opus), serving fMP4 segments",
                {{"stream", stream_id_}});
    cfg.target_duration = options_.segment_duration;
    cfg.part_target = options_.part_duration;
    cfg.window = options_.segment_count;
    auto seg = hls::Segmenter::create(builder_->tracks(), cfg);
    if (!seg) {
      last_error_ = seg.error();
      log::warn("HLS: cannot create the segmenter", {{"stream", stream_id_}, {"error", seg.error()}});
      stop_requested_ = true;
      return;
    }
    segmenter_.emplace(std::move(*seg));
    last_error_.clear();
    for (size_t i : builder_->skipped()) {
      // A second audio track is routine; a video track that HLS cannot carry is worth a warning.
      const bool video = (*tracks)[i].kind == media::MediaKind::Video;
      log::write(video ? log::Level::Warn : log::Level::Info, "HLS: track left out",
                 {{"stream", stream_id_}, {"track", i}, {"codec", std::string(media::to_string((*tracks)[i].codec))}});
    }
  }
  if (!segmenter_) return;
  const int64_t now = unix_ms();
  for (const auto& o : out) {
    if (auto s = segmenter_->push(o.track, o.sample, now); !s) {
      if (s.error() != last_error_) log::debug("HLS: sample rejected", {{"stream", stream_id_}, {"error", s.error()}});
      last_error_ = s.error();
    }
  }
  const auto pos = segmenter_->position();
  if (pos.next_msn != last_position_.next_msn || pos.parts_in_next != last_position_.parts_in_next) {
    segments_total_.fetch_add(pos.next_msn - last_position_.next_msn, std::memory_order_relaxed);
    if (options_.variant == hls::Variant::LowLatency)
      parts_total_.store(segmenter_->next_part_id(), std::memory_order_relaxed);
    last_position_ = pos;
    publish_snapshot();
    // This unit closed the previous part and starts the next one.
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch()).count();
    if (part_first_ingest_ns_ > 0 && now_ns > part_first_ingest_ns_) {
      latency_sum_us_.fetch_add(static_cast<uint64_t>(now_ns - part_first_ingest_ns_) / 1000, std::memory_order_relaxed);
      latency_count_.fetch_add(1, std::memory_order_relaxed);
    }
    part_first_ingest_ns_ = unit.ingest_ns;
  }
}

void HlsMuxer::publish_snapshot() {
  auto snap = std::make_shared<Snapshot>();
  const auto& seg = *segmenter_;
  snap->variant = seg.config().variant;
  snap->position = seg.position();
  snap->next_part_id = seg.next_part_id();
  snap->media_playlist = seg.media_playlist();
  snap->init = seg.init_segment();
  snap->has_segment = !seg.segments().empty();
  uint64_t max_bps = 0;
  for (const auto& s : seg.segments()) {
    snap->segments.push_back({s.msn, s.data});
    if (s.data && s.duration_us > 0)
      max_bps = std::max<uint64_t>(max_bps, s.data->size() * 8 * 1000000 / static_cast<uint64_t>(s.duration_us));
    if (options_.variant == hls::Variant::LowLatency)
      for (const auto& p : s.parts) snap->parts.push_back({p.id, p.data});
  }
  if (options_.variant == hls::Variant::LowLatency) {
    // Complete parts of the segment being built: the ones just before the part being built.
    const uint64_t next = seg.next_part_id();
    for (uint64_t id = next - std::min<uint64_t>(next, snap->position.parts_in_next); id < next; ++id)
      if (auto data = seg.part_data(id)) snap->parts.push_back({id, data});
  }
  if (!snap->segments.empty()) snap->first_msn = snap->segments.front().id;
  if (!snap->parts.empty()) snap->first_part_id = snap->parts.front().id;
  // BANDWIDTH (RFC 8216 4.3.4.2) is the peak segment bit rate; 10% headroom for the segments still to come.
  const uint64_t bandwidth = std::max<uint64_t>(max_bps + max_bps / 10, 100000);
  if (auto mv = hls::render_multivariant_playlist(builder_->tracks(), bandwidth, "stream.m3u8"))
    snap->multivariant_playlist = std::move(*mv);
  {
    std::lock_guard lk(mu_);
    snap->version = snapshot_->version + 1;
    snapshot_ = snap;
  }
  notify();
  if (!options_.directory.empty()) write_directory(*snap);
}

void HlsMuxer::fail(std::string error) {
  {
    std::lock_guard lk(mu_);
    auto snap = std::make_shared<Snapshot>(*snapshot_);
    snap->version = snapshot_->version + 1;
    snap->failed = true;
    snap->error = std::move(error);
    snapshot_ = snap;
  }
  notify();
}

void HlsMuxer::write_directory(const Snapshot& snap) {
  // The configured directory is the administrator's (it may itself be a symlink); below it nothing is followed.
  DirectoryFd base(::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (base.get() < 0 || !plain_name(stream_id_)) return directory_failed("cannot open the HLS directory");
  if (::mkdirat(base.get(), stream_id_.c_str(), 0755) != 0 && errno != EEXIST)
    return directory_failed("cannot create the stream's HLS directory");
  DirectoryFd dir(::openat(base.get(), stream_id_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) return directory_failed("the stream's HLS directory is not a directory (a symlink?): refused");
  const auto& seg = *segmenter_;
  std::vector<std::string> keep;
  bool ok = true;
  auto put = [&](const std::string& name, const hls::SharedBytes& data) {
    if (!data) return;
    keep.push_back(name);
    if (std::find(written_files_.begin(), written_files_.end(), name) != written_files_.end()) return;
    ok &= write_file(dir.get(), name, data->data(), data->size());
  };
  put(seg.config().init_uri, snap.init);
  for (const auto& s : snap.segments) put(seg.segment_uri(s.id), s.data);
  for (const auto& p : snap.parts) put(seg.part_uri(p.id), p.data);
  for (const auto& old : written_files_)
    if (std::find(keep.begin(), keep.end(), old) == keep.end() && plain_name(old)) ::unlinkat(dir.get(), old.c_str(), 0);
  written_files_ = std::move(keep);
  ok &= write_file(dir.get(), "stream.m3u8", snap.media_playlist.data(), snap.media_playlist.size());
  if (!snap.multivariant_playlist.empty())
    ok &= write_file(dir.get(), "index.m3u8", snap.multivariant_playlist.data(), snap.multivariant_playlist.size());
  if (!ok) directory_failed("cannot write a file in the stream's HLS directory");
}

void HlsMuxer::directory_failed(std::string_view what) {
  if (directory_log_.allow())
    log::warn(what, {{"stream", stream_id_}, {"directory", options_.directory}, {"error", std::strerror(errno)},
                     {"suppressed", directory_log_.suppressed()}});
}

}  // namespace sg::hls_session
