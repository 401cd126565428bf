#include <gtest/gtest.h>

#include "mpegts/demux.hpp"
#include "mpegts/muxer.hpp"

namespace sg::mpegts {
namespace {

const ByteVector kSps = from_hex("6742c00bda0a37e4c044000003000400000300ca3c50aa80");
const ByteVector kPps = from_hex("68ce0fc8");

TrackInfo h264_track() {
  TrackInfo t;
  t.codec = TrackInfo::Codec::H264;
  t.timescale = 90000;
  t.width = 160;
  t.height = 90;
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
  t.codec_config = from_hex("1208");
  return t;
}

ByteVector avcc(std::initializer_list<std::string_view> nals_hex) {
  ByteVector out;
  for (auto h : nals_hex) {
    ByteVector n = from_hex(h);
    append32(out, static_cast<uint32_t>(n.size()));
    append(out, n);
  }
  return out;
}

Muxer make_muxer(std::vector<TrackInfo> tracks) {
  auto m = Muxer::create(std::move(tracks));
  EXPECT_TRUE(m.ok()) << m.error();
  return std::move(*m);
}

TEST(Crc32Mpeg2, MatchesTheStandardCheckValue) { EXPECT_EQ(crc32_mpeg2(as_bytes("123456789")), 0x0376e6e7u); }

TEST(Adts, HeaderMatchesFfmpegForAacLc44100Mono) {
  // ffmpeg's ADTS muxer wrote ff f1 50 40 14 1f fc before a 153-byte frame of this stream.
  auto h = adts_header(from_hex("1208"), 153);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(to_hex(*h), "fff15040141ffc");
}

TEST(Adts, RejectsExplicitFrequencyTruncatedConfigAndHugeFrames) {
  EXPECT_FALSE(adts_header(from_hex("1780"), 10).ok());  // frequency index 15
  EXPECT_FALSE(adts_header(from_hex("12"), 10).ok());
  EXPECT_FALSE(adts_header(from_hex("1208"), 8185).ok());
  EXPECT_TRUE(adts_header(from_hex("1208"), 8184).ok());
}

TEST(Muxer, TablesDescribeEveryTrackWithPcrOnVideo) {
  Muxer m = make_muxer({aac_track(), h264_track()});
  ByteVector ts;
  m.write_tables(ts);
  ASSERT_EQ(ts.size(), 2 * kPacketSize);
  auto d = demux(ts);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->pmt_pid, kPmtPid);
  EXPECT_EQ(d->pmt.pcr_pid, 0x101);
  ASSERT_EQ(d->pmt.streams.size(), 2u);
  EXPECT_EQ(d->pmt.streams[0].stream_type, kStreamTypeAacAdts);
  EXPECT_EQ(d->pmt.streams[0].pid, 0x100);
  EXPECT_EQ(d->pmt.streams[1].stream_type, kStreamTypeH264);
  EXPECT_EQ(d->pmt.streams[1].pid, 0x101);
}

TEST(Muxer, PmtUsesStreamType0x24ForH265) {
  TrackInfo t = h264_track();
  t.codec = TrackInfo::Codec::H265;
  Muxer m = make_muxer({t});
  ByteVector ts;
  m.write_tables(ts);
  auto d = demux(ts);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->pmt.streams[0].stream_type, kStreamTypeH265);
}

TEST(Muxer, KeyframeIsAnnexBWithAudAndParameterSetsAndRandomAccess) {
  Muxer m = make_muxer({h264_track()});
  ByteVector ts;
  m.write_tables(ts);
  Sample key{180000, 6000, 3600, true, avcc({"0910", "65aabbcc"})};  // an input AUD is replaced by ours
  ASSERT_TRUE(m.write_sample(0, key, ts).ok());
  Sample p{183600, 0, 3600, false, avcc({"41dd"})};
  ASSERT_TRUE(m.write_sample(0, p, ts).ok());
  auto d = demux(ts);
  ASSERT_TRUE(d.ok()) << d.error();
  ASSERT_EQ(d->pes.size(), 2u);
  EXPECT_EQ(d->pes[0].stream_id, 0xe0);
  EXPECT_TRUE(d->pes[0].random_access);
  EXPECT_EQ(*d->pes[0].pts, 186000u);
  EXPECT_EQ(*d->pes[0].dts, 180000u);
  EXPECT_EQ(to_hex(d->pes[0].data),
            "0000000109f0"
            "00000001" +
                to_hex(kSps) + "00000001" + to_hex(kPps) + "0000000165aabbcc");
  EXPECT_FALSE(d->pes[1].random_access);
  EXPECT_EQ(*d->pes[1].pts, 183600u);
  EXPECT_FALSE(d->pes[1].dts);  // PTS == DTS: PTS only
  EXPECT_EQ(to_hex(d->pes[1].data),
            "0000000109f0"
            "0000000141dd");
  ASSERT_EQ(d->pcrs.size(), 2u);
  EXPECT_EQ(d->pcrs[0], 180000u - kPcrLead);
}

TEST(Muxer, KeyframeWithInBandSpsGetsNoSecondCopy) {
  Muxer m = make_muxer({h264_track()});
  ByteVector ts;
  m.write_tables(ts);
  ASSERT_TRUE(m.write_sample(0, Sample{0, 0, 3600, true, avcc({"6742", "68ce", "65aa"})}, ts).ok());
  auto d = demux(ts);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(to_hex(d->pes[0].data),
            "0000000109f0"
            "000000016742"
            "0000000168ce"
            "0000000165aa");
}

TEST(Muxer, H265KeyframeGetsAudAndVpsSpsPps) {
  TrackInfo t = h264_track();
  t.codec = TrackInfo::Codec::H265;
  t.vps = from_hex("4001aa");
  t.sps = from_hex("4201bb");
  t.pps = from_hex("4401cc");
  Muxer m = make_muxer({t});
  ByteVector ts;
  m.write_tables(ts);
  ASSERT_TRUE(m.write_sample(0, Sample{0, 0, 3600, true, avcc({"2601dd"})}, ts).ok());
  auto d = demux(ts);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(to_hex(d->pes[0].data),
            "00000001460150"
            "000000014001aa"
            "000000014201bb"
            "000000014401cc"
            "000000012601dd");
}

TEST(Muxer, AacFramesGetAdtsAndPtsOnly) {
  Muxer m = make_muxer({h264_track(), aac_track()});
  ByteVector ts;
  m.write_tables(ts);
  ASSERT_TRUE(m.write_sample(1, Sample{44100, 0, 1024, true, from_hex("aabbcc")}, ts).ok());
  auto d = demux(ts);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->pes.size(), 1u);
  EXPECT_EQ(d->pes[0].stream_id, 0xc0);
  EXPECT_EQ(*d->pes[0].pts, 90000u);
  EXPECT_FALSE(d->pes[0].dts);
  EXPECT_EQ(to_hex(d->pes[0].data),
            "fff15040015ffc"
            "aabbcc");
  EXPECT_TRUE(d->pcrs.empty());  // PCR rides on the video PID
}

// PES = 9 header + 5 PTS + 7 ADTS + n bytes; the last packet's remaining room is filled in the adaptation field.
TEST(Muxer, LastPacketIsStuffedThroughTheAdaptationField) {
  for (size_t n : {size_t{162}, size_t{161}, size_t{100}, size_t{163}, size_t{400}}) {
    Muxer m = make_muxer({h264_track(), aac_track()});
    ByteVector ts;
    ByteVector frame(n, std::byte{0x5a});
    ASSERT_TRUE(m.write_sample(1, Sample{0, 0, 1024, true, frame}, ts).ok());
    ASSERT_EQ(ts.size() % kPacketSize, 0u);
    const size_t pes_size = 9 + 5 + 7 + n;
    EXPECT_EQ(ts.size() / kPacketSize, (pes_size + 183) / 184) << n;
    auto last = parse_packet(Bytes(ts).last(kPacketSize));
    ASSERT_TRUE(last.ok()) << last.error();
    const size_t tail = pes_size - (pes_size - 1) / 184 * 184;
    EXPECT_EQ(last->payload.size(), tail) << n;
    if (n == 162) {
      EXPECT_EQ(u8(ts, 3) & 0x30, 0x30);
      EXPECT_EQ(u8(ts, 4), 0);  // one byte of stuffing: adaptation_field_length 0
    }
    if (n == 161) {
      EXPECT_EQ(u8(ts, 4), 1);
    }
    ByteVector tables;
    m.write_tables(tables);
    append(tables, ts);
    auto d = demux(tables);
    ASSERT_TRUE(d.ok()) << d.error();
    ASSERT_EQ(d->pes.size(), 1u);
    EXPECT_EQ(to_hex(Bytes(d->pes[0].data).subspan(7)), to_hex(frame)) << n;
  }
}

TEST(Muxer, ContinuityCountersRunOnAcrossSegments) {
  Muxer m = make_muxer({h264_track(), aac_track()});
  ByteVector ts;
  for (int seg = 0; seg < 3; ++seg) {
    m.write_tables(ts);
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(
          m.write_sample(0, Sample{(seg * 12 + i) * 3600, 0, 3600, i == 0, avcc({"65" + std::string(600, 'a')})}, ts)
              .ok());
      ASSERT_TRUE(m.write_sample(1, Sample{(seg * 12 + i) * 1764, 0, 1024, true, ByteVector(200)}, ts).ok());
    }
  }
  auto d = demux(ts);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->continuity_errors, 0u);
  EXPECT_EQ(d->pes.size(), 72u);
  EXPECT_EQ(d->pcrs.size(), 36u);
}

TEST(Muxer, MalformedAvccIsRejectedWithoutOutput) {
  Muxer m = make_muxer({h264_track()});
  ByteVector ts;
  ByteVector bad = from_hex(
      "00000010"
      "6588");
  auto s = m.write_sample(0, Sample{0, 0, 3600, true, bad}, ts);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("exceeds"), std::string::npos);
  EXPECT_TRUE(ts.empty());
  EXPECT_FALSE(m.write_sample(0, Sample{0, 0, 3600, true, from_hex("000001")}, ts).ok());
  EXPECT_FALSE(m.write_sample(3, Sample{}, ts).ok());
}

TEST(Muxer, RejectsOpusAndZeroTimescale) {
  TrackInfo opus;
  opus.codec = TrackInfo::Codec::Opus;
  opus.timescale = 48000;
  EXPECT_FALSE(Muxer::create({opus}).ok());
  TrackInfo v = h264_track();
  v.timescale = 0;
  EXPECT_FALSE(Muxer::create({v}).ok());
}

TEST(Demux, RejectsLostSyncPartialPacketsAndOversizedAdaptationField) {
  Muxer m = make_muxer({h264_track()});
  ByteVector ts;
  m.write_tables(ts);
  ByteVector bad_sync = ts;
  bad_sync[kPacketSize] = std::byte{0x46};
  EXPECT_FALSE(demux(bad_sync).ok());
  EXPECT_FALSE(demux(Bytes(ts).first(100)).ok());
  ByteVector af(kPacketSize, std::byte{0xff});
  af[0] = std::byte{0x47};
  af[1] = std::byte{0x01};
  af[2] = std::byte{0x00};
  af[3] = std::byte{0x30};
  af[4] = std::byte{183};  // with a payload at most 182
  EXPECT_FALSE(parse_packet(af).ok());
  af[3] = std::byte{0x20};  // adaptation only: 183 allowed
  EXPECT_TRUE(parse_packet(af).ok());
}

TEST(Demux, RejectsTablesWithBadCrc) {
  Muxer m = make_muxer({h264_track()});
  ByteVector ts;
  m.write_tables(ts);
  ts[10] ^= std::byte{0x01};
  auto d = demux(ts);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("CRC"), std::string::npos);
}

TEST(Demux, PesHeaderRejectsForbiddenFlagsAndShortHeaders) {
  EXPECT_FALSE(parse_pes_header(from_hex("000001e0000080400500000000")).ok());  // PTS_DTS_flags 01
  EXPECT_FALSE(parse_pes_header(from_hex("000001e000008080030000")).ok());      // PTS needs 5 bytes
  EXPECT_FALSE(parse_pes_header(from_hex("000002e00000808000")).ok());
  const ByteVector pes = from_hex("000001c000008080052100010001ab");
  auto ok = parse_pes_header(pes);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(*ok->pts, 0u);
  EXPECT_EQ(to_hex(ok->payload), "ab");
}

}  // namespace
}  // namespace sg::mpegts
