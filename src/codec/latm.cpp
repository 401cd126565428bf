#include "codec/latm.hpp"

#include <fmt/format.h>

#include "base/bit_reader.hpp"

namespace sg::codec::latm {

namespace {

// 1.7.3 LatmGetValue(): bytesForValue (2 bits), then that many + 1 bytes.
uint32_t latm_get_value(BitReader& br) {
  const int bytes = static_cast<int>(br.bits(2)) + 1;
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | br.bits(8);
  return v;
}

// Copies bits [begin, end) of data into bytes, MSB first, the last byte zero-padded.
ByteVector copy_bits(Bytes data, size_t begin, size_t end) {
  BitReader br(data);
  br.skip(begin);
  ByteVector out((end - begin + 7) / 8, std::byte{0});
  for (size_t i = 0; begin + i < end; ++i) {
    if (br.bit()) out[i / 8] |= std::byte(0x80 >> (i % 8));
  }
  return out;
}

}  // namespace

Result<StreamMuxConfig> parse_stream_mux_config(Bytes data) {
  const size_t total = data.size() * 8;
  BitReader br(data);
  StreamMuxConfig c;
  c.audio_mux_version = static_cast<uint8_t>(br.bit());
  if (c.audio_mux_version == 1) {
    if (br.bit()) return make_error("LATM config: audioMuxVersionA 1 not supported");
    latm_get_value(br);  // taraBufferFullness
  }
  br.bit();  // allStreamsSameTimeFraming: with one layer, nothing depends on it
  c.subframes = static_cast<uint8_t>(br.bits(6) + 1);
  const uint32_t programs = br.bits(4) + 1;
  const uint32_t layers = br.bits(3) + 1;
  if (!br.ok()) return make_error(fmt::format("LATM config: truncated header ({} bytes)", data.size()));
  if (programs != 1 || layers != 1) {
    return make_error(fmt::format("LATM config: {} programs / {} layers (only 1 / 1 supported)", programs, layers));
  }
  // The first layer always carries its AudioSpecificConfig (useSameConfig is implied 0).
  size_t asc_end = total;
  if (c.audio_mux_version == 1) {
    const uint32_t asc_len = latm_get_value(br);  // in bits
    if (!br.ok() || asc_len == 0 || asc_len > br.remaining()) {
      return make_error(fmt::format("LATM config: ascLen {} bits exceeds the config", asc_len));
    }
    asc_end = br.position() + asc_len;
  }
  const size_t asc_begin = br.position();
  auto asc = aac::measure_audio_specific_config(data, asc_begin, asc_end);
  if (!asc) return make_error("LATM config: " + asc.error());
  c.asc = asc->config;
  if (c.audio_mux_version == 1) {
    c.audio_specific_config = copy_bits(data, asc_begin, asc_end);  // fillBits included: the length is given
    br.skip(asc_end - asc_begin);
  } else {
    c.audio_specific_config = copy_bits(data, asc_begin, asc->end_bit);
    br.skip(asc->end_bit - asc_begin);
  }
  // What follows may be missing (see the header): then frameLengthType 0 and nothing else.
  if (br.remaining() < 3) return c;
  const uint32_t frame_length_type = br.bits(3);
  if (frame_length_type != 0) {
    return make_error(fmt::format("LATM config: frameLengthType {} not supported (only 0)", frame_length_type));
  }
  if (br.remaining() < 8 + 1) return c;
  br.skip(8);  // latmBufferFullness
  // coreFrameOffset only exists for a second layer: not here.
  if (br.bit()) {  // otherDataPresent
    if (c.audio_mux_version == 1) {
      c.other_data_bits = latm_get_value(br);
    } else {
      uint32_t esc = 0;
      int rounds = 0;
      do {
        esc = br.bit();
        c.other_data_bits = (c.other_data_bits << 8) | br.bits(8);
      } while (esc && ++rounds < 4);
      if (esc) return make_error("LATM config: otherDataLenBits too long");
    }
    if (!br.ok()) return make_error("LATM config: truncated otherDataLenBits");
  }
  if (br.remaining() >= 1) {
    c.crc_present = br.bit() != 0;
    if (c.crc_present) br.skip(8);  // crcCheckSum
  }
  return c;
}

Result<StreamMuxConfig> stream_mux_config_from_sdp(std::string_view hex) {
  ByteVector bytes = from_hex(hex);
  if (bytes.empty()) return make_error(fmt::format("LATM config: bad hex '{}'", hex));
  return parse_stream_mux_config(bytes);
}

Status split_audio_mux_elements(Bytes data, const StreamMuxConfig& config, std::vector<Bytes>& frames) {
  const size_t first = frames.size();
  auto fail = [&](std::string reason) -> Status {
    frames.resize(first);
    return make_error(std::move(reason));
  };
  if (data.empty()) return fail("LATM: empty payload");
  size_t pos = 0;
  while (pos < data.size()) {
    for (uint32_t s = 0; s < config.subframes; ++s) {
      // 1.7.3 PayloadLengthInfo, frameLengthType 0: bytes of 255 continue the length.
      size_t length = 0;
      uint8_t tmp = 0;
      do {
        if (pos >= data.size())
          return fail(fmt::format("LATM: PayloadLengthInfo runs past the payload ({} bytes)", data.size()));
        tmp = u8(data, pos++);
        length += tmp;
      } while (tmp == 255);
      if (length == 0) return fail("LATM: empty PayloadMux");
      if (length > data.size() - pos) {
        return fail(fmt::format("LATM: frame of {} bytes but {} left in the payload", length, data.size() - pos));
      }
      frames.push_back(data.subspan(pos, length));
      pos += length;
    }
    const size_t other = (config.other_data_bits + 7) / 8;  // otherData, then byte_alignment()
    if (other > data.size() - pos) return fail("LATM: otherData runs past the payload");
    pos += other;
  }
  return Ok{};
}

}  // namespace sg::codec::latm
