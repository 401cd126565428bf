// Fuzzes the ISO BMFF box walker and the trun/tfdt readers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mp4/box_parser.hpp"

namespace {

bool is_container(const std::string& t) {
  return t == "moov" || t == "trak" || t == "mdia" || t == "minf" || t == "stbl" || t == "mvex" || t == "moof" ||
         t == "traf" || t == "dinf" || t == "edts";
}

void walk(sg::Bytes data, int depth) {
  auto boxes = sg::mp4::parse_boxes(data);
  if (!boxes) return;
  for (const auto& b : *boxes) {
    if (b.offset + b.header_size + b.payload.size() > data.size()) __builtin_trap();
    if (b.type == "trun") (void)sg::mp4::parse_trun(b.payload);
    if (b.type == "tfdt") (void)sg::mp4::parse_tfdt(b.payload);
    if (b.type == "stsd" && b.payload.size() >= 8) walk(b.payload.subspan(8), depth + 1);
    if (depth < 8 && is_container(b.type)) walk(b.payload, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sg::Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
  walk(bytes, 0);
  (void)sg::mp4::find_box(bytes, "moof/traf/trun");
  (void)sg::mp4::find_box(bytes, "moov/trak/mdia/minf/stbl/stsd");
  return 0;
}
