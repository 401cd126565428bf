#include "hls_session/sample_builder.hpp"

#include <algorithm>

#include "codec/aac.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"

namespace sg::hls_session {

namespace {

bool is_video(media::CodecId c) { return c == media::CodecId::H264 || c == media::CodecId::H265; }
bool is_audio(media::CodecId c) { return c == media::CodecId::AAC || c == media::CodecId::Opus; }

uint8_t nal_type(media::CodecId codec, Bytes nalu) {
  if (nalu.empty()) return 0xff;
  return codec == media::CodecId::H264 ? (u8(nalu, 0) & 0x1f) : ((u8(nalu, 0) >> 1) & 0x3f);
}

// Parameter sets and access unit delimiters travel in the sample entry (avcC / hvcC), not in samples.
bool out_of_band(media::CodecId codec, uint8_t type) {
  if (codec == media::CodecId::H264) return type == 7 || type == 8 || type == 9;
  return type == 32 || type == 33 || type == 34 || type == 35;
}

// Reorder depth assumed when the SPS does not state it and does not rule reordering out: libx264's and most
// encoders' B-frame setting (2 B-frames, or a B-pyramid) needs 2; deeper streams are detected and adapted to.
constexpr uint32_t kFallbackReorderDepth = 2;

Result<mp4::TrackInfo> video_info(const media::Track& track, const media::Unit& unit,
                                  std::optional<codec::DecodingTimeline>& timeline) {
  const bool h264 = track.codec == media::CodecId::H264;
  std::vector<Bytes> vps, sps, pps;
  for (size_t i = 0; i < unit.frames.size(); ++i) {
    auto nalu = unit.frame(i);
    auto type = nal_type(track.codec, nalu);
    if (h264 ? type == 7 : type == 33) sps.push_back(nalu);
    if (h264 ? type == 8 : type == 34) pps.push_back(nalu);
    if (!h264 && type == 32) vps.push_back(nalu);
  }
  // In-band parameter sets are what the encoder uses now; the SDP's are the fallback.
  if (sps.empty() && !track.sps.empty()) sps.push_back(track.sps);
  if (pps.empty() && !track.pps.empty()) pps.push_back(track.pps);
  if (vps.empty() && !track.vps.empty()) vps.push_back(track.vps);
  if (sps.empty() || pps.empty() || (!h264 && vps.empty()))
    return make_error(std::string("HLS: no parameter sets for the ") + (h264 ? "H.264" : "H.265") + " track yet");

  mp4::TrackInfo info;
  info.codec = h264 ? mp4::TrackInfo::Codec::H264 : mp4::TrackInfo::Codec::H265;
  info.timescale = track.clock_rate ? track.clock_rate : 90000;
  info.sps = to_vector(sps.front());
  info.pps = to_vector(pps.front());
  if (!vps.empty()) info.vps = to_vector(vps.front());
  if (h264) {
    auto rec = codec::h264::build_avcc(sps, pps);
    if (!rec) return make_error(rec.error());
    info.codec_config = std::move(*rec);
    auto parsed = codec::h264::parse_sps(sps.front());
    if (!parsed) return make_error(parsed.error());
    info.width = static_cast<int>(parsed->width);
    info.height = static_cast<int>(parsed->height);
    timeline.emplace(codec::reorder_depth(*parsed, kFallbackReorderDepth),
                     codec::frame_ticks(*parsed, info.timescale).value_or(info.timescale / 30));
  } else {
    auto rec = codec::h265::build_hvcc(vps, sps, pps);
    if (!rec) return make_error(rec.error());
    info.codec_config = std::move(*rec);
    auto parsed = codec::h265::parse_sps(sps.front());
    if (!parsed) return make_error(parsed.error());
    info.width = static_cast<int>(parsed->width);
    info.height = static_cast<int>(parsed->height);
    timeline.emplace(codec::reorder_depth(*parsed, kFallbackReorderDepth), info.timescale / 30);
  }
  return info;
}

Result<mp4::TrackInfo> audio_info(const media::Track& track, uint32_t& aac_frame_ticks) {
  mp4::TrackInfo info;
  if (track.codec == media::CodecId::Opus) {
    info.codec = mp4::TrackInfo::Codec::Opus;
    info.timescale = 48000;  // RFC 7587 4.1: the RTP clock is always 48 kHz
    info.sample_rate = 48000;
    info.channels = track.channels ? track.channels : 2;
    return info;
  }
  if (track.audio_config.empty()) return make_error("HLS: AAC track without an AudioSpecificConfig");
  auto asc = codec::aac::parse_audio_specific_config(track.audio_config);
  if (!asc) return make_error(asc.error());
  if (asc->sample_rate == 0) return make_error("HLS: AAC track with a zero sample rate");
  info.codec = mp4::TrackInfo::Codec::AAC;
  info.timescale = track.clock_rate ? track.clock_rate : asc->sample_rate;
  info.sample_rate = asc->sample_rate;
  info.channels = asc->channels() ? asc->channels() : (track.channels ? track.channels : 2);
  info.codec_config = track.audio_config;
  aac_frame_ticks = static_cast<uint32_t>(uint64_t{asc->samples_per_frame} * info.timescale / asc->sample_rate);
  if (aac_frame_ticks == 0) aac_frame_ticks = 1;
  return info;
}

}  // namespace

int64_t TimestampUnwrapper::unwrap(uint32_t ts) {
  if (!started_) {
    started_ = true;
    last_ = ts;
    extended_ = ts;
    return extended_;
  }
  extended_ += static_cast<int32_t>(ts - last_);
  last_ = ts;
  return extended_;
}

std::optional<uint32_t> opus_packet_samples(Bytes packet) {
  if (packet.empty()) return std::nullopt;
  const uint8_t toc = u8(packet, 0);
  const uint8_t config = toc >> 3;
  uint32_t frame;  // in 48 kHz samples
  if (config < 12) {
    static constexpr uint32_t kSilk[] = {480, 960, 1920, 2880};
    frame = kSilk[config % 4];
  } else if (config < 16) {
    frame = config % 2 ? 960 : 480;
  } else {
    static constexpr uint32_t kCelt[] = {120, 240, 480, 960};
    frame = kCelt[config % 4];
  }
  uint32_t count;
  switch (toc & 3) {
    case 0: count = 1; break;
    case 1:
    case 2: count = 2; break;
    default:
      if (packet.size() < 2) return std::nullopt;
      count = u8(packet, 1) & 0x3f;
      if (count == 0) return std::nullopt;
  }
  // RFC 6716 3.2.5: at most 120 ms per packet.
  if (frame * count > 5760) return std::nullopt;
  return frame * count;
}

bool variant_supports(hls::Variant variant, media::CodecId codec) {
  if (codec == media::CodecId::H264 || codec == media::CodecId::AAC) return true;
  if (codec == media::CodecId::H265 || codec == media::CodecId::Opus) return variant != hls::Variant::MpegTs;
  return false;
}

hls::Variant served_variant(hls::Variant configured, const std::vector<media::Track>& tracks) {
  if (configured != hls::Variant::MpegTs) return configured;
  bool video = false, audio = false;
  for (const auto& t : tracks) {
    const bool first_video = !video && is_video(t.codec), first_audio = !audio && is_audio(t.codec);
    if ((first_video || first_audio) && !variant_supports(hls::Variant::MpegTs, t.codec)) return hls::Variant::Fmp4;
    video = video || first_video;
    audio = audio || first_audio;
  }
  return configured;
}

uint64_t SampleBuilder::late_frames() const {
  uint64_t n = 0;
  for (const auto& st : states_)
    if (st.timeline) n += st.timeline->late_frames();
  return n;
}

Status SampleBuilder::start(const media::Unit& unit, const std::vector<media::Track>& tracks) {
  const hls::Variant variant = served_variant(variant_, tracks);
  std::optional<size_t> video, audio;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const auto c = tracks[i].codec;
    if (!video && is_video(c) && variant_supports(variant, c)) video = i;
    if (!audio && is_audio(c) && variant_supports(variant, c)) audio = i;
  }
  if (!video && !audio) return make_error("HLS: the stream has no track this HLS variant can carry");
  const size_t main = video ? *video : *audio;
  if (unit.track != main || (video && !unit.keyframe)) return Ok{};  // wait for the first main keyframe

  std::vector<mp4::TrackInfo> infos;
  std::vector<TrackState> states;
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (i != video && i != audio) continue;
    TrackState st;
    st.stream_index = i;
    st.codec = tracks[i].codec;
    auto info = i == video ? video_info(tracks[i], unit, st.timeline) : audio_info(tracks[i], st.aac_frame_ticks);
    if (!info) {
      if (i == main) return make_error(info.error());
      continue;  // an unusable audio track does not stop the video
    }
    st.clock_rate = info->timescale;
    infos.push_back(std::move(*info));
    states.push_back(std::move(st));
  }
  skipped_.clear();
  for (size_t i = 0; i < tracks.size(); ++i) {
    bool used = std::any_of(states.begin(), states.end(), [&](const TrackState& s) { return s.stream_index == i; });
    if (!used) skipped_.push_back(i);
  }
  // The frames decoded before the first keyframe is shown need DTS before its PTS (all >= 0).
  lead_ns_ = 0;
  for (const auto& st : states)
    if (st.timeline)
      lead_ns_ = (st.timeline->lead() * 1'000'000'000 + st.clock_rate - 1) / st.clock_rate;
  infos_ = std::move(infos);
  states_ = std::move(states);
  t0_ns_ = unit.ingest_ns;
  variant_ = variant;
  ready_ = true;
  return Ok{};
}

std::optional<int64_t> SampleBuilder::place(TrackState& st, const media::Unit& unit) {
  const int64_t ext = st.unwrapper.unwrap(unit.rtp_timestamp);
  const int64_t rate = st.clock_rate;
  if (!st.started) {
    const int64_t since_ns = unit.ingest_ns - t0_ns_;
    if (since_ns < -lead_ns_) return std::nullopt;  // older than the timeline's start
    // Rounded up, so the first keyframe's PTS is never below its timeline's lead.
    const int64_t at = since_ns + lead_ns_;
    st.base = ext - (at / 1'000'000'000 * rate + (at % 1'000'000'000 * rate + 999'999'999) / 1'000'000'000);
    st.started = true;
  }
  int64_t dts = ext - st.base;
  // A new source session (camera reconnect, publisher replaced; the stream keeps RTP time continuous across it,
  // gap included), or a jump of more than 10 s either way within one: continue where we were. The playlist skips
  // the gap; the segmenter moves PROGRAM-DATE-TIME to the wall clock instead.
  const bool new_source = unit.source != st.source;
  st.source = unit.source;
  if (st.last_dts >= 0 && (new_source || dts - st.last_dts > 10 * rate || st.last_dts - dts > 10 * rate)) {
    st.base = ext - (st.last_dts + std::max<int64_t>(st.last_duration, 1));
    dts = ext - st.base;
  }
  if (dts < 0) return std::nullopt;
  return dts;
}

Status SampleBuilder::add(const media::Unit& unit, const std::vector<media::Track>& tracks, std::vector<Output>& out) {
  if (!ready_) {
    if (auto s = start(unit, tracks); !s) return s;
    if (!ready_) return Ok{};
  }
  size_t index = 0;
  while (index < states_.size() && states_[index].stream_index != unit.track) ++index;
  if (index == states_.size()) return Ok{};
  auto& st = states_[index];
  auto placed = place(st, unit);
  if (!placed) return Ok{};
  int64_t dts = *placed;

  if (is_video(st.codec)) {
    mp4::Sample s;
    for (size_t i = 0; i < unit.frames.size(); ++i) {
      auto nalu = unit.frame(i);
      if (nalu.empty() || out_of_band(st.codec, nal_type(st.codec, nalu))) continue;
      append32(s.data, static_cast<uint32_t>(nalu.size()));
      append(s.data, nalu);
    }
    if (s.data.empty()) return Ok{};
    const auto times = st.timeline->push(dts);  // the RTP time is the PTS
    if (times.dts < 0) return Ok{};             // before the timeline's start (e.g. leading pictures)
    dts = times.dts;
    s.dts = dts;
    s.cts_offset = static_cast<int32_t>(std::min<int64_t>(times.pts - times.dts, INT32_MAX));
    s.keyframe = unit.keyframe;
    // The real duration is the gap to the next sample (the segmenter fixes it); the previous gap is the guess.
    if (st.last_dts >= 0) st.last_duration = dts - st.last_dts;
    if (st.last_duration <= 0) st.last_duration = st.clock_rate / 30;
    s.duration = static_cast<uint32_t>(std::min<int64_t>(st.last_duration, UINT32_MAX));
    st.last_dts = dts;
    out.push_back({index, std::move(s)});
    return Ok{};
  }

  int64_t t = dts;
  for (size_t i = 0; i < unit.frames.size(); ++i) {
    auto frame = unit.frame(i);
    if (frame.empty()) continue;
    uint32_t duration = st.aac_frame_ticks;
    if (st.codec == media::CodecId::Opus) {
      auto samples = opus_packet_samples(frame);
      if (!samples) continue;
      duration = *samples;
    }
    if (st.last_dts >= 0 && t <= st.last_dts) t = st.last_dts + 1;  // overlapping units: keep DTS increasing
    mp4::Sample s;
    s.dts = t;
    s.duration = duration;
    s.keyframe = true;
    s.data = to_vector(frame);
    st.last_dts = t;
    st.last_duration = duration;
    out.push_back({index, std::move(s)});
    t += duration;
  }
  return Ok{};
}

}  // namespace sg::hls_session
