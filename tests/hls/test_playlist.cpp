#include <gtest/gtest.h>

#include "hls/blocking_reload.hpp"
#include "hls/codecs.hpp"
#include "hls/playlist.hpp"
#include "playlist_checker.hpp"

namespace sg::hls {
namespace {

using mp4::TrackInfo;

TrackInfo h264() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::H264;
  t.width = 160;
  t.height = 90;
  t.sps = from_hex("6742c00bda0a37e4c044000003000400000300ca3c50aa80");  // x264, constrained baseline 1.1
  return t;
}

TEST(CodecString, H264IsProfileConstraintLevelFromSps) {
  auto c = codec_string(h264());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(*c, "avc1.42c00b");
}

TEST(CodecString, H264FallsBackToAvcCAndFailsWithoutEither) {
  TrackInfo t = h264();
  t.sps.clear();
  t.codec_config = from_hex("01640028ffe1");
  EXPECT_EQ(*codec_string(t), "avc1.640028");
  t.codec_config.clear();
  EXPECT_FALSE(codec_string(t).ok());
}

TEST(CodecString, H265FromRealX265SpsSkipsEmulationPreventionBytes) {
  TrackInfo t = h264();
  t.codec = TrackInfo::Codec::H265;
  // libx265 Main profile, level 3 (level_idc 30), progressive + frame-only constraint flags (0x90).
  t.sps = from_hex("42010101600000030090000003000003001ea0142061f265959a4932bc05a02000000300200000030321");
  auto c = codec_string(t);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(*c, "hvc1.1.6.L30.90");
}

TEST(CodecString, H265HighTierMain10FromHvcC) {
  TrackInfo t = h264();
  t.codec = TrackInfo::Codec::H265;
  t.sps.clear();
  // hvcC: version 1, profile_space 0, tier 1, profile 2, compat flags bit 2 set, constraints b0, level 153
  t.codec_config = from_hex("0122200000 00b00000000000 99");
  EXPECT_EQ(*codec_string(t), "hvc1.2.4.H153.B0");
}

TEST(CodecString, AudioObjectTypeComesFromAudioSpecificConfig) {
  TrackInfo a;
  a.codec = TrackInfo::Codec::AAC;
  a.codec_config = from_hex("1208");
  EXPECT_EQ(*codec_string(a), "mp4a.40.2");
  a.codec_config = from_hex("2b92");  // HE-AAC (object type 5)
  EXPECT_EQ(*codec_string(a), "mp4a.40.5");
  a.codec_config = from_hex("00");
  EXPECT_FALSE(codec_string(a).ok());
  a.codec = TrackInfo::Codec::Opus;
  EXPECT_EQ(*codec_string(a), "opus");
}

TEST(MultivariantPlaylist, ListsCodecsResolutionAndBandwidth) {
  TrackInfo a;
  a.codec = TrackInfo::Codec::AAC;
  a.codec_config = from_hex("1208");
  std::vector<TrackInfo> tracks = {h264(), a};
  auto p = render_multivariant_playlist(tracks, 800000, "stream.m3u8");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(*p,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42c00b,mp4a.40.2\",RESOLUTION=160x90\n"
            "stream.m3u8\n");
}

TEST(ProgramDateTime, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_program_date_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_program_date_time(1764037906123), "2025-11-25T02:31:46.123Z");
}

TEST(MediaPlaylist, TsPlaylistIsVersion3WithoutMap) {
  MediaPlaylist m;
  m.variant = Variant::MpegTs;
  m.target_duration = 2;
  m.media_sequence = 5;
  m.segments = {{5, 2.0, "seg5.ts", 1764037906123, {}}, {6, 1.96, "seg6.ts", std::nullopt, {}}};
  const std::string text = render_media_playlist(m);
  EXPECT_EQ(text,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n"
            "#EXT-X-PROGRAM-DATE-TIME:2025-11-25T02:31:46.123Z\n#EXTINF:2.000,\nseg5.ts\n#EXTINF:1.960,\nseg6.ts\n");
  EXPECT_TRUE(test::check_media_playlist(text).problems.empty());
}

TEST(MediaPlaylist, LowLatencyHasServerControlPartsAndPreloadHint) {
  MediaPlaylist m;
  m.variant = Variant::LowLatency;
  m.target_duration = 1;
  m.part_target = 0.5;
  m.map_uri = "init.mp4";
  m.segments = {{0, 1.0, "seg0.m4s", std::nullopt, {{0.5, true, "part0.m4s"}, {0.5, false, "part1.m4s"}}}};
  m.pending_parts = {{0.5, true, "part2.m4s"}};
  m.preload_hint_uri = "part3.m4s";
  const std::string text = render_media_playlist(m);
  EXPECT_EQ(
      text,
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n"
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n#EXT-X-PART-INF:PART-TARGET=0.500\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.500,URI=\"part1.m4s\"\n"
      "#EXTINF:1.000,\nseg0.m4s\n#EXT-X-PART:DURATION=0.500,URI=\"part2.m4s\",INDEPENDENT=YES\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part3.m4s\"\n");
  auto checked = test::check_media_playlist(text);
  EXPECT_TRUE(checked.problems.empty()) << checked.problems.front();
  EXPECT_EQ(checked.trailing_parts.size(), 1u);
  EXPECT_EQ(checked.preload_hint_uri, "part3.m4s");
}

// The checker must catch what it is there to catch.
TEST(PlaylistChecker, FlagsExtinfAboveTargetDuration) {
  auto c = test::check_media_playlist(
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXTINF:2.600,\na.ts\n");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("exceeds TARGETDURATION"), std::string::npos);
}

TEST(PlaylistChecker, FlagsMissingMediaSequenceAndPartsLongerThanTarget) {
  auto c = test::check_media_playlist(
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0."
      "3\n"
      "#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXT-X-PART:DURATION=0.250,URI=\"p0.m4s\"\n"
      "#EXTINF:0.250,\ns0.m4s\n");
  std::string all;
  for (auto& p : c.problems) all += p + "|";
  EXPECT_NE(all.find("longer than PART-TARGET"), std::string::npos) << all;
  EXPECT_NE(all.find("no EXT-X-MEDIA-SEQUENCE"), std::string::npos) << all;
  EXPECT_NE(all.find("PART-HOLD-BACK below"), std::string::npos) << all;
}

TEST(PlaylistChecker, FlagsPartsThatDoNotAddUpToTheirSegment) {
  auto c = test::check_media_playlist(
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0."
      "6\n"
      "#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PART:DURATION=0.200,URI=\"p0.m4s\"\n"
      "#EXTINF:1.000,\ns0.m4s\n");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("add up"), std::string::npos);
}

TEST(BlockingReload, CompleteSegmentsAndPublishedPartsAreReadyNow) {
  PlaylistPosition now{10, 3, 0.2};
  EXPECT_EQ(decide_reload(now, std::nullopt, std::nullopt), ReloadDecision::Ready);
  EXPECT_EQ(decide_reload(now, 9, std::nullopt), ReloadDecision::Ready);
  EXPECT_EQ(decide_reload(now, 9, 7), ReloadDecision::Ready);
  EXPECT_EQ(decide_reload(now, 10, 2), ReloadDecision::Ready);
  EXPECT_EQ(decide_reload(now, 2, 0), ReloadDecision::Ready);  // scrolled out of the window: current playlist
}

TEST(BlockingReload, NextPartsAndTheSegmentInProgressWait) {
  PlaylistPosition now{10, 3, 0.2};
  EXPECT_EQ(decide_reload(now, 10, 3), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(now, 10, std::nullopt), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(now, 11, 0), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(now, 11, std::nullopt), ReloadDecision::Wait);
}

TEST(BlockingReload, MoreThanTwoSegmentsAheadIsBadRequest) {
  PlaylistPosition now{10, 3, 0.2};  // last complete segment: 9
  EXPECT_EQ(decide_reload(now, 12, std::nullopt), ReloadDecision::BadRequest);
  EXPECT_EQ(decide_reload(now, 12, 0), ReloadDecision::BadRequest);
}

TEST(BlockingReload, PartBeyondTheAdvancePartLimitIsBadRequest) {
  // PART-TARGET 0.2 s: limit is 3 / 0.2 = 15 parts past the last published one.
  PlaylistPosition now{10, 3, 0.2};
  EXPECT_EQ(decide_reload(now, 10, 17), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(now, 10, 18), ReloadDecision::BadRequest);
  EXPECT_EQ(decide_reload(now, 11, 14), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(now, 11, 15), ReloadDecision::BadRequest);
  // PART-TARGET >= 1 s: limit is 3.
  PlaylistPosition slow{10, 0, 1.0};
  EXPECT_EQ(decide_reload(slow, 10, 2), ReloadDecision::Wait);
  EXPECT_EQ(decide_reload(slow, 10, 3), ReloadDecision::BadRequest);
}

TEST(BlockingReload, PartWithoutMsnIsBadRequest) {
  EXPECT_EQ(decide_reload(PlaylistPosition{}, std::nullopt, 1), ReloadDecision::BadRequest);
}

// Credentials from the playlist's URL go on every URI a player will request: segments, the init segment, parts,
// preload hints and the media playlist of a multivariant playlist.
TEST(HlsPlaylist, AddQueryToUrisReachesEveryUri) {
  const std::string ll =
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PART:DURATION=0.200,URI=\"part7.m4s\","
      "INDEPENDENT=YES\n#EXTINF:1.000,\nseg3.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.m4s?x=1\"\n";
  EXPECT_EQ(add_query_to_uris(ll, "jwt=t"),
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-MAP:URI=\"init.mp4?jwt=t\"\n#EXT-X-PART:DURATION=0.200,"
            "URI=\"part7.m4s?jwt=t\",INDEPENDENT=YES\n#EXTINF:1.000,\nseg3.m4s?jwt=t\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.m4s?x=1&jwt=t\"\n");
  EXPECT_EQ(add_query_to_uris("#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nstream.m3u8\r\n", "user=a&pass=b"),
            "#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nstream.m3u8?user=a&pass=b\r\n");
  EXPECT_EQ(add_query_to_uris(ll, ""), ll);
  EXPECT_EQ(add_query_to_uris("#EXT-X-MAP:URI=\"unterminated\nseg1.ts", "q=1"),
            "#EXT-X-MAP:URI=\"unterminated\nseg1.ts?q=1");
}

}  // namespace
}  // namespace sg::hls
