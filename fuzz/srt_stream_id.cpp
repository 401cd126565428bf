// Fuzzes the SRT stream id parser (MediaMTX form and the '#!::' access control form).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "srt/stream_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = sg::srt::parse_stream_id(text);
  if (id && (id->path.empty() || id->path.size() > text.size())) __builtin_trap();
  return 0;
}
