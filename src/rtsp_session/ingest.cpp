#include "rtsp_session/ingest.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "app/log.hpp"
#include "codec/aac.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "codec/latm.hpp"
#include "codec/rtp_video.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::rtsp_session {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The fmtp text of payload type `pt` as written after "a=fmtp:<pt> ".
std::string raw_fmtp(const sdp::Media& m, uint8_t pt) {
  for (const auto* a : m.attributes.all("fmtp")) {
    std::string_view v = a->value;
    auto sp = v.find(' ');
    if (sp == std::string_view::npos) continue;
    if (v.substr(0, sp) != std::to_string(pt)) continue;
    v.remove_prefix(sp + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return std::string(v);
  }
  return {};
}

void set_h264_params(media::Track& t, const ByteVector& sps, const ByteVector& pps) {
  t.sps = sps;
  t.pps = pps;
  if (auto s = codec::h264::parse_sps(sps)) {
    t.width = static_cast<int>(s->width);
    t.height = static_cast<int>(s->height);
  }
}

void set_h265_params(media::Track& t, const ByteVector& vps, const ByteVector& sps, const ByteVector& pps) {
  t.vps = vps;
  t.sps = sps;
  t.pps = pps;
  if (auto s = codec::h265::parse_sps(sps)) {
    t.width = static_cast<int>(s->width);
    t.height = static_cast<int>(s->height);
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

codec::FmtpParams fmtp_params(std::string_view fmtp) {
  codec::FmtpParams out;
  const auto params = sdp::parse_format_parameters(fmtp);
  for (const auto& [k, v] : params.entries()) {
    std::string key = k;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    out[key] = v;
  }
  return out;
}

}  // namespace

Result<std::vector<SdpTrack>> tracks_from_sdp(const sdp::SessionDescription& sdp, const std::string& stream_id,
                                              UnsupportedMedia unsupported) {
  std::vector<SdpTrack> out;
  std::string skipped;
  for (const auto& m : sdp.media) {
    if (m.type != "video" && m.type != "audio") continue;
    bool found = false;
    std::string why;  // why the last payload type tried cannot be carried
    for (uint8_t pt : m.payload_types()) {
      media::Track t;
      t.kind = m.type == "video" ? media::MediaKind::Video : media::MediaKind::Audio;
      t.payload_type = pt;
      if (auto rm = m.rtpmap(pt)) {
        t.encoding_name = rm->encoding;
        t.clock_rate = rm->clock_rate;
        t.channels = static_cast<uint8_t>(rm->channels);
      } else if (pt == 0 || pt == 8) {  // RFC 3551 static payload types
        t.encoding_name = pt == 0 ? "PCMU" : "PCMA";
        t.clock_rate = 8000;
        t.channels = 1;
      } else {
        why = "payload type " + std::to_string(pt) + " without rtpmap";
        continue;
      }
      t.codec = media::codec_from_rtpmap(t.encoding_name);
      if (t.codec == media::CodecId::Unknown) {
        why = "codec not supported";
        continue;
      }
      t.fmtp = raw_fmtp(m, pt);
      // Every track needs its depacketizer: without one, only RTSP readers would get the packets.
      if (auto d = codec::make_depacketizer(t.encoding_name, fmtp_params(t.fmtp)); !d) {
        why = d.error();
        continue;
      }
      auto params = sdp::parse_format_parameters(t.fmtp);
      if (t.codec == media::CodecId::H264) {
        if (auto sprop = params.get("sprop-parameter-sets")) {
          if (auto ps = codec::h264::decode_sprop_parameter_sets(*sprop); ps && !ps->sps.empty() && !ps->pps.empty())
            set_h264_params(t, ps->sps[0], ps->pps[0]);
        }
      } else if (t.codec == media::CodecId::H265) {
        auto vps = params.get("sprop-vps"), sps = params.get("sprop-sps"), pps = params.get("sprop-pps");
        if (vps && sps && pps) {
          if (auto ps = codec::h265::decode_sprop(*vps, *sps, *pps);
              ps && !ps->vps.empty() && !ps->sps.empty() && !ps->pps.empty())
            set_h265_params(t, ps->vps[0], ps->sps[0], ps->pps[0]);
        }
      } else if (t.codec == media::CodecId::AAC) {
        // MPEG4-GENERIC: config= is the AudioSpecificConfig; MP4A-LATM: it is a StreamMuxConfig holding one (its
        // depacketizer was made above, so it parses).
        std::optional<ByteVector> asc;
        if (auto cfg = params.get("config")) {
          if (iequals(t.encoding_name, "MP4A-LATM")) {
            if (auto smc = codec::latm::stream_mux_config_from_sdp(*cfg)) asc = smc->audio_specific_config;
          } else if (auto bytes = codec::aac::config_from_sdp(*cfg)) {
            asc = std::move(*bytes);
          }
        }
        if (asc) {
          t.audio_config = std::move(*asc);
          if (auto parsed = codec::aac::parse_audio_specific_config(t.audio_config); parsed && t.channels == 0)
            t.channels = parsed->channels();
        }
      } else if (t.codec == media::CodecId::Opus) {
        if (t.channels == 0) t.channels = 2;
      }
      if (t.kind == media::MediaKind::Audio && t.channels == 0) t.channels = 1;
      SdpTrack st;
      st.track = std::move(t);
      st.control = std::string(m.control().value_or(""));
      out.push_back(std::move(st));
      found = true;
      break;
    }
    if (!found) {
      std::string what = m.type;
      auto pts = m.payload_types();
      if (!pts.empty())
        if (auto rm = m.rtpmap(pts[0])) what += " " + rm->encoding;
      if (why.empty()) why = "no payload type";
      if (unsupported == UnsupportedMedia::Refuse) return make_error(what + ": " + why);
      skipped += (skipped.empty() ? "" : ", ") + what;
      log::warn("SDP media section skipped: cannot carry it",
                {{"stream", stream_id}, {"media", what}, {"reason", why}});
    }
  }
  if (out.empty()) {
    std::string msg = "SDP has no supported track";
    if (!skipped.empty()) msg.append(" (skipped: ").append(skipped).append(")");
    return make_error(std::move(msg));
  }
  return out;
}

std::string sdp_from_tracks(const std::vector<media::Track>& tracks, const std::string& session_name,
                            const std::string& server_address) {
  // Appends pieces one by one (long operator+ chains trip a GCC 12 -Warray-bounds false positive).
  std::string s;
  auto line = [&s](std::initializer_list<std::string_view> parts) {
    for (auto p : parts) s.append(p);
    s.append("\r\n");
  };
  line({"v=0"});
  line({"o=- 0 0 IN IP4 ", server_address});
  line({"s=", session_name.empty() ? std::string_view("streamgate") : std::string_view(session_name)});
  line({"c=IN IP4 0.0.0.0"});
  line({"t=0 0"});
  line({"a=tool:streamgate"});
  line({"a=control:*"});
  for (size_t i = 0; i < tracks.size(); ++i) {
    const auto& t = tracks[i];
    const std::string pt = std::to_string(t.payload_type);
    const std::string clock = std::to_string(t.clock_rate);
    const std::string channels =
        t.kind == media::MediaKind::Audio && t.channels > 1 ? "/" + std::to_string(t.channels) : std::string();
    line({"m=", t.kind == media::MediaKind::Video ? "video" : "audio", " 0 RTP/AVP ", pt});
    line({"a=rtpmap:", pt, " ", t.encoding_name, "/", clock, channels});
    std::string fmtp = t.fmtp;
    if (fmtp.empty() && t.codec == media::CodecId::H264 && !t.sps.empty() && !t.pps.empty()) {
      fmtp = "packetization-mode=1;sprop-parameter-sets=";
      fmtp.append(codec::h264::encode_sprop_parameter_sets({Bytes(t.sps), Bytes(t.pps)}));
      if (auto pli = codec::h264::profile_level_id(t.sps)) fmtp.append(";profile-level-id=").append(*pli);
    }
    if (!fmtp.empty()) line({"a=fmtp:", pt, " ", fmtp});
    line({"a=control:trackID=", std::to_string(i)});
  }
  return s;
}

struct Ingest::TrackState {
  media::Track track;
  std::unique_ptr<codec::Depacketizer> depacketizer;
  bool video = false;
  // The RTP packets of the access unit being received (video), as received.
  ByteVector pending;
  std::vector<media::Slice> pending_slices;
  uint32_t pending_ts = 0;
  rtp::ReorderBuffer<ByteVector> reorder{Ingest::kDefaultReorderCapacity};
  rtp::LossCounter loss;
  rtp::LossCounts reported;  // what the stream was told so far
  std::vector<codec::AccessUnit> aus;
  bool params_known = false;  // width/height learned (from SDP or in-band SPS)
  log::RateLimit bad_log;
};

Ingest::Ingest(std::shared_ptr<media::Stream> stream, const std::vector<media::Track>& tracks,
               size_t reorder_capacity)
    : stream_(std::move(stream)), source_(stream_->begin_source()) {
  for (const auto& t : tracks) {
    auto st = std::make_unique<TrackState>();
    if (reorder_capacity != kDefaultReorderCapacity) st->reorder = rtp::ReorderBuffer<ByteVector>(reorder_capacity);
    st->track = t;
    st->video = t.kind == media::MediaKind::Video;
    st->params_known = !st->video || t.width > 0;
    auto d = codec::make_depacketizer(t.encoding_name, fmtp_params(t.fmtp));
    if (d) {
      st->depacketizer = std::move(*d);
    } else {
      log::warn("no depacketizer for track; its packets are forwarded as they are",
                {{"stream", stream_->id()}, {"codec", t.encoding_name}, {"error", d.error()}});
    }
    tracks_.push_back(std::move(st));
  }
}

Ingest::~Ingest() { report_reception(now_ns(), true); }

rtp::LossCounts Ingest::reception() const {
  rtp::LossCounts sum;
  for (const auto& t : tracks_) {
    auto c = t->loss.counts();
    sum.expected += c.expected;
    sum.received += c.received;
    sum.duplicates += c.duplicates;
    sum.ignored += c.ignored;
    sum.restarts += c.restarts;
  }
  return sum;
}

void Ingest::report_reception(int64_t now, bool final) {
  reported_ns_ = now;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    auto& t = *tracks_[i];
    auto c = t.loss.counts();
    if (final) c.settled_lost = c.lost();
    const auto received = c.received - t.reported.received;
    const auto lost = c.settled_lost - t.reported.settled_lost;
    if (received != 0 || lost != 0) stream_->add_reception(i, received, lost);
    t.reported = c;
  }
}

uint64_t Ingest::lost_packets() const {
  uint64_t n = 0;
  for (const auto& t : tracks_) {
    n += t->reorder.stats().lost;
    if (t->depacketizer) n += t->depacketizer->stats().lost_packets;
  }
  return n;
}

size_t Ingest::held(size_t track) const { return track < tracks_.size() ? tracks_[track]->reorder.held() : 0; }

void Ingest::skip_gap(size_t track) {
  if (track >= tracks_.size()) return;
  tracks_[track]->reorder.skip_gap([&](uint16_t, ByteVector&& p) { process(track, p); });
}

void Ingest::on_rtp(size_t track, Bytes packet, bool over_udp) {
  if (track >= tracks_.size()) {
    ++bad_packets_;
    return;
  }
  ++packets_;
  stream_->add_received(packet.size(), 1);
  auto& t = *tracks_[track];
  // RFC 3550 5.1: version 2, sequence number at byte 2. Malformed packets are left to process() to count.
  if (packet.size() >= 12 && u8(packet, 0) >> 6 == 2) {
    t.loss.update(be16(packet, 2));
    if (const int64_t now = now_ns(); now - reported_ns_ >= kReceptionInterval_ns) report_reception(now, false);
  }
  if (!over_udp) return process(track, packet);
  if (packet.size() < 12) {
    ++bad_packets_;
    return;
  }
  uint16_t seq = be16(packet, 2);
  t.reorder.push(seq, ByteVector(packet.begin(), packet.end()),
                 [&](uint16_t, ByteVector&& p) { process(track, p); });
}

void Ingest::process(size_t track, Bytes packet) {
  auto& t = *tracks_[track];
  auto p = rtp::RtpPacket::parse(packet);
  if (!p) {
    ++bad_packets_;
    if (t.bad_log.allow())
      log::warn("malformed RTP packet dropped", {{"stream", stream_->id()}, {"track", track},
                                                 {"suppressed", t.bad_log.suppressed()}});
    return;
  }
  auto append_pending = [&] {
    media::Slice s{static_cast<uint32_t>(t.pending.size()), static_cast<uint32_t>(packet.size())};
    t.pending.insert(t.pending.end(), packet.begin(), packet.end());
    t.pending_slices.push_back(s);
    t.pending_ts = p->timestamp();
  };

  if (!t.depacketizer) {
    append_pending();
    publish(track, t, nullptr, std::move(t.pending), std::move(t.pending_slices), p->timestamp());
    t.pending.clear();
    t.pending_slices.clear();
    return;
  }

  if (!t.video) {
    // Audio: one unit per packet, carrying every frame the packet completed.
    t.aus.clear();
    t.depacketizer->push(p->payload(), p->timestamp(), p->sequence(), p->marker(), t.aus);
    append_pending();
    codec::AccessUnit merged;
    merged.timestamp = p->timestamp();
    for (auto& au : t.aus)
      for (size_t i = 0; i < au.frame_count(); ++i) merged.add_frame(au.frame(i));
    publish(track, t, &merged, std::move(t.pending), std::move(t.pending_slices), p->timestamp());
    t.pending.clear();
    t.pending_slices.clear();
    return;
  }

  // Video: packets are grouped by timestamp; a group is published with the access unit it carried (or alone when
  // the depacketizer dropped that unit, so RTP readers still get every packet).
  ByteVector closing;
  std::vector<media::Slice> closing_slices;
  uint32_t closing_ts = 0;
  bool have_closing = false;
  if (!t.pending_slices.empty() && p->timestamp() != t.pending_ts) {
    closing = std::move(t.pending);
    closing_slices = std::move(t.pending_slices);
    closing_ts = t.pending_ts;
    have_closing = true;
    t.pending.clear();
    t.pending_slices.clear();
  }
  t.aus.clear();
  t.depacketizer->push(p->payload(), p->timestamp(), p->sequence(), p->marker(), t.aus);
  append_pending();
  for (auto& au : t.aus) {
    if (have_closing && au.timestamp == closing_ts) {
      publish(track, t, &au, std::move(closing), std::move(closing_slices), closing_ts);
      have_closing = false;
    } else if (!t.pending_slices.empty() && au.timestamp == t.pending_ts) {
      publish(track, t, &au, std::move(t.pending), std::move(t.pending_slices), t.pending_ts);
      t.pending.clear();
      t.pending_slices.clear();
    }
  }
  if (have_closing) publish(track, t, nullptr, std::move(closing), std::move(closing_slices), closing_ts);
  if (p->marker() && !t.pending_slices.empty()) {
    publish(track, t, nullptr, std::move(t.pending), std::move(t.pending_slices), t.pending_ts);
    t.pending.clear();
    t.pending_slices.clear();
  }
  // Bound a group that never ends (no marker, same timestamp forever).
  if (t.pending.size() > codec::VideoDepacketizer::kMaxUnitBytes) {
    t.pending.clear();
    t.pending_slices.clear();
  }
}

void Ingest::publish(size_t track, TrackState& t, codec::AccessUnit* au, ByteVector&& packets,
                     std::vector<media::Slice>&& slices, uint32_t timestamp) {
  auto unit = std::make_shared<media::Unit>();
  unit->track = static_cast<uint32_t>(track);
  unit->rtp_timestamp = timestamp;
  unit->source = source_;
  unit->video = t.video;
  unit->keyframe = t.video && au && au->keyframe;
  unit->ingest_ns = now_ns();
  unit->data = std::move(packets);
  unit->rtp_packets = std::move(slices);
  if (au) {
    size_t frames_bytes = 0;
    for (size_t i = 0; i < au->frame_count(); ++i) frames_bytes += au->frames[i].size;
    unit->data.reserve(unit->data.size() + frames_bytes);
    unit->frames.reserve(au->frame_count());
    for (size_t i = 0; i < au->frame_count(); ++i) unit->add_frame(au->frame(i));
  }
  // Learn the parameter sets (and the picture size) from a keyframe's in-band ones: when the SDP carried none,
  // and whenever the source changes them, so that what the track holds (re-sent in front of keyframes that come
  // without them, e.g. to WebRTC peers) is what the decoder needs now.
  if (unit->keyframe && (t.track.codec == media::CodecId::H264 || t.track.codec == media::CodecId::H265)) {
    bool h264 = t.track.codec == media::CodecId::H264;
    Bytes vps, sps, pps;
    for (size_t i = 0; i < unit->frames.size(); ++i) {
      auto f = unit->frame(i);
      if (h264) {
        auto type = codec::h264::nal_type(f);
        if (type == 7) sps = f;
        if (type == 8) pps = f;
      } else {
        auto type = codec::h265::nal_type(f);
        if (type == 32) vps = f;
        if (type == 33) sps = f;
        if (type == 34) pps = f;
      }
    }
    auto same = [](Bytes in_band, const ByteVector& stored) {
      return in_band.empty() || std::equal(in_band.begin(), in_band.end(), stored.begin(), stored.end());
    };
    bool complete = !sps.empty() && !pps.empty() && (h264 || !vps.empty());
    bool changed = !same(vps, t.track.vps) || !same(sps, t.track.sps) || !same(pps, t.track.pps);
    if (complete && (changed || !t.params_known)) {
      auto updated = t.track;
      if (h264)
        set_h264_params(updated, to_vector(sps), to_vector(pps));
      else
        set_h265_params(updated, to_vector(vps), to_vector(sps), to_vector(pps));
      if (updated.width > 0) t.params_known = true;
      if (updated != t.track) {
        t.track = updated;
        stream_->update_track(track, std::move(updated));
      }
    }
  }
  stream_->publish(std::move(unit));
}

}  // namespace sg::rtsp_session
