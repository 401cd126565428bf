#pragma once
// Minimal ISO BMFF reader: walks boxes with bounds checks. Used to verify our own output and fuzzed as a parser.
// Boxes are views into the caller's bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::mp4 {

struct Box {
  std::string type;        // four characters
  size_t offset = 0;       // of the box header within the span given to parse_boxes
  size_t header_size = 0;  // 8, or 16 with a 64-bit largesize
  Bytes payload;           // everything after the header (for a FullBox: version/flags first)
};

// Parses consecutive boxes covering all of `data` (one nesting level). size 0 means "to the end".
Result<std::vector<Box>> parse_boxes(Bytes data);

// Follows a path such as "moov/trak/mdia/hdlr" through container boxes, taking the first match at each level.
// Only plain containers can be descended into (not stsd or sample entries, whose children follow fixed fields).
std::optional<Box> find_box(Bytes data, std::string_view path);
// All boxes of `type` directly inside `data`.
std::vector<Box> find_all(Bytes data, std::string_view type);

struct FullBoxHeader {
  uint8_t version = 0;
  uint32_t flags = 0;
  Bytes body;
};
Result<FullBoxHeader> parse_full_box(Bytes payload);

// Track fragment run, 14496-12 8.8.8.
struct TrunEntry {
  uint32_t duration = 0, size = 0, flags = 0;
  int64_t composition_offset = 0;
};
struct Trun {
  uint8_t version = 0;
  uint32_t flags = 0;
  std::optional<int32_t> data_offset;
  std::optional<uint32_t> first_sample_flags;
  std::vector<TrunEntry> entries;
};
Result<Trun> parse_trun(Bytes payload);

// tfdt: base media decode time (version 0: 32 bits, version 1: 64 bits).
Result<uint64_t> parse_tfdt(Bytes payload);

}  // namespace sg::mp4
