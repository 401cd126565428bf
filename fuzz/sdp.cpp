// Fuzzes the SDP parser: whatever parses must serialize to text that parses back to the same description.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sdp/sdp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg::sdp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sd = parse(text);
  if (!sd.ok()) return 0;
  for (const auto& m : sd->media) {
    for (uint8_t pt : m.payload_types()) {
      (void)m.rtpmap(pt);
      if (auto f = m.fmtp(pt)) (void)f->get("profile-level-id");
    }
    (void)m.control();
    (void)m.mid();
    (void)effective_direction(*sd, m);
  }
  const std::string out = sd->serialize();
  ParseLimits generous;  // serialized text may be slightly longer (CRLF, normalised spacing)
  generous.max_bytes *= 4;
  generous.max_line_length *= 4;
  generous.max_lines += 1;  // a t= line is added when the input had none
  auto again = parse(out, generous);
  if (!again.ok() || !(*again == *sd) || again->serialize() != out) __builtin_trap();
  return 0;
}
