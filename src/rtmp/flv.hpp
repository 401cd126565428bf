#pragma once
// FLV tag bodies as RTMP audio/video messages carry them (FLV 10.1 spec, E.4.2 / E.4.3) and Enhanced RTMP
// (veovera/enhanced-rtmp, v1: the extended video tag header with a FourCC) for H.265:
// - legacy video: FrameType(4) CodecID(4); AVC (7): AVCPacketType, SI24 composition time, then the
//   AVCDecoderConfigurationRecord (sequence header) or length-prefixed NAL units;
// - enhanced video: IsExHeader(1) FrameType(3) PacketType(4) FourCC; hvc1 SequenceStart carries the
//   HEVCDecoderConfigurationRecord, CodedFrames an SI24 composition time then NAL units, CodedFramesX NAL units
//   with composition time 0;
// - audio: SoundFormat(4) rate/size/type; AAC (10): AACPacketType, then the AudioSpecificConfig (sequence header)
//   or one raw AAC frame.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::rtmp {

enum class VideoCodec { H264, H265 };
enum class VideoPacket { SequenceHeader, CodedFrames, EndOfSequence, Ignored };

struct VideoTag {
  VideoCodec codec = VideoCodec::H264;
  VideoPacket packet = VideoPacket::Ignored;
  bool keyframe = false;
  bool enhanced = false;             // Enhanced RTMP header (FourCC)
  int32_t composition_time = 0;      // ms, PTS - DTS
  Bytes data;                        // the configuration record, or length-prefixed NAL units
};
// Fails for codecs this server cannot carry (Sorenson, VP6, av01, vp09, ...), naming them.
Result<VideoTag> parse_video_tag(Bytes body);

enum class AudioPacket { SequenceHeader, RawFrame };
struct AudioTag {
  AudioPacket packet = AudioPacket::RawFrame;
  Bytes data;  // AudioSpecificConfig or one raw AAC frame
};
// AAC only; other sound formats fail, named.
Result<AudioTag> parse_audio_tag(Bytes body);

// Parameter sets from a decoder configuration record (ISO/IEC 14496-15 5.3.3.1 avcC, 8.3.3.1 hvcC).
struct DecoderConfig {
  std::vector<ByteVector> vps, sps, pps;
  int length_size = 4;  // bytes of each NAL unit length prefix in coded frames
};
Result<DecoderConfig> parse_avc_decoder_config(Bytes record);
Result<DecoderConfig> parse_hevc_decoder_config(Bytes record);
// NAL units of coded frames with `length_size`-byte prefixes (views into `data`).
Result<std::vector<Bytes>> split_nal_units(Bytes data, int length_size);

// Tag bodies for sending. H.264 uses the legacy AVC header (every player knows it); H.265 the Enhanced RTMP one
// (hvc1). `payload` is the configuration record (sequence header) or 4-byte length-prefixed NAL units.
ByteVector video_tag_header(VideoCodec codec, VideoPacket packet, bool keyframe, int32_t composition_time);
// AAC: sound format 10, 44 kHz / 16 bit / stereo flags (fixed for AAC, E.4.2.1), then the AACPacketType.
ByteVector audio_tag_header(AudioPacket packet);

}  // namespace sg::rtmp
