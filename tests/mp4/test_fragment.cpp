#include <gtest/gtest.h>

#include <algorithm>

#include "mp4/box_parser.hpp"
#include "mp4/box_writer.hpp"
#include "mp4/fragment.hpp"

namespace sg::mp4 {
namespace {

// Real x264 SPS/PPS of a 160x90 baseline stream and the avcC record ffmpeg builds from them.
const ByteVector kSps = from_hex("6742c00bda0a37e4c044000003000400000300ca3c50aa80");
const ByteVector kPps = from_hex("68ce0fc8");
const ByteVector kAvcC = from_hex(
    "0142c00bffe100186742c00bda0a37e4c044000003000400000300ca3c50aa80010004"
    "68ce0fc8");
const ByteVector kAacConfig = from_hex("1208");  // AAC-LC 44100 Hz mono

TrackInfo h264_track() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::H264;
  t.timescale = 90000;
  t.width = 160;
  t.height = 90;
  t.codec_config = kAvcC;
  t.sps = kSps;
  t.pps = kPps;
  return t;
}

TrackInfo aac_track() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::AAC;
  t.timescale = 44100;
  t.sample_rate = 44100;
  t.channels = 1;
  t.codec_config = kAacConfig;
  return t;
}

std::vector<std::string> types(Bytes data) {
  std::vector<std::string> out;
  auto boxes = parse_boxes(data);
  EXPECT_TRUE(boxes.ok()) << boxes.error();
  if (boxes)
    for (auto& b : *boxes) out.push_back(b.type);
  return out;
}

bool contains(Bytes hay, Bytes needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

TEST(BoxWriter, BackPatchesNestedSizes) {
  ByteVector out;
  BoxWriter w(out);
  w.begin("moov");
  w.begin_full("mvhd", 1, 0x000203);
  w.u32(7);
  w.end();
  w.end();
  EXPECT_EQ(to_hex(out),
            "000000186d6f6f7600000010"
            "6d766864"
            "01000203"
            "00000007");
}

TEST(InitSegment, HasFtypWithCmafBrandsThenMoov) {
  std::vector<TrackInfo> tracks = {h264_track(), aac_track()};
  auto init = write_init_segment(tracks);
  ASSERT_TRUE(init.ok()) << init.error();
  EXPECT_EQ(types(*init), (std::vector<std::string>{"ftyp", "moov"}));
  auto ftyp = find_box(*init, "ftyp");
  ASSERT_TRUE(ftyp);
  EXPECT_EQ(as_string_view(ftyp->payload.first(4)), "iso6");
  EXPECT_EQ(as_string_view(ftyp->payload.subspan(8)), "iso6cmfc");
  auto moov = find_box(*init, "moov");
  EXPECT_EQ(types(moov->payload), (std::vector<std::string>{"mvhd", "trak", "trak", "mvex"}));
  auto mvex = find_box(*init, "moov/mvex");
  ASSERT_EQ(find_all(mvex->payload, "trex").size(), 2u);
  EXPECT_EQ(be32(find_all(mvex->payload, "trex")[1].payload, 4), 2u);  // track_ID
}

TEST(InitSegment, VideoTrackDescribesAvc1WithTheAvcCRecord) {
  std::vector<TrackInfo> tracks = {h264_track()};
  auto init = write_init_segment(tracks);
  ASSERT_TRUE(init.ok());
  auto hdlr = find_box(*init, "moov/trak/mdia/hdlr");
  ASSERT_TRUE(hdlr);
  EXPECT_EQ(as_string_view(hdlr->payload.subspan(8, 4)), "vide");
  auto mdhd = find_box(*init, "moov/trak/mdia/mdhd");
  EXPECT_EQ(be32(mdhd->payload, 12), 90000u);  // timescale
  auto tkhd = find_box(*init, "moov/trak/tkhd");
  EXPECT_EQ(be32(tkhd->payload, 76), 160u << 16);
  EXPECT_EQ(be32(tkhd->payload, 80), 90u << 16);
  EXPECT_TRUE(find_box(*init, "moov/trak/mdia/minf/vmhd"));
  for (const char* empty : {"stts", "stsc", "stco"}) {
    auto b = find_box(*init, std::string("moov/trak/mdia/minf/stbl/") + empty);
    ASSERT_TRUE(b) << empty;
    EXPECT_EQ(be32(b->payload, 4), 0u) << empty;
  }
  auto stsd = find_box(*init, "moov/trak/mdia/minf/stbl/stsd");
  ASSERT_TRUE(stsd);
  EXPECT_EQ(be32(stsd->payload, 4), 1u);
  auto entries = parse_boxes(stsd->payload.subspan(8));
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  const Box& avc1 = (*entries)[0];
  EXPECT_EQ(avc1.type, "avc1");
  EXPECT_EQ(be16(avc1.payload, 24), 160);
  EXPECT_EQ(be16(avc1.payload, 26), 90);
  auto children = parse_boxes(avc1.payload.subspan(78));
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].type, "avcC");
  EXPECT_EQ(to_hex((*children)[0].payload), to_hex(kAvcC));
}

TEST(InitSegment, AacTrackCarriesAudioSpecificConfigInEsds) {
  std::vector<TrackInfo> tracks = {aac_track()};
  auto init = write_init_segment(tracks);
  ASSERT_TRUE(init.ok());
  auto stsd = find_box(*init, "moov/trak/mdia/minf/stbl/stsd");
  auto entries = parse_boxes(stsd->payload.subspan(8));
  ASSERT_TRUE(entries.ok());
  const Box& mp4a = (*entries)[0];
  EXPECT_EQ(mp4a.type, "mp4a");
  EXPECT_EQ(be16(mp4a.payload, 16), 1);             // channelcount
  EXPECT_EQ(be32(mp4a.payload, 24), 44100u << 16);  // samplerate 16.16
  auto esds = parse_boxes(mp4a.payload.subspan(28));
  ASSERT_TRUE(esds.ok());
  EXPECT_EQ((*esds)[0].type, "esds");
  // DecoderConfigDescriptor: MPEG-4 audio, then DecoderSpecificInfo (tag 5) holding exactly the ASC.
  EXPECT_TRUE(contains((*esds)[0].payload, from_hex("0480808014"
                                                    "4015")));
  EXPECT_TRUE(contains((*esds)[0].payload, from_hex("058080800212 08")));
  EXPECT_TRUE(find_box(*init, "moov/trak/mdia/minf/smhd"));
}

TEST(InitSegment, H265UsesHvc1AndOpusUsesDOpsWithOpusHeadPreSkip) {
  TrackInfo hevc = h264_track();
  hevc.codec = TrackInfo::Codec::H265;
  hevc.codec_config = from_hex("01016000000090000000000000");
  TrackInfo opus;
  opus.codec = TrackInfo::Codec::Opus;
  opus.timescale = 48000;
  opus.sample_rate = 48000;
  opus.channels = 2;
  opus.codec_config = from_hex("4f707573486561640102380180bb000000000000");  // OpusHead, pre-skip 0x0138
  std::vector<TrackInfo> tracks = {hevc, opus};
  auto init = write_init_segment(tracks);
  ASSERT_TRUE(init.ok()) << init.error();
  auto moov = find_box(*init, "moov");
  auto traks = find_all(moov->payload, "trak");
  ASSERT_EQ(traks.size(), 2u);
  auto stsd0 = find_box(traks[0].payload, "mdia/minf/stbl/stsd");
  auto e0 = parse_boxes(stsd0->payload.subspan(8));
  EXPECT_EQ((*e0)[0].type, "hvc1");
  auto c0 = parse_boxes((*e0)[0].payload.subspan(78));
  EXPECT_EQ((*c0)[0].type, "hvcC");
  auto stsd1 = find_box(traks[1].payload, "mdia/minf/stbl/stsd");
  auto e1 = parse_boxes(stsd1->payload.subspan(8));
  EXPECT_EQ((*e1)[0].type, "Opus");
  auto dops = parse_boxes((*e1)[0].payload.subspan(28));
  ASSERT_TRUE(dops.ok());
  EXPECT_EQ((*dops)[0].type, "dOps");
  EXPECT_EQ(to_hex((*dops)[0].payload),
            "00020138"
            "0000bb80"
            "0000"
            "00");
}

TEST(InitSegment, RejectsVideoWithoutCodecRecordAndAacWithoutConfig) {
  TrackInfo v = h264_track();
  v.codec_config.clear();
  std::vector<TrackInfo> a = {v};
  EXPECT_FALSE(write_init_segment(a).ok());
  TrackInfo aac = aac_track();
  aac.codec_config.clear();
  std::vector<TrackInfo> b = {aac};
  EXPECT_FALSE(write_init_segment(b).ok());
  std::vector<TrackInfo> none;
  EXPECT_FALSE(write_init_segment(none).ok());
}

Sample sample(int64_t dts, int32_t cts, uint32_t dur, bool key, std::string_view bytes) {
  return Sample{dts, cts, dur, key, to_vector(bytes)};
}

TEST(Fragment, MoofDescribesSamplesAndDataOffsetsPointIntoMdat) {
  std::vector<Sample> video = {sample(180000, 3000, 3000, true, "IDR-frame"), sample(183000, -3000, 3000, false, "B")};
  std::vector<Sample> audio = {sample(88200, 0, 1024, false, "aac1"), sample(89224, 0, 1024, false, "aac22")};
  std::vector<TrackRun> runs = {{1, true, video}, {2, false, audio}, {3, false, {}}};
  auto frag = write_fragment(42, runs);
  ASSERT_TRUE(frag.ok()) << frag.error();
  EXPECT_EQ(types(*frag), (std::vector<std::string>{"moof", "mdat"}));
  auto moof = find_box(*frag, "moof");
  auto mfhd = find_box(moof->payload, "mfhd");
  EXPECT_EQ(be32(mfhd->payload, 4), 42u);
  auto trafs = find_all(moof->payload, "traf");
  ASSERT_EQ(trafs.size(), 2u);  // the empty run is left out

  auto tfhd = find_box(trafs[0].payload, "tfhd");
  auto full = parse_full_box(tfhd->payload);
  EXPECT_EQ(full->flags, 0x020000u);  // default-base-is-moof
  EXPECT_EQ(be32(full->body, 0), 1u);
  auto tfdt = find_box(trafs[0].payload, "tfdt");
  EXPECT_EQ(parse_full_box(tfdt->payload)->version, 1);
  EXPECT_EQ(*parse_tfdt(tfdt->payload), 180000u);

  auto trun = parse_trun(find_box(trafs[0].payload, "trun")->payload);
  ASSERT_TRUE(trun.ok()) << trun.error();
  EXPECT_EQ(trun->version, 1);
  ASSERT_EQ(trun->entries.size(), 2u);
  EXPECT_EQ(trun->entries[0].flags, kSyncSampleFlags);
  EXPECT_EQ(trun->entries[1].flags, kNonSyncSampleFlags);
  EXPECT_EQ(trun->entries[0].composition_offset, 3000);
  EXPECT_EQ(trun->entries[1].composition_offset, -3000);
  EXPECT_EQ(trun->entries[0].size, 9u);
  EXPECT_EQ(trun->entries[1].duration, 3000u);
  ASSERT_TRUE(trun->data_offset);
  EXPECT_EQ(as_string_view(Bytes(*frag).subspan(static_cast<size_t>(*trun->data_offset), 10)), "IDR-frameB");

  auto atrun = parse_trun(find_box(trafs[1].payload, "trun")->payload);
  ASSERT_TRUE(atrun.ok());
  EXPECT_FALSE(atrun->flags & 0x800);  // no composition offsets for audio
  EXPECT_EQ(atrun->entries[1].flags, kSyncSampleFlags);
  EXPECT_EQ(as_string_view(Bytes(*frag).subspan(static_cast<size_t>(*atrun->data_offset), 9)), "aac1aac22");
  EXPECT_EQ(*parse_tfdt(find_box(trafs[1].payload, "tfdt")->payload), 88200u);
  auto mdat = find_box(*frag, "mdat");
  EXPECT_EQ(mdat->payload.size(), 19u);
}

TEST(Fragment, RejectsNegativeDecodeTime) {
  std::vector<Sample> v = {sample(-1, 0, 1, true, "x")};
  std::vector<TrackRun> runs = {{1, true, v}};
  EXPECT_FALSE(write_fragment(1, runs).ok());
}

TEST(BoxParser, RejectsBoxLargerThanItsParent) {
  auto r =
      parse_boxes(from_hex("00000010"
                           "66726565"
                           "0000"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("does not fit"), std::string::npos);
}

TEST(BoxParser, RejectsTruncatedHeaderAndSizeBelowHeader) {
  EXPECT_FALSE(parse_boxes(from_hex("000000")).ok());
  EXPECT_FALSE(parse_boxes(from_hex("00000004"
                                    "66726565"))
                   .ok());
  EXPECT_FALSE(parse_boxes(from_hex("00000001"
                                    "6d646174"
                                    "00000000"))
                   .ok());  // truncated largesize
}

TEST(BoxParser, ReadsLargesizeAndSizeZeroToEnd) {
  const ByteVector data = from_hex(
      "00000001"
      "6d646174"
      "0000000000000012"
      "abcd"
      "00000000"
      "66726565"
      "0102");
  auto r = parse_boxes(data);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].header_size, 16u);
  EXPECT_EQ(to_hex((*r)[0].payload), "abcd");
  EXPECT_EQ((*r)[1].type, "free");
  EXPECT_EQ(to_hex((*r)[1].payload), "0102");
}

TEST(BoxParser, TrunWithMoreSamplesThanBytesIsRejected) {
  // version 0, flags duration+size, sample_count 0x10000000 but only one entry present.
  auto r =
      parse_trun(from_hex("00000300"
                          "10000000"
                          "00000001"
                          "00000002"));
  EXPECT_FALSE(r.ok());
}

TEST(BoxParser, FindBoxReturnsNothingForMissingPath) {
  std::vector<TrackInfo> tracks = {aac_track()};
  auto init = write_init_segment(tracks);
  EXPECT_FALSE(find_box(*init, "moov/trak/mdia/minf/vmhd"));
  EXPECT_FALSE(find_box(*init, "moof"));
}

}  // namespace
}  // namespace sg::mp4
