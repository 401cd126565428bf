#pragma once
// ISO/IEC 14496-12 box writer: begin() reserves the 32-bit size, end() back-patches it once the box's children
// are written. Boxes nest like a stack.
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"

namespace sg::mp4 {

class BoxWriter {
 public:
  explicit BoxWriter(ByteVector& out) : out_(out) {}
  BoxWriter(const BoxWriter&) = delete;
  BoxWriter& operator=(const BoxWriter&) = delete;

  // `type` must be exactly four characters.
  void begin(std::string_view type);
  // FullBox: box header followed by version (8 bits) and flags (24 bits).
  void begin_full(std::string_view type, uint8_t version, uint32_t flags);
  // Closes the innermost open box and writes its size.
  void end();
  size_t depth() const { return open_.size(); }

  ByteVector& out() { return out_; }
  void u8(uint8_t v) { append8(out_, v); }
  void u16(uint16_t v) { append16(out_, v); }
  void u24(uint32_t v) { append24(out_, v); }
  void u32(uint32_t v) { append32(out_, v); }
  void u64(uint64_t v) { append64(out_, v); }
  void zeros(size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
  void bytes(Bytes b) { append(out_, b); }
  void fourcc(std::string_view type);

 private:
  ByteVector& out_;
  std::vector<size_t> open_;
};

// The empty sample tables of a fragmented file's trak (stts, stsc, stco with no entries; stsz with sample_size 0
// and no samples): the samples are in the fragments.
inline void write_empty_sample_tables(BoxWriter& w) {
  for (const char* box : {"stts", "stsc", "stco"}) {
    w.begin_full(box, 0, 0);
    w.u32(0);
    w.end();
  }
  w.begin_full("stsz", 0, 0);
  w.u32(0);
  w.u32(0);
  w.end();
}

}  // namespace sg::mp4
