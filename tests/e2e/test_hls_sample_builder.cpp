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

TEST(SampleBuilder, BFrameBeyondTheDeclaredReorderingIsShownAtItsDecodingTime) {
  // The Baseline SPS rules B-frames out; a frame presented before the previous one cannot keep PTS < DTS.
  SampleBuilder sb(hls::Variant::Fmp4);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  ASSERT_TRUE(sb.add(video_unit(90000, 1, true), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(90000 + 9000, 2, false), tracks, out));
  ASSERT_TRUE(sb.add(video_unit(90000 + 3000, 3, false), tracks, out));  // a B-frame: PTS before the last one
  ASSERT_EQ(out.size(), 3u);
  EXPECT_GT(out[2].sample.dts, out[1].sample.dts);
  EXPECT_GE(out[2].sample.cts_offset, 0);
  EXPECT_EQ(sb.late_frames(), 1u);
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

// libx264 -x264-params bframes=2:b-pyramid=normal at 25 fps (Main profile, VUI max_num_reorder_frames 2).
constexpr uint8_t kX264BFramesSps[] = {0x67, 0x4d, 0x40, 0x0b, 0xec, 0xa1, 0x46, 0xfc, 0x98, 0x08, 0x80, 0x00,
                                       0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x07, 0x8a, 0x14, 0xcb};

TEST(SampleBuilder, BFramesGetDecodingTimesFromTheSpsReorderDepth) {
  SampleBuilder sb(hls::Variant::MpegTs);
  auto tracks = h264_aac_tracks();
  std::vector<SampleBuilder::Output> out;
  // The decoding-order PTS libx264 produced (see tests/codec/test_decoding_time.cpp), from an RTP base of 1000.
  const int64_t pts[] = {0, 10800, 3600, 7200, 21600, 14400, 18000, 32400, 25200, 28800};
  for (size_t i = 0; i < std::size(pts); ++i) {
    media::Unit u = video_unit(static_cast<uint32_t>(1000 + pts[i]), 1'000'000'000 + static_cast<int64_t>(i) * 40'000'000,
                               i == 0);
    if (i == 0) {
      u = media::Unit{};
      u.track = 0;
      u.video = true;
      u.keyframe = true;
      u.rtp_timestamp = 1000;
      u.ingest_ns = 1'000'000'000;
      u.add_frame(b(kX264BFramesSps));
      u.add_frame(b(data::kH264Pps));
      u.add_frame(b(data::kH264Idr));
    }
    ASSERT_TRUE(sb.add(u, tracks, out));
  }
  // Audio arriving with the keyframe sits at the keyframe's presentation time, two frames (80 ms) in.
  ASSERT_TRUE(sb.add(audio_unit(5000, 1'000'000'000, 1), tracks, out));
  ASSERT_EQ(out.size(), std::size(pts) + 1);
  EXPECT_EQ(sb.variant(), hls::Variant::MpegTs);
  for (size_t i = 0; i < std::size(pts); ++i) {
    const auto& s = out[i].sample;
    EXPECT_EQ(s.dts, 3600 * static_cast<int64_t>(i)) << "frame " << i;
    EXPECT_EQ(s.dts + s.cts_offset, 7200 + pts[i]) << "frame " << i;
  }
  EXPECT_EQ(out.back().track, 1u);
  EXPECT_EQ(out.back().sample.dts, 44100 * 80 / 1000);
  EXPECT_EQ(sb.late_frames(), 0u);
}

TEST(SampleBuilder, MpegTsServesH265OrOpusStreamsAsFmp4) {
  auto track = [](media::CodecId c, media::MediaKind k) {
    media::Track t;
    t.codec = c;
    t.kind = k;
    return t;
  };
  const auto h264 = track(media::CodecId::H264, media::MediaKind::Video);
  const auto h265 = track(media::CodecId::H265, media::MediaKind::Video);
  const auto aac = track(media::CodecId::AAC, media::MediaKind::Audio);
  const auto opus = track(media::CodecId::Opus, media::MediaKind::Audio);
  EXPECT_EQ(served_variant(hls::Variant::MpegTs, {h264, aac}), hls::Variant::MpegTs);
  EXPECT_EQ(served_variant(hls::Variant::MpegTs, {h265, aac}), hls::Variant::Fmp4);
  EXPECT_EQ(served_variant(hls::Variant::MpegTs, {h265, opus}), hls::Variant::Fmp4);
  EXPECT_EQ(served_variant(hls::Variant::MpegTs, {h264, opus}), hls::Variant::Fmp4);
  EXPECT_EQ(served_variant(hls::Variant::MpegTs, {h264, aac, opus}), hls::Variant::MpegTs);  // the 2nd audio is left out
  EXPECT_EQ(served_variant(hls::Variant::LowLatency, {h265, opus}), hls::Variant::LowLatency);

  // The builder starts on an H.265 keyframe with every track kept.
  SampleBuilder sb(hls::Variant::MpegTs);
  std::vector<SampleBuilder::Output> out;
  media::Unit u;
  u.keyframe = true;
  auto s = sb.add(u, {h265, opus}, out);
  ASSERT_FALSE(s);  // no parameter sets in this unit, but not "no track this variant can carry"
  EXPECT_EQ(s.error().find("no track"), std::string::npos) << s.error();
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
