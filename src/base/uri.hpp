#pragma once
// Small pieces of RFC 3986 shared by the URL parsers of the protocols (rtmp/url, srt/url, rtsp/url).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg {

// Percent-decoding (RFC 3986 2.1); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s);

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::optional<uint16_t> port;
};

// "host", "host:port", "[v6]" or "[v6]:port" (the authority without user info). Errors start with `what`
// ("rtmp URL has a bad port").
Result<HostPort> parse_host_port(std::string_view authority, std::string_view what);

}  // namespace sg
