// FlvEgress: a player's FLV messages from the stream's units, and the sample form (4-byte length-prefixed NAL units)
// that a worker's players share instead of each building its own copy.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "rtmp/chunk.hpp"
#include "rtmp/flv.hpp"
#include "rtmp_session/flv_egress.hpp"

namespace sg::rtmp_session {
namespace {

// Parameter sets of a 64x48 High profile stream (tests/rtmp/test_flv.cpp).
const char* kSps = "6764000aacd9447b011000000300100000030320f1225960";
const char* kPps = "68ebe3cb22c0";

media::Track h264_track() {
  media::Track t;
  t.kind = media::MediaKind::Video;
  t.codec = media::CodecId::H264;
  t.clock_rate = 90000;
  t.sps = from_hex(kSps);
  t.pps = from_hex(kPps);
  return t;
}

media::UnitPtr video_unit(uint32_t rtp_timestamp, bool keyframe, const std::vector<ByteVector>& nals, int64_t ns) {
  auto u = std::make_shared<media::Unit>();
  u->video = true;
  u->keyframe = keyframe;
  u->rtp_timestamp = rtp_timestamp;
  u->ingest_ns = ns;
  for (const auto& n : nals) u->add_frame(n);
  return u;
}

// The message's whole payload: its own bytes, then the shared sample when it has one.
ByteVector payload(const FlvMessage& m) {
  ByteVector out = m.body;
  if (m.sample) append(out, *m.sample);
  return out;
}

// The coded-frames messages of `msgs` (sequence headers and metadata left out).
std::vector<const FlvMessage*> coded_frames(const std::vector<FlvMessage>& msgs) {
  std::vector<const FlvMessage*> out;
  for (const auto& m : msgs)
    if (m.type == rtmp::MessageType::Video && m.body.size() >= 2 && m.body[1] == std::byte{1}) out.push_back(&m);
  return out;
}

TEST(FlvEgress, VideoMessageIsTheTagHeaderThenEachNalUnitBehindItsLength) {
  SampleCache samples;
  FlvEgress egress({h264_track()});
  std::vector<FlvMessage> msgs;
  egress.start(msgs);
  egress.add(video_unit(9000, true, {from_hex("65888421"), from_hex("0610")}, 1'000'000), samples, msgs);
  auto frames = coded_frames(msgs);
  ASSERT_EQ(frames.size(), 1u);
  // FLV E.4.3.1: keyframe + AVC, AVCPacketType 1, a 3-byte composition time (the player's own), then the NAL units.
  const std::string hex = to_hex(payload(*frames[0]));
  EXPECT_EQ(hex.substr(0, 4), "1701");
  EXPECT_EQ(frames[0]->body.size(), 5u);
  EXPECT_EQ(hex.substr(10),
            "0000000465888421"
            "000000020610");
}

TEST(FlvEgress, PlayersOfOneWorkerShareOneSamplePerUnit) {
  SampleCache samples;
  FlvEgress a({h264_track()}), b({h264_track()});
  std::vector<FlvMessage> ma, mb;
  a.start(ma);
  b.start(mb);
  auto idr = video_unit(9000, true, {from_hex("65888421")}, 1'000'000);
  a.add(idr, samples, ma);
  b.add(idr, samples, mb);
  auto fa = coded_frames(ma), fb = coded_frames(mb);
  ASSERT_EQ(fa.size(), 1u);
  ASSERT_EQ(fb.size(), 1u);
  ASSERT_TRUE(fa[0]->sample);
  EXPECT_EQ(fa[0]->sample.get(), fb[0]->sample.get());  // built once
  EXPECT_EQ(payload(*fa[0]), payload(*fb[0]));
}

TEST(FlvEgress, ASampleStillHeldIsNotOverwrittenByTheNextUnit) {
  SampleCache samples;
  FlvEgress egress({h264_track()});
  std::vector<FlvMessage> msgs;
  egress.start(msgs);
  egress.add(video_unit(9000, true, {from_hex("65888421")}, 1'000'000), samples, msgs);
  egress.add(video_unit(12000, false, {from_hex("419a0102")}, 34'000'000), samples, msgs);
  auto frames = coded_frames(msgs);
  ASSERT_EQ(frames.size(), 2u);
  // The first message still holds its sample while the second unit's is built: each keeps its own bytes.
  EXPECT_NE(frames[0]->sample.get(), frames[1]->sample.get());
  EXPECT_EQ(to_hex(*frames[0]->sample), "0000000465888421");
  EXPECT_EQ(to_hex(*frames[1]->sample), "00000004419a0102");
}

TEST(FlvEgress, TheCacheReusesItsBufferOnlyOnceNoMessageHoldsIt) {
  SampleCache samples;
  auto first = video_unit(9000, true, {from_hex("65888421")}, 1'000'000);
  auto held = samples.get(first);
  const ByteVector* buffer = held.get();
  EXPECT_EQ(samples.get(first).get(), buffer);  // the same unit: a hit
  held.reset();
  // Nothing holds the first sample now: the second unit's is built in the same buffer.
  auto second = samples.get(video_unit(12000, false, {from_hex("419a0102")}, 34'000'000));
  EXPECT_EQ(second.get(), buffer);
  EXPECT_EQ(to_hex(*second), "00000004419a0102");
}

TEST(FlvEgress, AnotherUnitAtTheSameAddressIsAMiss) {
  // The cache must not key on the address alone: a unit freed and another allocated in its place is a new unit.
  SampleCache samples;
  auto one = video_unit(9000, true, {from_hex("65888421")}, 1'000'000);
  EXPECT_EQ(to_hex(*samples.get(one)), "0000000465888421");
  one.reset();
  auto two = video_unit(12000, false, {from_hex("419a0102")}, 34'000'000);
  EXPECT_EQ(to_hex(*samples.get(two)), "00000004419a0102");
}

TEST(RtmpChunkWriter, APayloadInTwoPartsIsChunkedAsOne) {
  ByteVector whole(10000);
  for (size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<std::byte>(i * 7);
  for (uint32_t timestamp : {40u, 0x1234567u}) {  // the second needs the extended timestamp in every chunk
    for (size_t split : {size_t{0}, size_t{5}, size_t{4095}, size_t{4096}, size_t{4097}, size_t{10000}}) {
      ByteVector one, two;
      rtmp::write_message(one, {6, timestamp, 9, 1, whole}, 4096);
      rtmp::write_message(two, {6, timestamp, 9, 1, Bytes(whole).first(split)}, Bytes(whole).subspan(split), 4096);
      EXPECT_EQ(one, two) << "split at " << split << ", timestamp " << timestamp;
    }
  }
}

}  // namespace
}  // namespace sg::rtmp_session
