#include <gtest/gtest.h>

#include "codec/rtp_latm.hpp"

namespace sg::codec {
namespace {

// GStreamer 1.22 rtspclientsink / rtpmp4apay with avenc_aac (44.1 kHz mono).
const FmtpParams kGstFmtp = {{"cpresent", "0"}, {"config", "40002410adca00"}};
// Payloads of its first two RTP packets (both marked, timestamps 1024 apart): a 21-byte and a 4-byte frame.
constexpr std::string_view kGstPayload1 = "15de02004c61766335392e33372e313030000230400e";
constexpr std::string_view kGstPayload2 = "0401182007";

std::unique_ptr<Depacketizer> make(const FmtpParams& fmtp = kGstFmtp) {
  auto d = make_depacketizer("MP4A-LATM", fmtp);
  EXPECT_TRUE(d.ok()) << d.error();
  return d.ok() ? std::move(*d) : nullptr;
}

void push(Depacketizer& d, std::string_view hex, uint32_t ts, uint16_t seq, bool marker, std::vector<AccessUnit>& out) {
  ByteVector p = from_hex(hex);
  d.push(p, ts, seq, marker, out);
}

TEST(LatmRtp, OneFramePerGStreamerPacket) {
  auto d = make();
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  push(*d, kGstPayload1, 1000, 7, true, out);
  push(*d, kGstPayload2, 2024, 8, true, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].timestamp, 1000u);
  EXPECT_TRUE(out[0].keyframe);
  ASSERT_EQ(out[0].frame_count(), 1u);
  EXPECT_EQ(to_hex(out[0].frame(0)), kGstPayload1.substr(2));
  EXPECT_EQ(out[1].timestamp, 2024u);
  EXPECT_EQ(to_hex(out[1].frame(0)), "01182007");
  EXPECT_EQ(d->stats().units, 2u);
  EXPECT_EQ(d->stats().corrupt_packets, 0u);
}

TEST(LatmRtp, SubframesOfOneElementAreSamplesPerFrameApart) {
  // numSubFrames 1 (two frames per element), AAC-LC 48 kHz stereo, complete config.
  auto d = make({{"cpresent", "0"}, {"config", "410023203FC0"}});
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  push(*d, "02aabb01cc", 5000, 1, true, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].timestamp, 5000u);
  EXPECT_EQ(out[1].timestamp, 5000u + 1024u);
  EXPECT_EQ(to_hex(out[1].frame(0)), "cc");
}

TEST(LatmRtp, ElementFragmentedOverPacketsIsJoinedAtTheMarker) {
  auto d = make();
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  const std::string frame(300 * 2, 'a');
  const std::string payload = "ff2d" + frame;  // 302 bytes, sent as 100 + 100 + 102
  push(*d, std::string_view(payload).substr(0, 200), 90, 1, false, out);
  push(*d, std::string_view(payload).substr(200, 200), 90, 2, false, out);
  EXPECT_TRUE(out.empty());
  push(*d, std::string_view(payload).substr(400), 90, 3, true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 90u);
  EXPECT_EQ(to_hex(out[0].frame(0)), frame);
}

TEST(LatmRtp, FragmentWithALostPacketIsDropped) {
  auto d = make();
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  const std::string payload = "ff2d" + std::string(300 * 2, 'a');
  push(*d, std::string_view(payload).substr(0, 200), 90, 1, false, out);
  push(*d, std::string_view(payload).substr(400), 90, 3, true, out);  // sequence 2 lost
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d->stats().dropped_units, 2u);     // the fragment, and the tail that no longer parses
  push(*d, kGstPayload2, 1114, 4, true, out);  // the next whole element is fine
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 1114u);
}

TEST(LatmRtp, FragmentCutByANewTimestampIsDropped) {
  auto d = make();
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  push(*d, "ff2daaaa", 90, 1, false, out);
  push(*d, kGstPayload2, 1114, 2, true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 1114u);
  EXPECT_EQ(d->stats().dropped_units, 1u);
}

TEST(LatmRtp, MalformedPayloadIsCountedNotEmitted) {
  auto d = make();
  ASSERT_TRUE(d);
  std::vector<AccessUnit> out;
  push(*d, "09aabb", 0, 1, true, out);
  push(*d, "", 1024, 2, true, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d->stats().corrupt_packets, 2u);
}

TEST(LatmRtp, FmtpThatCannotBeCarriedIsRefused) {
  auto in_band = make_depacketizer("mp4a-latm", {{"cpresent", "1"}, {"config", "40002410adca00"}});
  ASSERT_FALSE(in_band.ok());
  EXPECT_NE(in_band.error().find("cpresent=1"), std::string::npos) << in_band.error();
  EXPECT_FALSE(make_depacketizer("MP4A-LATM", {{"cpresent", "0"}}).ok());             // no config
  EXPECT_FALSE(make_depacketizer("MP4A-LATM", {{"config", "40102410adca00"}}).ok());  // two programs
  EXPECT_FALSE(make_depacketizer("MP4A-LATM", {{"config", "40002410adca00"}, {"object", "x"}}).ok());
  // Without cpresent, config= is taken as out of band; object= is informative.
  EXPECT_TRUE(make_depacketizer("MP4A-LATM", {{"config", "40002410adca00"}, {"object", "2"}}).ok());
}

}  // namespace
}  // namespace sg::codec
