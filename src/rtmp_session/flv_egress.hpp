#pragma once
// From the stream's units to an RTMP player's FLV messages: onMetaData and the sequence headers first (from the
// tracks' parameter sets, or from the first keyframe's in-band ones), then one video message per access unit
// (4-byte length-prefixed NAL units, DTS as the message time, PTS - DTS as the composition time) and one audio
// message per AAC frame. H.264 and AAC as in FLV; H.265 as Enhanced RTMP (hvc1). Other codecs are left out.
//
// Time: each track's RTP time is unwrapped and placed on one millisecond timeline that starts at 0 for this
// player; tracks are aligned by arrival time (RTP gives no cross-track sync), as the HLS muxer does.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "codec/decoding_time.hpp"
#include "hls_session/sample_builder.hpp"
#include "media/track.hpp"
#include "media/unit.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/flv.hpp"

namespace sg::rtmp_session {

struct FlvMessage {
  rtmp::MessageType type = rtmp::MessageType::Video;
  uint32_t timestamp = 0;  // ms
  ByteVector body;         // the whole payload, or (video frames) the player's own tag header ...
  std::shared_ptr<const ByteVector> sample;  // ... then the unit's sample, shared (SampleCache)
};

// A video unit in the sample form FLV carries (each NAL unit behind its 4-byte length), built once per unit by the
// first player of a worker that sends it and shared by that worker's other players: the payload is not copied per
// player (docs: ARCHITECTURE, shared immutable payloads). One cache per worker thread, used only there: no lock.
// The buffer of the previous unit is built over only when no message holds it any more.
class SampleCache {
 public:
  std::shared_ptr<const ByteVector> get(const media::UnitPtr& unit);

 private:
  std::weak_ptr<const media::Unit> unit_;  // which unit sample_ is of (weak: the cache keeps no unit alive)
  std::shared_ptr<ByteVector> sample_;
};

class FlvEgress {
 public:
  explicit FlvEgress(const std::vector<media::Track>& tracks);

  // onMetaData (a data message) and the sequence headers known now.
  void start(std::vector<FlvMessage>& out);
  // The messages of one unit (none for a track this egress does not carry, or video before its first keyframe).
  // A video frame's sample comes from `samples`, the calling worker's cache.
  void add(const media::UnitPtr& unit, SampleCache& samples, std::vector<FlvMessage>& out);
  // Whether any track can be carried at all.
  bool carries_anything() const;

 private:
  struct TrackState {
    media::Track track;
    bool carried = false;
    bool video = false;
    rtmp::VideoCodec codec = rtmp::VideoCodec::H264;
    bool header_sent = false;
    bool started = false;
    hls_session::TimestampUnwrapper unwrapper;
    int64_t base = 0;      // RTP ticks at timeline 0
    int64_t last_ms = -1;  // the last message time
    uint32_t source = 0;
    int64_t audio_frame_ticks = 1024;  // AAC: samples per frame in the track's clock
    std::optional<codec::DecodingTimeline> timeline;  // video
  };
  std::optional<int64_t> place(TrackState& st, const media::Unit& unit);
  bool video_header(TrackState& st, const media::Unit* keyframe, std::vector<FlvMessage>& out);

  std::vector<TrackState> tracks_;
  bool have_t0_ = false;
  int64_t t0_ns_ = 0;
  int64_t lead_ms_ = 0;  // video DTS before the first PTS (reordering), added to every time
};

}  // namespace sg::rtmp_session
