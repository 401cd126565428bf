#pragma once
// A track of a stream: one elementary stream (video or audio) with its codec and parameters, as learned from the
// source's SDP and bitstream.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"

namespace sg::media {

enum class MediaKind { Video, Audio };
enum class CodecId { H264, H265, AAC, Opus, PCMU, PCMA, Unknown };

std::string_view to_string(MediaKind kind);
// The codec's name as users know it (API, logs): H264, H265, AAC, Opus, PCMU, PCMA.
std::string_view to_string(CodecId codec);
// From an SDP rtpmap encoding name (H264, H265, MPEG4-GENERIC, MP4A-LATM, opus, PCMU, PCMA), case-insensitive.
CodecId codec_from_rtpmap(std::string_view encoding);

struct Track {
  MediaKind kind = MediaKind::Video;
  CodecId codec = CodecId::Unknown;
  uint32_t clock_rate = 90000;
  uint8_t channels = 0;        // audio only
  uint8_t payload_type = 96;   // as the source sent it
  std::string encoding_name;   // rtpmap name as the source sent it
  std::string fmtp;            // fmtp parameters as the source sent them (re-used when we re-stream)
  // Parameter sets (H.264: sps/pps; H.265: vps/sps/pps), without start codes; AAC AudioSpecificConfig.
  ByteVector vps, sps, pps;
  ByteVector audio_config;
  int width = 0;
  int height = 0;

  bool operator==(const Track&) const = default;
};

}  // namespace sg::media
