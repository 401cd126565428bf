#pragma once
// HLS segmenter: turns samples of all tracks, fed in decode order, into segments (and, for Low-Latency HLS,
// partial segments) held in memory, and builds the media playlist over a sliding window. Pure: time comes only
// from sample timestamps and the wall-clock value passed in.
//
// Cutting rules:
//  - The timeline is the "main" track: the first video track, else track 0 (audio-only).
//  - Nothing is kept until the main track's first keyframe (for audio every frame is one); samples of other tracks
//    before it are dropped.
//  - A segment ends before a main-track keyframe once it has lasted at least `target_duration` (audio-only: before
//    any main-track sample). If no keyframe comes, it is cut anyway after `max_segment_duration`.
//  - LL-HLS: a part ends before a main-track sample that would make it longer than `part_target` (predicted from
//    that sample's duration). A part starting with a keyframe is INDEPENDENT. Parts are named by a global index,
//    so the preload hint always names the next part whatever segment it falls in.
//  - Segment/part durations come from main-track timestamps (end = start of the next one).
//  - EXT-X-TARGETDURATION and PART-TARGET never decrease: they are the configured values raised to the longest
//    segment/part produced so far (so irregular input cannot make the playlist lie).
//
// Bytes: MPEG-TS segments start with PAT/PMT; fMP4 segments are one moof+mdat (LL: one per part, the segment is
// their concatenation), with init_segment() for EXT-X-MAP. Buffers are shared_ptr so a response being sent keeps
// its segment alive after the window has moved on.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "hls/blocking_reload.hpp"
#include "hls/playlist.hpp"
#include "mp4/sample.hpp"
#include "mpegts/muxer.hpp"

namespace sg::hls {

struct SegmenterConfig {
  Variant variant = Variant::MpegTs;
  double target_duration = 2.0;        // seconds; 6 is the RFC 8216 recommendation for non-LL
  double part_target = 0.2;            // seconds, LowLatency only
  size_t window = 7;                   // complete segments kept and listed
  double max_segment_duration = 30.0;  // forced cut without keyframe (bounds memory)
  std::string segment_prefix = "seg";  // seg<msn>.ts / seg<msn>.m4s
  std::string part_prefix = "part";    // part<id>.m4s
  std::string init_uri = "init.mp4";
};

using SharedBytes = std::shared_ptr<const ByteVector>;

struct Part {
  uint64_t id = 0;  // global part index, names the part URI
  int64_t duration_us = 0;
  bool independent = false;
  SharedBytes data;
};

struct Segment {
  uint64_t msn = 0;
  int64_t start_us = 0;     // main-track time
  int64_t duration_us = 0;  // 0 while being built
  int64_t program_date_time_ms = 0;
  std::vector<Part> parts;  // LowLatency only; other variants have one internal part
  SharedBytes data;         // null while being built
};

class Segmenter {
 public:
  static constexpr int64_t kProgramDateTimeResyncMs = 1000;

  // Fails on no tracks, a zero timescale, unusable durations in the config, or tracks the variant's muxer rejects.
  static Result<Segmenter> create(std::vector<mp4::TrackInfo> tracks, SegmenterConfig config);

  // One sample of track `track`, in decode order (per track dts must increase). `wall_clock_ms` is Unix time in ms
  // at arrival; the first segment's PROGRAM-DATE-TIME is taken from it (clamped to years 1970..9999), later ones
  // follow media time, except that a segment starting more than kProgramDateTimeResyncMs later on the wall clock
  // than media time says (the source was away and the timeline skipped the gap) takes the wall clock again.
  // A rejected sample leaves the segmenter unchanged.
  Status push(size_t track, const mp4::Sample& sample, int64_t wall_clock_ms);
  // End of stream: closes the segment being built (its last part lasts until the end of its last main sample)
  // and adds EXT-X-ENDLIST.
  void finish();

  SharedBytes init_segment() const { return init_; }                 // null for MPEG-TS
  const std::deque<Segment>& segments() const { return segments_; }  // complete, oldest first
  SharedBytes segment_data(uint64_t msn) const;
  SharedBytes part_data(uint64_t part_id) const;  // complete parts in the window, including the current segment
  uint64_t next_part_id() const { return next_part_id_; }

  PlaylistPosition position() const;
  MediaPlaylist playlist_model() const;
  std::string media_playlist() const { return render_media_playlist(playlist_model()); }

  std::string segment_uri(uint64_t msn) const;
  std::string part_uri(uint64_t part_id) const;
  const SegmenterConfig& config() const { return config_; }

 private:
  Segmenter() = default;
  int64_t to_us(size_t track, int64_t t) const;
  Status add_pending(size_t track, const mp4::Sample& s);
  void open_segment(int64_t start_us, int64_t wall_clock_ms);
  Status close_part(int64_t end_us);
  Status close_segment(int64_t end_us);

  std::vector<mp4::TrackInfo> tracks_;
  SegmenterConfig config_;
  size_t main_ = 0;
  std::optional<mpegts::Muxer> ts_;
  SharedBytes init_;
  uint32_t fragment_sequence_ = 1;

  std::deque<Segment> segments_;
  std::optional<Segment> current_;
  bool ended_ = false;
  uint64_t next_msn_ = 0;
  uint64_t next_part_id_ = 0;
  std::optional<int64_t> first_start_us_;
  // PROGRAM-DATE-TIME = wall_anchor_ms_ + (media time - wall_anchor_us_): set by the first segment, moved by gaps.
  int64_t wall_anchor_ms_ = 0;
  int64_t wall_anchor_us_ = 0;
  int64_t max_segment_us_ = 0, max_part_us_ = 0;
  int64_t last_main_duration_us_ = 0;
  std::vector<std::optional<int64_t>> last_dts_;

  // The part being built.
  int64_t part_start_us_ = 0;
  bool part_has_main_ = false;
  bool part_independent_ = false;
  int64_t main_end_us_ = 0;                        // end of the last main sample (for finish())
  std::vector<std::vector<mp4::Sample>> pending_;  // fMP4: per track
  ByteVector pending_ts_;                          // MPEG-TS: packets so far
};

}  // namespace sg::hls
