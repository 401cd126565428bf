#pragma once
// rtsp:// URLs (RFC 2326 3.2) and resolution of SDP a=control values (RFC 2326 C.1.1).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::rtsp {

inline constexpr uint16_t kDefaultPort = 554;
inline constexpr uint16_t kDefaultTlsPort = 322;  // rtsps

struct Url {
  std::string scheme = "rtsp";  // "rtsp" or "rtsps", lower case
  std::string user;              // percent-decoded
  std::string password;          // percent-decoded
  bool has_credentials = false;  // a userinfo part ("user@" or "user:pass@") was present
  std::string host;              // IPv6 addresses without the brackets
  uint16_t port = kDefaultPort;  // the explicit port, or the scheme's default
  bool has_port = false;         // the port was written in the URL
  std::string path;              // as written (not decoded), "" or starting with '/'
  std::string query;             // as written, without the '?'

  // scheme://host[:port][path][?query] without credentials; the port is written only if it was explicit.
  std::string to_string() const;
  // The stream path: `path` without its leading '/' (e.g. "live/cam1"). Not decoded.
  std::string stream_path() const;
};

// Parses rtsp://[user[:pass]@]host[:port][/path][?query]; a '#fragment' is dropped.
Result<Url> parse_url(std::string_view text);

// URL of a media or session given its SDP a=control value and the base URL (Content-Base, Content-Location or
// the DESCRIBE URL), RFC 2326 C.1.1: an absolute rtsp(s):// control is used as is; "*" or "" means the base
// itself; "/path" replaces the base's path; anything else is appended to the base with a '/' unless the base
// already ends in '/'. (Appending textually, also after a query, is what cameras expect in practice.)
std::string resolve_control(std::string_view base, std::string_view control);

// Percent-decoding (RFC 3986 2.1); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace sg::rtsp
