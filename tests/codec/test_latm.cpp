#include <gtest/gtest.h>

#include "codec/latm.hpp"

namespace sg::codec::latm {
namespace {

// Writes fields MSB first, to build the StreamMuxConfigs that no captured sender writes.
struct Bits {
  ByteVector out;
  size_t n = 0;
  Bits& put(uint32_t value, int bits) {
    for (int i = bits - 1; i >= 0; --i, ++n) {
      if (n % 8 == 0) out.push_back(std::byte{0});
      if ((value >> i) & 1) out.back() |= std::byte(0x80 >> (n % 8));
    }
    return *this;
  }
  Bits& put_bytes(std::string_view hex, size_t bits) {
    ByteVector b = from_hex(hex);
    for (size_t i = 0; i < bits; ++i) put((std::to_integer<uint32_t>(b[i / 8]) >> (7 - i % 8)) & 1, 1);
    return *this;
  }
  // audioMuxVersion 0 header: allStreamsSameTimeFraming 1, numSubFrames, one program, one layer.
  Bits& header_v0(uint32_t num_subframes = 0) { return put(0, 1).put(1, 1).put(num_subframes, 6).put(0, 4).put(0, 3); }
};

TEST(LatmConfig, ParsesGStreamerRtspClientSinkConfigWithSbrSyncExtension) {
  // a=fmtp:96 cpresent=0;config=40002410adca00 from GStreamer 1.22 rtspclientsink (rtpmp4apay) publishing
  // avenc_aac at 44.1 kHz mono: the header, then ffmpeg's AudioSpecificConfig 120856e500 (AAC-LC plus the
  // 0x2b7 sync extension) shifted by 15 bits, and nothing after it (no frameLengthType / latmBufferFullness).
  auto c = stream_mux_config_from_sdp("40002410adca00");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->audio_mux_version, 0);
  EXPECT_EQ(c->subframes, 1);
  EXPECT_EQ(to_hex(c->audio_specific_config), "120856e500");
  EXPECT_EQ(c->asc.object_type, aac::kObjectTypeAacLc);
  EXPECT_EQ(c->asc.sample_rate, 44100u);
  EXPECT_EQ(c->asc.channels(), 1);
  EXPECT_FALSE(c->asc.sbr);
  EXPECT_EQ(c->other_data_bits, 0u);
  EXPECT_FALSE(c->crc_present);
}

TEST(LatmConfig, ParsesCompleteConfigAsFfmpegRtpMuxerWritesIt) {
  // ffmpeg's MP4A-LATM SDP: header, 2-byte ASC (AAC-LC 44.1 kHz mono), frameLengthType 0, latmBufferFullness
  // 0xff, otherDataPresent 0, crcCheckPresent 0.
  auto c = stream_mux_config_from_sdp("400024103FC0");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(to_hex(c->audio_specific_config), "1208");
  EXPECT_EQ(c->asc.sample_rate, 44100u);
  EXPECT_EQ(c->other_data_bits, 0u);
  EXPECT_FALSE(c->crc_present);
}

TEST(LatmConfig, ReadsSubframesOtherDataAndCrc) {
  Bits b;
  b.header_v0(2).put_bytes("1190", 16);  // AAC-LC 48 kHz stereo
  b.put(0, 3).put(0xff, 8);              // frameLengthType 0, latmBufferFullness
  b.put(1, 1).put(0, 1).put(16, 8);      // otherDataPresent, otherDataLenEsc 0, otherDataLenTmp 16
  b.put(1, 1).put(0xab, 8);              // crcCheckPresent, crcCheckSum
  auto c = parse_stream_mux_config(b.out);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->subframes, 3);
  EXPECT_EQ(to_hex(c->audio_specific_config), "1190");
  EXPECT_EQ(c->asc.sample_rate, 48000u);
  EXPECT_EQ(c->asc.channels(), 2);
  EXPECT_EQ(c->other_data_bits, 16u);
  EXPECT_TRUE(c->crc_present);
}

TEST(LatmConfig, ParsesAudioMuxVersion1WithAscLength) {
  Bits b;
  b.put(1, 1).put(0, 1).put(0, 2).put(0xff, 8);  // audioMuxVersion 1, A 0, taraBufferFullness
  b.put(1, 1).put(0, 6).put(0, 4).put(0, 3);     // allStreamsSameTimeFraming, numSubFrames, numProgram, numLayer
  b.put(0, 2).put(16, 8);                        // ascLen = 16 bits
  b.put_bytes("1210", 16);                       // AAC-LC 44.1 kHz stereo
  b.put(0, 3).put(0xff, 8).put(0, 1).put(0, 1);  // frameLengthType 0, fullness, no otherData, no CRC
  auto c = parse_stream_mux_config(b.out);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->audio_mux_version, 1);
  EXPECT_EQ(to_hex(c->audio_specific_config), "1210");
  EXPECT_EQ(c->asc.channels(), 2);
}

TEST(LatmConfig, ParsesExplicitHeAacConfig) {
  Bits b;
  b.header_v0().put_bytes("2b118800", 25);  // SBR, core 24 kHz stereo, output 48 kHz, core AAC-LC, GASpecific
  b.put(0, 3).put(0xff, 8).put(0, 2);
  auto c = parse_stream_mux_config(b.out);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->asc.sbr);
  EXPECT_EQ(c->asc.extension_sample_rate, 48000u);
  EXPECT_EQ(c->asc.object_type, aac::kObjectTypeAacLc);
}

TEST(LatmConfig, RefusesWhatItDoesNotSupport) {
  {
    Bits b;  // two programs
    b.put(0, 1).put(1, 1).put(0, 6).put(1, 4).put(0, 3).put_bytes("1210", 16).put(0, 13);
    auto c = parse_stream_mux_config(b.out);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().find("programs"), std::string::npos) << c.error();
  }
  {
    Bits b;  // two layers
    b.put(0, 1).put(1, 1).put(0, 6).put(0, 4).put(1, 3).put_bytes("1210", 16).put(0, 13);
    EXPECT_FALSE(parse_stream_mux_config(b.out).ok());
  }
  {
    Bits b;  // frameLengthType 1 (fixed frame length)
    b.header_v0().put_bytes("1210", 16).put(1, 3).put(100, 9).put(0, 2);
    auto c = parse_stream_mux_config(b.out);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().find("frameLengthType 1"), std::string::npos) << c.error();
  }
  {
    Bits b;  // audioMuxVersionA 1
    b.put(1, 1).put(1, 1).put(0, 30);
    EXPECT_FALSE(parse_stream_mux_config(b.out).ok());
  }
  {
    Bits b;  // channelConfiguration 0: the layout is in a program_config_element
    b.header_v0().put_bytes("1200", 16).put(0, 13);
    EXPECT_FALSE(parse_stream_mux_config(b.out).ok());
  }
  EXPECT_FALSE(parse_stream_mux_config(from_hex("40")).ok());    // truncated header
  EXPECT_FALSE(parse_stream_mux_config(from_hex("4000")).ok());  // no AudioSpecificConfig
  EXPECT_FALSE(stream_mux_config_from_sdp("zz").ok());
}

StreamMuxConfig config(uint8_t subframes = 1, uint32_t other_data_bits = 0) {
  StreamMuxConfig c;
  c.subframes = subframes;
  c.other_data_bits = other_data_bits;
  return c;
}

std::vector<std::string> split(std::string_view hex, const StreamMuxConfig& c, Status* status = nullptr) {
  ByteVector data = from_hex(hex);
  std::vector<Bytes> frames;
  auto s = split_audio_mux_elements(data, c, frames);
  if (status) *status = s;
  std::vector<std::string> out;
  for (Bytes f : frames) out.push_back(to_hex(f));
  return out;
}

TEST(LatmPayload, SplitsGStreamerPayload) {
  // The RTP payload of GStreamer rtpmp4apay for avenc_aac's first (silent) frame: PayloadLengthInfo 0x15, then the
  // 21-byte frame.
  Status s = Ok{};
  auto frames = split("15de02004c61766335392e33372e313030000230400e", config(), &s);
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "de02004c61766335392e33372e313030000230400e");
}

TEST(LatmPayload, LengthOf255AndMoreUsesARunOfFF) {
  std::string frame(300 * 2, 'a');                // 300 bytes of 0xaa
  auto frames = split("ff2d" + frame, config());  // 255 + 45
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], frame);
  std::string exact(255 * 2, 'b');
  frames = split("ff00" + exact, config());  // exactly 255: the run ends with a 0
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].size(), 510u);
}

TEST(LatmPayload, SplitsSubframesAndBackToBackElements) {
  auto frames = split("02aabb01cc01dd02eeff", config(2));  // two elements of two subframes
  EXPECT_EQ(frames, (std::vector<std::string>{"aabb", "cc", "dd", "eeff"}));
}

TEST(LatmPayload, SkipsOtherDataToTheNextByte) {
  // Each element: a 1-byte frame, then 12 bits of otherData padded to 2 bytes.
  auto frames = split("01aa123401bb5678", config(1, 12));
  EXPECT_EQ(frames, (std::vector<std::string>{"aa", "bb"}));
}

TEST(LatmPayload, RefusesLengthsPastTheEndAndEmptyFrames) {
  Status s = Ok{};
  EXPECT_TRUE(split("05aabb", config(), &s).empty());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(split("ffff", config(), &s).empty());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(split("01aa00", config(), &s).empty());  // a second element with an empty frame: nothing is kept
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(split("", config(), &s).empty());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(split("01aa", config(2), &s).empty());  // second subframe missing
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace sg::codec::latm
