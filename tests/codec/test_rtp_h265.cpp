#include <gtest/gtest.h>

#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "codec/rtp_h265.hpp"
#include "rtp_test_util.hpp"
#include "sample_streams.hpp"

namespace sg::codec {
namespace {

using testing::copy_all;
using testing::copy_frames;
using testing::Feed;

class H265Rtp : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = from_hex(testdata::kH265Small);
    auto nalus = h264::split_annexb(stream_);
    ASSERT_EQ(nalus.size(), 5u);
    idr_au_ = {nalus[0], nalus[1], nalus[2], nalus[3]};  // VPS, SPS, PPS, IDR_N_LP (768 B)
    p_au_ = {nalus[4]};                                  // TRAIL_R (82 B)
  }
  ByteVector stream_;
  std::vector<Bytes> idr_au_;
  std::vector<Bytes> p_au_;
};

TEST_F(H265Rtp, RoundTripWithApAndFusRestoresIdenticalNalUnits) {
  auto payloads = packetize_h265(idr_au_, {.max_payload = 120, .aggregate = true});
  ASSERT_TRUE(payloads.ok()) << payloads.error();
  const auto& p = *payloads;
  EXPECT_EQ(h265::nal_type(p[0].data), 48);  // VPS + SPS + PPS in one AP (2 + 3*2 + 24 + 40 + 7 = 79 bytes)
  EXPECT_EQ(p[0].data.size(), 79u);
  EXPECT_EQ(h265::nal_type(p[1].data), 49);
  EXPECT_EQ(u8(p[1].data, 2), 0x80 | 20);  // S bit, FuType IDR_N_LP
  EXPECT_EQ(u8(p.back().data, 2), 0x40 | 20);
  EXPECT_TRUE(p.back().marker);

  H265Depacketizer d;
  Feed feed(d);
  feed.push(p, 3000);
  feed.push(*packetize_h265(p_au_, {.max_payload = 120}), 6000);
  ASSERT_EQ(feed.out.size(), 2u);
  EXPECT_TRUE(feed.out[0].keyframe);
  EXPECT_EQ(copy_frames(feed.out[0]), copy_all(idr_au_));
  EXPECT_FALSE(feed.out[1].keyframe);
  EXPECT_EQ(copy_frames(feed.out[1]), copy_all(p_au_));
  EXPECT_EQ(d.stats().dropped_units, 0u);
}

TEST_F(H265Rtp, FuKeepsLayerAndTemporalIdOfTheNalHeader) {
  // A NAL with nuh_layer_id 1 and TemporalId+1 = 3, fragmented and reassembled.
  ByteVector nalu = from_hex("020b");  // TRAIL_R, nuh_layer_id 1, nuh_temporal_id_plus1 3
  for (int i = 0; i < 50; ++i) nalu.push_back(std::byte(i));
  auto payloads = packetize_h265({nalu}, {.max_payload = 20});
  ASSERT_TRUE(payloads.ok());
  EXPECT_EQ(u8((*payloads)[0].data, 0), (49 << 1) | 0);
  EXPECT_EQ(u8((*payloads)[0].data, 1), 0x0b);
  H265Depacketizer d;
  Feed feed(d);
  feed.push(*payloads, 1);
  ASSERT_EQ(feed.out.size(), 1u);
  EXPECT_EQ(to_vector(feed.out[0].frame(0)), nalu);
}

TEST_F(H265Rtp, LostFuFragmentDropsTheUnitAndCountsIt) {
  auto payloads = *packetize_h265(idr_au_, {.max_payload = 120, .aggregate = true});
  H265Depacketizer d;
  Feed feed(d);
  feed.push(payloads, 3000, {3});
  EXPECT_TRUE(feed.out.empty());
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_EQ(d.stats().lost_packets, 1u);
  feed.push(*packetize_h265(p_au_, {.max_payload = 120}), 6000);
  ASSERT_EQ(feed.out.size(), 1u);
}

TEST_F(H265Rtp, ApWithFourNalUnitsIsSplit) {
  ByteVector ap = from_hex("6001");  // type 48, layer 0, tid 1
  for (Bytes n : {idr_au_[0], idr_au_[1], idr_au_[2], p_au_[0]}) {
    append16(ap, static_cast<uint16_t>(n.size()));
    append(ap, n);
  }
  H265Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(ap, 9, 1, true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(copy_frames(out[0]), copy_all({idr_au_[0], idr_au_[1], idr_au_[2], p_au_[0]}));
}

TEST_F(H265Rtp, MalformedApAndPaciAreCorrupt) {
  H265Depacketizer d;
  std::vector<AccessUnit> out;
  d.push(from_hex("6001 0003 4001"), 9, 1, true, out);  // NAL size past the end
  d.push(from_hex("6401 aabbcc"), 10, 2, true, out);    // PACI (type 50)
  d.push(from_hex("62"), 11, 3, true, out);             // shorter than the payload header
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().corrupt_packets, 3u);
  EXPECT_EQ(d.stats().dropped_units, 3u);
}

TEST_F(H265Rtp, SingleNalPacketsWhenEverythingFits) {
  auto payloads = packetize_h265(idr_au_, {.max_payload = 1400});
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 4u);
  EXPECT_EQ((*payloads)[3].data, to_vector(idr_au_[3]));
  EXPECT_FALSE(packetize_h265(idr_au_, {.max_payload = 3}).ok());
}

}  // namespace
}  // namespace sg::codec
