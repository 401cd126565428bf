#include "webrtc/answer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sg::webrtc {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

int hex_byte(std::string_view s) {
  if (s.size() < 2) return -1;
  int v = 0;
  for (size_t i = 0; i < 2; ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// profile_idc of the track: from its SPS, else from the fmtp profile-level-id it came with.
int h264_profile(const media::Track& t) {
  if (t.sps.size() >= 2) return static_cast<uint8_t>(t.sps[1]);
  auto f = sdp::parse_format_parameters(t.fmtp);
  if (auto pl = f.get("profile-level-id"); pl && pl->size() == 6) return hex_byte(*pl);
  return -1;
}

std::string_view attr_value(const sdp::SessionDescription& s, const sdp::Media& m, std::string_view name) {
  if (auto* a = m.attributes.first(name)) return a->value;
  if (auto* a = s.attributes.first(name)) return a->value;
  return {};
}

// RFC 8843 6: an offerer that wants a section only if it is bundled (max-bundle, as GStreamer's webrtcbin offers)
// gives it port 0 and "a=bundle-only"; it is not rejected when its mid is in the offer's BUNDLE group.
bool is_bundle_only(const sdp::SessionDescription& s, const sdp::Media& m) {
  if (!m.attributes.has("bundle-only") || !m.mid()) return false;
  for (auto* group : s.attributes.all("group")) {
    std::string_view v = group->value;
    if (!v.starts_with("BUNDLE")) continue;
    v.remove_prefix(6);
    while (!v.empty()) {
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      auto end = v.find(' ');
      if (v.substr(0, end) == *m.mid()) return true;
      v.remove_prefix(end == std::string_view::npos ? v.size() : end);
    }
  }
  return false;
}

}  // namespace

int match_payload_type(const sdp::Media& offer, const media::Track& track, bool aac_to_opus) {
  int fallback = -1;
  for (uint8_t pt : offer.payload_types()) {
    auto map = offer.rtpmap(pt);
    std::string enc = map ? map->encoding : "";
    uint32_t rate = map ? map->clock_rate : 8000;
    if (!map && pt == 0) enc = "PCMU";
    if (!map && pt == 8) enc = "PCMA";
    switch (track.codec) {
      case media::CodecId::H264: {
        if (!iequals(enc, "H264") || rate != 90000) break;
        auto f = offer.fmtp(pt).value_or(sdp::FormatParameters{});
        if (f.get("packetization-mode").value_or("0") != "1") break;
        auto pl = f.get("profile-level-id").value_or("42e01f");
        int profile = pl.size() == 6 ? hex_byte(pl) : -1;
        if (profile >= 0 && profile == h264_profile(track)) return pt;
        if (fallback < 0) fallback = pt;
        break;
      }
      case media::CodecId::H265:
        if (iequals(enc, "H265") && rate == 90000) return pt;
        break;
      case media::CodecId::Opus:
        if (iequals(enc, "opus") && rate == 48000) return pt;
        break;
      case media::CodecId::AAC:
        if (aac_to_opus && iequals(enc, "opus") && rate == 48000) return pt;
        break;
      case media::CodecId::PCMU:
        if (iequals(enc, "PCMU") && rate == 8000) return pt;
        break;
      case media::CodecId::PCMA:
        if (iequals(enc, "PCMA") && rate == 8000) return pt;
        break;
      default:
        break;
    }
  }
  return fallback;
}

Result<Answer> build_answer(const sdp::SessionDescription& offer, const std::vector<media::Track>& tracks,
                            const AnswerParams& params, uint32_t ssrc_seed) {
  Answer answer;
  if (offer.media.empty()) return make_error("offer has no media sections");
  std::vector<bool> used(tracks.size(), false);
  std::string bundle;
  std::string media_text;
  uint32_t ssrc = ssrc_seed | 1;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    std::string mid = m.mid() ? std::string(*m.mid()) : std::to_string(i);
    if (answer.remote_ufrag.empty()) {
      answer.remote_ufrag = attr_value(offer, m, "ice-ufrag");
      answer.remote_pwd = attr_value(offer, m, "ice-pwd");
      auto fp = attr_value(offer, m, "fingerprint");
      if (fp.starts_with("sha-256 ") || fp.starts_with("SHA-256 ")) answer.remote_fingerprint = upper(std::string(fp.substr(8)));
    }
    int pt = -1;
    size_t track_index = 0;
    bool rtp = m.proto.find("RTP") != std::string::npos;
    bool offered = m.port != 0 || is_bundle_only(offer, m);
    if (rtp && (m.type == "video" || m.type == "audio") && offered) {
      for (size_t t = 0; t < tracks.size() && pt < 0; ++t) {
        if (used[t]) continue;
        bool video = tracks[t].kind == media::MediaKind::Video;
        if (video != (m.type == "video")) continue;
        int p = match_payload_type(m, tracks[t], params.aac_to_opus);
        if (p >= 0) {
          pt = p;
          track_index = t;
        } else {
          answer.skipped.push_back(fmt::format("track {} ({}): the browser did not offer it in section {}", t,
                                               media::to_string(tracks[t].codec), mid));
        }
      }
    }
    std::string first_fmt = m.formats.empty() ? "0" : m.formats.front();
    // A rejected section (RFC 8843 7.3.3: port 0, without bundle-only, outside the BUNDLE group). It keeps the
    // ICE and DTLS attributes: webrtcbin refuses a whole answer with a section that lacks them, rejected or not.
    if (pt < 0) {
      media_text += fmt::format("m={} 0 {} {}\r\nc=IN IP4 0.0.0.0\r\na=mid:{}\r\na=inactive\r\n", m.type, m.proto,
                                first_fmt, mid);
      media_text += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ufrag, params.pwd);
      media_text += fmt::format("a=fingerprint:sha-256 {}\r\na=setup:passive\r\n", params.fingerprint);
      continue;
    }
    used[track_index] = true;
    const auto& track = tracks[track_index];
    auto map = m.rtpmap(static_cast<uint8_t>(pt));
    SentTrack st{track_index, mid, static_cast<uint8_t>(pt), ssrc, map ? map->clock_rate : track.clock_rate,
                 track.kind == media::MediaKind::Video, track.codec == media::CodecId::AAC};
    ssrc = ssrc * 2654435761u + 0x9e3779b9u;
    if (!bundle.empty()) bundle += ' ';
    bundle += mid;
    // Every accepted section, a bundle-only one too, is answered in the BUNDLE group with port 9 and the same
    // transport attributes, as browsers answer (JSEP and RFC 8843 differ on port 0 there; port 9 is what peers take).
    std::string s = fmt::format("m={} 9 UDP/TLS/RTP/SAVPF {}\r\nc=IN IP4 0.0.0.0\r\n", m.type, pt);
    s += fmt::format("a=mid:{}\r\na=sendonly\r\n", mid);
    s += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ufrag, params.pwd);
    s += fmt::format("a=fingerprint:sha-256 {}\r\na=setup:passive\r\n", params.fingerprint);
    s += "a=rtcp-mux\r\na=rtcp-rsize\r\n";
    if (map) {
      s += fmt::format("a=rtpmap:{} {}/{}", pt, map->encoding, map->clock_rate);
      if (m.type == "audio" && map->channels > 1) s += fmt::format("/{}", map->channels);
      s += "\r\n";
    }
    if (auto* f = [&]() -> const sdp::Attribute* {
          for (auto* a : m.attributes.all("fmtp"))
            if (a->value.starts_with(std::to_string(pt) + " ")) return a;
          return nullptr;
        }())
      s += fmt::format("a=fmtp:{}\r\n", f->value);
    if (st.video) s += fmt::format("a=rtcp-fb:{} nack\r\na=rtcp-fb:{} nack pli\r\n", pt, pt);
    s += fmt::format("a=msid:{} {}{}\r\n", params.cname, m.type, track_index);
    s += fmt::format("a=ssrc:{} cname:{}\r\n", st.ssrc, params.cname);
    uint32_t prio_index = 0;
    for (const auto& c : params.candidates) {
      uint32_t priority = (126u << 24) | ((65535u - prio_index) << 8) | 255u;
      s += fmt::format("a=candidate:{} 1 udp {} {} {} typ host\r\n", prio_index + 1, priority, c.ip, c.port);
      ++prio_index;
    }
    s += "a=end-of-candidates\r\n";
    media_text += s;
    answer.tracks.push_back(st);
  }
  for (size_t t = 0; t < tracks.size(); ++t) {
    if (!used[t])
      answer.skipped.push_back(fmt::format("track {} ({}) not sent: no matching offer section", t,
                                           media::to_string(tracks[t].codec)));
  }
  if (answer.tracks.empty()) return make_error("no track of the stream matches what the offer accepts");
  if (answer.remote_ufrag.empty() || answer.remote_pwd.empty()) return make_error("offer has no ICE credentials");
  if (answer.remote_fingerprint.empty()) return make_error("offer has no sha-256 fingerprint");
  std::string sdp = fmt::format("v=0\r\no=- {} 2 IN IP4 127.0.0.1\r\ns=streamgate\r\nt=0 0\r\n", ssrc_seed);
  sdp += fmt::format("a=group:BUNDLE {}\r\na=ice-lite\r\na=msid-semantic: WMS {}\r\n", bundle, params.cname);
  answer.sdp = sdp + media_text;
  return answer;
}

}  // namespace sg::webrtc
