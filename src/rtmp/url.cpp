#include "rtmp/url.hpp"

#include "base/uri.hpp"

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
  auto hp = parse_host_port(authority, "rtmp URL");
  if (!hp) return make_error(hp.error());
  RtmpUrl out;
  out.host = std::move(hp->host);
  if (hp->port) out.port = *hp->port;
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
