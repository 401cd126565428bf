#pragma once
// Recording segmenter: samples of all tracks (in arrival order, each track in decode order) -> segment files as a
// sequence of chunks to write: Open (a new file: its start time and its header) then Append (one fragment each,
// to be made durable before the next). Pure: time comes from sample timestamps and the wall clock passed in.
//
// fMP4: a file is ftyp + moov (mp4::write_init_segment) then moof + mdat fragments (mp4::write_fragment), one per
// `part` of main-track time; every track's tfdt counts from the segment start (the main track's first sample has
// tfdt 0), timescales as in the TrackInfo (video 90000, audio the sample rate). A file cut anywhere after a
// complete fragment plays: that is the crash-safety unit. MPEG-TS: PAT/PMT then PES packets, one chunk per part.
//
// Cutting: the main track is the first video track (else track 0). A segment starts at a main-track keyframe (for
// audio, any frame); a new one starts at the first keyframe once the segment has lasted `segment`, or after
// cut() (the recorder asks on a source reconnect or to resume after a write error). A sample's duration is the
// gap to the next sample of its track, so each track is held back by one sample. Samples of other tracks that
// arrive after the segment that covers their time was closed are dropped (counted in late_samples()).
#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mp4/sample.hpp"
#include "mpegts/muxer.hpp"
#include "record/path_pattern.hpp"

namespace sg::record {

struct SegmenterOptions {
  RecordFormat format = RecordFormat::Fmp4;
  int64_t segment_us = 3600'000'000;
  int64_t part_us = 1'000'000;
};

struct Chunk {
  enum class Kind { Open, Append };
  Kind kind = Kind::Append;
  int64_t start_us = 0;                      // Open: the segment's start, Unix microseconds (names the file)
  RecordFormat format = RecordFormat::Fmp4;  // Open: what the file holds (its extension)
  int64_t media_us = 0;                      // Append: main-track media time the chunk covers
  ByteVector data;
};

class RecordSegmenter {
 public:
  // Fails on no tracks or tracks the format's writer cannot describe (Opus in MPEG-TS, missing codec config).
  static Result<RecordSegmenter> create(std::vector<mp4::TrackInfo> tracks, SegmenterOptions options);

  // One sample; `wall_us` is the Unix time at its arrival. Appends finished chunks to `out`.
  Status push(size_t track, mp4::Sample sample, int64_t wall_us, std::vector<Chunk>& out);
  // The next main-track keyframe starts a new segment.
  void cut() { cut_requested_ = true; }
  // End of input: the held samples and the fragment being built are written.
  void finish(std::vector<Chunk>& out);

  bool in_segment() const { return open_; }
  uint64_t segments() const { return segments_; }
  uint64_t late_samples() const { return late_; }
  const std::vector<mp4::TrackInfo>& tracks() const { return tracks_; }

 private:
  struct Held {
    mp4::Sample sample;
    int64_t wall_us = 0;
  };
  RecordSegmenter() = default;
  int64_t to_us(size_t track, int64_t t) const;
  Status emit(size_t track, mp4::Sample s, int64_t wall_us, std::vector<Chunk>& out);
  Status open_segment(const mp4::Sample& first, int64_t wall_us, std::vector<Chunk>& out);
  Status flush_fragment(int64_t end_us, std::vector<Chunk>& out);

  std::vector<mp4::TrackInfo> tracks_;
  SegmenterOptions options_;
  size_t main_ = 0;
  std::optional<mpegts::Muxer> ts_;
  ByteVector init_;  // fMP4 ftyp + moov

  std::vector<std::optional<Held>> held_;
  std::vector<int64_t> last_gap_;  // per track: the last DTS step, the duration of a held sample at finish()
  std::vector<std::vector<mp4::Sample>> pending_;  // per track, the fragment being built
  std::vector<int64_t> base_;                      // per track: segment start in the track timescale
  bool open_ = false;
  bool cut_requested_ = false;
  int64_t segment_start_us_ = 0;  // media time
  int64_t fragment_start_us_ = 0;
  uint32_t sequence_ = 1;
  std::optional<int64_t> wall_offset_us_;  // wall clock - media time, fixed at a segment start
  uint64_t segments_ = 0;
  uint64_t late_ = 0;
};

}  // namespace sg::record
