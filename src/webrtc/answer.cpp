#include "webrtc/answer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

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

// profile-level-id (RFC 6184 8.1): profile_idc, profile-iop (constraint_set flags), level_idc.
struct ProfileLevelId {
  uint8_t profile_idc = 0, iop = 0, level_idc = 0;
};

std::optional<ProfileLevelId> parse_profile_level_id(std::string_view text) {
  if (text.size() != 6) return std::nullopt;
  int p = hex_byte(text), i = hex_byte(text.substr(2)), l = hex_byte(text.substr(4));
  if (p < 0 || i < 0 || l < 0) return std::nullopt;
  return ProfileLevelId{static_cast<uint8_t>(p), static_cast<uint8_t>(i), static_cast<uint8_t>(l)};
}

// What the track sends: the three bytes after the NAL header of its SPS, else the fmtp it came with.
std::optional<ProfileLevelId> track_profile_level_id(const media::Track& t) {
  if (t.sps.size() >= 4)
    return ProfileLevelId{static_cast<uint8_t>(t.sps[1]), static_cast<uint8_t>(t.sps[2]),
                          static_cast<uint8_t>(t.sps[3])};
  auto f = sdp::parse_format_parameters(t.fmtp);
  if (auto pl = f.get("profile-level-id")) return parse_profile_level_id(*pl);
  return std::nullopt;
}

// The profiles of RFC 6184 Table 5 that browsers tell apart, from profile_idc and the constraint_set flags.
enum class H264Profile { ConstrainedBaseline, Baseline, Main, Extended, High, ConstrainedHigh, Other };

H264Profile classify(const ProfileLevelId& p) {
  switch (p.profile_idc) {
    case 66: return (p.iop & 0x40) ? H264Profile::ConstrainedBaseline : H264Profile::Baseline;
    case 77: return (p.iop & 0x80) ? H264Profile::ConstrainedBaseline : H264Profile::Main;
    case 88:
      if ((p.iop & 0xc0) == 0xc0) return H264Profile::ConstrainedBaseline;
      return (p.iop & 0x80) ? H264Profile::Baseline : H264Profile::Extended;
    case 100: return (p.iop & 0x0c) == 0x0c ? H264Profile::ConstrainedHigh : H264Profile::High;
    default: return H264Profile::Other;
  }
}

// Whether a decoder of profile `offered` decodes a stream of profile `sent` (H.264 A.2: Constrained Baseline is
// a subset of Baseline, Main and both Highs; Main and Constrained High are subsets of High).
bool decodes(const ProfileLevelId& offered, const ProfileLevelId& sent) {
  auto o = classify(offered), s = classify(sent);
  if (o == H264Profile::Other || s == H264Profile::Other) return offered.profile_idc == sent.profile_idc;
  if (o == s) return true;
  switch (s) {
    case H264Profile::ConstrainedBaseline: return o != H264Profile::Extended;
    case H264Profile::Main:
    case H264Profile::ConstrainedHigh: return o == H264Profile::High;
    default: return false;
  }
}

// Level 1b is level_idc 11 with constraint_set3 in Baseline, Main and Extended (H.264 A.3.1), or level_idc 9.
int level_rank(const ProfileLevelId& p) {
  bool b1 = p.level_idc == 9 || (p.level_idc == 11 && (p.iop & 0x10) &&
                                 (p.profile_idc == 66 || p.profile_idc == 77 || p.profile_idc == 88));
  return b1 ? 105 : p.level_idc * 10;
}

std::string to_hex(const ProfileLevelId& p) { return fmt::format("{:02x}{:02x}{:02x}", p.profile_idc, p.iop, p.level_idc); }

// The answer's profile-level-id for `sent` on an offered format `offered` (RFC 6184 8.2.2): it describes the
// stream actually sent. The profile part is the stream's when the offer has that profile, the offer's when the
// stream is a subset of it (so it stays the same profile, as 8.2.2 asks), and the stream's when the offer has no
// profile that decodes it (nothing truer to say). The level part is the stream's; without level-asymmetry-allowed
// on both sides the level must not exceed the offer's, so it is capped there (and `note` says so).
ProfileLevelId answer_profile_level_id(const ProfileLevelId& offered, bool asymmetry, const ProfileLevelId& sent,
                                       std::string& note) {
  ProfileLevelId out = sent;
  if (classify(offered) != classify(sent) && decodes(offered, sent)) {
    out.profile_idc = offered.profile_idc;
    out.iop = static_cast<uint8_t>((offered.iop & ~0x10) | (sent.iop & 0x10));  // keep the stream's 1b flag
  } else if (!decodes(offered, sent)) {
    note = fmt::format("H264 profile-level-id {} sent on a format offered as {}: the browser may not decode it",
                       to_hex(sent), to_hex(offered));
  }
  if (!asymmetry && level_rank(sent) > level_rank(offered)) {
    bool iop_has_1b = out.profile_idc == 66 || out.profile_idc == 77 || out.profile_idc == 88;
    out.level_idc = offered.level_idc;
    if (iop_has_1b) out.iop = static_cast<uint8_t>((out.iop & ~0x10) | (offered.iop & 0x10));
    note = fmt::format("H264 level of {} is above the offered {} and level asymmetry is not allowed", to_hex(sent),
                       to_hex(offered));
  }
  return out;
}

// The offer's H.264 profile-level-id for a payload type (RFC 6184 8.1: 42000a when absent).
ProfileLevelId offered_profile_level_id(const sdp::FormatParameters& f) {
  return parse_profile_level_id(f.get("profile-level-id").value_or("42000a")).value_or(ProfileLevelId{0x42, 0, 0x0a});
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
  int compatible = -1, fallback = -1;
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
        // First choice: the stream's own profile; then a profile that decodes it; then any packetization-mode 1.
        auto sent = track_profile_level_id(track);
        auto offered = offered_profile_level_id(f);
        if (!sent || (classify(offered) == classify(*sent) && decodes(offered, *sent))) return pt;
        if (decodes(offered, *sent)) {
          if (compatible < 0) compatible = pt;
        } else if (fallback < 0) {
          fallback = pt;
        }
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
  return compatible >= 0 ? compatible : fallback;
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
    if (track.codec == media::CodecId::H264) {
      // RFC 6184 8.2.2: the offer's parameters, with a profile-level-id that describes what is sent.
      auto f = m.fmtp(static_cast<uint8_t>(pt)).value_or(sdp::FormatParameters{});
      std::string profile;
      if (auto sent = track_profile_level_id(track)) {
        std::string note;
        bool asymmetry = f.get("level-asymmetry-allowed").value_or("0") == "1";
        profile = to_hex(answer_profile_level_id(offered_profile_level_id(f), asymmetry, *sent, note));
        if (!note.empty()) answer.notes.push_back(fmt::format("track {}: {}", track_index, note));
      }
      std::string text;
      for (const auto& [k, v] : f.entries()) {
        if (iequals(k, "profile-level-id") && !profile.empty()) continue;
        text += (text.empty() ? "" : ";") + k + (v.empty() ? "" : "=" + v);
      }
      if (!profile.empty()) text += (text.empty() ? "" : ";") + std::string("profile-level-id=") + profile;
      if (!text.empty()) s += fmt::format("a=fmtp:{} {}\r\n", pt, text);
    } else if (auto* f = [&]() -> const sdp::Attribute* {
                 for (auto* a : m.attributes.all("fmtp"))
                   if (a->value.starts_with(std::to_string(pt) + " ")) return a;
                 return nullptr;
               }()) {
      s += fmt::format("a=fmtp:{}\r\n", f->value);
    }
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
