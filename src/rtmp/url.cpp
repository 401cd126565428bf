#include "rtmp/url.hpp"

#include <charconv>

namespace sg::rtmp {

Result<RtmpUrl> parse_rtmp_url(std::string_view url) {
  constexpr std::string_view kScheme = "rtmp://";
  if (url.size() < kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
      }))
    return make_error("not an rtmp:// URL (rtmps:// is not supported)");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return make_error("rtmp URL has a space or control character");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos)
    return make_error("rtmp URL credentials go in the query (?user=..&pass=..), not before the host");
  RtmpUrl out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return make_error("rtmp URL has an unclosed '[' in its host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("rtmp URL has junk after its IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return make_error("rtmp URL has no host");
  if (out.host.find_first_of("[]:/?#") != std::string::npos && authority.front() != '[')
    return make_error("rtmp URL has a bad host");
  if (authority.front() == '[' && out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
    return make_error("rtmp URL has a bad IPv6 host");
  if (!port_text.empty() || (authority.size() && authority.back() == ':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return make_error("rtmp URL has a bad port");
    out.port = static_cast<uint16_t>(value);
  }
  // The query belongs to the stream name; the path before it splits into app / name.
  const size_t q = path.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : path.substr(q);
  std::string_view segments = path.substr(0, q);
  if (segments.find('#') != std::string_view::npos) return make_error("rtmp URL has a fragment");
  while (!segments.empty() && segments.back() == '/') segments.remove_suffix(1);
  const size_t first = segments.find('/');
  std::string_view app = segments.substr(0, first);
  std::string_view name = first == std::string_view::npos ? app : segments.substr(first + 1);
  if (app.empty()) return make_error("rtmp URL needs an app and a stream: rtmp://host/app/stream");
  if (name.empty()) return make_error("rtmp URL has an empty stream name");
  out.app = std::string(app);
  out.name = std::string(name) + std::string(query);
  const bool v6 = out.host.find(':') != std::string::npos;
  out.tc_url = "rtmp://" + (v6 ? "[" + out.host + "]" : out.host) +
               (out.port == 1935 ? std::string() : ":" + std::to_string(out.port)) + "/" + out.app;
  return out;
}

}  // namespace sg::rtmp
