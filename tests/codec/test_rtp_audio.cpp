#include <gtest/gtest.h>

#include "codec/rtp_aac.hpp"
#include "codec/rtp_audio.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"

namespace sg::codec {
namespace {

TEST(OpusRtp, OneFramePerPacket) {
  ByteVector frame = from_hex("fc ff fe");  // TOC: CELT FB 20 ms, code 0
  auto payloads = packetize_opus(frame, 1200);
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 1u);
  EXPECT_EQ((*payloads)[0].data, frame);
  FrameDepacketizer d;
  std::vector<AccessUnit> out;
  d.push(frame, 960, 1, false, out);
  d.push(frame, 1920, 3, false, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].timestamp, 1920u);
  EXPECT_TRUE(out[1].keyframe);
  EXPECT_EQ(d.stats().lost_packets, 1u);
  EXPECT_FALSE(packetize_opus(frame, 2).ok());
}

TEST(OpusRtp, EmptyPayloadIsCorrupt) {
  FrameDepacketizer d;
  std::vector<AccessUnit> out;
  d.push({}, 960, 1, false, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().corrupt_packets, 1u);
}

TEST(G711Rtp, LongFrameSplitsAtSampleOffsets) {
  ByteVector samples(400, std::byte{0xff});
  auto payloads = packetize_g711(samples, 160);
  ASSERT_TRUE(payloads.ok());
  ASSERT_EQ(payloads->size(), 3u);
  EXPECT_EQ((*payloads)[1].first_frame, 160u);
  EXPECT_EQ((*payloads)[2].data.size(), 80u);
  EXPECT_FALSE(packetize_g711({}, 160).ok());
}

TEST(DepacketizerFactory, MakesOneForEachSupportedEncoding) {
  EXPECT_NE(dynamic_cast<H264Depacketizer*>(make_depacketizer("H264", {{"packetization-mode", "1"}})->get()), nullptr);
  EXPECT_NE(dynamic_cast<H265Depacketizer*>(make_depacketizer("h265", {})->get()), nullptr);
  EXPECT_NE(dynamic_cast<FrameDepacketizer*>(make_depacketizer("opus", {})->get()), nullptr);
  EXPECT_NE(dynamic_cast<FrameDepacketizer*>(make_depacketizer("PCMU", {})->get()), nullptr);
  EXPECT_NE(dynamic_cast<FrameDepacketizer*>(make_depacketizer("PCMA", {})->get()), nullptr);
  auto aac = make_depacketizer(
      "MPEG4-GENERIC",
      {{"mode", "AAC-hbr"}, {"SizeLength", "13"}, {"indexLength", "3"}, {"indexDeltaLength", "3"}, {"config", "1190"}});
  ASSERT_TRUE(aac.ok()) << aac.error();
  EXPECT_NE(dynamic_cast<AacDepacketizer*>(aac->get()), nullptr);
}

TEST(DepacketizerFactory, AacFramesOf960SamplesFromConfig) {
  auto d = make_depacketizer(
      "mpeg4-generic",
      {{"mode", "AAC-hbr"}, {"sizelength", "13"}, {"indexlength", "3"}, {"indexdeltalength", "3"}, {"config", "1194"}});
  ASSERT_TRUE(d.ok()) << d.error();
  std::vector<AccessUnit> out;
  (*d)->push(from_hex("0020 0008 0008 aa bb"), 0, 1, true, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].timestamp, 960u);
}

TEST(DepacketizerFactory, RejectsUnsupportedModesWithReason) {
  auto vp8 = make_depacketizer("VP8", {});
  ASSERT_FALSE(vp8.ok());
  EXPECT_NE(vp8.error().find("VP8"), std::string::npos);
  EXPECT_FALSE(make_depacketizer("H264", {{"packetization-mode", "2"}}).ok());
  EXPECT_FALSE(make_depacketizer("H264", {{"packetization-mode", "x"}}).ok());
  EXPECT_FALSE(make_depacketizer("H265", {{"sprop-max-don-diff", "2"}}).ok());
  EXPECT_FALSE(make_depacketizer("MPEG4-GENERIC", {{"mode", "AAC-hbr"}}).ok());  // no sizelength
  EXPECT_FALSE(make_depacketizer("MPEG4-GENERIC", {{"mode", "CELP-cbr"}, {"sizelength", "13"}}).ok());
  EXPECT_FALSE(make_depacketizer("MPEG4-GENERIC", {{"mode", "AAC-hbr"}, {"sizelength", "13"}, {"config", "zz"}}).ok());
}

}  // namespace
}  // namespace sg::codec
