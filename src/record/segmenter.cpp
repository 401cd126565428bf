#include "record/segmenter.hpp"

#include <algorithm>

#include "mp4/fragment.hpp"

namespace sg::record {
namespace {

constexpr int64_t kWallResyncUs = 1'000'000;

int64_t scale(int64_t t, int64_t from, int64_t to) { return t / from * to + t % from * to / from; }

}  // namespace

Result<RecordSegmenter> RecordSegmenter::create(std::vector<mp4::TrackInfo> tracks, SegmenterOptions options) {
  if (tracks.empty()) return make_error("record: no track to record");
  if (options.part_us <= 0 || options.segment_us < options.part_us)
    return make_error("record: bad durations (part must be > 0 and <= segment)");
  for (const auto& t : tracks)
    if (t.timescale == 0) return make_error("record: a track has no timescale");
  RecordSegmenter s;
  s.options_ = options;
  s.main_ = 0;
  for (size_t i = 0; i < tracks.size(); ++i)
    if (tracks[i].is_video()) {
      s.main_ = i;
      break;
    }
  if (options.format == RecordFormat::Fmp4) {
    auto init = mp4::write_init_segment(tracks);
    if (!init) return make_error(init.error());
    s.init_ = std::move(*init);
  } else {
    auto ts = mpegts::Muxer::create(tracks);
    if (!ts) return make_error(ts.error());
    s.ts_.emplace(std::move(*ts));
  }
  s.held_.resize(tracks.size());
  s.last_gap_.resize(tracks.size());
  s.pending_.resize(tracks.size());
  s.base_.resize(tracks.size());
  s.tracks_ = std::move(tracks);
  return s;
}

int64_t RecordSegmenter::to_us(size_t track, int64_t t) const { return scale(t, tracks_[track].timescale, 1'000'000); }

Status RecordSegmenter::push(size_t track, mp4::Sample sample, int64_t wall_us, std::vector<Chunk>& out) {
  if (track >= tracks_.size()) return make_error("record: no track " + std::to_string(track));
  if (sample.dts < 0) return make_error("record: negative DTS");
  auto& h = held_[track];
  if (!h) {
    h = Held{std::move(sample), wall_us};
    return Ok{};
  }
  if (sample.dts <= h->sample.dts) return make_error("record: DTS does not increase");
  last_gap_[track] = std::min<int64_t>(sample.dts - h->sample.dts, UINT32_MAX);
  h->sample.duration = static_cast<uint32_t>(last_gap_[track]);
  Held prev = std::move(*h);
  h = Held{std::move(sample), wall_us};
  return emit(track, std::move(prev.sample), prev.wall_us, out);
}

Status RecordSegmenter::emit(size_t track, mp4::Sample s, int64_t wall_us, std::vector<Chunk>& out) {
  const int64_t t_us = to_us(track, s.dts);
  if (track != main_) {
    if (!open_) return Ok{};
    if (s.dts < base_[track]) {
      ++late_;
      return Ok{};
    }
    pending_[track].push_back(std::move(s));
    return Ok{};
  }
  const bool can_start = !tracks_[main_].is_video() || s.keyframe;
  if (!open_) {
    if (!can_start) return Ok{};
    if (auto r = open_segment(s, wall_us, out); !r) return r;
  } else if (can_start && (cut_requested_ || t_us - segment_start_us_ >= options_.segment_us)) {
    // Other tracks' samples before the cut go into the old segment, held ones included (their durations are
    // known: audio frames have fixed lengths); later ones move to the new segment.
    std::vector<std::vector<mp4::Sample>> carry(tracks_.size());
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (i == main_) continue;
      if (held_[i] && to_us(i, held_[i]->sample.dts) < t_us && held_[i]->sample.dts >= base_[i]) {
        pending_[i].push_back(std::move(held_[i]->sample));
        held_[i].reset();
      }
      auto& p = pending_[i];
      auto split = std::find_if(p.begin(), p.end(), [&](const mp4::Sample& x) { return to_us(i, x.dts) >= t_us; });
      carry[i].assign(std::make_move_iterator(split), std::make_move_iterator(p.end()));
      p.erase(split, p.end());
    }
    if (auto r = flush_fragment(t_us, out); !r) return r;
    if (auto r = open_segment(s, wall_us, out); !r) return r;
    for (size_t i = 0; i < tracks_.size(); ++i)
      for (auto& x : carry[i])
        if (x.dts >= base_[i]) pending_[i].push_back(std::move(x));
  } else if (t_us - fragment_start_us_ >= options_.part_us) {
    if (auto r = flush_fragment(t_us, out); !r) return r;
    fragment_start_us_ = t_us;
  }
  pending_[main_].push_back(std::move(s));
  return Ok{};
}

Status RecordSegmenter::open_segment(const mp4::Sample& first, int64_t wall_us, std::vector<Chunk>& out) {
  segment_start_us_ = to_us(main_, first.dts);
  fragment_start_us_ = segment_start_us_;
  for (size_t i = 0; i < tracks_.size(); ++i) base_[i] = scale(segment_start_us_, 1'000'000, tracks_[i].timescale);
  base_[main_] = first.dts;
  const int64_t offset = wall_us - segment_start_us_;
  // The wall clock follows media time within a run, and jumps with it when they part by more than a second (a
  // source that was away: the timeline closed the gap, the wall clock did not).
  if (!wall_offset_us_ || std::abs(offset - *wall_offset_us_) > kWallResyncUs) wall_offset_us_ = offset;
  Chunk c;
  c.kind = Chunk::Kind::Open;
  c.start_us = std::max<int64_t>(0, segment_start_us_ + *wall_offset_us_);
  c.format = options_.format;
  if (ts_)
    ts_->write_tables(c.data);
  else
    c.data = init_;
  out.push_back(std::move(c));
  open_ = true;
  cut_requested_ = false;
  ++segments_;
  return Ok{};
}

Status RecordSegmenter::flush_fragment(int64_t end_us, std::vector<Chunk>& out) {
  bool any = false;
  for (const auto& p : pending_) any |= !p.empty();
  if (!any) return Ok{};
  Chunk c;
  c.kind = Chunk::Kind::Append;
  c.media_us = std::max<int64_t>(0, end_us - fragment_start_us_);
  for (size_t i = 0; i < tracks_.size(); ++i)
    for (auto& s : pending_[i]) s.dts -= base_[i];
  if (ts_) {
    // One PES per sample, all tracks merged by time.
    std::vector<std::pair<int64_t, std::pair<size_t, size_t>>> order;
    for (size_t i = 0; i < tracks_.size(); ++i)
      for (size_t k = 0; k < pending_[i].size(); ++k) order.push_back({to_us(i, pending_[i][k].dts), {i, k}});
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, ik] : order) {
      auto s = ts_->write_sample(ik.first, pending_[ik.first][ik.second], c.data);
      (void)s;  // a malformed sample is left out; the rest of the part still plays
    }
  } else {
    std::vector<mp4::TrackRun> runs;
    for (size_t i = 0; i < tracks_.size(); ++i)
      if (!pending_[i].empty()) runs.push_back({static_cast<uint32_t>(i + 1), tracks_[i].is_video(), pending_[i]});
    auto frag = mp4::write_fragment(sequence_++, runs);
    if (!frag) {
      for (auto& p : pending_) p.clear();
      return make_error(frag.error());
    }
    c.data = std::move(*frag);
  }
  for (auto& p : pending_) p.clear();
  out.push_back(std::move(c));
  return Ok{};
}

void RecordSegmenter::finish(std::vector<Chunk>& out) {
  // Main track first, so a pending cut happens before the other tracks' last samples are placed.
  std::vector<size_t> order{main_};
  for (size_t i = 0; i < tracks_.size(); ++i)
    if (i != main_) order.push_back(i);
  int64_t end_us = fragment_start_us_;
  for (size_t i : order) {
    if (!held_[i]) continue;
    auto h = std::move(*held_[i]);
    held_[i].reset();
    if (last_gap_[i] > 0 && i == main_) h.sample.duration = static_cast<uint32_t>(last_gap_[i]);
    if (i == main_) end_us = to_us(i, h.sample.dts + h.sample.duration);
    (void)emit(i, std::move(h.sample), h.wall_us, out);
  }
  if (open_) (void)flush_fragment(end_us, out);
  open_ = false;
}

}  // namespace sg::record
