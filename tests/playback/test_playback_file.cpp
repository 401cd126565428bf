// Playback's pure parts: the segment path pattern's inverse, the fMP4 fragment reader over segments written by our
// own fMP4 writer (src/mp4/fragment.hpp, as the recorder writes them), and the MP4 built from their sample tables.
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "mp4/box_parser.hpp"
#include "mp4/fragment.hpp"
#include "mp4/fragment_reader.hpp"
#include "playback/path_pattern.hpp"
#include "playback/playback_file.hpp"

namespace sg::playback {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

SysMicros at(int h, int m, int s, int us = 0) {
  return SysMicros{sys_days{2026y / 12 / 1} + hours{h} + minutes{m} + seconds{s}} + microseconds{us};
}

// ---- path pattern (parsed by record/path_pattern: tests/record/test_path_pattern.cpp) ----

TEST(PathPattern, PlaybackTakesOnlyFmp4SegmentsOfThePattern) {
  const std::string pattern = "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f";
  auto n = parse_segment_path(pattern, "./recordings/cam1/2026-12-01_23-50-21-123456.mp4");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->stream, "cam1");
  EXPECT_EQ(n->start, at(23, 50, 21, 123456));
  EXPECT_FALSE(parse_segment_path(pattern, "./recordings/cam1/2026-12-01_23-50-21-123456.ts"));
  EXPECT_FALSE(parse_segment_path(pattern, "./recordings/cam1/2026-02-30_23-50-21-123456.mp4"));
}

TEST(PathPattern, ScanRootsAreTheLiteralDirectories) {
  EXPECT_EQ(pattern_root("./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f"), "./recordings/");
  EXPECT_EQ(pattern_root("/r/%stream/%Y/%m/%d-%H-%M-%S", "cam"), "/r/cam/");
}

// ---- segments written by the fMP4 writer ----

const ByteVector kAvcC = from_hex(
    "0142c00bffe100186742c00bda0a37e4c044000003000400000300ca3c50aa80010004"
    "68ce0fc8");

std::vector<mp4::TrackInfo> tracks() {
  mp4::TrackInfo v;
  v.codec = mp4::TrackInfo::Codec::H264;
  v.timescale = 90000;
  v.width = 160;
  v.height = 90;
  v.codec_config = kAvcC;
  mp4::TrackInfo a;
  a.codec = mp4::TrackInfo::Codec::AAC;
  a.timescale = 48000;
  a.sample_rate = 48000;
  a.channels = 1;
  a.codec_config = from_hex("1188");
  return {v, a};
}

// A payload that names its segment, track and sample, so output bytes can be traced back.
ByteVector payload(int seg, int track, int i, size_t size) {
  ByteVector b(size, std::byte{0});
  b[0] = std::byte(seg), b[1] = std::byte(track), b[2] = std::byte(i >> 8), b[3] = std::byte(i & 0xff);
  return b;
}

// `seconds` of 25 fps video (a keyframe every `gop` frames; B-frame-like composition offsets: 2 frames on
// keyframes) and 48 kHz audio (1024-sample frames), one fragment per second, tfdt from 0.
ByteVector segment(int seg, int seconds_long, int gop = 25) {
  auto t = tracks();
  ByteVector file = *mp4::write_init_segment(t);
  int vi = 0, ai = 0;
  for (int s = 0; s < seconds_long; ++s) {
    std::vector<mp4::Sample> video, audio;
    for (int f = 0; f < 25; ++f, ++vi) {
      mp4::Sample x;
      x.dts = int64_t{vi} * 3600;
      x.duration = 3600;
      x.keyframe = vi % gop == 0;
      x.cts_offset = x.keyframe ? 7200 : 3600;
      x.data = payload(seg, 1, vi, 100 + vi % 7);
      video.push_back(std::move(x));
    }
    while (int64_t{ai} * 1024 < int64_t{s + 1} * 48000) {
      mp4::Sample x;
      x.dts = int64_t{ai} * 1024;
      x.duration = 1024;
      x.keyframe = true;
      x.data = payload(seg, 2, ai, 20);
      audio.push_back(std::move(x));
      ++ai;
    }
    mp4::TrackRun runs[] = {{1, true, video}, {2, false, audio}};
    auto frag = mp4::write_fragment(static_cast<uint32_t>(s + 1), runs);
    append(file, *frag);
  }
  return file;
}

// Indexes an in-memory segment as read_segment_index does from a file.
SegmentIndex index_of(const ByteVector& file, SysMicros start) {
  SegmentIndex index;
  index.start = start;
  auto boxes = mp4::parse_boxes(file);
  EXPECT_TRUE(boxes);
  for (const auto& b : *boxes) {
    if (b.type == "moov") index.tracks = *mp4::parse_moov(b.payload);
    if (b.type == "moof") {
      EXPECT_TRUE(mp4::parse_moof(b.payload, b.offset, index.tracks, index.samples));
    }
  }
  return index;
}

TEST(FragmentReader, ReadsTracksAndSamplesOfAWrittenSegment) {
  const ByteVector file = segment(0, 2);
  auto index = index_of(file, at(10, 0, 0));
  ASSERT_EQ(index.tracks.size(), 2u);
  EXPECT_EQ(index.tracks[0].handler, "vide");
  EXPECT_EQ(index.tracks[0].timescale, 90000u);
  EXPECT_EQ(index.tracks[0].width, 160u << 16);
  EXPECT_EQ(index.tracks[1].handler, "soun");
  EXPECT_EQ(index.tracks[1].timescale, 48000u);
  size_t video = 0, keys = 0;
  for (const auto& s : index.samples) {
    ASSERT_LE(s.offset + s.size, file.size());
    // The bytes at the indexed offset are the sample written there.
    EXPECT_EQ(static_cast<uint32_t>(file[s.offset + 1]), s.track_id);
    const int i = static_cast<int>(file[s.offset + 2]) << 8 | static_cast<int>(file[s.offset + 3]);
    if (s.track_id == 1) {
      EXPECT_EQ(s.dts, uint64_t(i) * 3600);
      EXPECT_EQ(s.keyframe, i % 25 == 0);
      EXPECT_EQ(s.cts_offset, s.keyframe ? 7200 : 3600);
      ++video, keys += s.keyframe;
    } else {
      EXPECT_EQ(s.dts, uint64_t(i) * 1024);
    }
  }
  EXPECT_EQ(video, 50u);
  EXPECT_EQ(keys, 2u);
  // The longest track: audio, whose last 1024-sample frame ends at 2.0053 s.
  EXPECT_EQ(index.duration(), microseconds(2005333));
}

TEST(FragmentReader, RefusesTruncatedBoxesWithoutCrashing) {
  const ByteVector file = segment(0, 1);
  auto boxes = *mp4::parse_boxes(file);
  for (const auto& b : boxes) {
    if (b.type != "moof" && b.type != "moov") continue;
    for (size_t cut = 0; cut < b.payload.size(); cut += 7) {
      const Bytes part = b.payload.subspan(0, cut);
      if (b.type == "moov") {
        (void)mp4::parse_moov(part);
      } else {
        std::vector<mp4::FragmentSample> out;
        (void)mp4::parse_moof(part, 0, *mp4::parse_moov(mp4::find_box(file, "moov")->payload), out);
      }
    }
  }
}

// ---- the playback MP4 ----

// Concatenates the pieces of a PlaybackFile over in-memory segment files.
ByteVector materialize(const PlaybackFile& f, const std::vector<ByteVector>& files) {
  ByteVector out;
  for (const auto& p : f.pieces) {
    const ByteVector& src = p.file < 0 ? f.memory : files[p.file];
    EXPECT_LE(p.offset + p.size, src.size());
    out.insert(out.end(), src.begin() + static_cast<ptrdiff_t>(p.offset),
               src.begin() + static_cast<ptrdiff_t>(p.offset + p.size));
  }
  EXPECT_EQ(out.size(), f.size);
  return out;
}

struct Table {
  std::vector<uint32_t> sizes, durations;
  std::vector<uint64_t> offsets;
  std::vector<int32_t> cts;
  std::vector<uint32_t> sync;  // 1-based; empty = all
  uint32_t timescale = 0;
};

Table read_table(const mp4::Box& trak) {
  Table t;
  auto mdhd = *mp4::parse_full_box(mp4::find_box(trak.payload, "mdia/mdhd")->payload);
  t.timescale = be32(mdhd.body, mdhd.version == 1 ? 16 : 8);
  const Bytes stbl = mp4::find_box(trak.payload, "mdia/minf/stbl")->payload;
  auto body = [&](const char* type) -> std::optional<Bytes> {
    auto b = mp4::find_box(stbl, type);
    if (!b) return std::nullopt;
    return mp4::parse_full_box(b->payload)->body;
  };
  auto stsz = *body("stsz");
  for (uint32_t i = 0; i < be32(stsz, 4); ++i) t.sizes.push_back(be32(stsz, 8 + 4 * i));
  auto stts = *body("stts");
  for (uint32_t i = 0; i < be32(stts, 0); ++i)
    for (uint32_t n = 0; n < be32(stts, 4 + 8 * i); ++n) t.durations.push_back(be32(stts, 8 + 8 * i));
  if (auto stco = body("stco"))
    for (uint32_t i = 0; i < be32(*stco, 0); ++i) t.offsets.push_back(be32(*stco, 4 + 4 * i));
  if (auto ctts = body("ctts"))
    for (uint32_t i = 0; i < be32(*ctts, 0); ++i)
      for (uint32_t n = 0; n < be32(*ctts, 4 + 8 * i); ++n)
        t.cts.push_back(static_cast<int32_t>(be32(*ctts, 8 + 8 * i)));
  if (auto stss = body("stss"))
    for (uint32_t i = 0; i < be32(*stss, 0); ++i) t.sync.push_back(be32(*stss, 4 + 4 * i));
  return t;
}

class PlaybackFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files = {segment(0, 10), segment(1, 10)};
    indexes = {index_of(files[0], at(10, 0, 0)), index_of(files[1], at(10, 0, 10))};
  }
  std::vector<ByteVector> files;
  std::vector<SegmentIndex> indexes;
};

TEST_F(PlaybackFileTest, Mp4StartsAtTheKeyframeBeforeStartAndCrossesTheSegmentBoundary) {
  // Start 7.5 s into the first segment (keyframes every second, shown 2 frames after their decode time).
  auto built = build_playback_file(indexes, at(10, 0, 7, 500000), at(10, 0, 12, 500000), Format::Mp4);
  ASSERT_TRUE(built) << built.error();
  EXPECT_EQ(built->start, at(10, 0, 7, 80000));  // the keyframe at 7.0 s decode, 7.08 s presentation
  const ByteVector out = materialize(*built, files);
  auto top = *mp4::parse_boxes(out);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].type, "ftyp");
  EXPECT_EQ(top[1].type, "moov");
  EXPECT_EQ(top[2].type, "mdat");
  auto traks = mp4::find_all(top[1].payload, "trak");
  ASSERT_EQ(traks.size(), 2u);
  Table v = read_table(traks[0]), a = read_table(traks[1]);
  EXPECT_EQ(v.timescale, 90000u);
  // From the keyframe (decoded at 7.0 s) in decode order up to the first frame shown at or after 12.5 s (the one
  // decoded at 12.48 s): 137 frames.
  ASSERT_EQ(v.sizes.size(), 137u);
  ASSERT_EQ(v.offsets.size(), v.sizes.size());
  ASSERT_EQ(v.cts.size(), v.sizes.size());
  EXPECT_EQ(v.cts[0], 0);  // the keyframe shows at 0
  EXPECT_EQ(v.cts[1], -3600);
  EXPECT_EQ(v.sync, (std::vector<uint32_t>{1, 26, 51, 76, 101, 126}));
  uint64_t total = 0;
  for (auto d : v.durations) total += d;
  EXPECT_EQ(total, 137u * 3600);
  // Every sample offset points at the sample's bytes: video frames 175.. of segment 0, then 0.. of segment 1.
  for (size_t i = 0; i < v.sizes.size(); ++i) {
    const auto o = v.offsets[i];
    const int seg = static_cast<int>(out[o]), frame = int(out[o + 2]) << 8 | int(out[o + 3]);
    EXPECT_EQ(static_cast<int>(out[o + 1]), 1);
    EXPECT_EQ(seg * 250 + frame, 175 + static_cast<int>(i)) << i;
  }
  // Audio from the first frame at or after the keyframe's time (7.08 s -> frame 332 at 7.0827 s), in sync.
  ASSERT_FALSE(a.offsets.empty());
  EXPECT_EQ(int(out[a.offsets[0] + 2]) << 8 | int(out[a.offsets[0] + 3]), 332);  // 7.0827 s
  EXPECT_TRUE(a.cts.empty());
  // Across the boundary audio restarts at frame 0 of segment 1 without a gap in decode time.
  uint64_t audio_total = 0;
  for (auto d : a.durations) audio_total += d;
  EXPECT_NEAR(static_cast<double>(audio_total) / 48000, 5.4, 0.05);
}

TEST_F(PlaybackFileTest, Fmp4HasOneFragmentPerGopWithTheSameSamples) {
  auto built = build_playback_file(indexes, at(10, 0, 7, 500000), at(10, 0, 12, 500000), Format::Fmp4);
  ASSERT_TRUE(built) << built.error();
  const ByteVector out = materialize(*built, files);
  auto top = *mp4::parse_boxes(out);
  auto moov = mp4::find_box(out, "moov");
  ASSERT_TRUE(moov);
  auto t = mp4::parse_moov(moov->payload);
  ASSERT_TRUE(t) << t.error();
  std::vector<mp4::FragmentSample> samples;
  size_t moofs = 0;
  for (const auto& b : top)
    if (b.type == "moof") {
      ++moofs;
      ASSERT_TRUE(mp4::parse_moof(b.payload, b.offset, *t, samples));
    }
  EXPECT_EQ(moofs, 6u);
  size_t video = 0;
  for (const auto& s : samples) {
    ASSERT_LE(s.offset + s.size, out.size());
    EXPECT_EQ(static_cast<uint32_t>(out[s.offset + 1]), s.track_id);
    if (s.track_id == 1) {
      if (video == 0) {
        EXPECT_TRUE(s.keyframe);
      }
      // Composition offsets made non-negative (+1 frame); audio is delayed by the same 40 ms instead.
      EXPECT_EQ(s.dts, video * 3600);
      EXPECT_EQ(s.cts_offset, s.keyframe ? 3600 : 0);
      ++video;
    } else if (video == 0) {
      FAIL() << "audio before the first video fragment";
    }
  }
  EXPECT_EQ(video, 137u);
  std::optional<uint64_t> first_audio;
  for (const auto& s : samples)
    if (s.track_id == 2 && !first_audio) first_audio = s.dts;
  EXPECT_EQ(first_audio, 1920u);  // 40 ms at 48 kHz
}

TEST_F(PlaybackFileTest, StartInAGapBeginsAtTheNextKeyframeAndNoDataIsAnError) {
  // The second segment starts 5 s after the first one ends.
  indexes[1].start = at(10, 0, 15);
  auto built = build_playback_file(indexes, at(10, 0, 12), at(10, 0, 20), Format::Mp4);
  ASSERT_TRUE(built) << built.error();
  EXPECT_EQ(built->start, at(10, 0, 15, 80000));
  EXPECT_FALSE(build_playback_file(indexes, at(11, 0, 0), at(11, 1, 0), Format::Mp4));
  EXPECT_FALSE(build_playback_file(indexes, at(9, 0, 0), at(9, 1, 0), Format::Mp4));
}

TEST_F(PlaybackFileTest, DifferentTracksEndTheOutputAtThatSegment) {
  auto whole = build_playback_file(indexes, at(10, 0, 8), at(10, 0, 15), Format::Mp4);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->duration, 7960ms);  // decoded from 7 s up to the frame shown at 15 s
  indexes[1].tracks[0].stsd.back() = std::byte{0x42};  // another codec configuration
  auto built = build_playback_file(indexes, at(10, 0, 8), at(10, 0, 15), Format::Mp4);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->duration, 3000ms);  // 7 s to the end of the first segment
}

TEST(Spans, MergeTouchingAndKeepGaps) {
  auto spans = merge_spans({{at(10, 0, 10), at(10, 0, 20)}, {at(10, 0, 0), at(10, 0, 10, 10)},
                            {at(10, 0, 20, 300000), at(10, 0, 30)}, {at(10, 1, 0), at(10, 1, 5)}},
                           500ms);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].start, at(10, 0, 0));
  EXPECT_EQ(spans[0].end, at(10, 0, 30));
  EXPECT_EQ(spans[1].start, at(10, 1, 0));
}

// ---- request parameters ----

TEST(ByteRanges, FollowRfc9110) {
  using K = ByteRange::Kind;
  auto r = parse_byte_range("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, K::Partial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  r = parse_byte_range("bytes=900-", 1000);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_byte_range("bytes=-100", 1000);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_byte_range("bytes=990-5000", 1000);
  EXPECT_EQ(r.last, 999u);
  EXPECT_EQ(parse_byte_range("bytes=1000-", 1000).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=-0", 1000).kind, K::Unsatisfiable);
  EXPECT_EQ(parse_byte_range("bytes=5-2", 1000).kind, K::Whole);
  EXPECT_EQ(parse_byte_range("items=0-1", 1000).kind, K::Whole);
  EXPECT_EQ(parse_byte_range("bytes=0-1,5-6", 1000).kind, K::Whole);
  EXPECT_EQ(parse_byte_range("bytes=x-1", 1000).kind, K::Whole);
}

TEST(RequestTimes, Rfc3339AndDurations) {
  EXPECT_EQ(parse_rfc3339("2026-12-01T10:00:07Z"), at(10, 0, 7));
  EXPECT_EQ(parse_rfc3339("2026-12-01T10:00:07.25Z"), at(10, 0, 7, 250000));
  EXPECT_EQ(parse_rfc3339("2026-12-01T11:00:07+01:00"), at(10, 0, 7));
  EXPECT_FALSE(parse_rfc3339("2026-12-01T10:00:07"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T10:00:07Z"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_EQ(format_rfc3339(at(10, 0, 7, 250000)), "2026-12-01T10:00:07.250000Z");
  EXPECT_EQ(parse_duration("60s"), microseconds(60s));
  EXPECT_EQ(parse_duration("1m30s"), microseconds(90s));
  EXPECT_EQ(parse_duration("1.5h"), microseconds(5400s));
  EXPECT_EQ(parse_duration("15"), microseconds(15s));
  EXPECT_EQ(parse_duration("500ms"), microseconds(500ms));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("0s"));
  EXPECT_FALSE(parse_duration("5x"));
}

}  // namespace
}  // namespace sg::playback
