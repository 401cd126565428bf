// SampleBuilder (media units -> segmenter samples) with real x264 / AAC bytes: timeline start, RTP unwrapping,
// AVCC conversion, per-frame audio timing, variant codec limits. No network.
#include <gtest/gtest.h>

#include "../hls/real_stream_data.hpp"
#include "hls_session/sample_builder.hpp"

namespace sg::hls_session {
namespace {

namespace data = sg::test;

template <size_t N>
Bytes b(const uint8_t (&a)[N]) {
  return {reinterpret_cast<const std::byte*>(a), N};
}

std::vector<media::Track> h264_aac_tracks() {
  media::Track v;
  v.kind = media::MediaKind::Video;
  v.codec = media::CodecId::H264;
  v.clock_rate = 90000;
  media::Track a;
  a.kind = media::MediaKind::Audio;
  a.codec = media::CodecId::AAC;
  a.clock_rate = 44100;
  a.channels = 1;
  a.audio_config = to_vector(b(data::kAacConfig));
  return {v, a};
}

media::Unit video_unit(uint32_t ts, int64_t ingest_ns, bool key) {
  media::Unit u;
  u.track = 0;
  u.video = true;
  u.keyframe = key;
  u.rtp_timestamp = ts;
  u.ingest_ns = ingest_ns;
  if (key) {
    u.add_frame(b(data::kH264Sps));
    u.add_frame(b(data::kH264Pps));
    u.add_frame(b(data::kH264Idr));
  } else {
    u.add_frame(b(data::kH264P));
  }
  return u;
}

media::Unit audio_unit(uint32_t ts, int64_t ingest_ns, int frames) {
  media::Unit u;
  u.track = 1;
  u.rtp_timestamp = ts;
  u.ingest_ns = ingest_ns;
  for (int i = 0; i < frames; ++i) u.add_frame(i % 2 ? b(data::kAacFrame1) : b(data::kAacFrame0));
  return u;
}

TEST(TimestampUnwrapper, ContinuesAcrossTheWrap) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.unwrap(0xFFFFFF00u), 0xFFFFFF00ll);
  EXPECT_EQ(u.unwrap(0x00000100u), 0x100000100ll);
  EXPECT_EQ(u.unwrap(0x00000080u), 0x100000080ll);  // a late packet goes back, not forward by 2^32
}

TEST(OpusPacketSamples, ReadsTocConfigAndFrameCount) {
  const uint8_t celt20[] = {0xF8, 0x00};     // config 31 (CELT FB 20 ms), one frame
  const uint8_t silk60x2[] = {0x19, 0x00};   // config 3 (SILK NB 60 ms), code 1: two frames
  const uint8_t code3[] = {0xFB, 0x03};      // config 31, code 3, 3 frames
  const uint8_t too_long[] = {0x1B, 0x3F};   // 63 x 60 ms > 120 ms
  EXPECT_EQ(opus_packet_samples(b(celt20)), 960u);
  EXPECT_EQ(opus_packet_samples(b(silk60x2)), 5760u);
  EXPECT_EQ(opus_packet_samples(b(code3)), 2880u);
  EXPECT_FALSE(opus_packet_samples(b(too_long)));
  EXPECT_FALSE(opus_packet_samples(Bytes{}));
}

TEST(SampleBuilder, DropsEverythingBeforeTheFirstVideoKeyframe) {
  SampleBuilder sb(hls::Variant::Fmp4);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  ASSERT_TRUE(sb.add(audio_unit(1000, 1'000'000, 1), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(5000, 2'000'000, false), tracks, out));
  EXPECT_FALSE(sb.ready());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(sb.add(video_unit(8000, 3'000'000, true), tracks, out));
  ASSERT_TRUE(sb.ready());
  ASSERT_EQ(sb.tracks().size(), 2u);
  EXPECT_EQ(sb.tracks()[0].width, 160);
  EXPECT_EQ(sb.tracks()[0].height, 90);
  EXPECT_FALSE(sb.tracks()[0].codec_config.empty());
  EXPECT_EQ(sb.tracks()[1].sample_rate, 44100u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sample.dts, 0);
  EXPECT_TRUE(out[0].sample.keyframe);
  // AVCC: the parameter sets went to avcC, the IDR slice is length-prefixed.
  ASSERT_EQ(out[0].sample.data.size(), sizeof data::kH264Idr + 4);
  EXPECT_EQ(be32(out[0].sample.data, 0), sizeof data::kH264Idr);
}

TEST(SampleBuilder, PlacesTracksByArrivalAndUnwrapsRtpTime) {
  SampleBuilder sb(hls::Variant::LowLatency);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  ASSERT_TRUE(sb.add(video_unit(0xFFFFF000u, 1'000'000'000, true), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(0xFFFFF000u + 3000, 1'033'000'000, false), tracks, out));  // wraps
  // Audio arriving 100 ms after the keyframe starts at 100 ms on the common timeline; 3 frames of 1024.
  ASSERT_TRUE(sb.add(audio_unit(777, 1'100'000'000, 3), tracks, out));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1].sample.dts, 3000);
  EXPECT_EQ(out[1].sample.duration, 3000u);
  EXPECT_EQ(out[2].track, 1u);
  EXPECT_EQ(out[2].sample.dts, 4410);
  EXPECT_EQ(out[3].sample.dts, 4410 + 1024);
  EXPECT_EQ(out[4].sample.dts, 4410 + 2048);
  EXPECT_EQ(out[4].sample.duration, 1024u);
}

TEST(SampleBuilder, BackwardsVideoTimeKeepsDtsIncreasing) {
  SampleBuilder sb(hls::Variant::Fmp4);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  ASSERT_TRUE(sb.add(video_unit(90000, 1, true), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(90000 + 9000, 2, false), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(90000 + 3000, 3, false), tracks, out));  // a B-frame: PTS before the last one
  ASSERT_EQ(out.size(), 3u);
  EXPECT_GT(out[2].sample.dts, out[1].sample.dts);
  EXPECT_EQ(out[2].sample.dts + out[2].sample.cts_offset, 3000);
}

TEST(SampleBuilder, NewSourceSessionContinuesTheTimelineWithoutTheGap) {
  SampleBuilder sb(hls::Variant::Fmp4);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  auto first = video_unit(90000, 1'000'000'000, true);
  first.source = 1;
  auto second = video_unit(90000 + 3600, 1'040'000'000, false);
  second.source = 1;
  // The camera came back 3 s later: the stream kept RTP time continuous, gap included.
  auto after = video_unit(90000 + 3600 + 270000, 4'040'000'000, true);
  after.source = 2;
  ASSERT_TRUE(sb.add(first, tracks, out));
  ASSERT_TRUE(sb.add(second, tracks, out));
  ASSERT_TRUE(sb.add(after, tracks, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].sample.dts, 3600 + 3600);  // one frame after the last, not 3 s later
}

TEST(SampleBuilder, MpegTsRefusesH265AndOpusStreams) {
  media::Track v;
  v.codec = media::CodecId::H265;
  media::Track a;
  a.kind = media::MediaKind::Audio;
  a.codec = media::CodecId::Opus;
  a.clock_rate = 48000;
  SampleBuilder sb(hls::Variant::MpegTs);
  std::vector<SampleBuilder::Output> out;
  media::Unit u;
  u.keyframe = true;
  auto s = sb.add(u, {v, a}, out);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("no track"), std::string::npos);
  EXPECT_TRUE(variant_supports(hls::Variant::Fmp4, media::CodecId::H265));
  EXPECT_TRUE(variant_supports(hls::Variant::LowLatency, media::CodecId::Opus));
  EXPECT_FALSE(variant_supports(hls::Variant::MpegTs, media::CodecId::PCMU));
}

TEST(SampleBuilder, KeyframeWithoutParameterSetsIsAnErrorUntilOneHasThem) {
  SampleBuilder sb(hls::Variant::Fmp4);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  media::Unit idr;
  idr.keyframe = true;
  idr.add_frame(b(data::kH264Idr));
  EXPECT_FALSE(sb.add(idr, tracks, out));
  EXPECT_FALSE(sb.ready());
  ASSERT_TRUE(sb.add(video_unit(0, 5, true), tracks, out));
  EXPECT_TRUE(sb.ready());
}

}  // namespace
}  // namespace sg::hls_session
