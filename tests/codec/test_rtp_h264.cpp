#include <gtest/gtest.h>

#include "codec/h264.hpp"
#include "codec/rtp_h264.hpp"
#include "rtp_test_util.hpp"
#include "sample_streams.hpp"

namespace sg::codec {
namespace {

using testing::copy_all;
using testing::copy_frames;
using testing::Feed;

class H264Rtp : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = from_hex(testdata::kH264Small);
    auto nalus = h264::split_annexb(stream_);
    ASSERT_EQ(nalus.size(), 5u);
    idr_au_ = {nalus[0], nalus[1], nalus[2], nalus[3]};  // SPS, PPS, SEI (686 B), IDR (750 B)
    p_au_ = {nalus[4]};
  }
  ByteVector stream_;
  std::vector<Bytes> idr_au_;
  std::vector<Bytes> p_au_;
};

TEST_F(H264Rtp, PacketizesSmallNalUnitsAsSingleNalPackets) {
  auto payloads = packetize_h264(idr_au_, {.max_payload = 1400});
  ASSERT_TRUE(payloads.ok()) << payloads.error();
  ASSERT_EQ(payloads->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*payloads)[i].data, to_vector(idr_au_[i]));
    EXPECT_EQ((*payloads)[i].marker, i == 3);
  }
}

TEST_F(H264Rtp, FuAHeadersCarryStartEndAndOriginalNalHeader) {
  auto payloads = packetize_h264({idr_au_[3]}, {.max_payload = 300});
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 3u);  // 749 bytes after the NAL header, 298 per FU
  const auto& p = *payloads;
  EXPECT_EQ(u8(p[0].data, 0), 0x60 | 28);  // NRI 3 of the IDR, type FU-A
  EXPECT_EQ(u8(p[0].data, 1), 0x80 | 5);   // S, type 5
  EXPECT_EQ(u8(p[1].data, 1), 5);
  EXPECT_EQ(u8(p[2].data, 1), 0x40 | 5);  // E
  EXPECT_EQ(p[0].data.size(), 300u);
  EXPECT_EQ(p[2].data.size(), 2u + 749 - 2 * 298);
  EXPECT_TRUE(p[2].marker);
  EXPECT_FALSE(p[0].marker);
}

TEST_F(H264Rtp, RoundTripWithSmallMtuRestoresIdenticalNalUnits) {
  auto payloads = packetize_h264(idr_au_, {.max_payload = 100, .aggregate = true});
  ASSERT_TRUE(payloads.ok());
  EXPECT_EQ(h264::nal_type(u8((*payloads)[0].data, 0)), 24);  // SPS + PPS in a STAP-A
  H264Depacketizer d;
  Feed feed(d);
  feed.push(*payloads, 90000);
  auto p_payloads = packetize_h264(p_au_, {.max_payload = 100});
  feed.push(*p_payloads, 93000);
  ASSERT_EQ(feed.out.size(), 2u);
  EXPECT_EQ(feed.out[0].timestamp, 90000u);
  EXPECT_TRUE(feed.out[0].keyframe);
  EXPECT_EQ(copy_frames(feed.out[0]), copy_all(idr_au_));
  EXPECT_EQ(feed.out[1].timestamp, 93000u);
  EXPECT_FALSE(feed.out[1].keyframe);
  EXPECT_EQ(copy_frames(feed.out[1]), copy_all(p_au_));
  EXPECT_EQ(d.stats().units, 2u);
  EXPECT_EQ(d.stats().dropped_units, 0u);
  EXPECT_EQ(d.stats().corrupt_packets, 0u);
}

TEST_F(H264Rtp, LostFuFragmentDropsTheUnitAndCountsIt) {
  auto payloads = packetize_h264(idr_au_, {.max_payload = 100, .aggregate = true});
  ASSERT_GT(payloads->size(), 10u);
  H264Depacketizer d;
  Feed feed(d);
  feed.push(*payloads, 90000, {5});  // a middle FU-A fragment of the SEI or IDR
  EXPECT_TRUE(feed.out.empty());
  EXPECT_EQ(d.stats().lost_packets, 1u);
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_NE(d.stats().last_error.find("lost"), std::string::npos);
  // The next access unit is intact and comes through.
  feed.push(*packetize_h264(p_au_, {.max_payload = 100}), 93000);
  ASSERT_EQ(feed.out.size(), 1u);
  EXPECT_EQ(copy_frames(feed.out[0]), copy_all(p_au_));
}

TEST_F(H264Rtp, LostMarkerPacketDropsBothNeighbouringUnits) {
  // Whether the lost packet ended the first unit or began the second cannot be told: neither is emitted.
  auto first = *packetize_h264(idr_au_, {.max_payload = 1400});
  auto second = *packetize_h264(p_au_, {.max_payload = 1400});
  auto third = *packetize_h264(p_au_, {.max_payload = 1400});
  H264Depacketizer d;
  Feed feed(d);
  feed.push(first, 90000, {3});
  feed.push(second, 93000);
  feed.push(third, 96000);
  ASSERT_EQ(feed.out.size(), 1u);
  EXPECT_EQ(feed.out[0].timestamp, 96000u);
  EXPECT_EQ(d.stats().dropped_units, 2u);
}

TEST_F(H264Rtp, TimestampChangeCompletesUnitWithoutMarker) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(idr_au_[0], 1000, 1, false, out);
  d.push(idr_au_[1], 1000, 2, false, out);
  EXPECT_TRUE(out.empty());
  d.push(p_au_[0], 4000, 3, false, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 1000u);
  EXPECT_EQ(out[0].frame_count(), 2u);
}

TEST_F(H264Rtp, StapAWithThreeNalUnitsIsSplit) {
  ByteVector stap = from_hex("78");  // F 0, NRI 3, type 24
  for (Bytes n : {idr_au_[0], idr_au_[1], p_au_[0]}) {
    append16(stap, static_cast<uint16_t>(n.size()));
    append(stap, n);
  }
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(stap, 5, 7, true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(copy_frames(out[0]), copy_all({idr_au_[0], idr_au_[1], p_au_[0]}));
}

TEST_F(H264Rtp, MalformedStapADropsUnitWithReason) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(from_hex("78 0002 6742 0009 68"), 5, 1, true, out);  // second size runs past the end
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().corrupt_packets, 1u);
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_NE(d.stats().last_error.find("STAP-A"), std::string::npos);
}

TEST_F(H264Rtp, FuContinuationWithoutStartIsCorrupt) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(from_hex("7c 05 aabb"), 5, 1, false, out);  // FU-A middle fragment
  d.push(from_hex("7c 45 ccdd"), 5, 2, true, out);   // FU-A end
  EXPECT_TRUE(out.empty());
  EXPECT_GE(d.stats().corrupt_packets, 1u);
  EXPECT_EQ(d.stats().dropped_units, 1u);
}

TEST_F(H264Rtp, InterleavedModeTypesAreRejected) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(from_hex("7d 85 0001 aabb"), 5, 1, true, out);  // FU-B
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().corrupt_packets, 1u);
  EXPECT_NE(d.stats().last_error.find("29"), std::string::npos);
}

TEST_F(H264Rtp, LateAndDuplicatePacketsAreDropped) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(p_au_[0], 5, 10, true, out);
  d.push(p_au_[0], 5, 10, true, out);
  d.push(p_au_[0], 5, 9, true, out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(d.stats().dropped_packets, 2u);
}

TEST_F(H264Rtp, SequenceWrapIsNotALoss) {
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(p_au_[0], 5, 65535, true, out);
  d.push(p_au_[0], 8, 0, true, out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(d.stats().lost_packets, 0u);
}

TEST_F(H264Rtp, ResetDiscardsPartialUnit) {
  auto payloads = *packetize_h264({idr_au_[3]}, {.max_payload = 300});
  H264Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(payloads[0].data, 5, 1, false, out);
  d.reset();
  d.push(p_au_[0], 8, 500, true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frame_count(), 1u);
  EXPECT_EQ(d.stats().lost_packets, 0u);
}

TEST_F(H264Rtp, PacketizerRejectsTinyPayloadAndEmptyNal) {
  EXPECT_FALSE(packetize_h264(idr_au_, {.max_payload = 2}).ok());
  EXPECT_FALSE(packetize_h264({Bytes{}}, {.max_payload = 100}).ok());
}

}  // namespace
}  // namespace sg::codec
