#include "hls/codecs.hpp"

#include <cstdio>

#include "base/bit_reader.hpp"

namespace sg::hls {
namespace {

using Codec = mp4::TrackInfo::Codec;

std::string hex2(uint8_t v, bool upper) {
  char buf[3];
  std::snprintf(buf, sizeof buf, upper ? "%02X" : "%02x", v);
  return buf;
}

// Removes emulation prevention bytes (00 00 03 -> 00 00), ITU-T H.265 7.4.2.
ByteVector rbsp(Bytes nal) {
  ByteVector out;
  int zeros = 0;
  for (std::byte b : nal) {
    if (zeros >= 2 && b == std::byte{3}) {
      zeros = 0;
      continue;
    }
    zeros = b == std::byte{0} ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

// general_profile_space .. general_level_idc: the 12 bytes shared by the SPS profile_tier_level and hvcC[1..12].
std::string hevc_string(Bytes ptl) {
  const uint8_t first = u8(ptl, 0);
  const uint8_t space = first >> 6;
  std::string s = "hvc1.";
  if (space > 0) s += static_cast<char>('A' + space - 1);
  s += std::to_string(first & 0x1f);
  uint32_t compat = be32(ptl, 1), reversed = 0;
  for (int i = 0; i < 32; ++i) reversed |= ((compat >> i) & 1) << (31 - i);
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%X", reversed);
  s += buf;
  s += (first & 0x20) ? ".H" : ".L";
  s += std::to_string(u8(ptl, 11));
  size_t last = 6;  // constraint bytes 5..10; trailing zero bytes are omitted
  while (last > 0 && u8(ptl, 5 + last - 1) == 0) --last;
  for (size_t i = 0; i < last; ++i) s += "." + hex2(u8(ptl, 5 + i), true);
  return s;
}

}  // namespace

Result<std::string> codec_string(const mp4::TrackInfo& t) {
  switch (t.codec) {
    case Codec::H264: {
      Bytes src;
      if (t.sps.size() >= 4 && (u8(t.sps, 0) & 0x1f) == 7)
        src = Bytes(t.sps).subspan(1, 3);
      else if (t.codec_config.size() >= 4 && u8(t.codec_config, 0) == 1)
        src = Bytes(t.codec_config).subspan(1, 3);  // avcC: AVCProfileIndication, compatibility, level
      else
        return make_error("HLS: H.264 track without SPS or avcC for CODECS");
      return "avc1." + hex2(u8(src, 0), false) + hex2(u8(src, 1), false) + hex2(u8(src, 2), false);
    }
    case Codec::H265: {
      if (t.sps.size() >= 2) {
        ByteVector r = rbsp(Bytes(t.sps).subspan(2));  // skip the 2-byte NAL header
        if (r.size() >= 13) return hevc_string(Bytes(r).subspan(1, 12));
      }
      if (t.codec_config.size() >= 13 && u8(t.codec_config, 0) == 1)
        return hevc_string(Bytes(t.codec_config).subspan(1, 12));
      return make_error("HLS: H.265 track without SPS or hvcC for CODECS");
    }
    case Codec::AAC: {
      if (t.codec_config.empty()) return std::string("mp4a.40.2");
      BitReader r(t.codec_config);
      uint32_t aot = r.bits(5);
      if (aot == 31) aot = 32 + r.bits(6);
      if (!r.ok() || aot == 0) return make_error("HLS: bad AudioSpecificConfig for CODECS");
      return "mp4a.40." + std::to_string(aot);
    }
    case Codec::Opus:
      return std::string("opus");
  }
  return make_error("HLS: unknown codec");
}

}  // namespace sg::hls
