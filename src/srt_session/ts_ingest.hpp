#pragma once
// From an SRT publisher's MPEG-TS bytes to the stream's units: the incremental demuxer (mpegts/stream_demuxer)
// gives PES frames; the tracks are described as an RTSP publisher's would be (the SDP of rtmp_session::sdp_for_flv
// through rtsp_session::tracks_from_sdp) and each frame is packetized to RTP and fed to rtsp_session::Ingest, so
// every reader gets what it gets from any other publisher.
//
// Tracks: the first H.264/H.265 and the first AAC stream of the PMT. They start once each has its parameters (a
// keyframe with SPS/PPS (and VPS), an ADTS header), or after kMaxFramesBeforeStart frames with what is known.
// New parameter sets in band or a new PMT set new tracks (readers reconnect). RTP time is the PES PTS (90 kHz for
// video, the sample rate for AAC).
#include <cstdint>
#include <memory>
#include <optional>

#include "base/result.hpp"
#include "media/stream.hpp"
#include "mpegts/stream_demuxer.hpp"
#include "rtmp/flv.hpp"

namespace sg::rtsp_session {
class Ingest;
}

namespace sg::srt_session {

class TsIngest {
 public:
  explicit TsIngest(std::shared_ptr<media::Stream> stream);
  ~TsIngest();

  // Bytes as received (whole SRT messages or any split). An error says why tracks could not be set (the caller
  // rate-limits it); the publication goes on.
  Status on_data(Bytes data);

  bool started() const { return ingest_ != nullptr; }
  uint64_t frames() const { return frames_; }
  uint64_t dropped() const { return dropped_; }
  const mpegts::StreamDemuxer& demuxer() const { return demuxer_; }

  static constexpr size_t kMaxRtpPayload = 1200;
  static constexpr int kMaxFramesBeforeStart = 300;

 private:
  struct RtpState {
    uint16_t sequence = 0;
    uint32_t ssrc = 0;
    uint8_t payload_type = 96;
  };
  void on_frame(const mpegts::Frame& f);
  void on_video(const mpegts::Frame& f);
  void on_audio(const mpegts::Frame& f);
  void program_changed();
  bool ready_to_start() const;
  Status start();
  void send_rtp(int track, RtpState& state, uint32_t timestamp, Bytes payload, bool marker);

  std::shared_ptr<media::Stream> stream_;
  mpegts::StreamDemuxer demuxer_;
  uint32_t generation_ = 0;
  std::unique_ptr<rtsp_session::Ingest> ingest_;
  std::optional<uint16_t> video_pid_, audio_pid_;
  rtmp::VideoCodec video_codec_ = rtmp::VideoCodec::H264;
  std::optional<rtmp::DecoderConfig> video_config_;
  ByteVector audio_config_;
  uint32_t audio_rate_ = 0;
  int video_track_ = -1, audio_track_ = -1;
  RtpState video_rtp_, audio_rtp_;
  std::optional<int64_t> audio_next_;
  int waiting_frames_ = 0;
  uint64_t frames_ = 0, dropped_ = 0;
  std::string error_;
};

}  // namespace sg::srt_session
