#include "cluster/placement.hpp"

namespace sg::cluster {

namespace {
uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}
// The splitmix64 finalizer: FNV's low bits mix poorly for short, similar names ("n1", "n2").
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace

uint64_t placement_weight(std::string_view node, std::string_view stream) {
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, node);
  h = fnv1a(h ^ 0xff, "\x1f");  // a separator no id contains: ("ab","c") and ("a","bc") differ
  return mix(fnv1a(h, stream));
}

std::string pick_owner(std::string_view stream, const std::vector<std::string>& nodes) {
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& n : nodes) {
    uint64_t w = placement_weight(n, stream);
    if (!best || w > best_weight || (w == best_weight && n < *best)) {
      best = &n;
      best_weight = w;
    }
  }
  return best ? *best : std::string{};
}

}  // namespace sg::cluster
