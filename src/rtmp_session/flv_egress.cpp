#include "rtmp_session/flv_egress.hpp"

#include "codec/aac.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "rtmp/amf0.hpp"

namespace sg::rtmp_session {

namespace {

constexpr uint32_t kFallbackReorderDepth = 2;

std::vector<Bytes> views(const ByteVector& one) {
  if (one.empty()) return {};
  return {Bytes(one)};
}

}  // namespace

std::shared_ptr<const ByteVector> SampleCache::get(const media::UnitPtr& unit) {
  // The same owner (control block), not the same address: a unit freed and another allocated in its place is a
  // miss, since unit_ keeps its old block from being reused. Comparing owners takes no atomic operation on the
  // unit's count, which every player of both workers would otherwise touch per unit.
  if (sample_ && !unit_.owner_before(unit) && !unit.owner_before(unit_)) return sample_;
  if (!sample_ || sample_.use_count() > 1)
    sample_ = std::make_shared<ByteVector>();  // a message still holds the previous sample
  else
    sample_->clear();
  size_t total = 0;
  for (const auto& f : unit->frames) total += 4 + f.size;
  sample_->reserve(total);
  for (size_t i = 0; i < unit->frames.size(); ++i) {
    append32(*sample_, unit->frames[i].size);
    append(*sample_, unit->frame(i));
  }
  unit_ = unit;
  return sample_;
}

FlvEgress::FlvEgress(const std::vector<media::Track>& tracks) {
  for (const auto& t : tracks) {
    TrackState st;
    st.track = t;
    st.video = t.kind == media::MediaKind::Video;
    if (st.video) {
      st.carried = t.codec == media::CodecId::H264 || t.codec == media::CodecId::H265;
      st.codec = t.codec == media::CodecId::H265 ? rtmp::VideoCodec::H265 : rtmp::VideoCodec::H264;
      const int64_t rate = t.clock_rate ? t.clock_rate : 90000;
      uint32_t depth = kFallbackReorderDepth;
      int64_t step = rate / 30;
      if (st.carried && !t.sps.empty()) {
        if (st.codec == rtmp::VideoCodec::H264) {
          if (auto sps = codec::h264::parse_sps(t.sps)) {
            depth = codec::reorder_depth(*sps, kFallbackReorderDepth);
            step = codec::frame_ticks(*sps, static_cast<uint32_t>(rate)).value_or(step);
          }
        } else if (auto sps = codec::h265::parse_sps(t.sps)) {
          depth = codec::reorder_depth(*sps, kFallbackReorderDepth);
        }
      }
      if (st.carried) {
        st.timeline.emplace(depth, step);
        lead_ms_ = std::max<int64_t>(lead_ms_, (st.timeline->lead() * 1000 + rate - 1) / rate);
      }
    } else {
      st.carried = t.codec == media::CodecId::AAC && !t.audio_config.empty();
      if (auto asc = codec::aac::parse_audio_specific_config(t.audio_config))
        st.audio_frame_ticks = asc->samples_per_frame * (t.clock_rate ? t.clock_rate : asc->sample_rate) /
                               std::max<uint32_t>(1, asc->sample_rate);
    }
    tracks_.push_back(std::move(st));
  }
}

bool FlvEgress::carries_anything() const {
  for (const auto& t : tracks_)
    if (t.carried) return true;
  return false;
}

void FlvEgress::start(std::vector<FlvMessage>& out) {
  std::vector<std::pair<std::string, rtmp::Amf0Value>> meta;
  for (const auto& st : tracks_) {
    if (!st.carried) continue;
    if (st.video) {
      // FLV E.5: videocodecid 7 = AVC; Enhanced RTMP: the FourCC as a number.
      meta.emplace_back("videocodecid", rtmp::Amf0Value::make_number(st.codec == rtmp::VideoCodec::H264 ? 7 : 0x68766331));
      if (st.track.width > 0) {
        meta.emplace_back("width", rtmp::Amf0Value::make_number(st.track.width));
        meta.emplace_back("height", rtmp::Amf0Value::make_number(st.track.height));
      }
    } else {
      meta.emplace_back("audiocodecid", rtmp::Amf0Value::make_number(10));
      meta.emplace_back("audiosamplerate", rtmp::Amf0Value::make_number(st.track.clock_rate));
      meta.emplace_back("audiochannels", rtmp::Amf0Value::make_number(st.track.channels ? st.track.channels : 2));
    }
  }
  FlvMessage m;
  m.type = rtmp::MessageType::DataAmf0;
  m.body = rtmp::encode_amf0({rtmp::Amf0Value::make_string("onMetaData"), rtmp::Amf0Value::make_ecma_array(std::move(meta))});
  out.push_back(std::move(m));
  for (auto& st : tracks_) {
    if (!st.carried) continue;
    if (st.video) {
      video_header(st, nullptr, out);
    } else {
      FlvMessage a;
      a.type = rtmp::MessageType::Audio;
      a.body = rtmp::audio_tag_header(rtmp::AudioPacket::SequenceHeader);
      append(a.body, st.track.audio_config);
      out.push_back(std::move(a));
      st.header_sent = true;
    }
  }
}

bool FlvEgress::video_header(TrackState& st, const media::Unit* keyframe, std::vector<FlvMessage>& out) {
  // Parameter sets of the track, or (when the source sends them only in band) of the keyframe.
  std::vector<Bytes> vps = views(st.track.vps), sps = views(st.track.sps), pps = views(st.track.pps);
  const bool h264 = st.codec == rtmp::VideoCodec::H264;
  if (keyframe) {
    std::vector<Bytes> kvps, ksps, kpps;
    for (size_t i = 0; i < keyframe->frames.size(); ++i) {
      Bytes n = keyframe->frame(i);
      if (h264) {
        uint8_t t = codec::h264::nal_type(n);
        if (t == 7) ksps.push_back(n);
        if (t == 8) kpps.push_back(n);
      } else {
        uint8_t t = codec::h265::nal_type(n);
        if (t == 32) kvps.push_back(n);
        if (t == 33) ksps.push_back(n);
        if (t == 34) kpps.push_back(n);
      }
    }
    if (!ksps.empty() && !kpps.empty() && (h264 || !kvps.empty())) {
      vps = kvps;
      sps = ksps;
      pps = kpps;
    }
  }
  if (sps.empty() || pps.empty() || (!h264 && vps.empty())) return false;
  auto record = h264 ? codec::h264::build_avcc(sps, pps) : codec::h265::build_hvcc(vps, sps, pps);
  if (!record) return false;
  FlvMessage m;
  m.type = rtmp::MessageType::Video;
  m.timestamp = st.last_ms > 0 ? static_cast<uint32_t>(st.last_ms) : 0;
  m.body = rtmp::video_tag_header(st.codec, rtmp::VideoPacket::SequenceHeader, true, 0);
  append(m.body, *record);
  out.push_back(std::move(m));
  st.header_sent = true;
  return true;
}

std::optional<int64_t> FlvEgress::place(TrackState& st, const media::Unit& unit) {
  const int64_t ext = st.unwrapper.unwrap(unit.rtp_timestamp);
  const int64_t rate = st.track.clock_rate ? st.track.clock_rate : 90000;
  if (!have_t0_) {
    have_t0_ = true;
    t0_ns_ = unit.ingest_ns;
  }
  if (!st.started) {
    const int64_t since_ms = (unit.ingest_ns - t0_ns_) / 1'000'000;
    if (since_ms < -lead_ms_) return std::nullopt;  // older than this player's start
    st.base = ext - (since_ms + lead_ms_) * rate / 1000;
    st.started = true;
    st.source = unit.source;
  }
  int64_t ticks = ext - st.base;
  // A new source session, or a jump of more than 10 s: continue from where this track was.
  if (st.last_ms >= 0 && (unit.source != st.source || ticks - st.last_ms * rate / 1000 > 10 * rate ||
                          st.last_ms * rate / 1000 - ticks > 10 * rate)) {
    st.base = ext - (st.last_ms + 1) * rate / 1000;
    ticks = ext - st.base;
  }
  st.source = unit.source;
  if (ticks < 0) return std::nullopt;
  return ticks;
}

void FlvEgress::add(const media::UnitPtr& unit_ptr, SampleCache& samples, std::vector<FlvMessage>& out) {
  const media::Unit& unit = *unit_ptr;
  if (unit.track >= tracks_.size()) return;
  auto& st = tracks_[unit.track];
  if (!st.carried || unit.frames.empty()) return;
  const int64_t rate = st.track.clock_rate ? st.track.clock_rate : 90000;
  if (st.video) {
    if (!st.started && !unit.keyframe) return;  // a player starts on a keyframe
    if (unit.keyframe) {
      // In-band parameter sets that differ from the header sent are sent again (decoders re-init on it).
      bool inband = false;
      for (size_t i = 0; i < unit.frames.size(); ++i) {
        uint8_t t = st.codec == rtmp::VideoCodec::H264 ? codec::h264::nal_type(unit.frame(i)) : codec::h265::nal_type(unit.frame(i));
        inband |= st.codec == rtmp::VideoCodec::H264 ? t == 7 : t == 33;
      }
      if (!st.header_sent || (inband && !st.started)) video_header(st, &unit, out);
    }
    if (!st.header_sent) return;
    auto ticks = place(st, unit);
    if (!ticks) return;
    auto times = st.timeline->push(*ticks);
    int64_t dts_ms = times.dts * 1000 / rate;
    if (dts_ms < 0) dts_ms = 0;
    if (st.last_ms >= 0 && dts_ms < st.last_ms) dts_ms = st.last_ms;
    const int64_t pts_ms = times.pts * 1000 / rate;
    st.last_ms = dts_ms;
    FlvMessage m;
    m.type = rtmp::MessageType::Video;
    m.timestamp = static_cast<uint32_t>(dts_ms);
    m.body = rtmp::video_tag_header(st.codec, rtmp::VideoPacket::CodedFrames, unit.keyframe,
                                    static_cast<int32_t>(std::max<int64_t>(0, pts_ms - dts_ms)));
    m.sample = samples.get(unit_ptr);
    out.push_back(std::move(m));
    return;
  }
  if (!st.header_sent) return;
  auto ticks = place(st, unit);
  if (!ticks) return;
  const int64_t frame_ticks = st.audio_frame_ticks;
  for (size_t i = 0; i < unit.frames.size(); ++i) {
    int64_t ms = (*ticks + static_cast<int64_t>(i) * frame_ticks) * 1000 / rate;
    if (st.last_ms >= 0 && ms < st.last_ms) ms = st.last_ms;
    st.last_ms = ms;
    FlvMessage m;
    m.type = rtmp::MessageType::Audio;
    m.timestamp = static_cast<uint32_t>(ms);
    m.body = rtmp::audio_tag_header(rtmp::AudioPacket::RawFrame);
    append(m.body, unit.frame(i));
    out.push_back(std::move(m));
  }
}

}  // namespace sg::rtmp_session
