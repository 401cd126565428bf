#include <gtest/gtest.h>

#include <array>

#include "base/bytes.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::rtp {
namespace {

// ffmpeg 5.1 `-c:v libx264 -f rtp`: STAP-A (SEI-less SPS + PPS), PT 96, no marker.
const ByteVector kFfmpegStapA = from_hex(
    "806009c6e9623174e308586d1800196764000bacd9428df930110000030001000003003c0f142996000668ebe3cb22c0");
// ffmpeg 5.1, last packet of a frame: marker set, PT 96.
const ByteVector kFfmpegMarker = from_hex(
    "80e009c9e9623174e308586d7c453eb5a6d1395080bb152cc2169b97dfc0add3c0fec46fdbe9bf770aea1812f76f9da220f5901ee5baa6"
    "6f4a203de93beac166d9dd2a0ea0038e94934409763d43aa9666e75d522b55b68f1c69075b87a07f7d21129f80");
// GStreamer 1.22 rtph264pay with a one-byte header extension (RFC 8285): id 3 = transport-wide seq 0x423a.
const ByteVector kGstOneByteExt = from_hex("9060423aa18dff992e01ff25bede000131423a0068cb8cb2");

TEST(RtpPacket, ParsesFfmpegH264PacketFields) {
  auto p = RtpPacket::parse(kFfmpegStapA);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->payload_type(), 96);
  EXPECT_FALSE(p->marker());
  EXPECT_EQ(p->sequence(), 0x09c6);
  EXPECT_EQ(p->timestamp(), 0xe9623174u);
  EXPECT_EQ(p->ssrc(), 0xe308586du);
  EXPECT_EQ(p->csrc_count(), 0);
  EXPECT_FALSE(p->extension().has_value());
  EXPECT_EQ(p->header_size(), 12u);
  EXPECT_EQ(p->payload().size(), kFfmpegStapA.size() - 12);
  EXPECT_EQ(u8(p->payload(), 0) & 0x1f, 24);  // STAP-A
}

TEST(RtpPacket, ParsesMarkerBit) {
  auto p = RtpPacket::parse(kFfmpegMarker);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->marker());
  EXPECT_EQ(p->payload_type(), 96);
  EXPECT_EQ(p->sequence(), 0x09c9);
}

TEST(RtpPacket, ExposesOneByteExtensionElementsFromGstreamer) {
  auto p = RtpPacket::parse(kGstOneByteExt);
  ASSERT_TRUE(p.has_value());
  auto ext = p->extension();
  ASSERT_TRUE(ext.has_value());
  EXPECT_EQ(ext->profile, kOneByteExtensionProfile);
  EXPECT_EQ(ext->data.size(), 4u);
  EXPECT_EQ(p->header_size(), 20u);
  auto twcc = p->extension_element(3);
  ASSERT_TRUE(twcc.has_value());
  ASSERT_EQ(twcc->size(), 2u);
  EXPECT_EQ(be16(*twcc, 0), 0x423a);
  EXPECT_FALSE(p->extension_element(1).has_value());
  EXPECT_EQ(to_hex(p->payload()), "68cb8cb2");  // the PPS
}

TEST(RtpPacket, WalksTwoByteExtensionElementsAndPadding) {
  // Profile 0x1000; elements: id 1 len 0, padding byte, id 200 len 3 "abc", then padding to a word.
  auto bytes = from_hex("90 60 0001 00000000 00000001 1000 0002 01 00 00 c8 03 616263 ffff");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  auto reader = p->extension_elements();
  auto e1 = reader.next();
  ASSERT_TRUE(e1.has_value());
  EXPECT_EQ(e1->id, 1);
  EXPECT_TRUE(e1->value.empty());
  auto e2 = reader.next();
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(e2->id, 200);
  EXPECT_EQ(as_string_view(e2->value), "abc");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_FALSE(reader.malformed());
  EXPECT_EQ(to_hex(p->payload()), "ffff");
}

TEST(RtpPacket, OneByteElementRunningPastTheExtensionIsMalformed) {
  // id 1 claims 4 bytes but only 3 remain in the one-word body.
  const auto bytes = from_hex("90 60 0001 00000000 00000001 bede 0001 13 aabbcc");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  auto reader = p->extension_elements();
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.malformed());
  EXPECT_FALSE(p->extension_element(1).has_value());
}

TEST(RtpPacket, OneByteIdZeroWithALengthIsMalformed) {
  const auto bytes = from_hex("90 60 0001 00000000 00000001 bede 0001 01 aabb 00");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  auto reader = p->extension_elements();
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.malformed());
}

TEST(RtpPacket, OneByteIdFifteenStopsElementProcessing) {
  const auto bytes = from_hex("90 60 0001 00000000 00000001 bede 0001 10 aa f0 22");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->extension_element(1).has_value());
  auto reader = p->extension_elements();
  EXPECT_TRUE(reader.next().has_value());
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_FALSE(reader.malformed());
}

TEST(RtpPacket, NonRfc8285ExtensionHasNoElements) {
  const auto bytes = from_hex("90 60 0001 00000000 00000001 abac 0001 10aa0000 ff");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->extension()->profile, 0xabac);
  EXPECT_FALSE(p->extension_element(1).has_value());
}

TEST(RtpPacket, CsrcsAndPaddingAreAccountedFor) {
  // CC=2, P=1, payload "abcd", 3 bytes of padding (00 00 03).
  const auto bytes = from_hex("a2 08 1234 00000010 00000001 0000000a 0000000b 61626364 000003");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->csrc_count(), 2);
  EXPECT_EQ(p->csrc(0), 10u);
  EXPECT_EQ(p->csrc(1), 11u);
  EXPECT_EQ(p->header_size(), 20u);
  EXPECT_EQ(p->padding_size(), 3u);
  EXPECT_EQ(as_string_view(p->payload()), "abcd");
}

TEST(RtpPacket, RejectsMalformedPackets) {
  EXPECT_FALSE(RtpPacket::parse(from_hex("80 60 0001 00000000")).has_value());                  // short
  EXPECT_FALSE(RtpPacket::parse(from_hex("40 60 0001 00000000 00000001")).has_value());         // version 1
  EXPECT_FALSE(RtpPacket::parse(from_hex("81 60 0001 00000000 00000001")).has_value());         // CSRC missing
  EXPECT_FALSE(RtpPacket::parse(from_hex("90 60 0001 00000000 00000001 bede")).has_value());    // ext header cut
  EXPECT_FALSE(RtpPacket::parse(from_hex("90 60 0001 00000000 00000001 bede 0002 00000000")).has_value());
  EXPECT_FALSE(RtpPacket::parse(from_hex("a0 60 0001 00000000 00000001 aa 00")).has_value());   // padding 0
  EXPECT_FALSE(RtpPacket::parse(from_hex("a0 60 0001 00000000 00000001 aa 03")).has_value());   // into header
  EXPECT_TRUE(RtpPacket::parse(from_hex("a0 60 0001 00000000 00000001 aa 02")).has_value());
}

TEST(RtpPacket, PaddingMayCoverTheWholePayload) {
  const auto bytes = from_hex("a0 60 0001 00000000 00000001 00 00 00 04");
  auto p = RtpPacket::parse(bytes);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->payload().empty());
}

TEST(RtpHeaderWrite, WritesFixedHeaderThatParsesBack) {
  std::array<std::byte, 12> out{};
  RtpHeader h;
  h.marker = true;
  h.payload_type = 96;
  h.sequence = 0x09c9;
  h.timestamp = 0xe9623174;
  h.ssrc = 0xe308586d;
  ASSERT_EQ(write_header(out, h), 12u);
  EXPECT_EQ(to_hex(out), to_hex(Bytes(kFfmpegMarker).first(12)));
}

TEST(RtpHeaderWrite, WritesCsrcsAndExtension) {
  std::array<uint32_t, 2> csrcs{1, 2};
  auto ext = from_hex("31423a00");
  RtpHeader h;
  h.payload_type = 111;
  h.sequence = 7;
  h.ssrc = 9;
  h.csrcs = csrcs;
  h.extension_profile = kOneByteExtensionProfile;
  h.extension = ext;
  std::array<std::byte, 64> out{};
  auto n = write_header(out, h);
  ASSERT_EQ(n, 28u);
  ASSERT_EQ(header_size(h), 28u);
  auto p = RtpPacket::parse(Bytes(out).first(*n));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->csrc(1), 2u);
  EXPECT_EQ(p->payload_type(), 111);
  EXPECT_EQ(be16(*p->extension_element(3), 0), 0x423a);
  EXPECT_TRUE(p->payload().empty());
}

TEST(RtpHeaderWrite, RefusesInvalidHeaderOrShortBuffer) {
  std::array<std::byte, 11> small{};
  RtpHeader h;
  EXPECT_FALSE(write_header(small, h).has_value());
  std::array<std::byte, 64> out{};
  h.payload_type = 128;
  EXPECT_FALSE(write_header(out, h).has_value());
  h.payload_type = 0;
  auto odd = from_hex("aabbcc");
  h.extension_profile = kOneByteExtensionProfile;
  h.extension = odd;
  EXPECT_FALSE(write_header(out, h).has_value());
  std::array<uint32_t, 16> many{};
  h = RtpHeader{};
  h.csrcs = many;
  EXPECT_FALSE(write_header(out, h).has_value());
}

TEST(RtpHeaderRewrite, ChangesOnlyTheRequestedFields) {
  ByteVector copy = kFfmpegMarker;
  ASSERT_TRUE(rewrite_header(copy, {.ssrc = 0x11223344, .sequence = 0xffff, .timestamp = 5, .payload_type = 102}));
  auto p = RtpPacket::parse(copy);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->ssrc(), 0x11223344u);
  EXPECT_EQ(p->sequence(), 0xffff);
  EXPECT_EQ(p->timestamp(), 5u);
  EXPECT_EQ(p->payload_type(), 102);
  EXPECT_TRUE(p->marker());  // untouched
  EXPECT_EQ(to_hex(p->payload()), to_hex(RtpPacket::parse(kFfmpegMarker)->payload()));
  ASSERT_TRUE(rewrite_header(copy, {.marker = false}));
  EXPECT_FALSE(RtpPacket::parse(copy)->marker());
  EXPECT_EQ(RtpPacket::parse(copy)->payload_type(), 102);
}

TEST(RtpHeaderRewrite, RefusesShortOrNonRtpBuffers) {
  ByteVector shortp = from_hex("80 60 0001");
  EXPECT_FALSE(rewrite_header(shortp, {.ssrc = 1}));
  ByteVector stun = from_hex("0001 0000 2112a442 000000000000000000000000");
  EXPECT_FALSE(rewrite_header(stun, {.ssrc = 1}));
  ByteVector copy = kFfmpegStapA;
  EXPECT_FALSE(rewrite_header(copy, {.payload_type = 200}));
  EXPECT_EQ(copy, kFfmpegStapA);
}

TEST(RtpDemux, TellsRtcpFromRtpByPacketType) {
  EXPECT_FALSE(is_rtcp(kFfmpegStapA));
  EXPECT_FALSE(is_rtcp(kFfmpegMarker));  // PT 96 with marker: second byte 0xe0 = 224
  EXPECT_TRUE(is_rtcp(from_hex("80c80006e308586deeb0c83876c8b439e96269d20000000000000000")));
  EXPECT_TRUE(is_rtcp(from_hex("81cd0003")));
  EXPECT_FALSE(is_rtcp(from_hex("80")));
  EXPECT_TRUE(is_rtp_or_rtcp(kFfmpegStapA));
  EXPECT_FALSE(is_rtp_or_rtcp(from_hex("0001")));  // STUN binding request
  EXPECT_FALSE(is_rtp_or_rtcp(from_hex("16fefd")));  // DTLS handshake
}

}  // namespace
}  // namespace sg::rtp
