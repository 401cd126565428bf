#include "rtsp/url.hpp"

#include "base/uri.hpp"
#include "rtsp/text.hpp"

namespace sg::rtsp {

namespace {

bool is_scheme_absolute(std::string_view s) { return istarts_with(s, "rtsp://") || istarts_with(s, "rtsps://"); }

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) { return sg::percent_decode(s); }

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::string_view rest;
  if (istarts_with(text, "rtsp://")) {
    url.scheme = "rtsp";
    url.port = kDefaultPort;
    rest = text.substr(7);
  } else if (istarts_with(text, "rtsps://")) {
    url.scheme = "rtsps";
    url.port = kDefaultTlsPort;
    rest = text.substr(8);
  } else {
    return make_error("RTSP: URL " + quote_for_error(text) + " does not start with rtsp://");
  }
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return make_error("RTSP: bad character in URL " + quote_for_error(text));
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);

  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  // Userinfo ends at the last '@' so unescaped '@' in passwords still work.
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto pass = colon == std::string_view::npos ? std::optional<std::string>("") : percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) return make_error("RTSP: bad percent-escape in URL credentials");
    url.user = std::move(*user);
    url.password = std::move(*pass);
    url.has_credentials = true;
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("RTSP: unterminated IPv6 address in URL " + quote_for_error(text));
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("RTSP: bad host in URL " + quote_for_error(text));
      port_text = after.substr(1);
      url.has_port = true;
    }
    // RFC 6874: an optional zone id follows "%25"; it is kept as written.
    auto addr = std::string_view(url.host).substr(0, url.host.find('%'));
    if (addr.empty() || addr.find(':') == std::string_view::npos ||
        addr.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return make_error("RTSP: bad IPv6 address in URL " + quote_for_error(text));
    }
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      url.has_port = true;
    }
    for (char c : url.host) {
      if (c == '[' || c == ']' || c == '@' || c == ':') return make_error("RTSP: bad host in URL " + quote_for_error(text));
    }
  }
  if (url.host.empty()) return make_error("RTSP: missing host in URL " + quote_for_error(text));
  if (url.has_port) {
    auto port = parse_decimal<uint16_t>(port_text, 65535);
    if (!port || *port == 0) return make_error("RTSP: bad port " + quote_for_error(port_text) + " in URL");
    url.port = *port;
  }

  auto q = tail.find('?');
  url.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) url.query = std::string(tail.substr(q + 1));
  return url;
}

std::string Url::to_string() const {
  std::string out = scheme + "://";
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  if (has_port) {
    out += ':';
    out += std::to_string(port);
  }
  out += path;
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

std::string Url::stream_path() const {
  std::string_view p = path;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  return std::string(p);
}

std::string resolve_control(std::string_view base, std::string_view control) {
  control = trim(control);
  if (control.empty() || control == "*") return std::string(base);
  if (is_scheme_absolute(control)) return std::string(control);
  if (control.front() == '/') {
    // Absolute path: keep scheme://authority of the base.
    auto scheme_end = base.find("://");
    if (scheme_end != std::string_view::npos) {
      auto path_start = base.find_first_of("/?", scheme_end + 3);
      return std::string(base.substr(0, path_start)) + std::string(control);
    }
    return std::string(base) + std::string(control);
  }
  std::string out(base);
  if (out.empty() || out.back() != '/') out += '/';
  out += control;
  return out;
}

}  // namespace sg::rtsp
