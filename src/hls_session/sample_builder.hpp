#pragma once
// Media units of a stream -> the HLS segmenter's input (mp4::TrackInfo + mp4::Sample). No sockets, no clocks:
// time comes from the units' RTP timestamps and ingest times.
//
// Timeline: RTP gives no cross-track sync without RTCP sender reports, so each track's RTP time is unwrapped to
// 64 bits and placed on a common timeline by its first unit's arrival time relative to the first main-track
// keyframe. A video unit's RTP time is its PTS; its DTS comes from codec::DecodingTimeline with the reorder depth
// the SPS states (H.264 VUI max_num_reorder_frames, else none for POC type 2 / Baseline, else 2; H.265
// sps_max_num_reorder_pics), so B-frames get DTS < PTS (cts_offset > 0). The first frames' DTS come before the
// first keyframe's PTS, so the whole timeline starts that lead later: the first keyframe's DTS is t = 0.
//
// Variant: MPEG-TS carries H.264 and AAC only (Apple's HLS authoring spec wants HEVC in fMP4; TS has no Opus
// mapping that HLS players read). A stream whose HLS tracks include H.265 or Opus is served as fMP4 even when
// MPEG-TS is configured: variant() says what the builder chose, never a stream with its video left out.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "codec/decoding_time.hpp"
#include "hls/playlist.hpp"
#include "media/track.hpp"
#include "media/unit.hpp"
#include "mp4/sample.hpp"

namespace sg::hls_session {

// Extends 32-bit RTP timestamps to 64 bits across wrap-around (RFC 3550 A.1 style: the nearest value).
class TimestampUnwrapper {
 public:
  int64_t unwrap(uint32_t ts);

 private:
  bool started_ = false;
  uint32_t last_ = 0;
  int64_t extended_ = 0;
};

// Duration of an Opus packet in 48 kHz samples from its TOC byte (RFC 6716 3.1); nullopt when malformed.
std::optional<uint32_t> opus_packet_samples(Bytes packet);

// Whether a stream codec can go into a variant (H.265 and Opus need fMP4).
bool variant_supports(hls::Variant variant, media::CodecId codec);

// The variant a stream with these tracks is served as when `configured` is asked for: MPEG-TS becomes fMP4 when
// the first video or the first audio track is one TS does not carry (H.265, Opus).
hls::Variant served_variant(hls::Variant configured, const std::vector<media::Track>& tracks);

class SampleBuilder {
 public:
  explicit SampleBuilder(hls::Variant variant) : variant_(variant) {}

  struct Output {
    size_t track = 0;  // index into tracks()
    mp4::Sample sample;
  };

  // Converts one unit given the stream's current tracks, appending ready samples to `out`. Until the first main
  // keyframe (video) or first unit (audio-only) arrives, units are dropped; that unit fixes tracks(). An error
  // says why a unit could not be used (no HLS-compatible track, missing parameter sets); the builder stays usable.
  Status add(const media::Unit& unit, const std::vector<media::Track>& tracks, std::vector<Output>& out);

  bool ready() const { return ready_; }
  // The variant the segments must be made in (see served_variant); final once ready().
  hls::Variant variant() const { return variant_; }
  // Video frames that were presented before an earlier frame's decoding time (more B-frame reordering than the
  // SPS declares); each was shown at its decoding time instead.
  uint64_t late_frames() const;
  const std::vector<mp4::TrackInfo>& tracks() const { return infos_; }
  // Stream track indexes that were left out (unsupported codec, or a second video/audio track).
  const std::vector<size_t>& skipped() const { return skipped_; }

 private:
  struct TrackState {
    size_t stream_index = 0;
    uint32_t clock_rate = 90000;
    media::CodecId codec = media::CodecId::Unknown;
    uint32_t aac_frame_ticks = 1024;  // AAC frame duration in clock_rate units
    TimestampUnwrapper unwrapper;
    bool started = false;
    int64_t base = 0;  // extended RTP time at t = 0
    int64_t last_dts = -1;
    int64_t last_duration = 0;
    std::optional<codec::DecodingTimeline> timeline;  // video only
    uint32_t source = 0;  // the source session of the last unit (media::Unit::source)
  };

  Status start(const media::Unit& unit, const std::vector<media::Track>& tracks);
  std::optional<int64_t> place(TrackState& st, const media::Unit& unit);

  hls::Variant variant_;
  bool ready_ = false;
  int64_t t0_ns_ = 0;
  int64_t lead_ns_ = 0;  // the first keyframe's PTS on the timeline: room for the DTS of the frames before it
  std::vector<mp4::TrackInfo> infos_;
  std::vector<TrackState> states_;  // parallel to infos_
  std::vector<size_t> skipped_;
};

}  // namespace sg::hls_session
