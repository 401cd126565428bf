// Fuzzes srt:// URL parsing (pull sources): never crashes; what parses has a host, a port, a latency in range and a
// passphrase libsrt accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "srt/url.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto u = sg::srt::parse_srt_url(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!u) return 0;
  check(!u->host.empty() && u->port != 0);
  check(!u->latency_ms || (*u->latency_ms >= sg::srt::kMinLatencyMs && *u->latency_ms <= sg::srt::kMaxLatencyMs));
  check(u->passphrase.empty() || (u->passphrase.size() >= 10 && u->passphrase.size() <= 79));
  check(u->stream_id.size() <= 512);
  return 0;
}
