// Fuzzes the node records read back from Redis (sg:node:{name}): the input is split into field/value pairs at NUL
// bytes; decoding never crashes, and what decodes encodes and decodes to the same node.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/node_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  while (true) {
    auto z = in.find('\0');
    parts.emplace_back(in.substr(0, z));
    if (z == std::string_view::npos) break;
    in.remove_prefix(z + 1);
  }
  sg::cluster::Fields fields;
  for (size_t i = 0; i + 1 < parts.size(); i += 2) fields.emplace_back(parts[i], parts[i + 1]);
  auto n = sg::cluster::decode_node("n", fields);
  if (!n) return 0;
  auto again = sg::cluster::decode_node("n", sg::cluster::encode_node(*n));
  if (!again || again->owned != n->owned || again->relays != n->relays || again->rtsp_port != n->rtsp_port ||
      again->advertise != n->advertise || again->readers != n->readers)
    __builtin_trap();
  return 0;
}
