#pragma once
// From an RTMP publisher's FLV tags to the stream's units. The tracks are described as an RTSP publisher's would
// be (an SDP built from the sequence headers goes through rtsp_session::tracks_from_sdp), and each frame is
// packetized to RTP and fed to rtsp_session::Ingest: every reader (RTSP, WebRTC, HLS, RTMP) then gets exactly
// what it gets from an RTSP publisher, RTP packets and frames in one unit.
//
// Tracks start with the first coded frame once the sequence header of every kind the metadata announced
// (onMetaData videocodecid / audiocodecid) is known; frames before that are dropped (counted). A new sequence
// header that differs from the current one (resolution change) sets new tracks (readers reconnect).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "media/stream.hpp"
#include "rtmp/amf0.hpp"
#include "rtmp/flv.hpp"

namespace sg::rtsp_session {
class Ingest;
}

namespace sg::rtmp_session {

// The SDP an RTSP publisher would announce for these parameters (empty vectors / config = no such track).
std::string sdp_for_flv(rtmp::VideoCodec codec, const rtmp::DecoderConfig* video, Bytes audio_config);

class FlvIngest {
 public:
  explicit FlvIngest(std::shared_ptr<media::Stream> stream);
  ~FlvIngest();

  // onMetaData (from @setDataFrame or a plain data message): which kinds to wait for.
  void on_metadata(const rtmp::Amf0Value& object);
  // One video / audio message (timestamp in ms). Errors say why a tag was dropped (the caller rate-limits them);
  // a bad tag does not end the publication.
  Status on_video(uint32_t timestamp, Bytes body);
  Status on_audio(uint32_t timestamp, Bytes body);

  bool started() const { return ingest_ != nullptr; }
  uint64_t frames() const { return frames_; }
  uint64_t dropped() const { return dropped_; }

  static constexpr size_t kMaxRtpPayload = 1200;  // fits WebRTC egress without re-packetizing
  static constexpr int kMaxFramesBeforeStart = 300;  // then start with the sequence headers known so far

 private:
  struct RtpState {
    uint16_t sequence = 0;
    uint32_t ssrc = 0;
    uint8_t payload_type = 96;
  };
  bool ready_to_start() const;
  Status start();
  void send_rtp(int track, RtpState& state, uint32_t timestamp, Bytes payload, bool marker);

  std::shared_ptr<media::Stream> stream_;
  std::unique_ptr<rtsp_session::Ingest> ingest_;
  bool expect_video_ = false, expect_audio_ = false;
  std::optional<rtmp::DecoderConfig> video_config_;
  rtmp::VideoCodec video_codec_ = rtmp::VideoCodec::H264;
  ByteVector audio_config_;
  uint32_t audio_rate_ = 0;
  int64_t audio_frame_ = 1024;  // samples per AAC frame
  int video_track_ = -1, audio_track_ = -1;
  RtpState video_rtp_, audio_rtp_;
  std::optional<int64_t> audio_next_;  // expected RTP timestamp of the next AAC frame (audio_rate_ clock)
  int waiting_frames_ = 0;
  uint64_t frames_ = 0, dropped_ = 0;
};

}  // namespace sg::rtmp_session
