#include "rtmp_session/flv_ingest.hpp"

#include <algorithm>
#include <cstdlib>
#include <random>

#include "codec/aac.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "codec/rtp_aac.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"
#include "rtsp_session/ingest.hpp"
#include "sdp/sdp.hpp"

namespace sg::rtmp_session {

namespace {

std::vector<Bytes> views(const std::vector<ByteVector>& v) {
  std::vector<Bytes> out;
  for (const auto& b : v) out.emplace_back(b);
  return out;
}

}  // namespace

std::string sdp_for_flv(rtmp::VideoCodec codec, const rtmp::DecoderConfig* video, Bytes audio_config) {
  std::string sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtmp\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n";
  int index = 0;
  if (video) {
    sdp += "m=video 0 RTP/AVP 96\r\n";
    if (codec == rtmp::VideoCodec::H264) {
      std::vector<Bytes> sets = views(video->sps);
      for (const auto& p : video->pps) sets.emplace_back(p);
      sdp += "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1";
      if (auto pli = codec::h264::profile_level_id(video->sps[0])) sdp += ";profile-level-id=" + *pli;
      sdp += ";sprop-parameter-sets=" + codec::h264::encode_sprop_parameter_sets(sets) + "\r\n";
    } else {
      sdp += "a=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-vps=" + codec::h265::encode_sprop(views(video->vps)) +
             ";sprop-sps=" + codec::h265::encode_sprop(views(video->sps)) +
             ";sprop-pps=" + codec::h265::encode_sprop(views(video->pps)) + "\r\n";
    }
    sdp += "a=control:trackID=" + std::to_string(index++) + "\r\n";
  }
  if (!audio_config.empty()) {
    auto asc = codec::aac::parse_audio_specific_config(audio_config);
    uint32_t rate = asc ? asc->sample_rate : 44100;
    int channels = asc && asc->channels() > 0 ? asc->channels() : 2;
    sdp += "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/" + std::to_string(rate) + "/" + std::to_string(channels) +
           "\r\na=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
           "indexdeltalength=3;config=" + codec::aac::config_to_sdp(audio_config) + "\r\n";
    sdp += "a=control:trackID=" + std::to_string(index++) + "\r\n";
  }
  return sdp;
}

FlvIngest::FlvIngest(std::shared_ptr<media::Stream> stream) : stream_(std::move(stream)) {
  std::random_device rd;
  video_rtp_ = {static_cast<uint16_t>(rd()), rd(), 96};
  audio_rtp_ = {static_cast<uint16_t>(rd()), rd(), 97};
}

FlvIngest::~FlvIngest() = default;

void FlvIngest::on_metadata(const rtmp::Amf0Value& object) {
  // onMetaData: codec ids are numbers (7 = AVC, 10 = AAC) or, for Enhanced RTMP, FourCC numbers; any value but 0
  // announces the kind. Absent: not announced.
  if (auto v = object.get("videocodecid"); v && !(v->is_number() && v->number == 0)) expect_video_ = true;
  if (auto a = object.get("audiocodecid"); a && !(a->is_number() && a->number == 0)) expect_audio_ = true;
}

bool FlvIngest::ready_to_start() const {
  if (!video_config_ && audio_config_.empty()) return false;
  if (waiting_frames_ >= kMaxFramesBeforeStart) return true;
  if (expect_video_ && !video_config_) return false;
  if (expect_audio_ && audio_config_.empty()) return false;
  return true;
}

Status FlvIngest::start() {
  auto text = sdp_for_flv(video_codec_, video_config_ ? &*video_config_ : nullptr, audio_config_);
  auto parsed = sdp::parse(text);
  if (!parsed) return make_error("RTMP: tracks: " + parsed.error());
  auto tracks = rtsp_session::tracks_from_sdp(*parsed, stream_->id(), rtsp_session::UnsupportedMedia::Refuse);
  if (!tracks) return make_error("RTMP: tracks: " + tracks.error());
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

void FlvIngest::send_rtp(int track, RtpState& st, uint32_t timestamp, Bytes payload, bool marker) {
  // RFC 3550 5.1 fixed header, then the payload: one whole RTP packet as an RTSP publisher would send it.
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

Status FlvIngest::on_video(uint32_t timestamp, Bytes body) {
  auto tag = rtmp::parse_video_tag(body);
  if (!tag) return make_error(tag.error());
  if (tag->packet == rtmp::VideoPacket::SequenceHeader) {
    auto config = tag->codec == rtmp::VideoCodec::H264 ? rtmp::parse_avc_decoder_config(tag->data)
                                                       : rtmp::parse_hevc_decoder_config(tag->data);
    if (!config) return make_error(config.error());
    bool same = video_config_ && video_codec_ == tag->codec && video_config_->sps == config->sps &&
                video_config_->pps == config->pps && video_config_->vps == config->vps;
    if (same) {
      video_config_->length_size = config->length_size;
      return Ok{};
    }
    const bool had = video_config_.has_value();
    video_config_ = std::move(*config);
    video_codec_ = tag->codec;
    expect_video_ = true;
    if (had && ingest_) return start();  // new parameters: new tracks
    return Ok{};
  }
  if (tag->packet != rtmp::VideoPacket::CodedFrames) return Ok{};
  if (!video_config_ || tag->codec != video_codec_) {
    ++dropped_;
    return Ok{};  // no sequence header yet (or another codec's frames): nothing to decode them with
  }
  if (!ingest_) {
    ++waiting_frames_;
    if (!ready_to_start()) {
      ++dropped_;
      return Ok{};
    }
    if (auto s = start(); !s) return s;
  }
  if (video_track_ < 0) return Ok{};
  auto nalus = rtmp::split_nal_units(tag->data, video_config_->length_size);
  if (!nalus) return make_error(nalus.error());
  if (nalus->empty()) return Ok{};
  // RTP carries the presentation time (RFC 6184 5.1): DTS + composition time, in 90 kHz.
  const int64_t pts_ms = int64_t{timestamp} + tag->composition_time;
  const uint32_t rtp_ts = static_cast<uint32_t>(pts_ms * 90);
  auto payloads = video_codec_ == rtmp::VideoCodec::H264
                      ? codec::packetize_h264(*nalus, {.max_payload = kMaxRtpPayload, .aggregate = false})
                      : codec::packetize_h265(*nalus, {.max_payload = kMaxRtpPayload, .aggregate = false});
  if (!payloads) return make_error(payloads.error());
  for (const auto& p : *payloads) send_rtp(video_track_, video_rtp_, rtp_ts, p.data, p.marker);
  ++frames_;
  return Ok{};
}

Status FlvIngest::on_audio(uint32_t timestamp, Bytes body) {
  auto tag = rtmp::parse_audio_tag(body);
  if (!tag) return make_error(tag.error());
  if (tag->packet == rtmp::AudioPacket::SequenceHeader) {
    auto asc = codec::aac::parse_audio_specific_config(tag->data);
    if (!asc) return make_error("AAC sequence header: " + asc.error());
    if (std::equal(tag->data.begin(), tag->data.end(), audio_config_.begin(), audio_config_.end())) return Ok{};
    const bool had = !audio_config_.empty();
    audio_config_ = to_vector(tag->data);
    audio_rate_ = asc->sample_rate;
    audio_frame_ = asc->samples_per_frame;
    expect_audio_ = true;
    if (had && ingest_) return start();
    return Ok{};
  }
  if (audio_config_.empty() || tag->data.empty()) {
    ++dropped_;
    return Ok{};
  }
  if (!ingest_) {
    ++waiting_frames_;
    if (!ready_to_start()) {
      ++dropped_;
      return Ok{};
    }
    if (auto s = start(); !s) return s;
  }
  if (audio_track_ < 0) return Ok{};
  // FLV time is in ms, an AAC frame lasts 1024 samples (23.2 ms at 44.1 kHz): frames that follow on within half a
  // frame of the expected time keep the exact sample count, so the RTP clock does not jitter by the rounding.
  const int64_t rate = audio_rate_ > 0 ? audio_rate_ : 44100;
  int64_t ts = int64_t{timestamp} * rate / 1000;
  if (audio_next_ && std::llabs(ts - *audio_next_) < audio_frame_ / 2) ts = *audio_next_;
  audio_next_ = ts + audio_frame_;
  std::vector<Bytes> frames{tag->data};
  auto payloads = codec::packetize_aac(frames, kMaxRtpPayload);
  if (!payloads) return make_error(payloads.error());
  for (const auto& p : *payloads) send_rtp(audio_track_, audio_rtp_, static_cast<uint32_t>(ts), p.data, p.marker);
  ++frames_;
  return Ok{};
}

}  // namespace sg::rtmp_session
