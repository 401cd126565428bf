#include "record_session/recorder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/log.hpp"

namespace sg::record_session {

namespace asio = boost::asio;

namespace {

int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Recorder::Recorder(std::shared_ptr<media::Stream> stream, size_t worker, asio::io_context& context,
                   std::shared_ptr<RecordingSink> sink, RecorderOptions options)
    : stream_(std::move(stream)), worker_(worker), context_(context), sink_(std::move(sink)), options_(options) {}

Recorder::~Recorder() = default;

void Recorder::start() {
  asio::co_spawn(
      context_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void Recorder::stop(bool close_sink) {
  asio::post(context_, [self = shared_from_this(), close_sink] {
    self->stop_requested_ = true;
    self->close_sink_ |= close_sink;
    if (self->reader_) self->reader_->close();
  });
}

std::string Recorder::error() const {
  std::lock_guard lk(mu_);
  return error_;
}

void Recorder::set_error(std::string e) {
  std::lock_guard lk(mu_);
  error_ = std::move(e);
}

asio::awaitable<void> Recorder::run() {
  auto self = shared_from_this();
  // MPEG-TS carries H.264 / H.265 / AAC; a stream with Opus is recorded as fMP4 (the builder decides, see
  // hls_session::served_variant).
  builder_.emplace(options_.format == record::RecordFormat::MpegTs ? hls::Variant::MpegTs : hls::Variant::Fmp4);
  if (!stop_requested_) {
    reader_ = stream_->attach(worker_, "record");
    asio::co_spawn(
        context_, [self]() { return self->watch_idle(); }, asio::detached);
    std::vector<media::UnitPtr> units;
    while (!stop_requested_ && co_await reader_->wait()) {
      units.clear();
      reader_->pop(units);
      for (const auto& u : units) {
        handle(*u);
        if (stop_requested_) break;
      }
    }
  }
  if (segmenter_) {
    chunks_.clear();
    segmenter_->finish(chunks_);
    push_chunks();
  }
  if (close_sink_) sink_->close();
  reader_.reset();  // detach on this worker
  ended_.store(true, std::memory_order_release);
}

void Recorder::handle(const media::Unit& unit) {
  auto tracks = stream_->tracks();
  if (!tracks) return;
  samples_.clear();
  const bool was_ready = builder_->ready();
  if (auto s = builder_->add(unit, *tracks, samples_); !s) {
    if (!builder_->ready() && s.error().find("no track") != std::string::npos) {
      set_error("recording: " + s.error());
      stop_requested_ = true;
    }
    return;
  }
  if (!was_ready && builder_->ready()) {
    record::SegmenterOptions o;
    o.format = builder_->variant() == hls::Variant::MpegTs ? record::RecordFormat::MpegTs : record::RecordFormat::Fmp4;
    o.segment_us = options_.segment_us;
    o.part_us = options_.part_us;
    auto seg = record::RecordSegmenter::create(builder_->tracks(), o);
    if (!seg) {
      set_error("recording: " + seg.error());
      log::warn("recording: cannot record this stream", {{"stream", stream_->id()}, {"error", seg.error()}});
      stop_requested_ = true;
      return;
    }
    segmenter_.emplace(std::move(*seg));
  }
  if (!segmenter_) return;
  // A new source session (reconnect, new publisher) continues the timeline without its gap: a new segment, whose
  // start time (file name) takes the wall clock again.
  if (source_ && *source_ != unit.source) segmenter_->cut();
  source_ = unit.source;
  if (sink_->take_cut_request()) segmenter_->cut();
  chunks_.clear();
  const int64_t now = unix_us();
  for (auto& o : samples_) (void)segmenter_->push(o.track, std::move(o.sample), now, chunks_);
  push_chunks();
  last_unit_ = std::chrono::steady_clock::now();
}

void Recorder::push_chunks() {
  for (auto& c : chunks_) sink_->push(std::move(c));
  chunks_.clear();
}

asio::awaitable<void> Recorder::watch_idle() {
  auto self = shared_from_this();
  asio::steady_timer timer(context_);
  const auto idle =
      std::max<std::chrono::microseconds>(std::chrono::microseconds(2 * options_.part_us), std::chrono::seconds(2));
  while (reader_ && !reader_->closed() && !stop_requested_) {
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!reader_ || reader_->closed() || stop_requested_) break;
    if (segmenter_ && segmenter_->in_segment() && std::chrono::steady_clock::now() - last_unit_ > idle) {
      chunks_.clear();
      segmenter_->finish(chunks_);
      push_chunks();
    }
  }
}

}  // namespace sg::record_session
