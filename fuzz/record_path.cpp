// The recording path pattern: any pattern and path must parse or not without crashing, and a path that parses
// must expand back from what was parsed (the playback side relies on this round trip).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "record/path_pattern.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t split = all.find('\n');
  const std::string_view pattern = all.substr(0, split);
  const std::string_view path = split == std::string_view::npos ? std::string_view() : all.substr(split + 1);
  (void)sg::record::check_record_path(pattern);
  (void)sg::record::record_root(pattern);
  auto parsed = sg::record::parse_record_path(pattern, path);
  if (parsed && sg::record::check_record_path(pattern)) {
    const std::string again = sg::record::expand_record_path(pattern, parsed->stream, parsed->start_us) +
                              std::string(sg::record::extension(parsed->format));
    auto reparsed = sg::record::parse_record_path(pattern, again);
    if (!reparsed || reparsed->stream != parsed->stream || reparsed->start_us != parsed->start_us) __builtin_trap();
  }
  return 0;
}
