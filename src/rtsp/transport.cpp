#include "rtsp/transport.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "rtsp/text.hpp"

namespace sg::rtsp {

namespace {

// Splits on `sep` outside double quotes.
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == sep && !quoted) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::string_view unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

std::optional<PortRange> parse_range(std::string_view v, uint16_t max) {
  auto dash = v.find('-');
  auto first = parse_decimal<uint16_t>(trim(v.substr(0, dash)), max);
  if (!first) return std::nullopt;
  if (dash == std::string_view::npos) return PortRange{*first, *first};
  auto last = parse_decimal<uint16_t>(trim(v.substr(dash + 1)), max);
  if (!last) return std::nullopt;
  return PortRange{*first, *last};
}

std::string range_to_string(const PortRange& r) {
  if (r.first == r.last) return std::to_string(r.first);
  return std::to_string(r.first) + "-" + std::to_string(r.last);
}

Error bad_param(std::string_view name, std::string_view value) {
  return make_error("RTSP: bad Transport parameter " + std::string(name) + "=" + quote_for_error(value));
}

}  // namespace

Result<TransportSpec> parse_transport_spec(std::string_view text) {
  auto parts = split_unquoted(text, ';');
  TransportSpec spec;
  // transport-protocol/profile[/lower-transport]
  auto proto = trim(parts[0]);
  if (!istarts_with(proto, "RTP/")) return make_error("RTSP: unsupported transport " + quote_for_error(proto));
  auto rest = proto.substr(4);
  auto slash = rest.find('/');
  auto profile = rest.substr(0, slash);
  if (!is_token(profile)) return make_error("RTSP: bad transport profile " + quote_for_error(proto));
  spec.profile.clear();
  for (char c : profile) spec.profile += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (slash != std::string_view::npos) {
    auto lower = rest.substr(slash + 1);
    if (iequals(lower, "TCP")) {
      spec.lower = LowerTransport::Tcp;
    } else if (iequals(lower, "UDP")) {
      spec.lower = LowerTransport::Udp;
    } else {
      return make_error("RTSP: unsupported lower transport " + quote_for_error(proto));
    }
  }

  for (size_t i = 1; i < parts.size(); ++i) {
    auto param = trim(parts[i]);
    if (param.empty()) continue;
    auto eq = param.find('=');
    auto name = trim(param.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string_view{} : unquote(param.substr(eq + 1));
    if (iequals(name, "unicast")) {
      spec.multicast = false;
    } else if (iequals(name, "multicast")) {
      spec.multicast = true;
    } else if (iequals(name, "interleaved")) {
      if (!(spec.interleaved = parse_range(value, 255))) return bad_param(name, value);
    } else if (iequals(name, "client_port")) {
      if (!(spec.client_port = parse_range(value, 65535))) return bad_param(name, value);
    } else if (iequals(name, "server_port")) {
      if (!(spec.server_port = parse_range(value, 65535))) return bad_param(name, value);
    } else if (iequals(name, "port")) {
      if (!(spec.port = parse_range(value, 65535))) return bad_param(name, value);
    } else if (iequals(name, "mode")) {
      // RFC 2326 12.39: "PLAY" | "RECORD"; old clients (QuickTime Broadcaster) say "receive" for RECORD.
      if (iequals(value, "play")) {
        spec.mode = TransportMode::Play;
      } else if (iequals(value, "record") || iequals(value, "receive")) {
        spec.mode = TransportMode::Record;
      } else {
        return bad_param(name, value);
      }
    } else if (iequals(name, "ssrc")) {
      if (!(spec.ssrc = parse_hex32(value))) return bad_param(name, value);
    } else if (iequals(name, "ttl")) {
      if (!(spec.ttl = parse_decimal<uint8_t>(value, 255))) return bad_param(name, value);
    } else if (iequals(name, "source")) {
      if (value.empty()) return bad_param(name, value);
      spec.source = std::string(value);
    } else if (iequals(name, "destination")) {
      // A bare "destination" is allowed (RFC 2326 12.39) and means the client's address.
      spec.destination = std::string(value);
    } else {
      spec.other.emplace_back(param);
    }
  }
  return spec;
}

Result<std::vector<TransportSpec>> parse_transport(std::string_view value) {
  std::vector<TransportSpec> specs;
  for (auto part : split_unquoted(value, ',')) {
    if (trim(part).empty()) continue;
    auto spec = parse_transport_spec(part);
    if (!spec) return make_error(spec.error());
    specs.push_back(std::move(*spec));
  }
  if (specs.empty()) return make_error("RTSP: empty Transport header");
  return specs;
}

std::string TransportSpec::to_string() const {
  std::string out = "RTP/" + profile;
  if (lower == LowerTransport::Tcp) out += "/TCP";
  out += multicast ? ";multicast" : ";unicast";
  if (destination) out += destination->empty() ? ";destination" : ";destination=" + *destination;
  if (source) out += ";source=" + *source;
  if (interleaved) out += ";interleaved=" + range_to_string(*interleaved);
  if (port) out += ";port=" + range_to_string(*port);
  if (client_port) out += ";client_port=" + range_to_string(*client_port);
  if (server_port) out += ";server_port=" + range_to_string(*server_port);
  if (ttl) out += ";ttl=" + std::to_string(*ttl);
  if (ssrc) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08X", *ssrc);
    out += ";ssrc=";
    out += buf;
  }
  if (mode) out += *mode == TransportMode::Record ? ";mode=record" : ";mode=play";
  for (const auto& o : other) {
    out += ';';
    out += o;
  }
  return out;
}

std::string build_transport(std::span<const TransportSpec> specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!out.empty()) out += ',';
    out += s.to_string();
  }
  return out;
}

Result<SessionHeader> parse_session(std::string_view value) {
  auto parts = split_unquoted(value, ';');
  SessionHeader h;
  auto id = trim(parts[0]);
  // RFC 2326 3.4: session-id = 1*( ALPHA | DIGIT | safe ); be lenient but keep it printable and bounded.
  if (id.empty() || id.size() > 256) return make_error("RTSP: bad Session header " + quote_for_error(value));
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == '"' || c == ',') {
      return make_error("RTSP: bad Session header " + quote_for_error(value));
    }
  }
  h.id = std::string(id);
  for (size_t i = 1; i < parts.size(); ++i) {
    auto p = trim(parts[i]);
    auto eq = p.find('=');
    if (eq != std::string_view::npos && iequals(trim(p.substr(0, eq)), "timeout")) {
      auto t = parse_decimal<uint32_t>(unquote(p.substr(eq + 1)), UINT32_MAX);
      if (!t) return make_error("RTSP: bad Session timeout " + quote_for_error(p));
      h.timeout = *t;
    }
  }
  return h;
}

std::string SessionHeader::to_string() const {
  if (!timeout) return id;
  return id + ";timeout=" + std::to_string(*timeout);
}

Result<std::vector<RtpInfoEntry>> parse_rtp_info(std::string_view value) {
  std::vector<RtpInfoEntry> out;
  for (auto item : split_unquoted(value, ',')) {
    if (trim(item).empty()) continue;
    RtpInfoEntry e;
    bool have_url = false;
    for (auto p : split_unquoted(item, ';')) {
      p = trim(p);
      if (p.empty()) continue;
      auto eq = p.find('=');
      if (eq == std::string_view::npos) return make_error("RTSP: bad RTP-Info parameter " + quote_for_error(p));
      auto name = trim(p.substr(0, eq));
      auto v = unquote(p.substr(eq + 1));
      if (iequals(name, "url")) {
        e.url = std::string(v);
        have_url = true;
      } else if (iequals(name, "seq")) {
        if (!(e.seq = parse_decimal<uint16_t>(v, 65535))) {
          return make_error("RTSP: bad RTP-Info seq " + quote_for_error(v));
        }
      } else if (iequals(name, "rtptime")) {
        if (!(e.rtptime = parse_decimal<uint32_t>(v, UINT32_MAX))) {
          return make_error("RTSP: bad RTP-Info rtptime " + quote_for_error(v));
        }
      }
    }
    if (!have_url) return make_error("RTSP: RTP-Info entry without url " + quote_for_error(item));
    out.push_back(std::move(e));
  }
  if (out.empty()) return make_error("RTSP: empty RTP-Info header");
  return out;
}

std::string build_rtp_info(std::span<const RtpInfoEntry> entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ',';
    out += "url=" + e.url;
    if (e.seq) out += ";seq=" + std::to_string(*e.seq);
    if (e.rtptime) out += ";rtptime=" + std::to_string(*e.rtptime);
  }
  return out;
}

std::string build_npt_range(double start_seconds, std::optional<double> end_seconds) {
  auto fmt = [](double s) {
    if (!std::isfinite(s) || s < 0) s = 0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return std::string(buf);
  };
  std::string out = "npt=" + fmt(start_seconds) + "-";
  if (end_seconds) out += fmt(*end_seconds);
  return out;
}

std::string build_public(std::span<const std::string_view> methods) {
  std::string out;
  for (auto m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

std::vector<std::string> parse_public(std::string_view value) {
  std::vector<std::string> out;
  for (auto m : split_unquoted(value, ',')) {
    m = trim(m);
    if (!m.empty()) out.emplace_back(m);
  }
  return out;
}

}  // namespace sg::rtsp
