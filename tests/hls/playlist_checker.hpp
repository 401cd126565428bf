#pragma once
// GCC 12 at -O2 reports a false "may be used uninitialized" for the std::optional<double> below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Test helper (header-only so fuzz/hls_segmenter.cpp can use it too): parses a media playlist and lists every
// violation of the RFC 8216 / draft-pantos-hls-rfc8216bis rules that our playlists must follow.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sg::hls::test {

struct CheckedPart {
  double duration = 0;
  std::string uri;
  bool independent = false;
};

struct CheckedSegment {
  double duration = 0;
  std::string uri;
  std::vector<CheckedPart> parts;
  std::string program_date_time;
};

struct CheckedPlaylist {
  int version = 0;
  std::optional<long> target_duration;
  std::optional<uint64_t> media_sequence;
  std::optional<double> part_target;
  std::optional<double> part_hold_back;
  bool can_block_reload = false;
  std::string map_uri;
  std::vector<CheckedSegment> segments;
  std::vector<CheckedPart> trailing_parts;  // parts of the segment not yet complete
  std::string preload_hint_uri;
  bool ended = false;
  std::vector<std::string> problems;  // empty = valid
};

namespace detail {

inline bool parse_decimal(std::string_view s, double& out) {
  if (s.empty()) return false;
  bool dot = false, digit = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      return false;
    }
  }
  if (!digit) return false;
  out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

inline bool parse_integer(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// RFC 8216 4.2 attribute list; quoted values lose their quotes. Returns false on malformed lists.
inline bool parse_attributes(std::string_view s, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq == i) return false;
    std::string key(s.substr(i, eq - i));
    for (char c : key)
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    size_t v = eq + 1;
    std::string value;
    if (v < s.size() && s[v] == '"') {
      const size_t close = s.find('"', v + 1);
      if (close == std::string_view::npos) return false;
      value = std::string(s.substr(v + 1, close - v - 1));
      i = close + 1;
    } else {
      const size_t comma = s.find(',', v);
      value = std::string(s.substr(v, comma == std::string_view::npos ? std::string_view::npos : comma - v));
      i = comma == std::string_view::npos ? s.size() : comma;
    }
    if (out.count(key)) return false;
    out[key] = value;
    if (i < s.size()) {
      if (s[i] != ',') return false;
      ++i;
    }
  }
  return true;
}

inline bool valid_date_time(std::string_view s) {
  // YYYY-MM-DDThh:mm:ss.sssZ (the form we write; RFC 8216 allows any ISO 8601 with time zone)
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (s.size() != kShape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != kShape[i]) return false;
  }
  return true;
}

}  // namespace detail

inline CheckedPlaylist check_media_playlist(std::string_view text) {
  CheckedPlaylist p;
  auto problem = [&p](std::string what) { p.problems.push_back(std::move(what)); };
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.empty() || lines[0] != "#EXTM3U") problem("first line is not #EXTM3U");
  std::map<std::string, int> seen;
  std::optional<double> pending_extinf;
  std::string pending_pdt;
  std::vector<CheckedPart> parts;
  bool any_segment_or_part = false, any_part = false, saw_hint = false, uses_map = false, fractional = false;
  std::set<std::string> uris;
  for (size_t li = 1; li < lines.size(); ++li) {
    const std::string_view line = lines[li];
    if (line.empty()) continue;
    if (p.ended) problem("line after EXT-X-ENDLIST: " + std::string(line));
    if (line[0] != '#') {
      if (!pending_extinf) {
        problem("URI without EXTINF: " + std::string(line));
        continue;
      }
      if (!uris.insert(std::string(line)).second) problem("duplicate URI " + std::string(line));
      CheckedSegment s;
      s.duration = pending_extinf.value_or(0.0);  // (not operator*: GCC 12 -O2 warns maybe-uninitialized)
      s.uri = std::string(line);
      s.parts = std::move(parts);
      s.program_date_time = pending_pdt;
      parts.clear();
      pending_pdt.clear();
      p.segments.push_back(std::move(s));
      pending_extinf.reset();
      continue;
    }
    if (line.rfind("#EXT", 0) != 0) continue;  // comment
    const size_t colon = line.find(':');
    const std::string tag(line.substr(0, colon));
    const std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    static const std::set<std::string> kOnce = {"#EXT-X-VERSION",        "#EXT-X-TARGETDURATION",
                                                "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-PART-INF",
                                                "#EXT-X-SERVER-CONTROL", "#EXT-X-MAP",
                                                "#EXT-X-ENDLIST",        "#EXT-X-INDEPENDENT-SEGMENTS"};
    if (kOnce.count(tag) && ++seen[tag] > 1) problem(tag + " appears more than once");
    if (saw_hint && tag != "#EXT-X-ENDLIST") problem(tag + " after EXT-X-PRELOAD-HINT");
    uint64_t n = 0;
    if (tag == "#EXT-X-VERSION") {
      if (!detail::parse_integer(value, n)) problem("bad EXT-X-VERSION");
      p.version = static_cast<int>(n);
    } else if (tag == "#EXT-X-TARGETDURATION") {
      if (!detail::parse_integer(value, n)) problem("bad EXT-X-TARGETDURATION '" + std::string(value) + "'");
      p.target_duration = static_cast<long>(n);
    } else if (tag == "#EXT-X-MEDIA-SEQUENCE") {
      if (any_segment_or_part) problem("EXT-X-MEDIA-SEQUENCE after the first segment");
      if (!detail::parse_integer(value, n)) problem("bad EXT-X-MEDIA-SEQUENCE");
      p.media_sequence = n;
    } else if (tag == "#EXT-X-MAP") {
      std::map<std::string, std::string> a;
      if (!detail::parse_attributes(value, a) || a["URI"].empty()) problem("bad EXT-X-MAP");
      p.map_uri = a["URI"];
      uses_map = true;
    } else if (tag == "#EXT-X-PROGRAM-DATE-TIME") {
      if (!detail::valid_date_time(value)) problem("bad EXT-X-PROGRAM-DATE-TIME '" + std::string(value) + "'");
      pending_pdt = std::string(value);
    } else if (tag == "#EXTINF") {
      any_segment_or_part = true;
      const size_t comma = value.find(',');
      double d = 0;
      if (comma == std::string_view::npos || !detail::parse_decimal(value.substr(0, comma), d)) {
        problem("bad EXTINF '" + std::string(value) + "'");
      }
      if (value.substr(0, comma).find('.') != std::string_view::npos) fractional = true;
      if (pending_extinf) problem("EXTINF without URI");
      pending_extinf = d;
      // RFC 8216 4.3.3.1: rounded EXTINF <= TARGETDURATION
      if (p.target_duration && std::lround(d) > *p.target_duration)
        problem("EXTINF " + std::string(value) + " exceeds TARGETDURATION " + std::to_string(*p.target_duration));
      if (!p.target_duration) problem("EXTINF before EXT-X-TARGETDURATION");
    } else if (tag == "#EXT-X-SERVER-CONTROL") {
      std::map<std::string, std::string> a;
      if (!detail::parse_attributes(value, a)) problem("bad EXT-X-SERVER-CONTROL");
      p.can_block_reload = a["CAN-BLOCK-RELOAD"] == "YES";
      double d = 0;
      if (a.count("PART-HOLD-BACK")) {
        if (!detail::parse_decimal(a["PART-HOLD-BACK"], d)) problem("bad PART-HOLD-BACK");
        p.part_hold_back = d;
      }
    } else if (tag == "#EXT-X-PART-INF") {
      std::map<std::string, std::string> a;
      double d = 0;
      if (!detail::parse_attributes(value, a) || !detail::parse_decimal(a["PART-TARGET"], d))
        problem("bad EXT-X-PART-INF");
      p.part_target = d;
    } else if (tag == "#EXT-X-PART") {
      any_segment_or_part = any_part = true;
      std::map<std::string, std::string> a;
      CheckedPart part;
      if (!detail::parse_attributes(value, a) || !detail::parse_decimal(a["DURATION"], part.duration) ||
          a["URI"].empty())
        problem("bad EXT-X-PART '" + std::string(value) + "'");
      part.uri = a["URI"];
      part.independent = a.count("INDEPENDENT") && a["INDEPENDENT"] == "YES";
      if (!uris.insert(part.uri).second) problem("duplicate URI " + part.uri);
      if (!p.part_target)
        problem("EXT-X-PART without EXT-X-PART-INF before it");
      else if (part.duration > *p.part_target + 1e-9)
        problem("part " + part.uri + " longer than PART-TARGET");
      if (pending_extinf) problem("EXT-X-PART between EXTINF and its URI");
      parts.push_back(part);
    } else if (tag == "#EXT-X-PRELOAD-HINT") {
      std::map<std::string, std::string> a;
      if (!detail::parse_attributes(value, a) || a["TYPE"] != "PART" || a["URI"].empty())
        problem("bad EXT-X-PRELOAD-HINT");
      if (saw_hint) problem("more than one EXT-X-PRELOAD-HINT");
      saw_hint = true;
      p.preload_hint_uri = a["URI"];
      if (uris.count(p.preload_hint_uri)) problem("preload hint names a part already listed");
    } else if (tag == "#EXT-X-ENDLIST") {
      p.ended = true;
    } else if (tag != "#EXT-X-INDEPENDENT-SEGMENTS" && tag != "#EXT-X-DISCONTINUITY") {
      problem("unknown tag " + tag);
    }
  }
  if (pending_extinf) problem("EXTINF without URI at the end");
  p.trailing_parts = std::move(parts);
  if (!p.target_duration) problem("no EXT-X-TARGETDURATION");
  if (!p.media_sequence) problem("no EXT-X-MEDIA-SEQUENCE");
  if (!p.version) problem("no EXT-X-VERSION");
  if (fractional && p.version < 3) problem("fractional EXTINF needs EXT-X-VERSION 3");
  if (uses_map && p.version < 6) problem("EXT-X-MAP needs EXT-X-VERSION 6");
  if (p.part_target) {
    // rfc8216bis 4.4.3.8: PART-HOLD-BACK is required with EXT-X-PART-INF and at least twice the part target.
    if (!p.part_hold_back)
      problem("EXT-X-PART-INF without PART-HOLD-BACK");
    else if (*p.part_hold_back + 1e-9 < 2 * *p.part_target)
      problem("PART-HOLD-BACK below twice PART-TARGET");
  }
  if (any_part && !p.part_target) problem("parts without EXT-X-PART-INF");
  for (const auto& s : p.segments) {
    if (s.parts.empty()) continue;
    double sum = 0;
    for (const auto& part : s.parts) {
      sum += part.duration;
      if (part.duration > s.duration + 1e-9) problem("part " + part.uri + " longer than its segment " + s.uri);
    }
    // Each printed value is rounded to 1 ms.
    if (std::fabs(sum - s.duration) > 0.0005 * static_cast<double>(s.parts.size() + 1) + 1e-9)
      problem("parts of " + s.uri + " add up to " + std::to_string(sum) + ", EXTINF says " +
              std::to_string(s.duration));
  }
  return p;
}

}  // namespace sg::hls::test

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
