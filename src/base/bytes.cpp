#include "base/bytes.hpp"

#include <array>

namespace sg {

std::string to_hex(Bytes b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (auto x : b) {
    auto v = static_cast<uint8_t>(x);
    out.push_back(kDigits[v >> 4]);
    out.push_back(kDigits[v & 15]);
  }
  return out;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ByteVector from_hex(std::string_view hex) {
  ByteVector out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    int v = hex_value(c);
    if (v < 0) return {};
    if (high < 0) {
      high = v;
    } else {
      out.push_back(std::byte(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return {};
  return out;
}

static constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(Bytes b) {
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    uint32_t v = uint32_t{u8(b, i)} << 16 | uint32_t{u8(b, i + 1)} << 8 | u8(b, i + 2);
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i + 1 == b.size()) {
    uint32_t v = uint32_t{u8(b, i)} << 16;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == b.size()) {
    uint32_t v = uint32_t{u8(b, i)} << 16 | uint32_t{u8(b, i + 1)} << 8;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view in, ByteVector& out) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kBase64[i])] = static_cast<int8_t>(i);
    t[static_cast<uint8_t>('-')] = 62;  // base64url too
    t[static_cast<uint8_t>('_')] = 63;
    return t;
  }();
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : in) {
    if (c == '=') {
      padding = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    int v = table[static_cast<uint8_t>(c)];
    if (v < 0 || padding) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(std::byte((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace sg
