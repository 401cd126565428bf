#pragma once
// Byte spans and big-endian field access for protocol code.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

using Bytes = std::span<const std::byte>;
using MutableBytes = std::span<std::byte>;
using ByteVector = std::vector<std::byte>;

inline Bytes as_bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }
inline std::string_view as_string_view(Bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
inline ByteVector to_vector(Bytes b) { return {b.begin(), b.end()}; }
inline ByteVector to_vector(std::string_view s) { return to_vector(as_bytes(s)); }

inline uint8_t u8(Bytes b, size_t at) { return static_cast<uint8_t>(b[at]); }
inline uint16_t be16(Bytes b, size_t at) { return static_cast<uint16_t>(u8(b, at) << 8 | u8(b, at + 1)); }
inline uint32_t be24(Bytes b, size_t at) { return uint32_t{u8(b, at)} << 16 | uint32_t{u8(b, at + 1)} << 8 | u8(b, at + 2); }
inline uint32_t be32(Bytes b, size_t at) { return uint32_t{be16(b, at)} << 16 | be16(b, at + 2); }
inline uint64_t be64(Bytes b, size_t at) { return uint64_t{be32(b, at)} << 32 | be32(b, at + 4); }

inline void put8(MutableBytes b, size_t at, uint8_t v) { b[at] = std::byte{v}; }
inline void put16(MutableBytes b, size_t at, uint16_t v) {
  b[at] = std::byte(v >> 8);
  b[at + 1] = std::byte(v & 0xff);
}
inline void put24(MutableBytes b, size_t at, uint32_t v) {
  b[at] = std::byte((v >> 16) & 0xff);
  put16(b, at + 1, static_cast<uint16_t>(v & 0xffff));
}
inline void put32(MutableBytes b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v & 0xffff));
}
inline void put64(MutableBytes b, size_t at, uint64_t v) {
  put32(b, at, static_cast<uint32_t>(v >> 32));
  put32(b, at + 4, static_cast<uint32_t>(v & 0xffffffff));
}

// Appending big-endian writers for builders.
inline void append8(ByteVector& v, uint8_t x) { v.push_back(std::byte{x}); }
inline void append16(ByteVector& v, uint16_t x) {
  append8(v, static_cast<uint8_t>(x >> 8));
  append8(v, static_cast<uint8_t>(x));
}
inline void append24(ByteVector& v, uint32_t x) {
  append8(v, static_cast<uint8_t>(x >> 16));
  append16(v, static_cast<uint16_t>(x));
}
inline void append32(ByteVector& v, uint32_t x) {
  append16(v, static_cast<uint16_t>(x >> 16));
  append16(v, static_cast<uint16_t>(x));
}
inline void append64(ByteVector& v, uint64_t x) {
  append32(v, static_cast<uint32_t>(x >> 32));
  append32(v, static_cast<uint32_t>(x));
}
inline void append(ByteVector& v, Bytes b) { v.insert(v.end(), b.begin(), b.end()); }
inline void append(ByteVector& v, std::string_view s) { append(v, as_bytes(s)); }

// Hex and base64, for tests, SDP (sprop-parameter-sets, AAC config) and logs.
std::string to_hex(Bytes b);
ByteVector from_hex(std::string_view hex);  // ignores whitespace; returns empty on bad input
std::string base64_encode(Bytes b);
bool base64_decode(std::string_view in, ByteVector& out);

}  // namespace sg
