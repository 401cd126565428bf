#include "webrtc/answer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "codec/h265.hpp"

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

// RFC 7798 7.1 media format parameters of H.265: profile-space, profile-id, tier-flag and level-id (defaults 0,
// 1 = Main, 0 = Main tier, 93 = level 3.1), and tx-mode (default SRST: one RTP stream, all we send).
struct H265Format {
  int profile_space = 0, profile_id = 1, tier = 0, level_id = 93;
  bool srst = true;
  uint32_t compatibility = 0;  // general_profile_compatibility_flag[j] at bit 31 - j (from an SPS only)
};

int parse_int(std::string_view s, int fallback) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : fallback;
}

H265Format h265_format(const sdp::FormatParameters& f) {
  H265Format h;
  h.profile_space = parse_int(f.get("profile-space").value_or("0"), -1);
  h.profile_id = parse_int(f.get("profile-id").value_or("1"), -1);
  h.tier = parse_int(f.get("tier-flag").value_or("0"), -1);
  h.level_id = parse_int(f.get("level-id").value_or("93"), -1);
  h.srst = iequals(f.get("tx-mode").value_or("SRST"), "SRST");
  return h;
}

// What the track sends: the general profile_tier_level of its SPS (ITU-T H.265 7.3.3), else the fmtp it came with.
std::optional<H265Format> track_h265_format(const media::Track& t) {
  if (auto sps = codec::h265::parse_sps(t.sps)) {
    H265Format h;
    h.profile_space = sps->profile_space;
    h.profile_id = sps->profile_idc;
    h.tier = sps->tier_flag ? 1 : 0;
    h.level_id = sps->level_idc;
    h.compatibility = sps->profile_compatibility_flags;
    return h;
  }
  auto f = sdp::parse_format_parameters(t.fmtp);
  if (f.has("profile-id") || f.has("level-id")) return h265_format(f);
  return std::nullopt;
}

std::string h265_profile_name(int profile_id) {
  switch (profile_id) {
    case 1: return "Main";
    case 2: return "Main 10";
    case 3: return "Main Still Picture";
    case 4: return "Format Range Extensions";
    default: return fmt::format("profile-id {}", profile_id);
  }
}

std::string h265_level_name(int level_id) {
  return level_id % 30 ? fmt::format("{}.{}", level_id / 30, level_id % 30 / 3) : std::to_string(level_id / 30);
}

// Whether a decoder of the offered profile decodes the stream (H.265 A.3): the stream says so with its profile
// compatibility flags; without an SPS, Main and Main Still Picture streams decode on Main 10 (A.3.3) and Main
// Still Picture on Main (A.3.2).
bool h265_decodes(const H265Format& offered, const H265Format& sent) {
  if (offered.profile_space != 0 || !offered.srst) return false;
  if (offered.profile_id == sent.profile_id) return true;
  if (offered.profile_id >= 0 && offered.profile_id < 32 && (sent.compatibility >> (31 - offered.profile_id)) & 1)
    return true;
  if (sent.compatibility) return false;
  return (offered.profile_id == 2 && (sent.profile_id == 1 || sent.profile_id == 3)) ||
         (offered.profile_id == 1 && sent.profile_id == 3);
}

// The offer's H.265 format for the stream (RFC 7798 7.2.2): a SRST format whose profile decodes the stream, the
// stream's own profile before a superset, and among those one whose tier and level take the stream; -1 if none.
int match_h265(const sdp::Media& offer, const media::Track& track) {
  auto sent = track_h265_format(track);
  int best = -1, best_rank = 4;
  for (uint8_t pt : offer.payload_types()) {
    auto map = offer.rtpmap(pt);
    if (!map || !iequals(map->encoding, "H265") || map->clock_rate != 90000) continue;
    auto offered = h265_format(offer.fmtp(pt).value_or(sdp::FormatParameters{}));
    if (!offered.srst || offered.profile_space != 0) continue;
    if (!sent) return pt;  // nothing known of the stream: the browser's first H.265 format
    if (!h265_decodes(offered, *sent)) continue;
    bool fits = offered.tier >= sent->tier && offered.level_id >= sent->level_id;
    int rank = (offered.profile_id == sent->profile_id ? 0 : 2) + (fits ? 0 : 1);
    if (rank < best_rank) {
      best = pt;
      best_rank = rank;
    }
  }
  return best;
}

// RFC 7798 7.2.2: the answer keeps the offered format's profile-space, profile-id, tier-flag and tx-mode
// (symmetric); its level-id says the level actually sent, which may not exceed the offered one (capped there, and
// `note` says so).
std::string answer_h265_fmtp(const H265Format& offered, const std::optional<H265Format>& sent, std::string& note) {
  int level = offered.level_id;
  if (sent && sent->level_id > 0) {
    level = std::min(sent->level_id, offered.level_id);
    if (sent->level_id > offered.level_id || sent->tier > offered.tier)
      note = fmt::format("H265 level {} {} tier is above the offered level {} {} tier: the browser may not decode it",
                         h265_level_name(sent->level_id), sent->tier ? "High" : "Main",
                         h265_level_name(offered.level_id), offered.tier ? "High" : "Main");
  }
  return fmt::format("level-id={};profile-id={};tier-flag={};tx-mode=SRST", level, offered.profile_id, offered.tier);
}

// Our host candidates (ICE-lite) and a=end-of-candidates: type preference 126 (host), local preference falling with
// the index so the first listed is preferred, component 1 (RFC 8445 5.1.2.1).
void append_candidates(std::string& s, const std::vector<Candidate>& candidates) {
  uint32_t index = 0;
  for (const auto& c : candidates) {
    const uint32_t priority = (126u << 24) | ((65535u - index) << 8) | 255u;
    s += fmt::format("a=candidate:{} 1 udp {} {} {} typ host\r\n", index + 1, priority, c.ip, c.port);
    ++index;
  }
  s += "a=end-of-candidates\r\n";
}

// RFC 4585 4.2: the answer's feedback for a format is what the offer lists for it (or for "*") among what we
// act on: NACK (retransmission), PLI and FIR (RFC 5104, keyframe). Not transport-cc: we send no transport-wide
// sequence numbers.
std::string answer_rtcp_fb(const sdp::Media& m, uint8_t pt, bool remb = false) {
  std::string out;
  const std::string own = std::to_string(pt) + " ";
  for (std::string_view kind : {"nack", "nack pli", "ccm fir", "goog-remb"}) {
    if (kind == "goog-remb" && !remb) continue;
    for (auto* a : m.attributes.all("rtcp-fb")) {
      std::string_view v = a->value;
      if (v.starts_with(own)) v.remove_prefix(own.size());
      else if (v.starts_with("* ")) v.remove_prefix(2);
      else continue;
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      if (iequals(v, kind)) {
        out += fmt::format("a=rtcp-fb:{} {}\r\n", pt, kind);
        break;
      }
    }
  }
  return out;
}

bool is_offered_rtp_section(const sdp::SessionDescription& s, const sdp::Media& m, std::string_view type) {
  return m.type == type && m.proto.find("RTP") != std::string::npos && (m.port != 0 || is_bundle_only(s, m));
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
        return match_h265(offer, track);
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

std::optional<std::string> unsupported_video(const sdp::SessionDescription& offer,
                                             const std::vector<media::Track>& tracks) {
  const media::Track* video = nullptr;
  for (const auto& t : tracks)
    if (t.kind == media::MediaKind::Video) {
      video = &t;
      break;
    }
  if (!video) return std::nullopt;
  bool video_offered = false, h265_offered = false;
  for (const auto& m : offer.media) {
    if (!is_offered_rtp_section(offer, m, "video")) continue;
    video_offered = true;
    if (match_payload_type(m, *video) >= 0) return std::nullopt;
    for (uint8_t pt : m.payload_types())
      if (auto map = m.rtpmap(pt); map && iequals(map->encoding, "H265")) h265_offered = true;
  }
  if (!video_offered) return std::nullopt;  // an audio-only viewer
  switch (video->codec) {
    case media::CodecId::H265: {
      auto sent = track_h265_format(*video);
      std::string what = sent ? fmt::format("H.265 {} (level {})", h265_profile_name(sent->profile_id),
                                            h265_level_name(sent->level_id))
                              : "H.265";
      if (h265_offered)
        return fmt::format("stream video is {}; this browser's offer has H.265 (RFC 7798) only in profiles, tiers or "
                           "transmission modes that cannot carry it",
                           what);
      return fmt::format("stream video is {}; this browser's offer has no H.265 (RFC 7798) payload type", what);
    }
    case media::CodecId::H264:
      return "stream video is H.264; this browser's offer has no H.264 (RFC 6184) payload type with "
             "packetization-mode=1";
    default:
      return fmt::format("stream video is {}; this browser's offer has no payload type for it",
                         media::to_string(video->codec));
  }
}

Result<Answer> build_answer(const sdp::SessionDescription& offer, const std::vector<media::Track>& tracks,
                            const AnswerParams& params, uint32_t ssrc_seed) {
  Answer answer;
  if (offer.media.empty()) return make_error("offer has no media sections");
  if (auto why = unsupported_video(offer, tracks)) return make_error(*why);
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
    } else if (track.codec == media::CodecId::H265) {
      std::string note;
      auto offered = h265_format(m.fmtp(static_cast<uint8_t>(pt)).value_or(sdp::FormatParameters{}));
      s += fmt::format("a=fmtp:{} {}\r\n", pt, answer_h265_fmtp(offered, track_h265_format(track), note));
      if (!note.empty()) answer.notes.push_back(fmt::format("track {}: {}", track_index, note));
    } else if (auto* f = [&]() -> const sdp::Attribute* {
                 for (auto* a : m.attributes.all("fmtp"))
                   if (a->value.starts_with(std::to_string(pt) + " ")) return a;
                 return nullptr;
               }()) {
      s += fmt::format("a=fmtp:{}\r\n", f->value);
    }
    if (st.video) s += answer_rtcp_fb(m, static_cast<uint8_t>(pt));
    s += fmt::format("a=msid:{} {}{}\r\n", params.cname, m.type, track_index);
    s += fmt::format("a=ssrc:{} cname:{}\r\n", st.ssrc, params.cname);
    append_candidates(s, params.candidates);
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

namespace {

// The offer's payload type we receive on a publisher's section, or -1: H.264 packetization-mode 1 (a constrained
// baseline format first), or Opus at 48 kHz.
int whip_payload_type(const sdp::Media& m) {
  int any = -1;
  for (uint8_t pt : m.payload_types()) {
    auto map = m.rtpmap(pt);
    if (!map) continue;
    if (m.type == "audio") {
      if (iequals(map->encoding, "opus") && map->clock_rate == 48000) return pt;
      continue;
    }
    if (!iequals(map->encoding, "H264") || map->clock_rate != 90000) continue;
    auto f = m.fmtp(pt).value_or(sdp::FormatParameters{});
    if (f.get("packetization-mode").value_or("0") != "1") continue;
    if (classify(offered_profile_level_id(f)) == H264Profile::ConstrainedBaseline) return pt;
    if (any < 0) any = pt;
  }
  return any;
}

std::string offered_formats(const sdp::Media& m) {
  std::string out;
  for (uint8_t pt : m.payload_types()) {
    auto map = m.rtpmap(pt);
    if (!map) continue;
    std::string name = map->encoding;
    if (out.find(name) != std::string::npos) continue;  // rtx, red, ulpfec and profiles repeat
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

std::string raw_fmtp_of(const sdp::Media& m, uint8_t pt) {
  const std::string own = std::to_string(pt) + " ";
  for (auto* a : m.attributes.all("fmtp"))
    if (a->value.starts_with(own)) return a->value.substr(own.size());
  return {};
}

}  // namespace

std::optional<std::string> unsupported_publish(const sdp::SessionDescription& offer) {
  int video = 0, audio = 0;
  for (const auto& m : offer.media) {
    if (m.type != "video" && m.type != "audio") continue;
    if (!is_offered_rtp_section(offer, m, m.type)) continue;
    const auto dir = sdp::effective_direction(offer, m);
    if (dir != sdp::Direction::kSendOnly && dir != sdp::Direction::kSendRecv)
      return fmt::format("WHIP: the {} section is {}: a publisher's sections must send", m.type, sdp::to_string(dir));
    if (whip_payload_type(m) < 0) {
      if (m.type == "video")
        return fmt::format("WHIP: video must be H.264 with packetization-mode=1 (RFC 6184); offered: {}",
                           offered_formats(m));
      return fmt::format("WHIP: audio must be Opus (RFC 7587); offered: {}", offered_formats(m));
    }
    if (++(m.type == "video" ? video : audio) > 1)
      return fmt::format("WHIP: more than one {} section (one video and one audio track at most)", m.type);
  }
  if (video + audio == 0) return "WHIP: the offer has no audio or video section";
  return std::nullopt;
}

Result<WhipAnswer> build_whip_answer(const sdp::SessionDescription& offer, const AnswerParams& params) {
  if (auto why = unsupported_publish(offer)) return make_error(*why);
  WhipAnswer answer;
  std::string bundle, media_text;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    std::string mid = m.mid() ? std::string(*m.mid()) : std::to_string(i);
    if (answer.remote_ufrag.empty()) {
      answer.remote_ufrag = attr_value(offer, m, "ice-ufrag");
      answer.remote_pwd = attr_value(offer, m, "ice-pwd");
      auto fp = attr_value(offer, m, "fingerprint");
      if (fp.starts_with("sha-256 ") || fp.starts_with("SHA-256 "))
        answer.remote_fingerprint = upper(std::string(fp.substr(8)));
    }
    const bool media = (m.type == "video" || m.type == "audio") && is_offered_rtp_section(offer, m, m.type);
    const int pt = media ? whip_payload_type(m) : -1;
    if (pt < 0) {
      // Data channels and anything else: rejected (RFC 8843 7.3.3), with the transport attributes webrtcbin wants.
      std::string first_fmt = m.formats.empty() ? "0" : m.formats.front();
      media_text += fmt::format("m={} 0 {} {}\r\nc=IN IP4 0.0.0.0\r\na=mid:{}\r\na=inactive\r\n", m.type, m.proto,
                                first_fmt, mid);
      media_text += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ufrag, params.pwd);
      media_text += fmt::format("a=fingerprint:sha-256 {}\r\na=setup:passive\r\n", params.fingerprint);
      continue;
    }
    const auto map = m.rtpmap(static_cast<uint8_t>(pt));
    ReceivedTrack rt;
    rt.mid = mid;
    rt.video = m.type == "video";
    auto& t = rt.track;
    t.kind = rt.video ? media::MediaKind::Video : media::MediaKind::Audio;
    t.codec = rt.video ? media::CodecId::H264 : media::CodecId::Opus;
    t.payload_type = static_cast<uint8_t>(pt);
    t.encoding_name = map->encoding;
    t.clock_rate = map->clock_rate;
    t.channels = rt.video ? 0 : static_cast<uint8_t>(map->channels > 0 ? map->channels : 2);
    t.fmtp = raw_fmtp_of(m, static_cast<uint8_t>(pt));
    if (!bundle.empty()) bundle += ' ';
    bundle += mid;
    std::string s = fmt::format("m={} 9 UDP/TLS/RTP/SAVPF {}\r\nc=IN IP4 0.0.0.0\r\n", m.type, pt);
    s += fmt::format("a=mid:{}\r\na=recvonly\r\n", mid);
    s += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ufrag, params.pwd);
    s += fmt::format("a=fingerprint:sha-256 {}\r\na=setup:passive\r\n", params.fingerprint);
    s += "a=rtcp-mux\r\na=rtcp-rsize\r\n";
    s += fmt::format("a=rtpmap:{} {}/{}", pt, map->encoding, map->clock_rate);
    if (!rt.video && map->channels > 1) s += fmt::format("/{}", map->channels);
    s += "\r\n";
    if (!t.fmtp.empty()) s += fmt::format("a=fmtp:{} {}\r\n", pt, t.fmtp);
    if (rt.video) s += answer_rtcp_fb(m, static_cast<uint8_t>(pt), true);
    append_candidates(s, params.candidates);
    media_text += s;
    answer.tracks.push_back(std::move(rt));
  }
  if (answer.remote_ufrag.empty() || answer.remote_pwd.empty()) return make_error("offer has no ICE credentials");
  if (answer.remote_fingerprint.empty()) return make_error("offer has no sha-256 fingerprint");
  std::string sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=streamgate\r\nt=0 0\r\n";
  sdp += fmt::format("a=group:BUNDLE {}\r\na=ice-lite\r\na=msid-semantic: WMS\r\n", bundle);
  answer.sdp = sdp + media_text;
  return answer;
}

}  // namespace sg::webrtc
