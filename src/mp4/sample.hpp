#pragma once
// Input types shared by the fMP4 writer, the MPEG-TS muxer and the HLS segmenter. They are deliberately small and
// independent of src/codec: whoever feeds them has already parsed the codec configuration.
#include <cstdint>

#include "base/bytes.hpp"

namespace sg::mp4 {

// One elementary stream.
struct TrackInfo {
  enum class Codec { H264, H265, AAC, Opus };
  Codec codec = Codec::H264;
  uint32_t timescale = 90000;  // units of Sample::dts / cts_offset / duration (video: 90000, audio: sample rate)
  int width = 0;               // video only, pixels
  int height = 0;
  uint8_t channels = 0;      // audio only
  uint32_t sample_rate = 0;  // audio only, Hz
  // avcC / hvcC record (ISO 14496-15) for video, AudioSpecificConfig for AAC, optionally an OpusHead for Opus.
  ByteVector codec_config;
  // Raw parameter-set NAL units (with their NAL header, without start code). The TS muxer inserts them before
  // every keyframe; the playlist writer takes the CODECS profile/level from `sps`. `vps` is H.265 only.
  ByteVector sps, pps, vps;

  bool is_video() const { return codec == Codec::H264 || codec == Codec::H265; }
};

// One access unit (a video frame or an audio frame) in decode order.
struct Sample {
  int64_t dts = 0;         // decode time in the track timescale, >= 0
  int32_t cts_offset = 0;  // PTS - DTS (B-frames), may be negative
  uint32_t duration = 0;   // in the track timescale
  bool keyframe = false;   // IDR / IRAP for video; every audio frame is a sync sample
  // Video: NAL units each prefixed by a 4-byte big-endian length (AVCC / HVCC form), as they go into mdat; the TS
  // muxer converts them to Annex B. Audio: one raw AAC frame (no ADTS header) or one Opus packet.
  ByteVector data;
};

}  // namespace sg::mp4
