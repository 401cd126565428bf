#include "srt_session/ts_ingest.hpp"

#include <cstdlib>
#include <random>

#include "codec/rtp_aac.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"
#include "rtmp_session/flv_ingest.hpp"
#include "rtsp_session/ingest.hpp"
#include "sdp/sdp.hpp"

namespace sg::srt_session {

namespace {

constexpr int64_t kAacFrameSamples = 1024;

// The parameter sets of a keyframe's NAL units; nullopt when one the codec needs is missing.
std::optional<rtmp::DecoderConfig> parameter_sets(const mpegts::Frame& f) {
  rtmp::DecoderConfig c;
  for (Bytes n : f.units) {
    if (f.codec == mpegts::StreamCodec::H264) {
      const uint8_t t = u8(n, 0) & 0x1f;
      if (t == 7) c.sps.push_back(to_vector(n));
      if (t == 8) c.pps.push_back(to_vector(n));
    } else {
      const uint8_t t = (u8(n, 0) >> 1) & 0x3f;
      if (t == 32) c.vps.push_back(to_vector(n));
      if (t == 33) c.sps.push_back(to_vector(n));
      if (t == 34) c.pps.push_back(to_vector(n));
    }
  }
  if (c.sps.empty() || c.pps.empty() || (f.codec == mpegts::StreamCodec::H265 && c.vps.empty())) return std::nullopt;
  return c;
}

}  // namespace

TsIngest::TsIngest(std::shared_ptr<media::Stream> stream) : stream_(std::move(stream)) {
  std::random_device rd;
  video_rtp_ = {static_cast<uint16_t>(rd()), rd(), 96};
  audio_rtp_ = {static_cast<uint16_t>(rd()), rd(), 97};
}

TsIngest::~TsIngest() = default;

Status TsIngest::on_data(Bytes data) {
  error_.clear();
  demuxer_.feed(data, [this](const mpegts::Frame& f) { on_frame(f); });
  if (!error_.empty()) return make_error(error_);
  return Ok{};
}

void TsIngest::program_changed() {
  generation_ = demuxer_.program_generation();
  video_pid_.reset();
  audio_pid_.reset();
  for (const auto& s : demuxer_.streams()) {
    if (s.codec == mpegts::StreamCodec::AAC) {
      if (!audio_pid_) audio_pid_ = s.pid;
    } else if (!video_pid_) {
      video_pid_ = s.pid;
      video_codec_ = s.codec == mpegts::StreamCodec::H265 ? rtmp::VideoCodec::H265 : rtmp::VideoCodec::H264;
    }
  }
  const bool was_started = ingest_ != nullptr;
  ingest_.reset();
  video_config_.reset();
  audio_config_.clear();
  waiting_frames_ = 0;
  if (was_started) stream_->set_state(media::StreamState::Connecting);
}

void TsIngest::on_frame(const mpegts::Frame& f) {
  if (demuxer_.program_generation() != generation_) program_changed();
  if (video_pid_ && f.pid == *video_pid_) {
    on_video(f);
  } else if (audio_pid_ && f.pid == *audio_pid_) {
    on_audio(f);
  }
}

bool TsIngest::ready_to_start() const {
  if (!video_config_ && audio_config_.empty()) return false;
  if (waiting_frames_ >= kMaxFramesBeforeStart) return true;
  if (video_pid_ && !video_config_) return false;
  if (audio_pid_ && audio_config_.empty()) return false;
  return true;
}

Status TsIngest::start() {
  auto text = rtmp_session::sdp_for_flv(video_codec_, video_config_ ? &*video_config_ : nullptr, audio_config_);
  auto parsed = sdp::parse(text);
  if (!parsed) return make_error("SRT: tracks: " + parsed.error());
  auto tracks = rtsp_session::tracks_from_sdp(*parsed, stream_->id(), rtsp_session::UnsupportedMedia::Refuse);
  if (!tracks) return make_error("SRT: tracks: " + tracks.error());
  std::vector<media::Track> list;
  video_track_ = audio_track_ = -1;
  for (auto& t : *tracks) {
    (t.track.kind == media::MediaKind::Video ? video_track_ : audio_track_) = static_cast<int>(list.size());
    list.push_back(t.track);
  }
  ingest_.reset();
  stream_->set_tracks(list);
  ingest_ = std::make_unique<rtsp_session::Ingest>(stream_, list);
  audio_next_.reset();
  stream_->set_state(media::StreamState::Ready);
  return Ok{};
}

void TsIngest::send_rtp(int track, RtpState& st, uint32_t timestamp, Bytes payload, bool marker) {
  // RFC 3550 5.1 fixed header, then the payload.
  ByteVector packet(12);
  MutableBytes h(packet);
  put8(h, 0, 0x80);
  put8(h, 1, static_cast<uint8_t>((marker ? 0x80 : 0) | st.payload_type));
  put16(h, 2, st.sequence++);
  put32(h, 4, timestamp);
  put32(h, 8, st.ssrc);
  append(packet, payload);
  ingest_->on_rtp(static_cast<size_t>(track), packet, false);
}

void TsIngest::on_video(const mpegts::Frame& f) {
  if (f.keyframe) {
    if (auto sets = parameter_sets(f)) {
      const bool same = video_config_ && video_config_->sps == sets->sps && video_config_->pps == sets->pps &&
                        video_config_->vps == sets->vps;
      if (!same) {
        const bool had = video_config_.has_value();
        video_config_ = std::move(*sets);
        if (had && ingest_) {
          if (auto s = start(); !s) error_ = s.error();  // new parameters: new tracks
        }
      }
    }
  }
  if (!video_config_) {
    ++dropped_;  // nothing to decode it with yet
    return;
  }
  if (!ingest_) {
    ++waiting_frames_;
    if (!ready_to_start()) {
      ++dropped_;
      return;
    }
    if (auto s = start(); !s) {
      error_ = s.error();
      return;
    }
  }
  if (video_track_ < 0) return;
  // RTP carries the presentation time (RFC 6184 5.1) on the same 90 kHz clock as the PES PTS.
  const uint32_t rtp_ts = static_cast<uint32_t>(f.pts);
  auto payloads = video_codec_ == rtmp::VideoCodec::H264
                      ? codec::packetize_h264(f.units, {.max_payload = kMaxRtpPayload, .aggregate = false})
                      : codec::packetize_h265(f.units, {.max_payload = kMaxRtpPayload, .aggregate = false});
  if (!payloads) {
    error_ = payloads.error();
    return;
  }
  for (const auto& p : *payloads) send_rtp(video_track_, video_rtp_, rtp_ts, p.data, p.marker);
  ++frames_;
}

void TsIngest::on_audio(const mpegts::Frame& f) {
  if (!std::equal(f.audio_config.begin(), f.audio_config.end(), audio_config_.begin(), audio_config_.end())) {
    const bool had = !audio_config_.empty();
    audio_config_ = f.audio_config;
    audio_rate_ = f.sample_rate;
    if (had && ingest_) {
      if (auto s = start(); !s) error_ = s.error();
    }
  }
  if (!ingest_) {
    ++waiting_frames_;
    if (!ready_to_start()) {
      ++dropped_;
      return;
    }
    if (auto s = start(); !s) {
      error_ = s.error();
      return;
    }
  }
  if (audio_track_ < 0) return;
  const int64_t rate = audio_rate_ > 0 ? audio_rate_ : 44100;
  int64_t ts = static_cast<int64_t>(f.pts) * rate / 90000;
  // PTS is in 90 kHz: frames that follow on within half a frame keep the exact sample count (no rounding jitter).
  if (audio_next_ && std::llabs(ts - *audio_next_) < kAacFrameSamples / 2) ts = *audio_next_;
  for (Bytes frame : f.units) {
    std::vector<Bytes> one{frame};
    auto payloads = codec::packetize_aac(one, kMaxRtpPayload);
    if (!payloads) {
      error_ = payloads.error();
      return;
    }
    for (const auto& p : *payloads) send_rtp(audio_track_, audio_rtp_, static_cast<uint32_t>(ts), p.data, p.marker);
    ts += kAacFrameSamples;
    ++frames_;
  }
  audio_next_ = ts;
}

}  // namespace sg::srt_session
