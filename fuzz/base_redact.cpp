// Fuzzes the redaction of config text (the console's server page) and of URLs: no crash, and the config keeps its
// line structure (one output line per input line).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/redact.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto out = sg::redact_config_text(in);
  if (std::count(out.begin(), out.end(), '\n') != std::count(in.begin(), in.end(), '\n')) __builtin_trap();
  (void)sg::redact_secrets(in);
  return 0;
}
