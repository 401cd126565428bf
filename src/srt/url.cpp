#include "srt/url.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>

#include "base/uri.hpp"

namespace sg::srt {

Result<SrtUrl> parse_srt_url(std::string_view url) {
  constexpr std::string_view kScheme = "srt://";
  if (url.size() < kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
      }))
    return make_error("not an srt:// URL");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return make_error("srt URL has a space or control character");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos)
    return make_error("srt URL has a '#': write a '#!::' stream id as streamid=%23!::...");
  const size_t q = rest.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
  std::string_view authority = rest.substr(0, q);
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);  // srt://host:port/?...
  if (authority.find('/') != std::string_view::npos)
    return make_error("srt URL has a path: the stream goes in ?streamid=, e.g. srt://host:8890?streamid=read:cam");
  if (authority.find('@') != std::string_view::npos)
    return make_error("srt URL has credentials before the host: SRT carries them in the stream id");
  auto hp = parse_host_port(authority, "srt URL");
  if (!hp) return make_error(hp.error());
  if (!hp->port) return make_error("srt URL needs a port (srt://host:port)");
  SrtUrl out;
  out.host = std::move(hp->host);
  out.port = *hp->port;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value) return make_error("srt URL has a bad percent-escape in '" + std::string(key) + "'");
    if (key == "streamid") {
      if (value->size() > 512) return make_error("srt URL streamid is longer than 512 bytes");
      out.stream_id = std::move(*value);
    } else if (key == "passphrase") {
      if (!value->empty() && (value->size() < 10 || value->size() > 79))
        return make_error("srt URL passphrase must have 10 to 79 characters");
      out.passphrase = std::move(*value);
    } else if (key == "latency") {
      int ms = 0;
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
      if (value->empty() || ec != std::errc{} || end != value->data() + value->size() || ms < kMinLatencyMs ||
          ms > kMaxLatencyMs)
        return make_error("srt URL latency must be milliseconds from " + std::to_string(kMinLatencyMs) + " to " +
                          std::to_string(kMaxLatencyMs));
      out.latency_ms = ms;
    } else if (key == "mode") {
      if (*value != "caller") return make_error("srt URL mode must be 'caller' (a pull source connects out)");
    } else {
      return make_error("srt URL has an unknown key '" + std::string(key) +
                        "' (supported: streamid, passphrase, latency, mode)");
    }
  }
  return out;
}

}  // namespace sg::srt
