// Drives ReorderBuffer with sequence numbers from the input. Invariants: within a run (no resync in between)
// output is strictly increasing, nothing is emitted twice, and every pushed packet is accounted for.
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtp/reorder_buffer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  using namespace sg::rtp;
  if (size < 1) return 0;
  ReorderBuffer<uint32_t> buf(size_t{data[0]} % 70 + 1);
  bool have_last = false;
  uint16_t last = 0;
  uint64_t resyncs = 0;
  uint32_t counter = 0;
  auto emit = [&](uint16_t seq, uint32_t item) {
    if (static_cast<uint16_t>(item) != seq) __builtin_trap();  // the item travels with its sequence number
    const bool new_run = buf.stats().resyncs != resyncs;
    if (have_last && !new_run && static_cast<int16_t>(static_cast<uint16_t>(seq - last)) <= 0) __builtin_trap();
    resyncs = buf.stats().resyncs;
    have_last = true;
    last = seq;
  };
  Bytes in(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  // Each 3-byte record: a control byte then a big-endian sequence number.
  for (size_t at = 0; at + 3 <= in.size(); at += 3) {
    const uint8_t op = u8(in, at);
    const uint16_t seq = be16(in, at + 1);
    if (op == 0xff) {
      buf.skip_gap(emit);
    } else if (op == 0xfe) {
      buf.flush(emit);
      if (buf.held() != 0) __builtin_trap();
    } else {
      buf.push(seq, (++counter << 16) | seq, emit);
    }
    const auto& s = buf.stats();
    if (buf.held() > buf.capacity()) __builtin_trap();
    if (s.pushed < s.emitted + buf.held() + s.duplicates + s.late + s.stray ||
        s.pushed > s.emitted + buf.held() + s.duplicates + s.late + s.stray + 1)  // +1: a far packet on hold
      __builtin_trap();
  }
  return 0;
}
