#include <gtest/gtest.h>

#include "mp4/box_parser.hpp"
#include "mp4/fragment.hpp"
#include "record/segmenter.hpp"

namespace sg::record {
namespace {

using mp4::Sample;
using mp4::TrackInfo;

std::vector<TrackInfo> tracks() {
  TrackInfo v;
  v.codec = TrackInfo::Codec::H264;
  v.timescale = 90000;
  v.width = 320;
  v.height = 240;
  // avcC: version 1, profile 66, compat 0, level 30, 4-byte lengths, one SPS, one PPS (contents are not parsed).
  for (int b : {1, 66, 0, 30, 0xff, 0xe1, 0, 4, 0x67, 66, 0, 30, 1, 0, 2, 0x68, 0xce})
    v.codec_config.push_back(static_cast<std::byte>(b));
  TrackInfo a;
  a.codec = TrackInfo::Codec::AAC;
  a.timescale = 48000;
  a.sample_rate = 48000;
  a.channels = 2;
  a.codec_config = {std::byte{0x11}, std::byte{0x90}};
  return {v, a};
}

Sample sample(int64_t dts, bool key) {
  Sample s;
  s.dts = dts;
  s.keyframe = key;
  s.duration = 1;
  s.data = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0x65}};
  return s;
}

struct Fed {
  std::vector<Chunk> chunks;
};

// 25 fps video with a keyframe every `gop` frames and 48 kHz AAC (1024-sample frames) for `seconds`, interleaved
// by time; wall clock = media time + 1e15 us.
Fed feed(RecordSegmenter& seg, double seconds, int gop) {
  Fed f;
  int64_t v = 0, a = 0;
  int frame = 0;
  const int64_t wall0 = 1'000'000'000'000'000;
  while (v < static_cast<int64_t>(seconds * 90000)) {
    if (a * 90000 / 48000 < v) {
      EXPECT_TRUE(seg.push(1, sample(a, true), wall0 + a * 1000000 / 48000, f.chunks).ok());
      a += 1024;
      continue;
    }
    EXPECT_TRUE(seg.push(0, sample(v, frame % gop == 0), wall0 + v * 1000000 / 90000, f.chunks).ok());
    v += 3600;
    ++frame;
  }
  seg.finish(f.chunks);
  return f;
}

struct Parsed {
  int64_t start_us = 0;
  std::vector<uint64_t> video_tfdt, audio_tfdt;
  uint64_t video_ticks = 0;
  bool first_is_key = false;
};

std::vector<Parsed> files(const std::vector<Chunk>& chunks) {
  std::vector<Parsed> out;
  for (const auto& c : chunks) {
    if (c.kind == Chunk::Kind::Open) {
      Parsed p;
      p.start_us = c.start_us;
      out.push_back(std::move(p));
      EXPECT_TRUE(mp4::find_box(c.data, "moov/mvex"));
      continue;
    }
    EXPECT_FALSE(out.empty());
    for (const auto& traf : mp4::find_all(mp4::find_box(c.data, "moof")->payload, "traf")) {
      auto tfhd = mp4::find_box(traf.payload, "tfhd");
      auto fh = mp4::parse_full_box(tfhd->payload);
      const uint32_t id = static_cast<uint32_t>(fh->body[0]) << 24 | static_cast<uint32_t>(fh->body[1]) << 16 |
                          static_cast<uint32_t>(fh->body[2]) << 8 | static_cast<uint32_t>(fh->body[3]);
      auto tfdt = mp4::parse_tfdt(mp4::find_box(traf.payload, "tfdt")->payload);
      auto trun = mp4::parse_trun(mp4::find_box(traf.payload, "trun")->payload);
      if (id == 1) {
        if (out.back().video_tfdt.empty())
          out.back().first_is_key = trun->entries.front().flags == mp4::kSyncSampleFlags;
        out.back().video_tfdt.push_back(*tfdt);
        for (const auto& e : trun->entries) out.back().video_ticks += e.duration;
      } else {
        out.back().audio_tfdt.push_back(*tfdt);
      }
    }
  }
  return out;
}

TEST(RecordSegmenter, SegmentsStartAtKeyframesWithTfdtZeroAndCoverTheWholeTimeline) {
  auto seg = RecordSegmenter::create(tracks(), {RecordFormat::Fmp4, 10'000'000, 1'000'000});
  ASSERT_TRUE(seg.ok()) << seg.error();
  // Keyframe every 2 s: cuts at 10 s and 20 s; 25 s in all.
  auto fed = feed(*seg, 25, 50);
  auto segs = files(fed.chunks);
  ASSERT_EQ(segs.size(), 3u);
  uint64_t total = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_TRUE(segs[i].first_is_key) << i;
    ASSERT_FALSE(segs[i].video_tfdt.empty());
    EXPECT_EQ(segs[i].video_tfdt.front(), 0u) << i;
    EXPECT_LT(segs[i].audio_tfdt.front(), 48000u / 25) << i;  // audio starts within a frame of the video
    total += segs[i].video_ticks;
    EXPECT_EQ(segs[i].start_us, 1'000'000'000'000'000 + static_cast<int64_t>(i) * 10'000'000) << i;
  }
  EXPECT_EQ(segs[0].video_ticks, 10u * 90000);
  EXPECT_EQ(segs[1].video_ticks, 10u * 90000);
  EXPECT_EQ(total, 25u * 90000);  // the last frame keeps the duration of the one before it
  // One fragment per second of media.
  EXPECT_EQ(segs[0].video_tfdt.size(), 10u);
  EXPECT_EQ(segs[0].video_tfdt[3], 3u * 90000);
}

TEST(RecordSegmenter, WithoutKeyframeTheSegmentGoesOnAndCutWaitsForOne) {
  auto seg = RecordSegmenter::create(tracks(), {RecordFormat::Fmp4, 2'000'000, 500'000});
  ASSERT_TRUE(seg.ok());
  auto segs = files(feed(*seg, 9, 125).chunks);  // keyframes at 0 and 5 s
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].video_ticks, 5u * 90000);
}

TEST(RecordSegmenter, CutStartsANewSegmentAtTheNextKeyframe) {
  auto seg = RecordSegmenter::create(tracks(), {RecordFormat::Fmp4, 3600'000'000, 1'000'000});
  ASSERT_TRUE(seg.ok());
  std::vector<Chunk> out;
  for (int i = 0; i < 100; ++i) {
    if (i == 30) seg->cut();
    ASSERT_TRUE(seg->push(0, sample(i * 3600, i % 25 == 0), 1'000'000 + i * 40000, out).ok());
  }
  seg->finish(out);
  auto segs = files(out);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].video_ticks, 50u * 3600);  // cut at frame 50, the first keyframe after the request
}

TEST(RecordSegmenter, AWallClockJumpMovesTheNextSegmentsStartTime) {
  auto seg = RecordSegmenter::create(tracks(), {RecordFormat::Fmp4, 3600'000'000, 1'000'000});
  ASSERT_TRUE(seg.ok());
  std::vector<Chunk> out;
  for (int i = 0; i < 60; ++i) {
    if (i == 30) seg->cut();
    // A source away for 60 s between frames 29 and 30; media time continues without the gap.
    const int64_t wall = 5'000'000 + i * 40000 + (i >= 30 ? 60'000'000 : 0);
    ASSERT_TRUE(seg->push(0, sample(i * 3600, i % 10 == 0), wall, out).ok());
  }
  seg->finish(out);
  auto segs = files(out);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].start_us, 5'000'000);
  EXPECT_EQ(segs[1].start_us, 5'000'000 + 30 * 40000 + 60'000'000);
}

TEST(RecordSegmenter, NothingBeforeTheFirstKeyframeAndDecreasingDtsRefused) {
  auto seg = RecordSegmenter::create(tracks(), {RecordFormat::Fmp4, 10'000'000, 1'000'000});
  ASSERT_TRUE(seg.ok());
  std::vector<Chunk> out;
  ASSERT_TRUE(seg->push(1, sample(0, true), 0, out).ok());
  ASSERT_TRUE(seg->push(0, sample(0, false), 0, out).ok());
  ASSERT_TRUE(seg->push(0, sample(3600, false), 0, out).ok());
  EXPECT_FALSE(seg->push(0, sample(3600, true), 0, out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(seg->in_segment());
}

TEST(RecordSegmenter, MpegTsSegmentsStartWithTables) {
  auto t = tracks();
  t[0].sps = {std::byte{0x67}, std::byte{66}, std::byte{0}, std::byte{30}};
  t[0].pps = {std::byte{0x68}, std::byte{0xce}};
  auto seg = RecordSegmenter::create(t, {RecordFormat::MpegTs, 10'000'000, 1'000'000});
  ASSERT_TRUE(seg.ok()) << seg.error();
  auto fed = feed(*seg, 12, 50);
  size_t opens = 0;
  for (const auto& c : fed.chunks) {
    EXPECT_EQ(c.data.size() % 188, 0u);
    if (c.kind == Chunk::Kind::Open) ++opens;
  }
  EXPECT_EQ(opens, 2u);
}

}  // namespace
}  // namespace sg::record
