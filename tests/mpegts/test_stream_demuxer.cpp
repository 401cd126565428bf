#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "mpegts/muxer.hpp"
#include "mpegts/stream_demuxer.hpp"

namespace sg::mpegts {
namespace {

ByteVector read_file(const std::string& name) {
  std::ifstream in(std::string(SG_TEST_DATA_DIR) + "/mpegts/" + name, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ByteVector out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

struct Seen {
  StreamCodec codec;
  uint64_t pts, dts;
  bool keyframe;
  std::vector<ByteVector> units;
  ByteVector audio_config;
};

std::vector<Seen> demux_in_pieces(StreamDemuxer& d, Bytes ts, size_t piece) {
  std::vector<Seen> out;
  auto on_frame = [&out](const Frame& f) {
    Seen s{f.codec, f.pts, f.dts, f.keyframe, {}, f.audio_config};
    for (Bytes u : f.units) s.units.push_back(to_vector(u));
    out.push_back(std::move(s));
  };
  for (size_t at = 0; at < ts.size(); at += piece) d.feed(ts.subspan(at, std::min(piece, ts.size() - at)), on_frame);
  return out;
}

size_t count(const std::vector<Seen>& frames, StreamCodec codec) {
  size_t n = 0;
  for (const auto& f : frames)
    if (f.codec == codec) n += codec == StreamCodec::AAC ? f.units.size() : 1;
  return n;
}

// ffmpeg 5.1: 1 s of testsrc 160x96 at 10 fps (libx264, GOP 5, 2 B-frames) + a 44.1 kHz sine (AAC-LC mono);
// ffprobe counts 10 video packets and 45 AAC packets.
TEST(StreamDemuxer, FfmpegH264AacGivesEveryFrameWhateverTheSplit) {
  const ByteVector ts = read_file("ffmpeg_h264_aac.ts");
  ASSERT_GT(ts.size(), 188u * 10);
  StreamDemuxer whole;
  auto reference = demux_in_pieces(whole, ts, ts.size());
  // The last PES of each PID ends with the input (no next start): it is held back until more arrives.
  EXPECT_GE(count(reference, StreamCodec::H264), 9u);
  EXPECT_GE(count(reference, StreamCodec::AAC), 40u);
  ASSERT_EQ(whole.streams().size(), 2u);
  EXPECT_EQ(whole.streams()[0].codec, StreamCodec::H264);
  EXPECT_EQ(whole.streams()[1].codec, StreamCodec::AAC);
  EXPECT_EQ(whole.sync_losses(), 0u);
  EXPECT_EQ(whole.continuity_errors(), 0u);
  EXPECT_EQ(whole.dropped_frames(), 0u);
  // The first video frame is the IDR with SPS and PPS in band, PTS 144000 and DTS 126000 as ffprobe shows.
  const Seen& first = reference[0].codec == StreamCodec::H264 ? reference[0] : reference[1];
  EXPECT_TRUE(first.keyframe);
  EXPECT_EQ(first.pts, 144000u);
  EXPECT_EQ(first.dts, 126000u);
  bool sps = false, pps = false;
  for (const auto& u : first.units) {
    sps |= (static_cast<uint8_t>(u[0]) & 0x1f) == 7;
    pps |= (static_cast<uint8_t>(u[0]) & 0x1f) == 8;
    EXPECT_NE(static_cast<uint8_t>(u[0]) & 0x1f, 9) << "access unit delimiters are dropped";
  }
  EXPECT_TRUE(sps && pps);
  for (const auto& f : reference)
    if (f.codec == StreamCodec::AAC) {
      EXPECT_EQ(to_hex(f.audio_config), "1208");  // AAC-LC, 44.1 kHz, mono
    }
  for (size_t piece : {1u, 7u, 188u, 1316u, 1500u}) {
    StreamDemuxer d;
    auto frames = demux_in_pieces(d, ts, piece);
    ASSERT_EQ(frames.size(), reference.size()) << "piece " << piece;
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].pts, reference[i].pts);
      EXPECT_EQ(frames[i].units, reference[i].units) << "piece " << piece << " frame " << i;
    }
  }
}

TEST(StreamDemuxer, FfmpegH265GivesIrapFrames) {
  const ByteVector ts = read_file("ffmpeg_h265.ts");
  StreamDemuxer d;
  auto frames = demux_in_pieces(d, ts, 1316);
  ASSERT_EQ(d.streams().size(), 1u);
  EXPECT_EQ(d.streams()[0].codec, StreamCodec::H265);
  ASSERT_GE(frames.size(), 9u);
  EXPECT_TRUE(frames[0].keyframe);
  bool vps = false;
  for (const auto& u : frames[0].units) vps |= ((static_cast<uint8_t>(u[0]) >> 1) & 0x3f) == 32;
  EXPECT_TRUE(vps);
}

TEST(StreamDemuxer, BoundedPesIsDeliveredWithoutWaitingForTheNext) {
  // Our muxer writes audio PES with PES_packet_length set: the frame comes out with its last packet.
  TrackInfo aac;
  aac.codec = TrackInfo::Codec::AAC;
  aac.timescale = 48000;
  aac.sample_rate = 48000;
  aac.channels = 2;
  aac.codec_config = from_hex("1190");
  auto m = Muxer::create({aac});
  ASSERT_TRUE(m.ok()) << m.error();
  ByteVector ts;
  m->write_tables(ts);
  mp4::Sample s;
  s.dts = 4800;
  s.data = ByteVector(300, std::byte{0x21});
  ASSERT_TRUE(m->write_sample(0, s, ts).ok());
  StreamDemuxer d;
  auto frames = demux_in_pieces(d, ts, ts.size());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].codec, StreamCodec::AAC);
  ASSERT_EQ(frames[0].units.size(), 1u);
  EXPECT_EQ(frames[0].units[0], s.data);
  EXPECT_EQ(to_hex(frames[0].audio_config), "1190");
}

TEST(StreamDemuxer, GarbageBetweenPacketsResynchronises) {
  const ByteVector ts = read_file("ffmpeg_h264_aac.ts");
  StreamDemuxer clean;
  const size_t expected = demux_in_pieces(clean, ts, ts.size()).size();
  ByteVector dirty = from_hex("00112233");
  for (size_t at = 0; at < ts.size(); at += 188) {
    append(dirty, Bytes(ts).subspan(at, 188));
    if (at == 188 * 3) append(dirty, from_hex("deadbeef"));  // between PAT/PMT and media: no PES broken
  }
  StreamDemuxer d;
  auto frames = demux_in_pieces(d, dirty, 1316);
  EXPECT_GT(d.sync_losses(), 0u);
  EXPECT_EQ(frames.size(), expected);
}

TEST(StreamDemuxer, ContinuityGapDropsTheBrokenPes) {
  const ByteVector ts = read_file("ffmpeg_h264_aac.ts");
  StreamDemuxer clean;
  auto reference = demux_in_pieces(clean, ts, ts.size());
  // Remove one packet in the middle of a video PES (not a start, video PID).
  ByteVector cut;
  bool removed = false;
  const uint16_t video_pid = clean.streams()[0].pid;
  int seen_video = 0;
  for (size_t at = 0; at < ts.size(); at += 188) {
    auto p = parse_packet(Bytes(ts).subspan(at, 188));
    ASSERT_TRUE(p.ok());
    if (!removed && p->pid == video_pid && !p->payload_unit_start && ++seen_video == 3) {
      removed = true;
      continue;
    }
    append(cut, Bytes(ts).subspan(at, 188));
  }
  ASSERT_TRUE(removed);
  StreamDemuxer d;
  auto frames = demux_in_pieces(d, cut, 1316);
  EXPECT_EQ(d.continuity_errors(), 1u);
  EXPECT_EQ(d.dropped_frames(), 1u);
  EXPECT_EQ(frames.size(), reference.size() - 1);
}

TEST(Adts, ParsesFramesAndBuildsTheConfig) {
  auto h = adts_header(from_hex("1208"), 3);
  ASSERT_TRUE(h.ok());
  ByteVector data = *h;
  append(data, from_hex("010203"));
  append(data, *h);
  append(data, from_hex("040506"));
  auto a = parse_adts(data);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(a->frames.size(), 2u);
  EXPECT_EQ(to_hex(a->frames[1]), "040506");
  EXPECT_EQ(to_hex(a->audio_config), "1208");
  EXPECT_EQ(a->sample_rate, 44100u);
  data.pop_back();
  EXPECT_FALSE(parse_adts(data).ok());
  EXPECT_FALSE(parse_adts(from_hex("00112233445566")).ok());
}

TEST(AnnexB, SplitsThreeAndFourByteStartCodes) {
  const ByteVector data = from_hex("000000016742000000016800000165aabb0000");
  auto units = split_annex_b(data);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(to_hex(units[0]), "6742");
  EXPECT_EQ(to_hex(units[1]), "68");
  EXPECT_EQ(to_hex(units[2]), "65aabb");
  const ByteVector zeros = from_hex("0000");
  EXPECT_TRUE(split_annex_b(zeros).empty());
}

}  // namespace
}  // namespace sg::mpegts
