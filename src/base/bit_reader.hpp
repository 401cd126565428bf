#pragma once
// MSB-first bit reader with Exp-Golomb codes (H.264 / H.265 SPS, AAC AudioSpecificConfig). Reading past the end
// sets a sticky error and returns 0, so parsers check ok() once at the end instead of after every field.
#include <cstdint>

#include "base/bytes.hpp"

namespace sg {

class BitReader {
 public:
  explicit BitReader(Bytes data) : data_(data) {}

  uint32_t bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  uint32_t bit() {
    if (pos_ >= data_.size() * 8) {
      error_ = true;
      return 0;
    }
    uint32_t v = (u8(data_, pos_ / 8) >> (7 - pos_ % 8)) & 1;
    ++pos_;
    return v;
  }
  void skip(size_t n) {
    pos_ += n;
    if (pos_ > data_.size() * 8) error_ = true;
  }
  // ue(v), ITU-T H.264 9.1
  uint32_t ue() {
    int zeros = 0;
    while (bit() == 0) {
      if (error_ || ++zeros > 31) {
        error_ = true;
        return 0;
      }
    }
    if (zeros == 0) return 0;
    return static_cast<uint32_t>((uint64_t{1} << zeros) - 1 + bits(zeros));
  }
  // se(v), ITU-T H.264 9.1.1
  int32_t se() {
    uint32_t k = ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }
  size_t position() const { return pos_; }
  size_t remaining() const { return pos_ >= data_.size() * 8 ? 0 : data_.size() * 8 - pos_; }
  bool ok() const { return !error_; }

 private:
  Bytes data_;
  size_t pos_ = 0;
  bool error_ = false;
};

}  // namespace sg
