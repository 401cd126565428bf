// Drives LossCounter with sequence numbers from the input (big-endian 16-bit each). Invariants: nothing lost is
// more than expected, the settled loss never goes down nor exceeds the loss, and every packet fed is accounted for
// exactly once (received, duplicate or ignored).
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtp/loss_counter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  sg::rtp::LossCounter counter;
  Bytes in(reinterpret_cast<const std::byte*>(data), size);
  uint64_t fed = 0, settled = 0;
  for (size_t at = 0; at + 2 <= in.size(); at += 2) {
    counter.update(be16(in, at));
    ++fed;
    const auto c = counter.counts();
    if (c.received > c.expected) __builtin_trap();
    if (c.received + c.duplicates + c.ignored != fed) __builtin_trap();
    if (c.settled_lost > c.lost() || c.settled_lost < settled) __builtin_trap();
    settled = c.settled_lost;
  }
  return 0;
}
