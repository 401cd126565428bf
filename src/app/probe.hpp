#pragma once
// `streamgate --probe URL`: a health check for images without curl (Dockerfile HEALTHCHECK). GETs an http:// URL
// and succeeds on a 2xx answer within the timeout.
#include <chrono>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::app {

struct ProbeUrl {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};
// "http://host[:port][/path]" ([v6] hosts too).
Result<ProbeUrl> parse_probe_url(std::string_view url);

// The HTTP status of a GET, or why there was none (refused, timeout, not HTTP).
Result<unsigned> probe(const ProbeUrl& url, std::chrono::milliseconds timeout);

}  // namespace sg::app
