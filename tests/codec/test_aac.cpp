#include <gtest/gtest.h>

#include "codec/aac.hpp"
#include "sample_streams.hpp"

namespace sg::codec::aac {
namespace {

TEST(AacConfig, ParsesFfmpegMp4ConfigWithSbrSyncExtension) {
  // esds of `ffmpeg -f lavfi -i sine=r=44100 -ac 1 -c:a aac -f mp4`: AAC-LC 44.1 kHz mono plus the backward
  // compatible SBR sync extension (0x2b7, SBR absent), which is left unread.
  auto c = parse_audio_specific_config(from_hex("120856e500"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->object_type, kObjectTypeAacLc);
  EXPECT_EQ(c->sample_rate, 44100u);
  EXPECT_EQ(c->channel_config, 1);
  EXPECT_EQ(c->samples_per_frame, 1024u);
  EXPECT_FALSE(c->sbr);
}

TEST(AacConfig, ParsesExplicitHeAacSignalling) {
  // AOT 5 (SBR), core 24 kHz stereo, SBR output 48 kHz, core object type 2.
  auto c = parse_audio_specific_config(from_hex("2b118800"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->sbr);
  EXPECT_EQ(c->object_type, kObjectTypeAacLc);
  EXPECT_EQ(c->sample_rate, 24000u);
  EXPECT_EQ(c->extension_sample_rate, 48000u);
  EXPECT_EQ(c->channels(), 2);
}

TEST(AacConfig, BuildsAndParsesStandardRateAndFrameLength) {
  AudioSpecificConfig c;
  c.sample_rate = 48000;
  c.channel_config = 2;
  auto asc = build_audio_specific_config(c);
  ASSERT_TRUE(asc.ok());
  EXPECT_EQ(to_hex(*asc), "1190");
  c.samples_per_frame = 960;
  asc = build_audio_specific_config(c);
  ASSERT_TRUE(asc.ok());
  EXPECT_EQ(to_hex(*asc), "1194");
  EXPECT_EQ(parse_audio_specific_config(*asc)->samples_per_frame, 960u);
}

TEST(AacConfig, EscapedObjectTypeAndExplicitRateRoundTrip) {
  AudioSpecificConfig c;
  c.object_type = 42;
  c.sample_rate = 44000;  // not in the index table: written as 24 bits
  c.channel_config = 1;
  auto asc = build_audio_specific_config(c);
  ASSERT_TRUE(asc.ok());
  EXPECT_EQ(asc->size(), 6u);  // 5 + 6 + 4 + 24 + 4 = 43 bits
  auto back = parse_audio_specific_config(*asc);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->object_type, 42);
  EXPECT_EQ(back->sample_rate, 44000u);
  EXPECT_EQ(back->channel_config, 1);
}

TEST(AacConfig, RejectsShortReservedAndNullConfigs) {
  EXPECT_FALSE(parse_audio_specific_config(from_hex("12")).ok());
  auto reserved = parse_audio_specific_config(from_hex("16 88"));  // sampling index 13 is reserved
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.error().find("13"), std::string::npos);
  EXPECT_FALSE(parse_audio_specific_config(from_hex("0190")).ok());     // object type 0
  EXPECT_FALSE(parse_audio_specific_config(from_hex("1780 00")).ok());  // explicit rate cut short
  AudioSpecificConfig bad;
  bad.sample_rate = 0;
  EXPECT_FALSE(build_audio_specific_config(bad).ok());
}

TEST(AacConfig, SdpConfigIsUpperCaseHex) {
  ByteVector asc = from_hex("1190");
  EXPECT_EQ(config_to_sdp(from_hex("121056e500")), "121056E500");
  auto back = config_from_sdp("1190");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, asc);
  EXPECT_EQ(*config_from_sdp("121056E500"), from_hex("121056e500"));
  EXPECT_FALSE(config_from_sdp("11 9").ok());
  EXPECT_FALSE(config_from_sdp("zz").ok());
}

TEST(Adts, ParsesRealFfmpegFramesBackToBack) {
  ByteVector stream = from_hex(testdata::kAdts3);
  Bytes rest = stream;
  std::vector<size_t> lengths;
  while (!rest.empty()) {
    auto h = parse_adts(rest);
    ASSERT_TRUE(h.ok()) << h.error();
    EXPECT_EQ(h->object_type, kObjectTypeAacLc);
    EXPECT_EQ(h->sample_rate, 48000u);
    EXPECT_EQ(h->channel_config, 2);
    EXPECT_FALSE(h->has_crc);
    EXPECT_EQ(h->header_size, 7u);
    lengths.push_back(h->frame_length);
    rest = rest.subspan(h->frame_length);
  }
  EXPECT_EQ(lengths, (std::vector<size_t>{295, 370, 317}));
}

TEST(Adts, BuiltHeaderMatchesFfmpegHeader) {
  ByteVector stream = from_hex(testdata::kAdts3);
  AudioSpecificConfig c;
  c.sample_rate = 48000;
  c.channel_config = 2;
  auto h = build_adts_header(c, 295 - 7);
  ASSERT_TRUE(h.ok()) << h.error();
  // ffmpeg writes the same fields; only adts_buffer_fullness differs (it fills in a value, we write VBR 0x7ff).
  EXPECT_EQ(to_hex(*h), "fff14c8024fffc");
  EXPECT_EQ(to_hex(Bytes(stream).first(7)), "fff14c8024fffc");
}

TEST(Adts, RejectsBadSyncTruncationAndUnfitConfigs) {
  ByteVector stream = from_hex(testdata::kAdts3);
  auto cut = parse_adts(Bytes(stream).first(100));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().find("295"), std::string::npos);
  EXPECT_FALSE(parse_adts(from_hex("fff14c80")).ok());
  EXPECT_FALSE(parse_adts(from_hex("ff014c8024fffc")).ok());
  EXPECT_FALSE(parse_adts(from_hex("fff14c80001ffc")).ok());  // frame_length 0
  AudioSpecificConfig he;
  he.object_type = kObjectTypeSbr;
  he.sample_rate = 48000;
  EXPECT_FALSE(build_adts_header(he, 10).ok());
  AudioSpecificConfig lc;
  lc.sample_rate = 44000;
  EXPECT_FALSE(build_adts_header(lc, 10).ok());
  lc.sample_rate = 44100;
  EXPECT_FALSE(build_adts_header(lc, 9000).ok());
}

}  // namespace
}  // namespace sg::codec::aac
