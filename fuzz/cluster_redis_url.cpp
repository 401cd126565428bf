// Fuzzes redis:// URL parsing (config cluster.redis): never crashes; what parses has a printable host, a port and a
// database in range.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/redis_url.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto u = sg::cluster::parse_redis_url(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!u) return 0;
  check(!u->host.empty() && u->port != 0);
  for (char c : u->host) check(static_cast<unsigned char>(c) > ' ' && static_cast<unsigned char>(c) < 0x7f);
  check(u->db >= 0 && u->db <= 15);
  check(u->user.empty() || !u->password.empty());
  return 0;
}
