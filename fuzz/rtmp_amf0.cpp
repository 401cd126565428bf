// Fuzzes AMF0 decoding (RTMP commands and metadata): whatever decodes must encode to bytes that decode to the same
// values (NaN numbers compared as NaN), and command parsing must not crash.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtmp/amf0.hpp"
#include "rtmp/command.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
bool same(const sg::rtmp::Amf0Value& a, const sg::rtmp::Amf0Value& b) {
  if (a.type != b.type || a.boolean != b.boolean || a.string != b.string || a.keys != b.keys ||
      a.values.size() != b.values.size())
    return false;
  if (!(a.number == b.number || (std::isnan(a.number) && std::isnan(b.number)))) return false;
  for (size_t i = 0; i < a.values.size(); ++i)
    if (!same(a.values[i], b.values[i])) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::Bytes input(reinterpret_cast<const std::byte*>(data), size);
  (void)sg::rtmp::parse_command(input);
  auto values = sg::rtmp::decode_amf0(input);
  if (!values) return 0;
  auto bytes = sg::rtmp::encode_amf0(*values);
  auto back = sg::rtmp::decode_amf0(bytes);
  check(back.ok() && back->size() == values->size());
  for (size_t i = 0; i < values->size(); ++i) check(same((*values)[i], (*back)[i]));
  return 0;
}
