// DecodingTimeline and the SPS fields it is configured from, with real encoder output: libx264 and libx265 with
// B-frames (ffmpeg 5.1, testsrc2 160x90 at 25 fps, keyint 25, x264 bframes=2:b-pyramid=normal, x265 bframes=3),
// their SPS and the decoding-order PTS/DTS that ffmpeg itself muxed into MPEG-TS (ffprobe -show_packets).
#include <gtest/gtest.h>

#include <random>

#include "codec/decoding_time.hpp"

namespace sg::codec {
namespace {

// ffmpeg ... -c:v libx264 -preset ultrafast -x264-params keyint=25:bframes=2:b-pyramid=normal (Main profile).
const char* kX264BFramesSps = "674d400beca146fc9808800000030080000019078a14cb";
// ffmpeg ... -c:v libx264 -preset veryfast at 30 fps (libx264 defaults: High profile, 3 B-frames, B-pyramid).
const char* kX264DefaultSps = "6764000bacd9428df930110000030001000003003c0f142996";
// ffmpeg ... -c:v libx264 -preset ultrafast (no B-frames): Constrained Baseline, as in test_h264.cpp.
const char* kX264BaselineSps = "6742c01ed900a02ff97011000003000100000300320f162e48";
// ffmpeg ... -c:v libx265 -preset ultrafast -x265-params keyint=25:bframes=3.
const char* kX265BFramesSps = "42010101600000030090000003000003001ea0142061f26595952930bc05a02000000300200000030321";

// Decoding order as muxed by ffmpeg (90 kHz): PTS, and the DTS ffmpeg wrote from the encoder.
constexpr int64_t kX264Pts[] = {133200, 144000, 136800, 140400, 154800, 147600, 151200, 165600,
                                158400, 162000, 176400, 169200, 172800, 187200, 180000};
constexpr int64_t kX265Pts[] = {133200, 147600, 140400, 136800, 144000, 162000, 154800, 151200,
                                158400, 176400, 169200, 165600, 172800, 190800, 183600};
constexpr int64_t kEncoderFirstDts = 126000;  // both: one frame (3600) apart from there

TEST(ReorderDepth, X264BFramesSpsStatesTwoReorderFramesAndTwentyFiveFps) {
  auto sps = h264::parse_sps(from_hex(kX264BFramesSps));
  ASSERT_TRUE(sps) << sps.error();
  ASSERT_TRUE(sps->max_num_reorder_frames);
  EXPECT_EQ(*sps->max_num_reorder_frames, 2u);
  EXPECT_EQ(sps->pic_order_cnt_type, 0u);
  EXPECT_EQ(sps->width, 160u);
  EXPECT_EQ(sps->height, 90u);
  EXPECT_EQ(reorder_depth(*sps, 9), 2u);
  EXPECT_EQ(frame_ticks(*sps, 90000), 3600);
}

TEST(ReorderDepth, X264DefaultHighProfileSpsStatesTwoReorderFramesAndThirtyFps) {
  auto sps = h264::parse_sps(from_hex(kX264DefaultSps));
  ASSERT_TRUE(sps) << sps.error();
  EXPECT_EQ(reorder_depth(*sps, 9), 2u);
  EXPECT_EQ(frame_ticks(*sps, 90000), 3000);
}

TEST(ReorderDepth, BaselineSpsWithoutBFramesHasNoReordering) {
  auto sps = h264::parse_sps(from_hex(kX264BaselineSps));
  ASSERT_TRUE(sps) << sps.error();
  EXPECT_EQ(reorder_depth(*sps, 9), 0u);
}

TEST(ReorderDepth, UnreadableVuiFallsBackWithoutFailingTheSps) {
  // The SPS cut inside its VUI: size and POC type still parse, the reorder count is unknown.
  auto bytes = from_hex(kX264BFramesSps);
  bytes.resize(12);
  auto sps = h264::parse_sps(bytes);
  ASSERT_TRUE(sps) << sps.error();
  EXPECT_FALSE(sps->max_num_reorder_frames);
  EXPECT_EQ(sps->width, 160u);
  EXPECT_EQ(reorder_depth(*sps, 2), 2u);
  EXPECT_FALSE(frame_ticks(*sps, 90000));
}

TEST(ReorderDepth, X265SpsStatesItsMaxNumReorderPics) {
  auto sps = h265::parse_sps(from_hex(kX265BFramesSps));
  ASSERT_TRUE(sps) << sps.error();
  ASSERT_TRUE(sps->max_num_reorder_pics);
  EXPECT_EQ(*sps->max_num_reorder_pics, 2u);
  EXPECT_EQ(reorder_depth(*sps, 9), 2u);
}

template <size_t N>
std::vector<DecodingTimeline::Times> run(DecodingTimeline& t, const int64_t (&pts)[N]) {
  std::vector<DecodingTimeline::Times> out;
  for (int64_t p : pts) out.push_back(t.push(p));
  return out;
}

TEST(DecodingTimeline, ReproducesTheDtsLibx264WroteForItsBFrames) {
  DecodingTimeline t(2, 3600);
  auto out = run(t, kX264Pts);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].dts, kEncoderFirstDts + 3600 * static_cast<int64_t>(i)) << "frame " << i;
    EXPECT_EQ(out[i].pts, kX264Pts[i]);
  }
  EXPECT_EQ(t.late_frames(), 0u);
  EXPECT_EQ(t.lead(), 7200);
}

TEST(DecodingTimeline, ReproducesTheDtsLibx265WroteForItsBPyramid) {
  DecodingTimeline t(2, 3600);
  auto out = run(t, kX265Pts);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].dts, kEncoderFirstDts + 3600 * static_cast<int64_t>(i)) << "frame " << i;
    EXPECT_EQ(out[i].pts, kX265Pts[i]);
  }
  EXPECT_EQ(t.late_frames(), 0u);
}

TEST(DecodingTimeline, WithoutReorderingDtsIsPts) {
  DecodingTimeline t(0, 3000);
  for (int64_t p : {0, 3000, 6000, 9000}) {
    auto r = t.push(p);
    EXPECT_EQ(r.dts, p);
    EXPECT_EQ(r.pts, p);
  }
}

TEST(DecodingTimeline, MoreReorderingThanDeclaredRaisesThatPtsAndGrowsTheDepth) {
  // libx264's B-frames announced as no reordering at all (a lying or missing VUI).
  DecodingTimeline t(0, 3600);
  auto out = run(t, kX264Pts);
  EXPECT_GT(t.late_frames(), 0u);
  EXPECT_LE(t.late_frames(), 3u);  // learnt within the first few frames
  EXPECT_GE(t.reorder_depth(), 1u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_LE(out[i].dts, out[i].pts) << "frame " << i;
    if (i > 0) {
      EXPECT_GT(out[i].dts, out[i - 1].dts) << "frame " << i;
    }
  }
  // Once learnt, the later frames keep their own presentation time.
  for (size_t i = 8; i < out.size(); ++i) EXPECT_EQ(out[i].pts, kX264Pts[i]) << "frame " << i;
}

TEST(DecodingTimeline, ArbitraryInputKeepsDtsStrictlyIncreasingAndNotAfterPts) {
  std::mt19937 rng(7);
  for (uint32_t depth : {0u, 1u, 2u, 4u}) {
    DecodingTimeline t(depth, 3000);
    int64_t last = INT64_MIN;
    for (int i = 0; i < 2000; ++i) {
      const int64_t pts = 3000 * i + static_cast<int64_t>(rng() % 20000) - 10000;
      auto r = t.push(pts);
      EXPECT_LE(r.dts, r.pts);
      EXPECT_GE(r.pts, pts);
      EXPECT_GT(r.dts, last);
      last = r.dts;
    }
  }
}

}  // namespace
}  // namespace sg::codec
