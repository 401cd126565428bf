// Fuzzes rtmp:// URL parsing (pull sources): never crashes; what parses has a host, an app, a name, and a tcUrl that
// parses back to the same host, port and app.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtmp/url.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto u = sg::rtmp::parse_rtmp_url(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!u) return 0;
  check(!u->host.empty() && !u->app.empty() && !u->name.empty() && u->port != 0);
  auto back = sg::rtmp::parse_rtmp_url(u->tc_url);
  check(back.ok() && back->host == u->host && back->port == u->port && back->app == u->app);
  return 0;
}
