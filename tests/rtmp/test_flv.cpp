#include <gtest/gtest.h>

#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "rtmp/flv.hpp"
#include "rtmp/handshake.hpp"
#include "rtmp/stream_name.hpp"

namespace sg::rtmp {
namespace {

// avcC written by ffmpeg for a 64x48 High profile stream (tests/codec/test_h264.cpp).
const char* kAvcC = "0164000affe100186764000aacd9447b011000000300100000030320f122596001000668ebe3cb22c0fdf8f800";
const char* kSps64x48 = "6764000aacd9447b011000000300100000030320f1225960";
const char* kPps64x48 = "68ebe3cb22c0";
// libx265 parameter sets of a 64x64 picture (tests/codec/test_h265.cpp).
const char* kVps64 = "40010c01ffff01600000030090000003000003001e959809";
const char* kSps64 = "42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84";
const char* kPps64 = "4401c172b42240";

TEST(FlvVideo, AvcSequenceHeaderGivesSpsAndPps) {
  // FLV E.4.3.1: keyframe (1) + AVC (7), AVCPacketType 0, composition time 0, then the avcC.
  ByteVector tag = from_hex(std::string("1700000000") + kAvcC);
  auto v = parse_video_tag(tag);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(v->codec, VideoCodec::H264);
  EXPECT_EQ(v->packet, VideoPacket::SequenceHeader);
  EXPECT_TRUE(v->keyframe);
  EXPECT_FALSE(v->enhanced);
  auto config = parse_avc_decoder_config(v->data);
  ASSERT_TRUE(config.ok()) << config.error();
  ASSERT_EQ(config->sps.size(), 1u);
  EXPECT_EQ(to_hex(config->sps[0]), kSps64x48);
  EXPECT_EQ(to_hex(config->pps[0]), kPps64x48);
  EXPECT_EQ(config->length_size, 4);
}

TEST(FlvVideo, AvcNaluTagCarriesSignedCompositionTime) {
  // Inter frame (2), AVC, AVCPacketType 1, composition time 80 ms, two length-prefixed NAL units.
  ByteVector tag = from_hex("2701000050 00000002 0910 00000003 419a21");
  auto v = parse_video_tag(tag);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(v->packet, VideoPacket::CodedFrames);
  EXPECT_FALSE(v->keyframe);
  EXPECT_EQ(v->composition_time, 80);
  auto nalus = split_nal_units(v->data, 4);
  ASSERT_TRUE(nalus.ok());
  ASSERT_EQ(nalus->size(), 2u);
  EXPECT_EQ(to_hex((*nalus)[1]), "419a21");
  // SI24: 0xFFFFD8 = -40.
  auto neg = parse_video_tag(from_hex("2701ffffd8"));
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->composition_time, -40);
}

TEST(FlvVideo, EnhancedRtmpHevcSequenceStartAndCodedFrames) {
  // Enhanced RTMP v1 (veovera/enhanced-rtmp): IsExHeader 1, FrameType 1 (key), PacketType 0 SequenceStart,
  // FourCC 'hvc1', then the HEVCDecoderConfigurationRecord.
  ByteVector vps = from_hex(kVps64), sps = from_hex(kSps64), pps = from_hex(kPps64);
  auto hvcc = codec::h265::build_hvcc({vps}, {sps}, {pps});
  ASSERT_TRUE(hvcc.ok()) << hvcc.error();
  ByteVector start = from_hex("90 68766331");
  append(start, *hvcc);
  auto v = parse_video_tag(start);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_TRUE(v->enhanced);
  EXPECT_EQ(v->codec, VideoCodec::H265);
  EXPECT_EQ(v->packet, VideoPacket::SequenceHeader);
  auto config = parse_hevc_decoder_config(v->data);
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(to_hex(config->vps[0]), kVps64);
  EXPECT_EQ(to_hex(config->sps[0]), kSps64);
  EXPECT_EQ(to_hex(config->pps[0]), kPps64);
  // CodedFrames (1): SI24 composition time, NAL units. CodedFramesX (3): no composition time.
  ByteVector coded_bytes = from_hex("91 68766331 000028 00000003 260101");
  auto coded = parse_video_tag(coded_bytes);
  ASSERT_TRUE(coded.ok()) << coded.error();
  EXPECT_EQ(coded->packet, VideoPacket::CodedFrames);
  EXPECT_EQ(coded->composition_time, 40);
  EXPECT_EQ(to_hex(coded->data), "00000003260101");
  ByteVector codedx_bytes = from_hex("a3 68766331 00000003 020101");
  auto codedx = parse_video_tag(codedx_bytes);
  ASSERT_TRUE(codedx.ok()) << codedx.error();
  EXPECT_FALSE(codedx->keyframe);
  EXPECT_EQ(codedx->composition_time, 0);
  EXPECT_EQ(to_hex(codedx->data), "00000003020101");
}

TEST(FlvVideo, WrittenHeadersParseBack) {
  for (auto codec : {VideoCodec::H264, VideoCodec::H265}) {
    ByteVector tag = video_tag_header(codec, VideoPacket::CodedFrames, true, -33);
    append(tag, from_hex("00000001 65"));
    auto v = parse_video_tag(tag);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->codec, codec);
    EXPECT_TRUE(v->keyframe);
    EXPECT_EQ(v->composition_time, -33);
    EXPECT_EQ(to_hex(v->data), "0000000165");
  }
  EXPECT_EQ(to_hex(video_tag_header(VideoCodec::H265, VideoPacket::SequenceHeader, true, 0)), "9068766331");
}

TEST(FlvVideo, UnsupportedCodecsAreNamed) {
  auto vp6 = parse_video_tag(from_hex("14 00"));
  ASSERT_FALSE(vp6.ok());
  EXPECT_NE(vp6.error().find("codec id 4"), std::string::npos);
  auto av1 = parse_video_tag(from_hex("90 61763031 00"));
  ASSERT_FALSE(av1.ok());
  EXPECT_NE(av1.error().find("av01"), std::string::npos);
  EXPECT_FALSE(parse_video_tag({}).ok());
  EXPECT_FALSE(parse_video_tag(from_hex("17 00")).ok());
}

TEST(FlvVideo, NalLengthsOverrunningTheTagFail) {
  EXPECT_FALSE(split_nal_units(from_hex("00000005 6501"), 4).ok());
  EXPECT_FALSE(split_nal_units(from_hex("0000"), 4).ok());
  EXPECT_FALSE(parse_avc_decoder_config(from_hex("0164000affe1 0018 6764")).ok());
  EXPECT_FALSE(parse_hevc_decoder_config(from_hex("01")).ok());
}

TEST(FlvAudio, AacSequenceHeaderAndRawFrame) {
  // FLV E.4.2.1: SoundFormat 10 (AAC), 44 kHz, 16 bit, stereo = 0xAF; AACPacketType 0 = AudioSpecificConfig.
  ByteVector header_bytes = from_hex("af00 1210"), raw_bytes = from_hex("af01 210049");
  auto header = parse_audio_tag(header_bytes);
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_EQ(header->packet, AudioPacket::SequenceHeader);
  EXPECT_EQ(to_hex(header->data), "1210");
  auto raw = parse_audio_tag(raw_bytes);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->packet, AudioPacket::RawFrame);
  EXPECT_EQ(to_hex(raw->data), "210049");
  EXPECT_EQ(to_hex(audio_tag_header(AudioPacket::SequenceHeader)), "af00");
  auto mp3 = parse_audio_tag(from_hex("2f ff"));
  ASSERT_FALSE(mp3.ok());
  EXPECT_NE(mp3.error().find("sound format 2"), std::string::npos);
}

TEST(RtmpHandshake, S2EchoesC1AndS1HasNoDigestVersion) {
  ByteVector c0c1(1537);
  c0c1[0] = std::byte{3};
  for (size_t i = 1; i < c0c1.size(); ++i) c0c1[i] = std::byte(i * 7);
  ByteVector random(1528, std::byte{0x5a});
  auto s = server_handshake(c0c1, random);
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->size(), 3073u);
  EXPECT_EQ(u8(*s, 0), 3);
  EXPECT_EQ(be32(*s, 5), 0u);  // S1 zero field: ffmpeg/librtmp then skip the digest check
  EXPECT_TRUE(std::equal(s->begin() + 1537, s->end(), c0c1.begin() + 1));
  c0c1[0] = std::byte{6};  // RTMPE
  EXPECT_FALSE(server_handshake(c0c1, random).ok());
  EXPECT_FALSE(server_handshake(Bytes(c0c1).first(100), random).ok());
}

TEST(RtmpStreamName, BothUrlFormsAddressTheSameStream) {
  // rtmp://host/live/cam (app "live", name "cam") and rtmp://host/cam (app "" + name "cam", or app "cam").
  EXPECT_EQ(stream_target("live", "cam")->path, "cam");
  EXPECT_EQ(stream_target("", "cam")->path, "cam");
  EXPECT_EQ(stream_target("cam", "")->path, "cam");
  EXPECT_EQ(stream_target("live/x", "a/cam")->path, "cam");
  EXPECT_FALSE(stream_target("", "").ok());
}

TEST(RtmpStreamName, CredentialsFromNameAppOrTcUrl) {
  auto t = stream_target("live", "cam?user=pub&pass=s%40cret");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "cam");
  EXPECT_EQ(t->user, "pub");
  EXPECT_EQ(t->pass, "s@cret");
  auto a = stream_target("live?user=u&pass=p", "cam");
  EXPECT_EQ(a->user, "u");
  EXPECT_EQ(a->pass, "p");
  auto tc = stream_target("live", "cam", "rtmp://h/live?user=x&pass=y");
  EXPECT_EQ(tc->user, "x");
  EXPECT_EQ(tc->pass, "y");
  auto none = stream_target("live", "cam?jwt=abc");
  EXPECT_TRUE(none->user.empty());
  EXPECT_EQ(none->query, "jwt=abc");
}

}  // namespace
}  // namespace sg::rtmp
