#include <gtest/gtest.h>

#include "codec/aac.hpp"
#include "codec/rtp_aac.hpp"
#include "rtp_test_util.hpp"
#include "sample_streams.hpp"

namespace sg::codec {
namespace {

using testing::copy_all;
using testing::Feed;

class AacRtp : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = from_hex(testdata::kAdts3);
    Bytes rest = stream_;
    while (!rest.empty()) {
      auto h = aac::parse_adts(rest);
      ASSERT_TRUE(h.ok()) << h.error();
      frames_.push_back(rest.subspan(h->header_size, h->frame_length - h->header_size));
      rest = rest.subspan(h->frame_length);
    }
    ASSERT_EQ(frames_.size(), 3u);  // raw AAC frames of 288, 363 and 310 bytes
  }
  ByteVector stream_;
  std::vector<Bytes> frames_;
};

TEST_F(AacRtp, ThreeFramesShareOnePacket) {
  auto payloads = packetize_aac(frames_, 1400);
  ASSERT_TRUE(payloads.ok()) << payloads.error();
  ASSERT_EQ(payloads->size(), 1u);
  const ByteVector& p = (*payloads)[0].data;
  EXPECT_TRUE((*payloads)[0].marker);
  // RFC 3640 3.3.6: AU-headers-length 48 bits, three 16-bit headers (13-bit size, 3-bit index/delta 0).
  EXPECT_EQ(to_hex(Bytes(p).first(8)),
            "0030"
            "0900"
            "0b58"
            "09b0");
  EXPECT_EQ(p.size(), 8u + 288 + 363 + 310);

  AacDepacketizer d({});
  Feed feed(d);
  feed.push(*payloads, 48000);
  ASSERT_EQ(feed.out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(feed.out[i].timestamp, 48000u + 1024 * i);
    EXPECT_TRUE(feed.out[i].keyframe);
    EXPECT_EQ(to_vector(feed.out[i].frame(0)), to_vector(frames_[i]));
  }
}

TEST_F(AacRtp, OneFrameFragmentedOverThreePackets) {
  auto payloads = packetize_aac({frames_[1]}, 130);  // 363 bytes, 126 per fragment
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 3u);
  EXPECT_FALSE((*payloads)[0].marker);
  EXPECT_FALSE((*payloads)[1].marker);
  EXPECT_TRUE((*payloads)[2].marker);
  for (const auto& p : *payloads) EXPECT_EQ(to_hex(Bytes(p.data).first(4)), "00100b58");  // whole-AU size 363

  AacDepacketizer d({});
  Feed feed(d);
  feed.push(*payloads, 7000);
  ASSERT_EQ(feed.out.size(), 1u);
  EXPECT_EQ(feed.out[0].timestamp, 7000u);
  EXPECT_EQ(to_vector(feed.out[0].frame(0)), to_vector(frames_[1]));
}

TEST_F(AacRtp, LostFragmentDropsTheFrameAndCountsIt) {
  auto payloads = *packetize_aac({frames_[1]}, 130);
  AacDepacketizer d({});
  Feed feed(d);
  feed.push(payloads, 7000, {1});
  EXPECT_TRUE(feed.out.empty());
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_EQ(d.stats().lost_packets, 1u);
  // The following packet (complete frames) is unaffected.
  feed.push(*packetize_aac({frames_[0]}, 1400), 8024);
  ASSERT_EQ(feed.out.size(), 1u);
  EXPECT_EQ(feed.out[0].timestamp, 8024u);
}

TEST_F(AacRtp, MixedPacketizationFillsPacketsGreedily) {
  auto payloads = packetize_aac(frames_, 700);  // 288 + 363 fit (4 + 651), 310 alone
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 2u);
  EXPECT_EQ((*payloads)[0].first_frame, 0u);
  EXPECT_EQ((*payloads)[1].first_frame, 2u);
  AacDepacketizer d({});
  Feed feed(d);
  feed.push({(*payloads)[0]}, 0);
  feed.push({(*payloads)[1]}, 2048);
  ASSERT_EQ(feed.out.size(), 3u);
  EXPECT_EQ(feed.out[2].timestamp, 2048u);
  std::vector<ByteVector> got;
  for (const auto& au : feed.out) got.push_back(to_vector(au.frame(0)));
  EXPECT_EQ(got, copy_all(frames_));
}

TEST_F(AacRtp, MalformedHeadersAreCorrupt) {
  AacDepacketizer d({});
  std::vector<AccessUnit> out;
  d.push(from_hex("00"), 0, 1, true, out);                 // no AU-headers-length
  d.push(from_hex("0100 0008"), 0, 2, true, out);          // 256 bits of headers announced
  d.push(from_hex("0010 0010 aa"), 0, 3, true, out);       // AU of 2 bytes, 1 present, marker set
  d.push(from_hex("0018 0010 00 aabb"), 0, 4, true, out);  // 8 stray header bits
  d.push(from_hex("0000 aabb"), 0, 5, true, out);          // no AU headers
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().corrupt_packets, 5u);
}

TEST_F(AacRtp, FragmentWithChangedSizeIsDropped) {
  AacDepacketizer d({});
  std::vector<AccessUnit> out;
  d.push(from_hex("0010 0020 aa"), 0, 1, false, out);   // AU of 4 bytes, fragment 1
  d.push(from_hex("0010 0018 bbcc"), 0, 2, true, out);  // claims 3 bytes
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_EQ(d.stats().corrupt_packets, 1u);
}

TEST_F(AacRtp, LbrModeWithSixBitSizes) {
  AacRtpParams lbr{.size_length = 6, .index_length = 2, .index_delta_length = 2, .samples_per_frame = 1024};
  std::vector<Bytes> small = {Bytes(frames_[0]).first(20), Bytes(frames_[1]).first(30)};
  auto payloads = packetize_aac(small, 200, lbr);
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 1u);
  EXPECT_EQ(to_hex(Bytes((*payloads)[0].data).first(4)),
            "0010"
            "5078");  // 16 bits: 010100 00 011110 00
  AacDepacketizer d(lbr);
  std::vector<AccessUnit> out;
  d.push((*payloads)[0].data, 100, 1, true, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].frame(0).size(), 30u);
  EXPECT_FALSE(packetize_aac({frames_[0]}, 400, lbr).ok());  // 288 bytes do not fit 6 bits
}

}  // namespace
}  // namespace sg::codec
