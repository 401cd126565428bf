#include "mp4/box_writer.hpp"

#include <cassert>

namespace sg::mp4 {

void BoxWriter::fourcc(std::string_view type) {
  assert(type.size() == 4);
  for (size_t i = 0; i < 4; ++i) u8(i < type.size() ? static_cast<uint8_t>(type[i]) : ' ');
}

void BoxWriter::begin(std::string_view type) {
  open_.push_back(out_.size());
  u32(0);
  fourcc(type);
}

void BoxWriter::begin_full(std::string_view type, uint8_t version, uint32_t flags) {
  begin(type);
  u8(version);
  u24(flags);
}

void BoxWriter::end() {
  assert(!open_.empty());
  size_t start = open_.back();
  open_.pop_back();
  put32(out_, start, static_cast<uint32_t>(out_.size() - start));
}

}  // namespace sg::mp4
