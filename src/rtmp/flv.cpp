#include "rtmp/flv.hpp"

namespace sg::rtmp {

namespace {

constexpr uint8_t kCodecAvc = 7;
constexpr uint8_t kSoundAac = 10;

uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 | uint32_t(uint8_t(s[2])) << 8 | uint8_t(s[3]);
}

int32_t si24(Bytes b, size_t at) {
  uint32_t v = be24(b, at);
  return static_cast<int32_t>(v & 0x800000 ? v | 0xff000000u : v);
}

std::string fourcc_text(uint32_t v) {
  std::string s;
  for (int i = 3; i >= 0; --i) {
    char c = static_cast<char>((v >> (8 * i)) & 0xff);
    s += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return s;
}

}  // namespace

Result<VideoTag> parse_video_tag(Bytes body) {
  if (body.empty()) return make_error("FLV video: empty tag");
  const uint8_t b0 = u8(body, 0);
  VideoTag tag;
  if (b0 & 0x80) {
    // Enhanced RTMP: IsExHeader, FrameType (3 bits), VideoPacketType (4 bits), FourCC.
    tag.enhanced = true;
    const uint8_t frame_type = (b0 >> 4) & 0x07;
    const uint8_t packet_type = b0 & 0x0f;
    if (packet_type == 6 || packet_type == 7) return make_error("FLV video: multitrack / ModEx packets are not supported");
    if (body.size() < 5) return make_error("FLV video: truncated FourCC");
    const uint32_t cc = be32(body, 1);
    if (cc != fourcc("hvc1") && cc != fourcc("avc1"))
      return make_error("FLV video: codec '" + fourcc_text(cc) + "' is not supported (H.264 and H.265 are)");
    tag.codec = cc == fourcc("hvc1") ? VideoCodec::H265 : VideoCodec::H264;
    tag.keyframe = frame_type == 1;
    size_t at = 5;
    if (frame_type == 5) return tag;  // a command frame (seek start/end): no media
    switch (packet_type) {
      case 0: tag.packet = VideoPacket::SequenceHeader; break;
      case 1:
        if (body.size() < at + 3) return make_error("FLV video: truncated composition time");
        tag.composition_time = si24(body, at);
        at += 3;
        tag.packet = VideoPacket::CodedFrames;
        break;
      case 2: tag.packet = VideoPacket::EndOfSequence; break;
      case 3: tag.packet = VideoPacket::CodedFrames; break;  // CodedFramesX: composition time 0
      default: return tag;                                    // metadata, MPEG-2 TS sequence start: ignored
    }
    tag.data = body.subspan(at);
    return tag;
  }
  const uint8_t frame_type = b0 >> 4;
  const uint8_t codec = b0 & 0x0f;
  if (codec != kCodecAvc)
    return make_error("FLV video: codec id " + std::to_string(codec) + " is not supported (7 = AVC, or Enhanced RTMP hvc1)");
  tag.codec = VideoCodec::H264;
  tag.keyframe = frame_type == 1;
  if (frame_type == 5) return tag;  // video info / command frame
  if (body.size() < 5) return make_error("FLV video: truncated AVC header");
  switch (u8(body, 1)) {
    case 0: tag.packet = VideoPacket::SequenceHeader; break;
    case 1: tag.packet = VideoPacket::CodedFrames; break;
    case 2: tag.packet = VideoPacket::EndOfSequence; break;
    default: return make_error("FLV video: AVCPacketType " + std::to_string(u8(body, 1)));
  }
  tag.composition_time = si24(body, 2);
  tag.data = body.subspan(5);
  return tag;
}

Result<AudioTag> parse_audio_tag(Bytes body) {
  if (body.empty()) return make_error("FLV audio: empty tag");
  const uint8_t format = u8(body, 0) >> 4;
  if (format != kSoundAac)
    return make_error("FLV audio: sound format " + std::to_string(format) + " is not supported (10 = AAC)");
  if (body.size() < 2) return make_error("FLV audio: truncated AAC header");
  AudioTag tag;
  switch (u8(body, 1)) {
    case 0: tag.packet = AudioPacket::SequenceHeader; break;
    case 1: tag.packet = AudioPacket::RawFrame; break;
    default: return make_error("FLV audio: AACPacketType " + std::to_string(u8(body, 1)));
  }
  tag.data = body.subspan(2);
  return tag;
}

Result<DecoderConfig> parse_avc_decoder_config(Bytes r) {
  // configurationVersion, profile, compatibility, level, 6 bits reserved + lengthSizeMinusOne,
  // 3 bits reserved + numOfSequenceParameterSets, then (u16 length, NAL) each; numOfPictureParameterSets, likewise.
  if (r.size() < 6) return make_error("avcC: truncated header");
  if (u8(r, 0) != 1) return make_error("avcC: configurationVersion " + std::to_string(u8(r, 0)));
  DecoderConfig c;
  c.length_size = (u8(r, 4) & 0x03) + 1;
  if (c.length_size == 3) return make_error("avcC: 3-byte NAL lengths");
  size_t at = 5;
  for (int list = 0; list < 2; ++list) {
    if (at >= r.size()) return make_error("avcC: truncated parameter set count");
    size_t count = list == 0 ? (u8(r, at) & 0x1f) : u8(r, at);
    ++at;
    for (size_t i = 0; i < count; ++i) {
      if (r.size() - at < 2) return make_error("avcC: truncated parameter set length");
      size_t n = be16(r, at);
      at += 2;
      if (r.size() - at < n || n == 0) return make_error("avcC: bad parameter set length");
      (list == 0 ? c.sps : c.pps).push_back(to_vector(r.subspan(at, n)));
      at += n;
    }
  }
  if (c.sps.empty()) return make_error("avcC: no SPS");
  return c;
}

Result<DecoderConfig> parse_hevc_decoder_config(Bytes r) {
  // 22 bytes of profile/tier/level and format fields; byte 21 ends with lengthSizeMinusOne; byte 22 numOfArrays;
  // each array: type byte (NAL type in the low 6 bits), u16 numNalus, then (u16 length, NAL) each.
  if (r.size() < 23) return make_error("hvcC: truncated header");
  if (u8(r, 0) != 1) return make_error("hvcC: configurationVersion " + std::to_string(u8(r, 0)));
  DecoderConfig c;
  c.length_size = (u8(r, 21) & 0x03) + 1;
  if (c.length_size == 3) return make_error("hvcC: 3-byte NAL lengths");
  size_t arrays = u8(r, 22);
  size_t at = 23;
  for (size_t a = 0; a < arrays; ++a) {
    if (r.size() - at < 3) return make_error("hvcC: truncated array header");
    uint8_t type = u8(r, at) & 0x3f;
    size_t count = be16(r, at + 1);
    at += 3;
    for (size_t i = 0; i < count; ++i) {
      if (r.size() - at < 2) return make_error("hvcC: truncated NAL length");
      size_t n = be16(r, at);
      at += 2;
      if (r.size() - at < n || n == 0) return make_error("hvcC: bad NAL length");
      auto nal = to_vector(r.subspan(at, n));
      if (type == 32) c.vps.push_back(std::move(nal));
      else if (type == 33) c.sps.push_back(std::move(nal));
      else if (type == 34) c.pps.push_back(std::move(nal));
      at += n;
    }
  }
  if (c.vps.empty() || c.sps.empty() || c.pps.empty()) return make_error("hvcC: needs a VPS, an SPS and a PPS");
  return c;
}

Result<std::vector<Bytes>> split_nal_units(Bytes data, int length_size) {
  if (length_size != 1 && length_size != 2 && length_size != 4) return make_error("NAL length size " + std::to_string(length_size));
  std::vector<Bytes> out;
  size_t at = 0;
  const size_t ls = static_cast<size_t>(length_size);
  while (at < data.size()) {
    if (data.size() - at < ls) return make_error("coded frame: truncated NAL length");
    size_t n = length_size == 4 ? be32(data, at) : length_size == 2 ? be16(data, at) : u8(data, at);
    at += ls;
    if (data.size() - at < n) return make_error("coded frame: NAL unit of " + std::to_string(n) + " bytes overruns the tag");
    if (n > 0) out.push_back(data.subspan(at, n));
    at += n;
  }
  return out;
}

ByteVector video_tag_header(VideoCodec codec, VideoPacket packet, bool keyframe, int32_t composition_time) {
  ByteVector out;
  const uint8_t frame_type = keyframe ? 1 : 2;
  const uint32_t ct = static_cast<uint32_t>(composition_time) & 0xffffff;
  if (codec == VideoCodec::H264) {
    append8(out, static_cast<uint8_t>(frame_type << 4 | kCodecAvc));
    append8(out, packet == VideoPacket::SequenceHeader ? 0 : packet == VideoPacket::EndOfSequence ? 2 : 1);
    append24(out, packet == VideoPacket::CodedFrames ? ct : 0);
    return out;
  }
  const uint8_t packet_type = packet == VideoPacket::SequenceHeader ? 0 : packet == VideoPacket::EndOfSequence ? 2 : 1;
  append8(out, static_cast<uint8_t>(0x80 | frame_type << 4 | packet_type));
  append32(out, fourcc("hvc1"));
  if (packet_type == 1) append24(out, ct);
  return out;
}

ByteVector audio_tag_header(AudioPacket packet) {
  ByteVector out;
  append8(out, static_cast<uint8_t>(kSoundAac << 4 | 0x0f));  // 44 kHz, 16 bit, stereo (E.4.2.1: always for AAC)
  append8(out, packet == AudioPacket::SequenceHeader ? 0 : 1);
  return out;
}

}  // namespace sg::rtmp
