#include "hls/segmenter.hpp"

#include <algorithm>
#include <cmath>

#include "mp4/fragment.hpp"

namespace sg::hls {
namespace {

constexpr int64_t kMaxMediaSeconds = int64_t{1} << 32;  // keeps every microsecond value far from overflow
constexpr int64_t kMaxWallClockMs = 253402300799999 - kMaxMediaSeconds * 1000;  // keeps PDT before year 10000
constexpr int64_t kPartTolerance = 499;  // us; a part may exceed the target by less than half a millisecond

int64_t seconds_to_us(double s) { return static_cast<int64_t>(std::llround(s * 1e6)); }
int64_t round_ms(int64_t us) { return (us + 500) / 1000; }
double printable_seconds(int64_t us) { return static_cast<double>(round_ms(us)) / 1000.0; }

}  // namespace

Result<Segmenter> Segmenter::create(std::vector<mp4::TrackInfo> tracks, SegmenterConfig config) {
  if (tracks.empty()) return make_error("HLS: segmenter without tracks");
  if (!(config.target_duration >= 0.1 && config.target_duration <= 3600))
    return make_error("HLS: target duration must be within 0.1..3600 s");
  if (!(config.part_target >= 0.01 && config.part_target <= config.target_duration))
    return make_error("HLS: part target must be within 0.01 s..target duration");
  if (!(config.max_segment_duration >= config.target_duration && config.max_segment_duration <= 3600))
    return make_error("HLS: max segment duration must be within target duration..3600 s");
  if (config.window == 0) return make_error("HLS: window must hold at least one segment");
  Segmenter s;
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (tracks[i].timescale == 0) return make_error("HLS: track " + std::to_string(i) + " has timescale 0");
  }
  s.main_ = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (tracks[i].is_video()) {
      s.main_ = i;
      break;
    }
  }
  if (config.variant == Variant::MpegTs) {
    auto m = mpegts::Muxer::create(tracks);
    if (!m) return make_error(m.error());
    s.ts_.emplace(std::move(*m));
  } else {
    auto init = mp4::write_init_segment(tracks);
    if (!init) return make_error(init.error());
    s.init_ = std::make_shared<const ByteVector>(std::move(*init));
  }
  s.pending_.resize(tracks.size());
  s.last_dts_.resize(tracks.size());
  s.tracks_ = std::move(tracks);
  s.config_ = std::move(config);
  return s;
}

int64_t Segmenter::to_us(size_t track, int64_t t) const {
  const int64_t ts = tracks_[track].timescale;
  return t / ts * 1'000'000 + t % ts * 1'000'000 / ts;
}

std::string Segmenter::segment_uri(uint64_t msn) const {
  return config_.segment_prefix + std::to_string(msn) + (config_.variant == Variant::MpegTs ? ".ts" : ".m4s");
}

std::string Segmenter::part_uri(uint64_t part_id) const {
  return config_.part_prefix + std::to_string(part_id) + ".m4s";
}

void Segmenter::open_segment(int64_t start_us, int64_t wall_clock_ms) {
  Segment seg;
  seg.msn = next_msn_;
  seg.start_us = start_us;
  seg.program_date_time_ms = wall_anchor_ms_ + (start_us - wall_anchor_us_) / 1000;
  // RFC 8216 4.3.2.6: the date maps the segment's first sample to wall time. After a gap the timeline skipped
  // (source reconnect), media time lags the wall clock by the gap: follow the wall clock again.
  const int64_t wall = std::clamp<int64_t>(wall_clock_ms, 0, kMaxWallClockMs);
  if (wall - seg.program_date_time_ms > kProgramDateTimeResyncMs) {
    wall_anchor_ms_ = wall;
    wall_anchor_us_ = start_us;
    seg.program_date_time_ms = wall;
  }
  current_ = std::move(seg);
  part_start_us_ = start_us;
  part_has_main_ = false;
  part_independent_ = false;
  if (ts_) ts_->write_tables(pending_ts_);
}

Status Segmenter::close_part(int64_t end_us) {
  SharedBytes data;
  if (ts_) {
    data = std::make_shared<const ByteVector>(std::move(pending_ts_));
    pending_ts_.clear();
  } else {
    std::vector<mp4::TrackRun> runs;
    for (size_t i = 0; i < pending_.size(); ++i)
      if (!pending_[i].empty()) runs.push_back({static_cast<uint32_t>(i + 1), tracks_[i].is_video(), pending_[i]});
    auto frag = mp4::write_fragment(fragment_sequence_++, runs);
    if (!frag) return make_error(frag.error());
    data = std::make_shared<const ByteVector>(std::move(*frag));
    for (auto& p : pending_) p.clear();
  }
  Part part;
  part.id = next_part_id_++;
  part.duration_us = end_us - part_start_us_;
  part.independent = part_independent_;
  part.data = std::move(data);
  max_part_us_ = std::max(max_part_us_, part.duration_us);
  current_->parts.push_back(std::move(part));
  part_start_us_ = end_us;
  part_has_main_ = false;
  part_independent_ = false;
  return Ok{};
}

Status Segmenter::close_segment(int64_t end_us) {
  Segment seg = std::move(*current_);
  current_.reset();
  seg.duration_us = end_us - seg.start_us;
  if (seg.parts.size() == 1) {
    seg.data = seg.parts.front().data;
  } else {
    auto all = std::make_shared<ByteVector>();
    for (const Part& p : seg.parts) append(*all, *p.data);
    seg.data = std::move(all);
  }
  if (config_.variant != Variant::LowLatency) seg.parts.clear();  // not listed; the segment holds the bytes
  max_segment_us_ = std::max(max_segment_us_, seg.duration_us);
  segments_.push_back(std::move(seg));
  while (segments_.size() > config_.window) segments_.pop_front();
  ++next_msn_;
  return Ok{};
}

Status Segmenter::push(size_t track, const mp4::Sample& s, int64_t wall_clock_ms) {
  if (ended_) return make_error("HLS: sample after end of stream");
  if (track >= tracks_.size()) return make_error("HLS: no track " + std::to_string(track));
  if (s.dts < 0 || s.dts / tracks_[track].timescale > kMaxMediaSeconds)
    return make_error("HLS: decode time " + std::to_string(s.dts) + " out of range");
  if (last_dts_[track] && s.dts <= *last_dts_[track])
    return make_error("HLS: track " + std::to_string(track) + " decode time " + std::to_string(s.dts) +
                      " does not increase");
  const bool is_main = track == main_;
  const bool main_video = tracks_[main_].is_video();
  if (!current_ && (!is_main || (main_video && !s.keyframe))) return Ok{};  // wait for the first keyframe

  // Mux first so a malformed sample is rejected before any state changes.
  ByteVector ts_bytes;
  if (ts_) {
    if (auto st = ts_->write_sample(track, s, ts_bytes); !st) return st;
  }
  const int64_t t = to_us(track, s.dts);
  const int64_t duration_us = to_us(track, s.duration);
  if (!first_start_us_) {
    first_start_us_ = t;
    wall_anchor_ms_ = std::clamp<int64_t>(wall_clock_ms, 0, kMaxWallClockMs);
    wall_anchor_us_ = t;
  }
  if (!current_) {
    open_segment(t, wall_clock_ms);
  } else if (is_main) {
    const int64_t age = t - current_->start_us;
    const bool can_cut = s.keyframe || !main_video;
    if ((can_cut && age >= seconds_to_us(config_.target_duration)) ||
        age >= seconds_to_us(config_.max_segment_duration)) {
      if (auto st = close_part(t); !st) return st;
      if (auto st = close_segment(t); !st) return st;
      open_segment(t, wall_clock_ms);
    } else if (config_.variant == Variant::LowLatency && part_has_main_) {
      const int64_t predicted = duration_us > 0 ? duration_us : last_main_duration_us_;
      if (t - part_start_us_ + predicted > seconds_to_us(config_.part_target) + kPartTolerance) {
        if (auto st = close_part(t); !st) return st;
      }
    }
  }

  if (ts_) {
    append(pending_ts_, ts_bytes);
  } else {
    auto& q = pending_[track];
    // The previous sample's real duration is the gap to this one.
    if (!q.empty()) q.back().duration = static_cast<uint32_t>(std::min<int64_t>(s.dts - q.back().dts, UINT32_MAX));
    q.push_back(s);
  }
  if (is_main) {
    if (last_dts_[track]) last_main_duration_us_ = t - to_us(track, *last_dts_[track]);
    if (!part_has_main_) part_independent_ = s.keyframe || !main_video;
    part_has_main_ = true;
    main_end_us_ = t + std::max<int64_t>(duration_us > 0 ? duration_us : last_main_duration_us_, 0);
  }
  last_dts_[track] = s.dts;
  return Ok{};
}

void Segmenter::finish() {
  if (ended_) return;
  ended_ = true;
  if (!current_) return;
  if (part_has_main_) {
    const int64_t end = std::max(main_end_us_, part_start_us_ + 1);
    if (close_part(end).ok()) (void)close_segment(end);
    return;
  }
  if (!current_->parts.empty()) (void)close_segment(part_start_us_);
  current_.reset();
}

SharedBytes Segmenter::segment_data(uint64_t msn) const {
  for (const Segment& s : segments_)
    if (s.msn == msn) return s.data;
  return nullptr;
}

SharedBytes Segmenter::part_data(uint64_t part_id) const {
  auto find = [part_id](const Segment& s) -> SharedBytes {
    for (const Part& p : s.parts)
      if (p.id == part_id) return p.data;
    return nullptr;
  };
  if (current_)
    if (auto d = find(*current_)) return d;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it)
    if (auto d = find(*it)) return d;
  return nullptr;
}

PlaylistPosition Segmenter::position() const {
  PlaylistPosition p;
  p.next_msn = current_ ? current_->msn : next_msn_;
  p.parts_in_next = current_ ? current_->parts.size() : 0;
  p.part_target = playlist_model().part_target;
  return p;
}

MediaPlaylist Segmenter::playlist_model() const {
  MediaPlaylist p;
  p.variant = config_.variant;
  const int64_t configured = static_cast<int64_t>(std::ceil(config_.target_duration - 1e-9));
  p.target_duration = static_cast<uint64_t>(std::max(configured, (round_ms(max_segment_us_) + 999) / 1000));
  p.media_sequence = segments_.empty() ? (current_ ? current_->msn : next_msn_) : segments_.front().msn;
  p.map_uri = config_.init_uri;
  p.part_target = std::max(config_.part_target, printable_seconds(max_part_us_));
  p.ended = ended_;
  const bool ll = config_.variant == Variant::LowLatency;
  // RFC 8216bis 4.4.4.9: parts older than three target durations from the end are dropped from the playlist.
  int64_t after = 0;
  if (current_)
    for (const Part& part : current_->parts) after += part.duration_us;
  const int64_t part_horizon = 3 * seconds_to_us(config_.target_duration);
  p.segments.resize(segments_.size());
  for (size_t i = segments_.size(); i-- > 0;) {
    const Segment& s = segments_[i];
    SegmentEntry& e = p.segments[i];
    e.msn = s.msn;
    e.duration = printable_seconds(s.duration_us);
    e.uri = segment_uri(s.msn);
    e.program_date_time_ms = s.program_date_time_ms;
    if (ll && after < part_horizon)
      for (const Part& part : s.parts)
        e.parts.push_back({printable_seconds(part.duration_us), part.independent, part_uri(part.id)});
    after += s.duration_us;
  }
  if (ll && current_) {
    for (const Part& part : current_->parts)
      p.pending_parts.push_back({printable_seconds(part.duration_us), part.independent, part_uri(part.id)});
    p.pending_program_date_time_ms = current_->program_date_time_ms;
  }
  if (ll) p.preload_hint_uri = part_uri(next_part_id_);
  return p;
}

}  // namespace sg::hls
