#pragma once
// MPEG-4 AAC configuration and framing: AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), the SDP `config=` hex
// (RFC 3640 4.1) and ADTS headers (ISO/IEC 14496-3 1.A.2, used by MPEG-TS).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::codec::aac {

inline constexpr uint8_t kObjectTypeAacLc = 2;
inline constexpr uint8_t kObjectTypeSbr = 5;  // HE-AAC
inline constexpr uint8_t kObjectTypePs = 29;  // HE-AAC v2

// Sampling frequency for samplingFrequencyIndex 0..12, or 0 when reserved.
uint32_t sample_rate_from_index(uint8_t index);
// Index of a standard rate, or nullopt (then the rate is written explicitly).
std::optional<uint8_t> index_from_sample_rate(uint32_t rate);

struct AudioSpecificConfig {
  uint8_t object_type = kObjectTypeAacLc;  // audioObjectType, with escape 31 resolved (32..95)
  uint32_t sample_rate = 0;
  uint8_t channel_config = 0;          // channelConfiguration (0: defined in a PCE)
  uint32_t extension_sample_rate = 0;  // SBR output rate when explicitly signalled (object type 5 or 29)
  bool sbr = false;                    // explicit hierarchical SBR/PS signalling seen
  uint32_t samples_per_frame = 1024;   // 960 when GASpecificConfig frameLengthFlag is set

  uint8_t channels() const { return channel_config == 7 ? 8 : channel_config; }
};

// Parses an AudioSpecificConfig. Bits after the GASpecificConfig's first flag are not interpreted.
Result<AudioSpecificConfig> parse_audio_specific_config(Bytes data);
// An AudioSpecificConfig embedded in a bit stream without a length of its own (LATM StreamMuxConfig with
// audioMuxVersion 0, ISO/IEC 14496-3 1.7.3), starting at bit `start_bit` of data: the config and the bit where it
// ends. The whole GASpecificConfig is read (object types with one: AAC and ER AAC; a program_config_element is not
// supported), then the backward-compatible SBR/PS signalling (syncExtensionType 0x2b7, 1.6.2.1) when it is there
// and at least 16 bits remain before `end_bit` (data's end when 0).
struct AudioSpecificConfigExtent {
  AudioSpecificConfig config;
  size_t end_bit = 0;
};
Result<AudioSpecificConfigExtent> measure_audio_specific_config(Bytes data, size_t start_bit, size_t end_bit = 0);
// Builds an AudioSpecificConfig with a plain GASpecificConfig (frameLengthFlag per samples_per_frame, no core
// coder, no extension). The object type may be 1..95; the rate is indexed when standard, otherwise explicit.
Result<ByteVector> build_audio_specific_config(const AudioSpecificConfig& config);

// RFC 3640 / RFC 6416 `config=` value: the hex of the AudioSpecificConfig (upper case, as most senders write it).
std::string config_to_sdp(Bytes asc);
Result<ByteVector> config_from_sdp(std::string_view hex);

inline constexpr size_t kAdtsHeaderSize = 7;

struct AdtsHeader {
  uint8_t object_type = kObjectTypeAacLc;  // profile + 1
  uint8_t sampling_frequency_index = 0;
  uint32_t sample_rate = 0;
  uint8_t channel_config = 0;
  bool has_crc = false;
  size_t header_size = kAdtsHeaderSize;  // 7, or 9 with CRC
  size_t frame_length = 0;               // header + payload
  uint8_t raw_data_blocks = 1;           // number_of_raw_data_blocks_in_frame + 1
};

// Parses the ADTS header at the start of `data`; data may hold more than one frame. The whole frame must be
// present. The payload is data[header_size, frame_length).
Result<AdtsHeader> parse_adts(Bytes data);
// Builds the 7-byte ADTS header (no CRC) for one raw AAC frame of payload_size bytes. Only object types 1..4 fit
// the 2-bit profile field; the rate must have a standard index.
Result<ByteVector> build_adts_header(const AudioSpecificConfig& config, size_t payload_size);

}  // namespace sg::codec::aac
