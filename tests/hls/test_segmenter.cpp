#include <gtest/gtest.h>

#include "hls/segmenter.hpp"
#include "mp4/box_parser.hpp"
#include "mp4/fragment.hpp"
#include "mpegts/demux.hpp"
#include "playlist_checker.hpp"

namespace sg::hls {
namespace {

using mp4::Sample;
using mp4::TrackInfo;

constexpr int64_t kWall = 1764037906000;  // 2025-11-25T02:31:46.000Z

TrackInfo video() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::H264;
  t.timescale = 90000;
  t.width = 160;
  t.height = 90;
  t.sps = from_hex("6742c00bda0a37e4c044000003000400000300ca3c50aa80");
  t.pps = from_hex("68ce0fc8");
  t.codec_config = from_hex("0142c00bffe100186742c00bda0a37e4c044000003000400000300ca3c50aa8001000468ce0fc8");
  return t;
}

TrackInfo audio() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::AAC;
  t.timescale = 44100;
  t.sample_rate = 44100;
  t.channels = 1;
  t.codec_config = from_hex("1208");
  return t;
}

ByteVector frame(bool key) { return from_hex(key ? "0000000365aabb" : "0000000241cc"); }

// Feeds `seconds` of video at `fps` (keyframe every `gop` frames, dts from 90 kHz ticks per frame) and, if asked,
// AAC frames of 1024 samples at 44.1 kHz, interleaved in decode order.
struct Feeder {
  Segmenter& seg;
  int64_t ticks_per_frame = 3600;  // 25 fps
  int gop = 25;
  bool with_audio = true;
  bool with_video = true;
  int64_t video_frames = 0, audio_frames = 0;
  int64_t wall_offset_ms = 0;  // how far the wall clock is ahead of media time (a gap the timeline skipped)

  void run(double seconds) {
    const int64_t now_us =
        with_video ? video_frames * ticks_per_frame * 1'000'000 / 90000 : audio_frames * 1024 * 1'000'000 / 44100;
    const int64_t end_us = now_us + static_cast<int64_t>(seconds * 1e6);
    for (;;) {
      const int64_t v_us = with_video ? video_frames * ticks_per_frame * 1'000'000 / 90000 : INT64_MAX;
      const int64_t a_us = with_audio ? audio_frames * 1024 * 1'000'000 / 44100 : INT64_MAX;
      if (std::min(v_us, a_us) >= end_us) break;
      if (v_us <= a_us) {
        const bool key = video_frames % gop == 0;
        Sample s{video_frames * ticks_per_frame, 0, static_cast<uint32_t>(ticks_per_frame), key, frame(key)};
        ASSERT_TRUE(seg.push(0, s, kWall + wall_offset_ms + v_us / 1000).ok());
        ++video_frames;
      } else {
        Sample s{audio_frames * 1024, 0, 1024, true, ByteVector(20, std::byte{0x21})};
        ASSERT_TRUE(seg.push(with_video ? 1 : 0, s, kWall + wall_offset_ms + a_us / 1000).ok());
        ++audio_frames;
      }
    }
  }
};

Segmenter make(Variant v, std::vector<TrackInfo> tracks, double target = 2.0) {
  SegmenterConfig c;
  c.variant = v;
  c.target_duration = target;
  auto s = Segmenter::create(std::move(tracks), c);
  EXPECT_TRUE(s.ok()) << s.error();
  return std::move(*s);
}

std::string problems(const std::string& playlist) {
  std::string all;
  for (auto& p : test::check_media_playlist(playlist).problems) all += p + "\n";
  return all;
}

TEST(Segmenter, TsSegmentsAreCutAtKeyframesAfterTheTargetDuration) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(7.0);
  ASSERT_EQ(seg.segments().size(), 3u);  // the fourth is still being built
  for (const Segment& s : seg.segments()) EXPECT_EQ(s.duration_us, 2'000'000);
  const std::string text = seg.media_playlist();
  EXPECT_EQ(problems(text), "");
  auto c = test::check_media_playlist(text);
  EXPECT_EQ(c.version, 3);
  EXPECT_EQ(*c.target_duration, 2);
  EXPECT_EQ(*c.media_sequence, 0u);
  EXPECT_EQ(c.segments[1].uri, "seg1.ts");
  EXPECT_DOUBLE_EQ(c.segments[1].duration, 2.0);
  EXPECT_TRUE(c.map_uri.empty());
  EXPECT_FALSE(seg.init_segment());
}

TEST(Segmenter, TsSegmentStartsWithTablesAndARandomAccessVideoPes) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(4.5);
  auto data = seg.segment_data(1);
  ASSERT_TRUE(data);
  auto first = mpegts::parse_packet(Bytes(*data).first(188));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->pid, 0);
  auto d = mpegts::demux(*data);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->continuity_errors, 0u);
  ASSERT_FALSE(d->pes.empty());
  const mpegts::Pes* first_video = nullptr;
  size_t video_pes = 0, audio_pes = 0;
  for (const auto& p : d->pes) {
    if (p.stream_id == 0xe0) {
      if (!first_video) first_video = &p;
      ++video_pes;
    } else {
      ++audio_pes;
    }
  }
  ASSERT_TRUE(first_video);
  EXPECT_TRUE(first_video->random_access);
  EXPECT_EQ(*first_video->pts, 180000u);  // segment 1 starts at 2 s
  EXPECT_EQ(video_pes, 50u);
  EXPECT_GE(audio_pes, 85u);
}

TEST(Segmenter, SixSecondTargetDuration) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()}, 6.0);
  Feeder f{seg, 3600, 50};
  f.run(19.0);
  ASSERT_EQ(seg.segments().size(), 3u);
  for (const Segment& s : seg.segments()) EXPECT_EQ(s.duration_us, 6'000'000);
  auto c = test::check_media_playlist(seg.media_playlist());
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ(*c.target_duration, 6);
}

TEST(Segmenter, WaitsForAKeyframeAndRaisesTargetDurationForLongGops) {
  Segmenter seg = make(Variant::MpegTs, {video()});
  Feeder f{seg, 3600, 75};  // keyframe every 3 s
  f.with_audio = false;
  f.run(10.0);
  ASSERT_EQ(seg.segments().size(), 3u);
  EXPECT_EQ(seg.segments()[0].duration_us, 3'000'000);
  auto c = test::check_media_playlist(seg.media_playlist());
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ(*c.target_duration, 3);
}

TEST(Segmenter, AudioOnlyStreamsAreCutOnTime) {
  Segmenter seg = make(Variant::MpegTs, {audio()});
  Feeder f{seg};
  f.with_video = false;
  f.run(6.5);
  ASSERT_EQ(seg.segments().size(), 3u);
  for (const Segment& s : seg.segments()) {
    EXPECT_GE(s.duration_us, 2'000'000);
    EXPECT_LT(s.duration_us, 2'000'000 + 23'220);  // one AAC frame
  }
  EXPECT_EQ(problems(seg.media_playlist()), "");
}

TEST(Segmenter, DropsSamplesBeforeTheFirstKeyframe) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  ASSERT_TRUE(seg.push(1, Sample{0, 0, 1024, true, ByteVector(10)}, kWall).ok());
  ASSERT_TRUE(seg.push(0, Sample{0, 0, 3600, false, frame(false)}, kWall).ok());
  ASSERT_TRUE(seg.push(0, Sample{3600, 0, 3600, true, frame(true)}, kWall + 40).ok());
  ASSERT_TRUE(seg.push(0, Sample{2 * 90000 + 3600, 0, 3600, true, frame(true)}, kWall + 2040).ok());
  ASSERT_EQ(seg.segments().size(), 1u);
  EXPECT_EQ(seg.segments()[0].start_us, 40'000);
  EXPECT_EQ(seg.segments()[0].program_date_time_ms, kWall + 40);
}

TEST(Segmenter, SlidingWindowKeepsSevenSegmentsAndHeldBytesOutliveIt) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(4.5);
  SharedBytes held = seg.segment_data(0);
  ASSERT_TRUE(held);
  const ByteVector copy = *held;
  f.run(16.0);
  ASSERT_EQ(seg.segments().size(), 7u);
  EXPECT_EQ(seg.segments().front().msn, 3u);
  EXPECT_FALSE(seg.segment_data(0));
  EXPECT_EQ(*held, copy);
  auto c = test::check_media_playlist(seg.media_playlist());
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(*c.media_sequence, 3u);
  EXPECT_EQ(c.segments.front().uri, "seg3.ts");
  EXPECT_EQ(c.segments.size(), 7u);
}

TEST(Segmenter, ProgramDateTimeFollowsMediaTimeFromTheFirstWallClock) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(4.5);
  auto c = test::check_media_playlist(seg.media_playlist());
  ASSERT_EQ(c.segments.size(), 2u);
  EXPECT_EQ(c.segments[0].program_date_time, "2025-11-25T02:31:46.000Z");
  EXPECT_EQ(c.segments[1].program_date_time, "2025-11-25T02:31:48.000Z");
}

TEST(Segmenter, ProgramDateTimeFollowsTheWallClockAcrossAGapTheTimelineSkipped) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(4.5);
  f.wall_offset_ms = 7000;  // the source was away 7 s; media time went on where it was
  f.run(4.5);
  f.wall_offset_ms = 7400;  // arrival jitter below the resync threshold changes nothing
  f.run(3.5);
  auto c = test::check_media_playlist(seg.media_playlist());
  EXPECT_TRUE(c.problems.empty()) << problems(seg.media_playlist());
  ASSERT_EQ(c.segments.size(), 6u);
  EXPECT_EQ(c.segments[2].program_date_time, "2025-11-25T02:31:50.000Z");  // opened before the gap
  EXPECT_EQ(c.segments[3].program_date_time, "2025-11-25T02:31:59.000Z");  // 6 s of media + 7 s away
  EXPECT_EQ(c.segments[4].program_date_time, "2025-11-25T02:32:01.000Z");
  EXPECT_EQ(c.segments[5].program_date_time, "2025-11-25T02:32:03.000Z");
}

TEST(Segmenter, RejectsBadSamplesWithoutChangingState) {
  Segmenter seg = make(Variant::MpegTs, {video(), audio()});
  Feeder f{seg};
  f.run(2.5);
  const std::string before = seg.media_playlist();
  EXPECT_FALSE(seg.push(0, Sample{3600, 0, 3600, false, frame(false)}, kWall).ok());  // dts goes back
  EXPECT_FALSE(seg.push(2, Sample{}, kWall).ok());
  EXPECT_FALSE(seg.push(0, Sample{-5, 0, 0, true, frame(true)}, kWall).ok());
  // 10 s later a keyframe would close segment 1, but its NAL length is broken.
  EXPECT_FALSE(seg.push(0, Sample{90000 * 12, 0, 3600, true, from_hex("000000ff65")}, kWall).ok());
  EXPECT_EQ(seg.media_playlist(), before);
  EXPECT_EQ(seg.segments().size(), 1u);
}

TEST(Segmenter, Fmp4SegmentsAreMoofMdatWithAnInitSegmentAndMap) {
  Segmenter seg = make(Variant::Fmp4, {video(), audio()});
  Feeder f{seg};
  f.run(4.5);
  ASSERT_TRUE(seg.init_segment());
  EXPECT_TRUE(mp4::find_box(*seg.init_segment(), "moov/mvex"));
  auto data = seg.segment_data(1);
  ASSERT_TRUE(data);
  auto boxes = mp4::parse_boxes(*data);
  ASSERT_TRUE(boxes.ok()) << boxes.error();
  ASSERT_EQ(boxes->size(), 2u);
  auto trafs = mp4::find_all((*boxes)[0].payload, "traf");
  ASSERT_EQ(trafs.size(), 2u);
  EXPECT_EQ(*mp4::parse_tfdt(mp4::find_box(trafs[0].payload, "tfdt")->payload), 180000u);
  auto trun = mp4::parse_trun(mp4::find_box(trafs[0].payload, "trun")->payload);
  ASSERT_TRUE(trun.ok());
  ASSERT_EQ(trun->entries.size(), 50u);
  EXPECT_EQ(trun->entries[0].flags, mp4::kSyncSampleFlags);
  EXPECT_EQ(trun->entries[1].flags, mp4::kNonSyncSampleFlags);
  EXPECT_EQ(trun->entries[1].duration, 3600u);
  auto c = test::check_media_playlist(seg.media_playlist());
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ(c.version, 6);
  EXPECT_EQ(c.map_uri, "init.mp4");
  EXPECT_EQ(c.segments[0].uri, "seg0.m4s");
}

TEST(Segmenter, LowLatencySplitsSegmentsIntoParts) {
  SegmenterConfig cfg;
  cfg.variant = Variant::LowLatency;
  auto made = Segmenter::create({video(), audio()}, cfg);
  ASSERT_TRUE(made.ok());
  Segmenter& seg = *made;
  Feeder f{seg};
  f.run(8.3);
  ASSERT_EQ(seg.segments().size(), 4u);
  const Segment& s1 = seg.segments()[1];
  ASSERT_EQ(s1.parts.size(), 10u);  // 2 s of 200 ms parts at 25 fps (5 frames each)
  EXPECT_TRUE(s1.parts[0].independent);
  EXPECT_FALSE(s1.parts[1].independent);
  ByteVector joined;
  for (const Part& p : s1.parts) {
    EXPECT_EQ(p.duration_us, 200'000);
    auto boxes = mp4::parse_boxes(*p.data);
    ASSERT_TRUE(boxes.ok());
    EXPECT_EQ((*boxes)[0].type, "moof");
    append(joined, *p.data);
  }
  EXPECT_EQ(joined, *s1.data);
  EXPECT_EQ(seg.part_data(s1.parts[3].id), s1.parts[3].data);

  const std::string text = seg.media_playlist();
  auto c = test::check_media_playlist(text);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front() << "\n" << text;
  EXPECT_EQ(c.version, 9);
  EXPECT_TRUE(c.can_block_reload);
  EXPECT_DOUBLE_EQ(*c.part_target, 0.2);
  EXPECT_DOUBLE_EQ(*c.part_hold_back, 0.6);
  // Parts are listed only within three target durations (6 s) of the end: not for the first segment.
  EXPECT_TRUE(c.segments[0].parts.empty());
  EXPECT_EQ(c.segments[3].parts.size(), 10u);
  EXPECT_TRUE(c.segments[3].parts[0].independent);
  EXPECT_EQ(c.trailing_parts.size(), 1u);  // 8.0..8.2 s
  EXPECT_EQ(c.preload_hint_uri, seg.part_uri(seg.next_part_id()));
  const PlaylistPosition pos = seg.position();
  EXPECT_EQ(pos.next_msn, 4u);
  EXPECT_EQ(pos.parts_in_next, 1u);
  EXPECT_EQ(decide_reload(pos, 4, 1), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(pos, 4, 0), ReloadDecision::Ready);
}

TEST(Segmenter, LowLatencyPartsNeverExceedThePartTargetAt2997Fps) {
  SegmenterConfig cfg;
  cfg.variant = Variant::LowLatency;
  auto made = Segmenter::create({video(), audio()}, cfg);
  ASSERT_TRUE(made.ok());
  Feeder f{*made, 3003, 60};
  f.run(9.0);
  for (const Segment& s : made->segments())
    for (const Part& p : s.parts) EXPECT_LE(p.duration_us, 200'500);
  auto c = test::check_media_playlist(made->media_playlist());
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_DOUBLE_EQ(*c.part_target, 0.2);
}

TEST(Segmenter, FinishClosesTheLastSegmentAndEndsThePlaylist) {
  SegmenterConfig cfg;
  cfg.variant = Variant::LowLatency;
  auto made = Segmenter::create({video(), audio()}, cfg);
  ASSERT_TRUE(made.ok());
  Feeder f{*made};
  f.run(3.0);
  made->finish();
  ASSERT_EQ(made->segments().size(), 2u);
  EXPECT_EQ(made->segments()[1].duration_us, 1'000'000);
  auto c = test::check_media_playlist(made->media_playlist());
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_TRUE(c.ended);
  EXPECT_TRUE(c.preload_hint_uri.empty());
  EXPECT_FALSE(made->push(0, Sample{90000 * 10, 0, 3600, true, frame(true)}, kWall).ok());
}

TEST(Segmenter, CreateRejectsBadConfigurations) {
  SegmenterConfig cfg;
  EXPECT_FALSE(Segmenter::create({}, cfg).ok());
  cfg.part_target = 3.0;  // longer than the segment target
  EXPECT_FALSE(Segmenter::create({video()}, cfg).ok());
  cfg = {};
  cfg.window = 0;
  EXPECT_FALSE(Segmenter::create({video()}, cfg).ok());
  TrackInfo opus;
  opus.codec = TrackInfo::Codec::Opus;
  opus.timescale = 48000;
  EXPECT_FALSE(Segmenter::create({opus}, SegmenterConfig{}).ok());  // no Opus in TS
  cfg = {};
  cfg.variant = Variant::Fmp4;
  EXPECT_TRUE(Segmenter::create({opus}, cfg).ok());
}

}  // namespace
}  // namespace sg::hls
