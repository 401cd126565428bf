#pragma once
// MPEG-4 Audio LATM (ISO/IEC 14496-3 1.7.3) as carried by RTP MP4A-LATM (RFC 6416): the StreamMuxConfig that the
// SDP's `config=` holds when cpresent=0, and the AudioMuxElements of the RTP payload without an in-band config.
//
// Supported: audioMuxVersion 0 (and 1 with audioMuxVersionA 0), one program with one layer (all AAC senders:
// GStreamer rtpmp4apay, ffmpeg), 1..64 subframes per AudioMuxElement, frameLengthType 0 (byte lengths in
// PayloadLengthInfo), otherData (skipped), CRC flag. Several programs or layers, other frame length types and
// cpresent=1 (config in every payload) are refused with a reason.
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "codec/aac.hpp"

namespace sg::codec::latm {

struct StreamMuxConfig {
  uint8_t audio_mux_version = 0;
  uint8_t subframes = 1;             // numSubFrames + 1: AAC frames per AudioMuxElement
  ByteVector audio_specific_config;  // the layer's AudioSpecificConfig, re-aligned to bytes (zero-padded)
  aac::AudioSpecificConfig asc;      // ... parsed
  uint32_t other_data_bits = 0;      // otherData after the frames of every AudioMuxElement
  bool crc_present = false;
};

// Parses a StreamMuxConfig. Senders differ in what follows the AudioSpecificConfig: GStreamer's rtpmp4apay writes
// the 15-bit header and the AudioSpecificConfig only, so a config that ends there (or inside latmBufferFullness)
// is read as frameLengthType 0 without otherData or CRC, which is what such senders put in their payloads.
Result<StreamMuxConfig> parse_stream_mux_config(Bytes data);
// The SDP `config=` value (RFC 6416 7.1: hex of the StreamMuxConfig).
Result<StreamMuxConfig> stream_mux_config_from_sdp(std::string_view hex);

// Splits a payload of back-to-back AudioMuxElements with muxConfigPresent 0 (RFC 6416 6.1 with cpresent=0): per
// element, `subframes` times PayloadLengthInfo (a run of 0xFF bytes plus a last byte, summed) and PayloadMux (that
// many bytes), then otherData up to the next byte. Appends views of the AAC frames to `frames` (into `data`).
// Fails, appending nothing, when a length runs past the end or a frame is empty.
Status split_audio_mux_elements(Bytes data, const StreamMuxConfig& config, std::vector<Bytes>& frames);

}  // namespace sg::codec::latm
