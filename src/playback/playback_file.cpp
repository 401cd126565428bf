#include "playback/playback_file.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "mp4/box_writer.hpp"

namespace sg::playback {

using std::chrono::microseconds;

namespace {

constexpr uint32_t kMovieTimescale = 1000;

// floor(a * b / c) without overflow for the magnitudes here (microseconds x timescale).
int64_t scale(int64_t a, int64_t b, int64_t c) {
  const __int128 p = static_cast<__int128>(a) * b;
  __int128 q = p / c;
  if ((p % c != 0) && ((p < 0) != (c < 0))) --q;
  return static_cast<int64_t>(q);
}

struct OutSample {
  uint32_t file = 0;
  uint64_t offset = 0;
  uint32_t size = 0;
  int64_t dts = 0;  // output decode time in the track timescale, from 0
  uint32_t duration = 0;
  int32_t cts = 0;
  bool key = false;
};

struct OutTrack {
  const mp4::RecordedTrack* info = nullptr;
  uint32_t id = 0;  // output track_ID
  std::vector<OutSample> samples;
  int64_t duration() const { return samples.empty() ? 0 : samples.back().dts + samples.back().duration; }
};

bool same_track(const mp4::RecordedTrack& a, const mp4::RecordedTrack& b) {
  return a.handler == b.handler && a.timescale == b.timescale && a.stsd == b.stsd;
}

// Presentation time of a sample, wall clock.
SysMicros presentation(const SegmentIndex& seg, const mp4::RecordedTrack& t, const mp4::FragmentSample& s) {
  const int64_t media = static_cast<int64_t>(s.dts) + s.cts_offset - t.edit_media_time;
  return seg.start + microseconds(scale(media, 1'000'000, t.timescale));
}

const mp4::RecordedTrack* find_track(const SegmentIndex& seg, uint32_t id) {
  for (const auto& t : seg.tracks)
    if (t.track_id == id) return &t;
  return nullptr;
}

// ---- writers ----

void ftyp(mp4::BoxWriter& w, bool fragmented) {
  w.begin("ftyp");
  w.fourcc("isom");
  w.u32(0x200);
  for (const char* brand : {"isom", "iso6", "mp41"}) w.fourcc(brand);
  if (fragmented) w.fourcc("dash");
  w.end();
}

void matrix(mp4::BoxWriter& w) {
  for (uint32_t v : {0x00010000u, 0u, 0u, 0u, 0x00010000u, 0u, 0u, 0u, 0x40000000u}) w.u32(v);
}

void mvhd(mp4::BoxWriter& w, uint64_t duration_ms, uint32_t next_track) {
  w.begin_full("mvhd", 1, 0);
  w.u64(0);
  w.u64(0);
  w.u32(kMovieTimescale);
  w.u64(duration_ms);
  w.u32(0x00010000);  // rate 1.0
  w.u16(0x0100);      // volume 1.0
  w.zeros(10);
  matrix(w);
  w.zeros(24);
  w.u32(next_track);
  w.end();
}

uint64_t to_movie(int64_t t, uint32_t timescale) { return static_cast<uint64_t>(scale(t, kMovieTimescale, timescale)); }

// trak up to and including stsd; the caller writes the sample tables, then closes stbl, minf, mdia, trak (4 ends).
void trak_head(mp4::BoxWriter& w, const OutTrack& t, int64_t duration) {
  const auto& info = *t.info;
  w.begin("trak");
  w.begin_full("tkhd", 1, 0x3);  // enabled, in movie
  w.u64(0);
  w.u64(0);
  w.u32(t.id);
  w.u32(0);
  w.u64(to_movie(duration, info.timescale));
  w.zeros(8);
  w.u16(0);  // layer
  w.u16(0);  // alternate_group
  w.u16(info.is_video() ? 0 : 0x0100);
  w.u16(0);
  matrix(w);
  w.u32(info.is_video() ? info.width : 0);
  w.u32(info.is_video() ? info.height : 0);
  w.end();
  w.begin("mdia");
  w.begin_full("mdhd", 1, 0);
  w.u64(0);
  w.u64(0);
  w.u32(info.timescale);
  w.u64(static_cast<uint64_t>(duration));
  w.u16(0x55c4);  // "und"
  w.u16(0);
  w.end();
  w.begin_full("hdlr", 0, 0);
  w.u32(0);
  w.fourcc(info.handler.size() == 4 ? info.handler : std::string("data"));
  w.zeros(12);
  w.bytes(as_bytes(info.is_video() ? std::string_view("VideoHandler", 13) : std::string_view("SoundHandler", 13)));
  w.end();
  w.begin("minf");
  if (info.is_video()) {
    w.begin_full("vmhd", 0, 1);
    w.zeros(8);
    w.end();
  } else {
    w.begin_full("smhd", 0, 0);
    w.zeros(4);
    w.end();
  }
  w.begin("dinf");
  w.begin_full("dref", 0, 0);
  w.u32(1);
  w.begin_full("url ", 0, 1);
  w.end();
  w.end();
  w.end();
  w.begin("stbl");
  w.bytes(info.stsd);
}

void close_trak(mp4::BoxWriter& w) {
  for (int i = 0; i < 4; ++i) w.end();  // stbl, minf, mdia, trak
}

void sample_tables(mp4::BoxWriter& w, const OutTrack& t, const std::vector<uint64_t>& chunk_offsets) {
  const auto& s = t.samples;
  // stts: run-length durations
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  for (const auto& x : s) {
    if (!runs.empty() && runs.back().second == x.duration)
      ++runs.back().first;
    else
      runs.emplace_back(1, x.duration);
  }
  w.begin_full("stts", 0, 0);
  w.u32(static_cast<uint32_t>(runs.size()));
  for (auto [n, d] : runs) w.u32(n), w.u32(d);
  w.end();
  if (std::any_of(s.begin(), s.end(), [](const OutSample& x) { return x.cts != 0; })) {
    runs.clear();
    for (const auto& x : s) {
      if (!runs.empty() && static_cast<int32_t>(runs.back().second) == x.cts)
        ++runs.back().first;
      else
        runs.emplace_back(1, static_cast<uint32_t>(x.cts));
    }
    w.begin_full("ctts", 1, 0);  // version 1: signed offsets
    w.u32(static_cast<uint32_t>(runs.size()));
    for (auto [n, d] : runs) w.u32(n), w.u32(d);
    w.end();
  }
  if (std::any_of(s.begin(), s.end(), [](const OutSample& x) { return !x.key; })) {
    uint32_t n = 0;
    for (const auto& x : s) n += x.key;
    w.begin_full("stss", 0, 0);
    w.u32(n);
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i].key) w.u32(static_cast<uint32_t>(i + 1));
    w.end();
  }
  w.begin_full("stsc", 0, 0);  // one sample per chunk
  w.u32(s.empty() ? 0 : 1);
  if (!s.empty()) w.u32(1), w.u32(1), w.u32(1);
  w.end();
  w.begin_full("stsz", 0, 0);
  w.u32(0);
  w.u32(static_cast<uint32_t>(s.size()));
  for (const auto& x : s) w.u32(x.size);
  w.end();
  const bool wide = !chunk_offsets.empty() && chunk_offsets.back() > 0xffffffffull;
  w.begin_full(wide ? "co64" : "stco", 0, 0);
  w.u32(static_cast<uint32_t>(chunk_offsets.size()));
  for (uint64_t o : chunk_offsets) wide ? w.u64(o) : w.u32(static_cast<uint32_t>(o));
  w.end();
}

void add_file_piece(PlaybackFile& f, uint32_t file, uint64_t offset, uint64_t size) {
  if (!f.pieces.empty()) {
    auto& last = f.pieces.back();
    if (last.file == static_cast<int32_t>(file) && last.offset + last.size == offset) {
      last.size += size;
      f.size += size;
      return;
    }
  }
  f.pieces.push_back({static_cast<int32_t>(file), offset, size});
  f.size += size;
}

void add_memory_piece(PlaybackFile& f, const ByteVector& bytes) {
  const uint64_t at = f.memory.size();
  f.memory.insert(f.memory.end(), bytes.begin(), bytes.end());
  if (!f.pieces.empty() && f.pieces.back().file == -1 && f.pieces.back().offset + f.pieces.back().size == at) {
    f.pieces.back().size += bytes.size();
  } else {
    f.pieces.push_back({-1, at, bytes.size()});
  }
  f.size += bytes.size();
}

double time_of(const OutTrack& t, size_t i) { return static_cast<double>(t.samples[i].dts) / t.info->timescale; }

// Progressive MP4: ftyp, moov (one chunk per sample), mdat with the tracks' samples interleaved by time.
void write_mp4(std::vector<OutTrack>& tracks, PlaybackFile& out) {
  // Interleave: repeatedly take the track whose next sample is earliest.
  std::vector<std::pair<uint32_t, uint32_t>> order;  // (track, sample)
  std::vector<size_t> next(tracks.size(), 0);
  for (;;) {
    int best = -1;
    for (size_t k = 0; k < tracks.size(); ++k) {
      if (next[k] >= tracks[k].samples.size()) continue;
      if (best < 0 || time_of(tracks[k], next[k]) < time_of(tracks[best], next[best])) best = static_cast<int>(k);
    }
    if (best < 0) break;
    order.emplace_back(best, next[best]++);
  }
  uint64_t mdat_payload = 0;
  for (auto [k, i] : order) mdat_payload += tracks[k].samples[i].size;
  int64_t movie_ms = 0;
  for (const auto& t : tracks) movie_ms = std::max<int64_t>(movie_ms, to_movie(t.duration(), t.info->timescale));

  auto build = [&](uint64_t data_start) {
    std::vector<std::vector<uint64_t>> offsets(tracks.size());
    uint64_t pos = data_start;
    for (auto [k, i] : order) {
      offsets[k].push_back(pos);
      pos += tracks[k].samples[i].size;
    }
    ByteVector head;
    mp4::BoxWriter w(head);
    ftyp(w, false);
    w.begin("moov");
    mvhd(w, static_cast<uint64_t>(movie_ms), static_cast<uint32_t>(tracks.size() + 1));
    for (size_t k = 0; k < tracks.size(); ++k) {
      trak_head(w, tracks[k], tracks[k].duration());
      sample_tables(w, tracks[k], offsets[k]);
      close_trak(w);
    }
    w.end();
    // mdat with a 64-bit size: the payload may pass 4 GiB.
    w.u32(1);
    w.fourcc("mdat");
    w.u64(16 + mdat_payload);
    return head;
  };
  ByteVector head = build(0);
  const bool wide_guess = head.size() + mdat_payload > 0xffffffffull;
  head = build(head.size());
  // The offsets' width depends on their values; a second pass settles a size change from stco to co64.
  if (wide_guess) head = build(head.size());
  add_memory_piece(out, head);
  for (auto [k, i] : order) {
    const auto& s = tracks[k].samples[i];
    add_file_piece(out, s.file, s.offset, s.size);
  }
}

// Fragmented MP4: ftyp, moov (mvex), then one moof+mdat per video GOP (or per second without video).
void write_fmp4(std::vector<OutTrack>& tracks, size_t ref, PlaybackFile& out) {
  // Readers of fragments (ffmpeg's mov demuxer among them) shift a track with negative composition offsets by
  // their largest magnitude. Instead, make the offsets non-negative and delay every track by the same time, so
  // tracks keep their sync: video shows its first keyframe at `shift`, audio starts at `shift`.
  double shift = 0;
  std::vector<int64_t> lowest(tracks.size(), 0);
  for (size_t k = 0; k < tracks.size(); ++k) {
    for (const auto& x : tracks[k].samples) lowest[k] = std::min<int64_t>(lowest[k], x.cts);
    shift = std::max(shift, static_cast<double>(-lowest[k]) / tracks[k].info->timescale);
  }
  for (size_t k = 0; k < tracks.size(); ++k) {
    const int64_t delay = std::llround(shift * tracks[k].info->timescale) + lowest[k];
    for (auto& x : tracks[k].samples) {
      x.dts += delay;
      x.cts = static_cast<int32_t>(x.cts - lowest[k]);
    }
  }
  {
    ByteVector head;
    mp4::BoxWriter w(head);
    ftyp(w, true);
    w.begin("moov");
    mvhd(w, 0, static_cast<uint32_t>(tracks.size() + 1));
    for (auto& t : tracks) {
      trak_head(w, t, 0);
      mp4::write_empty_sample_tables(w);
      close_trak(w);
    }
    w.begin("mvex");
    for (const auto& t : tracks) {
      w.begin_full("trex", 0, 0);
      w.u32(t.id);
      w.u32(1);
      w.u32(0);
      w.u32(0);
      w.u32(0);
      w.end();
    }
    w.end();
    w.end();
    add_memory_piece(out, head);
  }
  // Fragment boundaries in seconds: the reference track's keyframes (at least 1 s apart).
  std::vector<double> cuts;
  const auto& rs = tracks[ref].samples;
  for (size_t i = 0; i < rs.size(); ++i) {
    const double t = time_of(tracks[ref], i);
    const bool video = tracks[ref].info->is_video();
    if (cuts.empty() || ((rs[i].key || !video) && t - cuts.back() >= 1.0)) cuts.push_back(t);
  }
  cuts.push_back(1e300);
  std::vector<size_t> next(tracks.size(), 0);
  uint32_t sequence = 0;
  for (size_t c = 1; c < cuts.size(); ++c) {
    // Samples of each track that start before the next cut.
    std::vector<std::pair<size_t, size_t>> range(tracks.size());
    bool any = false;
    for (size_t k = 0; k < tracks.size(); ++k) {
      size_t i = next[k];
      while (i < tracks[k].samples.size() && (time_of(tracks[k], i) < cuts[c] || c + 1 == cuts.size())) ++i;
      range[k] = {next[k], i};
      any |= i > next[k];
      next[k] = i;
    }
    if (!any) continue;
    ByteVector moof;
    mp4::BoxWriter w(moof);
    w.begin("moof");
    w.begin_full("mfhd", 0, 0);
    w.u32(++sequence);
    w.end();
    std::vector<size_t> data_offset_at;
    for (size_t k = 0; k < tracks.size(); ++k) {
      auto [b, e] = range[k];
      if (b == e) continue;
      const auto& s = tracks[k].samples;
      w.begin("traf");
      w.begin_full("tfhd", 0, 0x020000);  // default-base-is-moof
      w.u32(tracks[k].id);
      w.end();
      w.begin_full("tfdt", 1, 0);
      w.u64(static_cast<uint64_t>(s[b].dts));
      w.end();
      w.begin_full("trun", 1, 0x000001 | 0x100 | 0x200 | 0x400 | 0x800);
      w.u32(static_cast<uint32_t>(e - b));
      data_offset_at.push_back(moof.size());
      w.u32(0);
      for (size_t i = b; i < e; ++i) {
        w.u32(s[i].duration);
        w.u32(s[i].size);
        w.u32(s[i].key ? 0x02000000u : 0x01010000u);  // depends on none / non-sync, depends on others
        w.u32(static_cast<uint32_t>(s[i].cts));
      }
      w.end();
      w.end();
    }
    w.end();
    uint64_t data_size = 0;
    for (size_t k = 0; k < tracks.size(); ++k)
      for (size_t i = range[k].first; i < range[k].second; ++i) data_size += tracks[k].samples[i].size;
    // Data offsets from the moof's first byte: past the moof and the mdat header.
    uint64_t pos = moof.size() + 16;
    size_t d = 0;
    for (size_t k = 0; k < tracks.size(); ++k) {
      if (range[k].first == range[k].second) continue;
      put32(MutableBytes(moof), data_offset_at[d++], static_cast<uint32_t>(pos));
      for (size_t i = range[k].first; i < range[k].second; ++i) pos += tracks[k].samples[i].size;
    }
    w.u32(1);
    w.fourcc("mdat");
    w.u64(16 + data_size);
    add_memory_piece(out, moof);
    for (size_t k = 0; k < tracks.size(); ++k)
      for (size_t i = range[k].first; i < range[k].second; ++i) {
        const auto& s = tracks[k].samples[i];
        add_file_piece(out, s.file, s.offset, s.size);
      }
  }
}

}  // namespace

microseconds SegmentIndex::duration() const {
  microseconds longest{0};
  for (const auto& s : samples) {
    const auto* t = find_track(*this, s.track_id);
    if (!t) continue;
    const int64_t end = static_cast<int64_t>(s.dts + s.duration) - t->edit_media_time;
    longest = std::max(longest, microseconds(scale(end, 1'000'000, t->timescale)));
  }
  return longest;
}

std::vector<Span> merge_spans(std::vector<Span> spans, microseconds tolerance) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
  std::vector<Span> out;
  for (const auto& s : spans) {
    if (!out.empty() && s.start <= out.back().end + tolerance) {
      out.back().end = std::max(out.back().end, s.end);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

Result<PlaybackFile> build_playback_file(const std::vector<SegmentIndex>& segments, SysMicros start, SysMicros end,
                                         Format format) {
  if (end <= start) return make_error("empty time range");
  // The reference track: the first video track (else the first track) of the segment the output starts in.
  struct Key {
    size_t seg = 0, sample = 0;
    SysMicros time;
  };
  std::optional<Key> before, after;
  for (size_t g = 0; g < segments.size(); ++g) {
    const auto& seg = segments[g];
    if (seg.tracks.empty()) continue;
    const mp4::RecordedTrack* ref = &seg.tracks[0];
    for (const auto& t : seg.tracks)
      if (t.is_video()) {
        ref = &t;
        break;
      }
    for (size_t i = 0; i < seg.samples.size(); ++i) {
      const auto& s = seg.samples[i];
      if (s.track_id != ref->track_id || !s.keyframe) continue;
      const SysMicros t = presentation(seg, *ref, s);
      if (t <= start) {
        before = Key{g, i, t};
      } else if (!after && t < end) {
        after = Key{g, i, t};
      }
    }
  }
  // A keyframe before `start` only counts when its segment reaches `start`; otherwise `start` is in a gap.
  std::optional<Key> key = before;
  if (key && segments[key->seg].start + segments[key->seg].duration() < start) key = after;
  if (!key) key = after;
  if (!key) return make_error("no recording in this time range");
  const SysMicros t0 = key->time;

  const SegmentIndex& first = segments[key->seg];
  const uint32_t ref_id = first.samples[key->sample].track_id;
  std::vector<OutTrack> tracks;
  size_t ref = 0;
  for (const auto& t : first.tracks) {
    if (t.track_id == ref_id) ref = tracks.size();
    tracks.push_back(OutTrack{&t, static_cast<uint32_t>(tracks.size() + 1), {}});
  }
  std::vector<int64_t> first_d(tracks.size(), 0);
  std::vector<bool> started(tracks.size(), false), done(tracks.size(), false);
  for (size_t g = key->seg; g < segments.size(); ++g) {
    const auto& seg = segments[g];
    if (seg.start >= end) break;
    // Same tracks in the same order, or the output ends here (a new stream configuration).
    if (seg.tracks.size() != tracks.size()) break;
    bool same = true;
    for (size_t k = 0; k < tracks.size(); ++k) same &= same_track(seg.tracks[k], *tracks[k].info);
    if (!same) break;
    const int64_t seg_offset_us = (seg.start - t0).count();
    for (size_t i = 0; i < seg.samples.size(); ++i) {
      const auto& s = seg.samples[i];
      size_t k = 0;
      while (k < seg.tracks.size() && seg.tracks[k].track_id != s.track_id) ++k;
      if (k == seg.tracks.size() || done[k]) continue;
      // The reference track starts at the keyframe; the others by time (their trafs may come first).
      if (k == ref && g == key->seg && i < key->sample) continue;
      const auto& info = seg.tracks[k];
      const SysMicros pt = presentation(seg, info, s);
      if (k == ref) {
        // Decode order: stop at the first frame shown at or after the end.
        if (pt >= end) {
          done[k] = true;
          continue;
        }
      } else if (pt < t0 || pt >= end) {
        continue;
      }
      const int64_t d = scale(seg_offset_us, info.timescale, 1'000'000) + static_cast<int64_t>(s.dts) - info.edit_media_time;
      auto& out = tracks[k];
      if (!started[k]) {
        started[k] = true;
        first_d[k] = d;
      }
      int64_t dts = d - first_d[k];
      if (!out.samples.empty() && dts <= out.samples.back().dts) dts = out.samples.back().dts + 1;
      OutSample o;
      o.file = static_cast<uint32_t>(g);
      o.offset = s.offset;
      o.size = s.size;
      o.dts = dts;
      o.duration = s.duration;
      // Video: PTS = D + cts, so the first keyframe shows at 0 and B-frames keep their order (signed offsets).
      // Audio starts at its first frame at or after the keyframe (within one frame of it).
      o.cts = info.is_video() ? static_cast<int32_t>(s.cts_offset + first_d[k]) : 0;
      o.key = s.keyframe;
      out.samples.push_back(o);
    }
  }
  // Durations from the decode times (a gap between segments widens the frame before it).
  for (auto& t : tracks)
    for (size_t i = 0; i + 1 < t.samples.size(); ++i)
      t.samples[i].duration = static_cast<uint32_t>(t.samples[i + 1].dts - t.samples[i].dts);
  std::erase_if(tracks, [](const OutTrack& t) { return t.samples.empty(); });
  ref = 0;
  for (size_t k = 0; k < tracks.size(); ++k)
    if (tracks[k].info->track_id == ref_id) ref = k;
  for (size_t k = 0; k < tracks.size(); ++k) tracks[k].id = static_cast<uint32_t>(k + 1);
  if (tracks.empty()) return make_error("no recording in this time range");

  PlaybackFile out;
  out.start = t0;
  out.duration = microseconds(scale(tracks[ref].duration(), 1'000'000, tracks[ref].info->timescale));
  if (format == Format::Mp4)
    write_mp4(tracks, out);
  else
    write_fmp4(tracks, ref, out);
  return out;
}

ByteRange parse_byte_range(std::string_view header, uint64_t size) {
  ByteRange r;
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return r;  // unknown unit: ignore the header (RFC 9110 14.2)
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return r;
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  auto number = [](std::string_view s, uint64_t& v) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size();
  };
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {
    // Suffix range: the last N bytes.
    if (!number(b, last)) return r;
    if (last == 0 || size == 0) return {ByteRange::Kind::Unsatisfiable};
    r.first = size - std::min(size, last);
    r.last = size - 1;
  } else {
    if (!number(a, first)) return r;
    if (b.empty()) {
      last = size == 0 ? 0 : size - 1;
    } else if (!number(b, last) || last < first) {
      return r;  // invalid: ignored
    }
    if (first >= size) return {ByteRange::Kind::Unsatisfiable};
    r.first = first;
    r.last = std::min(last, size - 1);
  }
  r.kind = ByteRange::Kind::Partial;
  return r;
}

std::optional<SysMicros> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto num = [&](size_t at, size_t n, int& v) {
    if (s.size() < at + n) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (s[at + i] < '0' || s[at + i] > '9') return false;
      v = v * 10 + (s[at + i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) ||
      s[16] != ':' || !num(17, 2, se))
    return std::nullopt;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale_us = 100000;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale_us;
      scale_us /= 10;
      ++pos, ++n;
    }
    if (n == 0) return std::nullopt;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!num(pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !num(pos + 4, 2, om)) return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  const auto t = sys_days{ymd} + hours{h} + minutes{mi - offset_min} + std::chrono::seconds{se};
  return SysMicros{duration_cast<microseconds>(t.time_since_epoch())} + microseconds{micros};
}

std::optional<microseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (ec != std::errc{} || p != s.data() + n) return std::nullopt;
    s.remove_prefix(n);
    double unit = 1;
    if (s.starts_with("ms")) {
      unit = 0.001;
      s.remove_prefix(2);
    } else if (!s.empty() && (s[0] == 's' || s[0] == 'm' || s[0] == 'h')) {
      unit = s[0] == 's' ? 1 : s[0] == 'm' ? 60 : 3600;
      s.remove_prefix(1);
    } else if (!s.empty()) {
      return std::nullopt;
    }
    total += v * unit;
  }
  if (!(total > 0) || total > 86400.0 * 366) return std::nullopt;
  return microseconds(static_cast<int64_t>(std::llround(total * 1e6)));
}

std::string format_rfc3339(SysMicros t) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const auto in_day = t - days;
  const auto h = duration_cast<hours>(in_day);
  const auto m = duration_cast<minutes>(in_day - h);
  const auto sec = duration_cast<seconds>(in_day - h - m);
  const auto us = duration_cast<microseconds>(in_day - h - m - sec);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()),
                static_cast<int>(m.count()), static_cast<int>(sec.count()), static_cast<int>(us.count()));
  return buf;
}

}  // namespace sg::playback
