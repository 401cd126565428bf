#include "codec/aac.hpp"

#include <fmt/format.h>

#include <array>

#include "base/bit_reader.hpp"

namespace sg::codec::aac {

namespace {

constexpr std::array<uint32_t, 13> kSampleRates = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                                   22050, 16000, 12000, 11025, 8000,  7350};

// Appends bits MSB-first.
class BitWriter {
 public:
  void put(uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i) {
      if (bits_ % 8 == 0) out_.push_back(std::byte{0});
      if ((value >> i) & 1) out_.back() |= std::byte(0x80 >> (bits_ % 8));
      ++bits_;
    }
  }
  ByteVector take() { return std::move(out_); }

 private:
  ByteVector out_;
  size_t bits_ = 0;
};

uint8_t read_object_type(BitReader& br) {
  uint32_t t = br.bits(5);
  if (t == 31) t = 32 + br.bits(6);  // audioObjectTypeExt
  return static_cast<uint8_t>(t);
}

Result<uint32_t> read_sample_rate(BitReader& br) {
  uint32_t index = br.bits(4);
  if (index == 0x0f) return br.bits(24);
  uint32_t rate = sample_rate_from_index(static_cast<uint8_t>(index));
  if (rate == 0) return make_error(fmt::format("AAC config: reserved samplingFrequencyIndex {}", index));
  return rate;
}

bool has_ga_specific_config(uint8_t t) {
  // ISO/IEC 14496-3 1.6.2.1: GASpecificConfig object types.
  return (t >= 1 && t <= 4) || t == 6 || t == 7 || t == 17 || (t >= 19 && t <= 23);
}

// The fields every AudioSpecificConfig starts with: object type, rates, channels, and the core object type after
// explicit hierarchical SBR/PS signalling (object type 5 or 29). Returns whether that signalling was explicit.
Result<bool> read_config_header(BitReader& br, AudioSpecificConfig& c) {
  c.object_type = read_object_type(br);
  if (c.object_type == 0) return make_error("AAC config: audioObjectType 0 (null)");
  auto rate = read_sample_rate(br);
  if (!rate) return make_error(rate.error());
  c.sample_rate = *rate;
  c.channel_config = static_cast<uint8_t>(br.bits(4));
  if (c.object_type != kObjectTypeSbr && c.object_type != kObjectTypePs) return false;
  c.sbr = true;
  auto ext = read_sample_rate(br);
  if (!ext) return make_error(ext.error());
  c.extension_sample_rate = *ext;
  c.object_type = read_object_type(br);
  if (c.object_type == 22) br.bits(4);  // extensionChannelConfiguration (ER BSAC)
  return true;
}

}  // namespace

uint32_t sample_rate_from_index(uint8_t index) { return index < kSampleRates.size() ? kSampleRates[index] : 0; }

std::optional<uint8_t> index_from_sample_rate(uint32_t rate) {
  for (size_t i = 0; i < kSampleRates.size(); ++i) {
    if (kSampleRates[i] == rate) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

Result<AudioSpecificConfig> parse_audio_specific_config(Bytes data) {
  if (data.size() < 2) return make_error(fmt::format("AAC config: too short ({} bytes)", data.size()));
  BitReader br(data);
  AudioSpecificConfig c;
  if (auto header = read_config_header(br, c); !header) return make_error(header.error());
  if (has_ga_specific_config(c.object_type)) {
    c.samples_per_frame = br.bit() ? 960 : 1024;  // frameLengthFlag
  }
  if (!br.ok()) return make_error(fmt::format("AAC config: truncated ({} bytes)", data.size()));
  if (c.sample_rate == 0) return make_error("AAC config: sampling frequency 0");
  return c;
}

Result<AudioSpecificConfigExtent> measure_audio_specific_config(Bytes data, size_t start_bit, size_t end_bit) {
  const size_t total = data.size() * 8;
  if (end_bit == 0 || end_bit > total) end_bit = total;
  if (start_bit >= end_bit) return make_error("AAC config: empty");
  BitReader br(data.first((end_bit + 7) / 8));
  br.skip(start_bit);
  auto left = [&] { return br.position() >= end_bit ? size_t{0} : end_bit - br.position(); };
  AudioSpecificConfig c;
  auto header = read_config_header(br, c);
  if (!header) return make_error(header.error());
  const bool explicit_sbr = *header;
  const uint8_t t = c.object_type;
  if (!has_ga_specific_config(t)) {
    return make_error(fmt::format("AAC config: audioObjectType {} has no GASpecificConfig (not supported)", t));
  }
  // 4.4.1 GASpecificConfig.
  c.samples_per_frame = br.bit() ? 960 : 1024;  // frameLengthFlag
  if (br.bit()) br.skip(14);                    // dependsOnCoreCoder: coreCoderDelay
  const bool extension_flag = br.bit() != 0;
  if (c.channel_config == 0)
    return make_error("AAC config: channelConfiguration 0 (program_config_element) not supported");
  if (t == 6 || t == 20) br.skip(3);  // layerNr
  if (extension_flag) {
    if (t == 22) br.skip(5 + 11);                              // numOfSubFrame, layer_length
    if (t == 17 || t == 19 || t == 20 || t == 23) br.skip(3);  // the three resilience flags
    br.skip(1);                                                // extensionFlag3
  }
  if (t == 17 || (t >= 19 && t <= 27)) {
    const uint32_t ep_config = br.bits(2);
    if (ep_config == 2 || ep_config == 3)
      return make_error(fmt::format("AAC config: epConfig {} not supported", ep_config));
  }
  if (!br.ok() || br.position() > end_bit) return make_error("AAC config: truncated");
  // 1.6.2.1: backward-compatible extension signalling after the config.
  if (!explicit_sbr && left() >= 16) {
    BitReader peek = br;
    if (peek.bits(11) == 0x2b7) {
      br.skip(11);
      const uint8_t ext_type = read_object_type(br);
      if (ext_type == kObjectTypeSbr) {
        c.sbr = br.bit() != 0;  // sbrPresentFlag
        if (c.sbr) {
          auto ext = read_sample_rate(br);
          if (!ext) return make_error(ext.error());
          c.extension_sample_rate = *ext;
          if (left() >= 12) {
            BitReader peek_ps = br;
            if (peek_ps.bits(11) == 0x548) br.skip(12);  // syncExtensionType PS, psPresentFlag
          }
        }
      } else if (ext_type == 22) {
        if (br.bit()) {  // sbrPresentFlag
          auto ext = read_sample_rate(br);
          if (!ext) return make_error(ext.error());
          c.extension_sample_rate = *ext;
          c.sbr = true;
        }
        br.skip(4);  // extensionChannelConfiguration
      }
      if (!br.ok() || br.position() > end_bit) return make_error("AAC config: truncated extension signalling");
    }
  }
  if (c.sample_rate == 0) return make_error("AAC config: sampling frequency 0");
  return AudioSpecificConfigExtent{c, br.position()};
}

Result<ByteVector> build_audio_specific_config(const AudioSpecificConfig& c) {
  if (c.object_type == 0 || c.object_type > 95) {
    return make_error(fmt::format("AAC config: object type {} out of range", c.object_type));
  }
  if (c.sample_rate == 0 || c.sample_rate > 0xffffff) {
    return make_error(fmt::format("AAC config: sample rate {} out of range", c.sample_rate));
  }
  if (c.channel_config > 15) return make_error("AAC config: channel configuration > 15");
  BitWriter w;
  if (c.object_type >= 31) {
    w.put(31, 5);
    w.put(c.object_type - 32u, 6);
  } else {
    w.put(c.object_type, 5);
  }
  if (auto index = index_from_sample_rate(c.sample_rate)) {
    w.put(*index, 4);
  } else {
    w.put(0x0f, 4);
    w.put(c.sample_rate, 24);
  }
  w.put(c.channel_config, 4);
  if (has_ga_specific_config(c.object_type)) {
    w.put(c.samples_per_frame == 960 ? 1 : 0, 1);  // frameLengthFlag
    w.put(0, 1);                                   // dependsOnCoreCoder
    w.put(0, 1);                                   // extensionFlag
  }
  return w.take();
}

std::string config_to_sdp(Bytes asc) {
  std::string hex = to_hex(asc);
  for (char& ch : hex) {
    if (ch >= 'a' && ch <= 'f') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return hex;
}

Result<ByteVector> config_from_sdp(std::string_view hex) {
  ByteVector out = from_hex(hex);
  if (out.empty()) return make_error(fmt::format("AAC config: bad hex '{}'", hex));
  return out;
}

Result<AdtsHeader> parse_adts(Bytes data) {
  if (data.size() < kAdtsHeaderSize) return make_error(fmt::format("ADTS: too short ({} bytes)", data.size()));
  if (u8(data, 0) != 0xff || (u8(data, 1) & 0xf0) != 0xf0) return make_error("ADTS: no syncword");
  if ((u8(data, 1) & 0x06) != 0) return make_error("ADTS: layer is not 0");
  AdtsHeader h;
  h.has_crc = (u8(data, 1) & 0x01) == 0;  // protection_absent == 0
  h.header_size = h.has_crc ? 9 : 7;
  h.object_type = static_cast<uint8_t>((u8(data, 2) >> 6) + 1);
  h.sampling_frequency_index = (u8(data, 2) >> 2) & 0x0f;
  h.sample_rate = sample_rate_from_index(h.sampling_frequency_index);
  if (h.sample_rate == 0) {
    return make_error(fmt::format("ADTS: reserved sampling_frequency_index {}", h.sampling_frequency_index));
  }
  h.channel_config = static_cast<uint8_t>((u8(data, 2) & 0x01) << 2 | u8(data, 3) >> 6);
  h.frame_length = size_t{u8(data, 3) & 0x03u} << 11 | size_t{u8(data, 4)} << 3 | u8(data, 5) >> 5;
  h.raw_data_blocks = static_cast<uint8_t>((u8(data, 6) & 0x03) + 1);
  if (h.frame_length < h.header_size) {
    return make_error(fmt::format("ADTS: frame_length {} shorter than the header", h.frame_length));
  }
  if (h.frame_length > data.size()) {
    return make_error(fmt::format("ADTS: frame_length {} but only {} bytes", h.frame_length, data.size()));
  }
  return h;
}

Result<ByteVector> build_adts_header(const AudioSpecificConfig& c, size_t payload_size) {
  if (c.object_type < 1 || c.object_type > 4) {
    return make_error(fmt::format("ADTS: object type {} does not fit the profile field", c.object_type));
  }
  auto index = index_from_sample_rate(c.sample_rate);
  if (!index) return make_error(fmt::format("ADTS: sample rate {} has no index", c.sample_rate));
  if (c.channel_config > 7) return make_error("ADTS: channel configuration > 7");
  const size_t frame_length = payload_size + kAdtsHeaderSize;
  if (frame_length > 0x1fff) return make_error(fmt::format("ADTS: frame of {} bytes too long", frame_length));
  BitWriter w;
  w.put(0xfff, 12);  // syncword
  w.put(0, 1);       // ID: MPEG-4
  w.put(0, 2);       // layer
  w.put(1, 1);       // protection_absent
  w.put(c.object_type - 1u, 2);
  w.put(*index, 4);
  w.put(0, 1);  // private_bit
  w.put(c.channel_config, 3);
  w.put(0, 4);  // original_copy, home, copyright_identification_bit, copyright_identification_start
  w.put(static_cast<uint32_t>(frame_length), 13);
  w.put(0x7ff, 11);  // adts_buffer_fullness: VBR
  w.put(0, 2);       // number_of_raw_data_blocks_in_frame - 1
  return w.take();
}

}  // namespace sg::codec::aac
