#include "sdp/sdp.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace sg::sdp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on runs of spaces/tabs; RFC 8866 says single SP but senders are not always careful.
std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <class T>
std::optional<T> parse_uint(std::string_view s) {
  T v{};
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Keeps error messages short and printable whatever the input holds.
std::string quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  for (char c : s.substr(0, kMax)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

std::optional<Connection> parse_connection(std::string_view v) {
  auto w = split_words(v);
  if (w.size() != 3) return std::nullopt;
  return Connection{std::string(w[0]), std::string(w[1]), std::string(w[2])};
}

std::optional<Bandwidth> parse_bandwidth(std::string_view v) {
  auto colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto value = parse_uint<uint64_t>(trim(v.substr(colon + 1)));
  if (!value) return std::nullopt;
  return Bandwidth{std::string(v.substr(0, colon)), *value};
}

std::optional<Media> parse_media_line(std::string_view v) {
  auto w = split_words(v);
  if (w.size() < 4) return std::nullopt;
  Media m;
  m.type = std::string(w[0]);
  std::string_view port = w[1];
  if (auto slash = port.find('/'); slash != std::string_view::npos) {
    m.port_count = parse_uint<uint32_t>(port.substr(slash + 1));
    if (!m.port_count) return std::nullopt;
    port = port.substr(0, slash);
  }
  auto p = parse_uint<uint16_t>(port);
  if (!p) return std::nullopt;
  m.port = *p;
  m.proto = std::string(w[2]);
  for (size_t i = 3; i < w.size(); ++i) m.formats.emplace_back(w[i]);
  return m;
}

// The value of the first "a=<name>:<pt> ..." attribute for this payload type, after the payload type.
std::optional<std::string_view> value_for_pt(const Attributes& attrs, std::string_view name, uint8_t pt) {
  for (const auto* a : attrs.all(name)) {
    std::string_view v = trim(a->value);
    size_t end = 0;
    while (end < v.size() && !is_space(v[end])) ++end;
    auto n = parse_uint<unsigned>(v.substr(0, end));
    if (n && *n == pt) return trim(v.substr(end));
  }
  return std::nullopt;
}

std::optional<Direction> direction_of(const Attributes& attrs) {
  std::optional<Direction> d;
  for (const auto& a : attrs) {
    if (a.name == "sendrecv") d = Direction::kSendRecv;
    else if (a.name == "sendonly") d = Direction::kSendOnly;
    else if (a.name == "recvonly") d = Direction::kRecvOnly;
    else if (a.name == "inactive") d = Direction::kInactive;
  }
  return d;
}

std::optional<std::string_view> value_of(const Attributes& attrs, std::string_view name) {
  const Attribute* a = attrs.first(name);
  if (!a) return std::nullopt;
  return std::string_view(a->value);
}

// RFC 3551 6: static payload types that need no rtpmap.
std::optional<RtpMap> static_rtpmap(uint8_t pt) {
  switch (pt) {
    case 0: return RtpMap{"PCMU", 8000, 1};
    case 3: return RtpMap{"GSM", 8000, 1};
    case 8: return RtpMap{"PCMA", 8000, 1};
    case 9: return RtpMap{"G722", 8000, 1};
    case 10: return RtpMap{"L16", 44100, 2};
    case 11: return RtpMap{"L16", 44100, 1};
    case 14: return RtpMap{"MPA", 90000, 1};
    case 26: return RtpMap{"JPEG", 90000, 1};
    case 32: return RtpMap{"MPV", 90000, 1};
    case 33: return RtpMap{"MP2T", 90000, 1};
    default: return std::nullopt;
  }
}

void write_line(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void write_connection(std::string& out, const Connection& c) {
  write_line(out, 'c', c.net_type + " " + c.addr_type + " " + c.address);
}

void write_bandwidths(std::string& out, const std::vector<Bandwidth>& bws) {
  for (const auto& b : bws) write_line(out, 'b', fmt::format("{}:{}", b.type, b.value));
}

void write_attributes(std::string& out, const Attributes& attrs) {
  for (const auto& a : attrs) write_line(out, 'a', a.value.empty() ? a.name : a.name + ":" + a.value);
}

}  // namespace

const Attribute* Attributes::first(std::string_view name) const {
  for (const auto& a : list_)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<const Attribute*> Attributes::all(std::string_view name) const {
  std::vector<const Attribute*> out;
  for (const auto& a : list_)
    if (a.name == name) out.push_back(&a);
  return out;
}

void Attributes::add(std::string name, std::string value) { list_.push_back({std::move(name), std::move(value)}); }

std::optional<std::string_view> FormatParameters::get(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (iequals(k, key)) return std::string_view(v);
  return std::nullopt;
}

FormatParameters parse_format_parameters(std::string_view text) {
  FormatParameters params;
  while (!text.empty()) {
    auto semi = text.find(';');
    std::string_view item = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (item.empty()) continue;  // "a=1;;b=2" or a trailing ';'
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      params.add(std::string(item), {});
    } else {
      params.add(std::string(trim(item.substr(0, eq))), std::string(trim(item.substr(eq + 1))));
    }
  }
  return params;
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::kSendRecv: return "sendrecv";
    case Direction::kSendOnly: return "sendonly";
    case Direction::kRecvOnly: return "recvonly";
    case Direction::kInactive: return "inactive";
  }
  return "sendrecv";
}

std::vector<uint8_t> Media::payload_types() const {
  std::vector<uint8_t> out;
  for (const auto& f : formats)
    if (auto pt = parse_uint<unsigned>(f); pt && *pt <= 127) out.push_back(static_cast<uint8_t>(*pt));
  return out;
}

std::optional<RtpMap> Media::rtpmap(uint8_t pt) const {
  auto v = value_for_pt(attributes, "rtpmap", pt);
  if (!v) return static_rtpmap(pt);
  // "<encoding>/<clock>[/<channels>]"
  auto s1 = v->find('/');
  if (s1 == std::string_view::npos || s1 == 0) return std::nullopt;
  RtpMap map;
  map.encoding = std::string(v->substr(0, s1));
  std::string_view rest = v->substr(s1 + 1);
  auto s2 = rest.find('/');
  auto clock = parse_uint<uint32_t>(trim(rest.substr(0, s2)));
  if (!clock) return std::nullopt;
  map.clock_rate = *clock;
  if (s2 != std::string_view::npos) {
    auto ch = parse_uint<uint32_t>(trim(rest.substr(s2 + 1)));
    if (!ch) return std::nullopt;
    map.channels = *ch;
  }
  return map;
}

std::optional<FormatParameters> Media::fmtp(uint8_t pt) const {
  auto v = value_for_pt(attributes, "fmtp", pt);
  if (!v) return std::nullopt;
  return parse_format_parameters(*v);
}

std::optional<std::string_view> Media::control() const { return value_of(attributes, "control"); }
std::optional<Direction> Media::direction() const { return direction_of(attributes); }
std::optional<std::string_view> Media::mid() const { return value_of(attributes, "mid"); }

std::optional<std::string_view> SessionDescription::control() const { return value_of(attributes, "control"); }
std::optional<Direction> SessionDescription::direction() const { return direction_of(attributes); }

Direction effective_direction(const SessionDescription& session, const Media& media) {
  if (auto d = media.direction()) return *d;
  return session.direction().value_or(Direction::kSendRecv);
}

std::string SessionDescription::serialize() const {
  std::string out;
  out.reserve(512);
  write_line(out, 'v', std::to_string(version));
  write_line(out, 'o', origin.username + " " + origin.session_id + " " + origin.session_version + " " +
                           origin.net_type + " " + origin.addr_type + " " + origin.address);
  write_line(out, 's', session_name);
  if (information) write_line(out, 'i', *information);
  if (uri) write_line(out, 'u', *uri);
  for (const auto& e : emails) write_line(out, 'e', e);
  for (const auto& p : phones) write_line(out, 'p', p);
  if (connection) write_connection(out, *connection);
  write_bandwidths(out, bandwidths);
  if (timings.empty()) write_line(out, 't', "0 0");  // RFC 8866 5: at least one t= line
  for (const auto& t : timings) {
    write_line(out, 't', fmt::format("{} {}", t.start, t.stop));
    for (const auto& r : t.repeats) write_line(out, 'r', r);
  }
  if (time_zones) write_line(out, 'z', *time_zones);
  write_attributes(out, attributes);
  for (const auto& m : media) {
    std::string line = m.type + " " + std::to_string(m.port);
    if (m.port_count) line += "/" + std::to_string(*m.port_count);
    line += " " + m.proto;
    for (const auto& f : m.formats) line += " " + f;
    write_line(out, 'm', line);
    if (m.title) write_line(out, 'i', *m.title);
    if (m.connection) write_connection(out, *m.connection);
    write_bandwidths(out, m.bandwidths);
    write_attributes(out, m.attributes);
  }
  return out;
}

Result<SessionDescription> parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error(fmt::format("SDP: {} bytes exceeds the limit of {}", text.size(), limits.max_bytes));

  SessionDescription sd;
  bool seen_version = false, seen_origin = false, seen_name = false;
  Media* media = nullptr;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line_no > limits.max_lines)
      return make_error(fmt::format("SDP: more than {} lines", limits.max_lines));
    if (raw.size() > limits.max_line_length)
      return make_error(fmt::format("SDP line {}: {} bytes exceeds the limit of {}", line_no, raw.size(),
                                    limits.max_line_length));
    // Tolerate CRLF, LF and trailing blanks; blank lines are skipped.
    while (!raw.empty() && (raw.back() == '\r' || is_space(raw.back()))) raw.remove_suffix(1);
    if (raw.empty()) continue;
    auto err = [&](std::string_view what) {
      return make_error(fmt::format("SDP line {}: {} {}", line_no, what, quote(raw)));
    };
    for (char c : raw) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return err("control character in line");
    }
    if (raw.size() < 2 || raw[1] != '=' || !((raw[0] >= 'a' && raw[0] <= 'z') || (raw[0] >= 'A' && raw[0] <= 'Z')))
      return err("not a '<type>=<value>' line:");
    const char type = raw[0];
    const std::string_view value = raw.substr(2);

    if (!seen_version) {
      if (type != 'v' || value != "0") return err("expected 'v=0' first, got");
      seen_version = true;
      continue;
    }
    if (media == nullptr) {
      switch (type) {
        case 'v': return err("duplicate v= line");
        case 'o': {
          if (seen_origin) return err("duplicate o= line");
          auto w = split_words(value);
          if (w.size() != 6) return err("bad o= line");
          sd.origin = Origin{std::string(w[0]), std::string(w[1]), std::string(w[2]),
                             std::string(w[3]), std::string(w[4]), std::string(w[5])};
          seen_origin = true;
          continue;
        }
        case 's':
          if (seen_name) return err("duplicate s= line");
          sd.session_name = std::string(value);
          seen_name = true;
          continue;
        case 'i':
          if (sd.information) return err("duplicate i= line");
          sd.information = std::string(value);
          continue;
        case 'u':
          if (sd.uri) return err("duplicate u= line");
          sd.uri = std::string(value);
          continue;
        case 'e': sd.emails.emplace_back(value); continue;
        case 'p': sd.phones.emplace_back(value); continue;
        case 'c': {
          if (sd.connection) return err("duplicate c= line");
          auto c = parse_connection(value);
          if (!c) return err("bad c= line");
          sd.connection = std::move(*c);
          continue;
        }
        case 'b': {
          auto b = parse_bandwidth(value);
          if (!b) return err("bad b= line");
          sd.bandwidths.push_back(std::move(*b));
          continue;
        }
        case 't': {
          auto w = split_words(value);
          std::optional<uint64_t> start, stop;
          if (w.size() == 2) {
            start = parse_uint<uint64_t>(w[0]);
            stop = parse_uint<uint64_t>(w[1]);
          }
          if (!start || !stop) return err("bad t= line");
          sd.timings.push_back(Timing{*start, *stop, {}});
          continue;
        }
        case 'r':
          if (sd.timings.empty()) return err("r= line before any t= line:");
          sd.timings.back().repeats.emplace_back(value);
          continue;
        case 'z':
          if (sd.time_zones) return err("duplicate z= line");
          sd.time_zones = std::string(value);
          continue;
        default: break;  // a, m below; unknown types (k= and others) are ignored
      }
    } else {
      switch (type) {
        case 'i':
          if (media->title) return err("duplicate i= line in media section:");
          media->title = std::string(value);
          continue;
        case 'c': {
          if (media->connection) return err("duplicate c= line in media section:");
          auto c = parse_connection(value);
          if (!c) return err("bad c= line");
          media->connection = std::move(*c);
          continue;
        }
        case 'b': {
          auto b = parse_bandwidth(value);
          if (!b) return err("bad b= line");
          media->bandwidths.push_back(std::move(*b));
          continue;
        }
        case 'a':
        case 'm': break;
        default:
          if (type == 'v' || type == 'o' || type == 's' || type == 't') return err("session line in media section:");
          continue;  // k= and unknown types are ignored
      }
    }
    if (type == 'a') {
      auto colon = value.find(':');
      // "a=name :v" and "a=name:" both name the attribute "name"; blanks before the colon are not part of it.
      std::string_view name = value.substr(0, colon);
      while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
      if (name.empty()) return err("bad a= line");
      std::string_view attr_value = colon == std::string_view::npos ? std::string_view{} : value.substr(colon + 1);
      (media ? media->attributes : sd.attributes).add(std::string(name), std::string(attr_value));
    } else if (type == 'm') {
      if (sd.media.size() >= limits.max_media)
        return err(fmt::format("more than {} media sections at", limits.max_media));
      auto m = parse_media_line(value);
      if (!m) return err("bad m= line");
      sd.media.push_back(std::move(*m));
      media = &sd.media.back();
    }
  }
  if (!seen_version) return make_error("SDP: empty description (no v= line)");
  if (sd.timings.empty()) sd.timings.push_back(Timing{});  // many cameras omit t=; RFC 8866 requires one
  return sd;
}

}  // namespace sg::sdp
