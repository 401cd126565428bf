#include <gtest/gtest.h>

#include <array>

#include "base/bytes.hpp"
#include "rtp/rtcp.hpp"

namespace sg::rtp {
namespace {

// ffmpeg 5.1 `-f rtp` sender report after ~5 s of H.264: 166 packets, 92895 octets.
const ByteVector kFfmpegSr = from_hex("80c80006adda341ceeb0c84d9645a1ca95e9caa7000000a600016adf");

template <class T>
const T& as(const RtcpMessage& m) {
  EXPECT_TRUE(std::holds_alternative<T>(m)) << "variant index " << m.index();
  static const T kEmpty{};
  return std::holds_alternative<T>(m) ? std::get<T>(m) : kEmpty;
}

TEST(Rtcp, ParsesFfmpegSenderReport) {
  auto msgs = parse_rtcp(kFfmpegSr);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  ASSERT_EQ(msgs->size(), 1u);
  const auto& sr = as<SenderReport>(msgs->at(0));
  EXPECT_EQ(sr.ssrc, 0xadda341cu);
  EXPECT_EQ(sr.ntp_timestamp, 0xeeb0c84d9645a1caull);
  EXPECT_EQ(sr.rtp_timestamp, 0x95e9caa7u);
  EXPECT_EQ(sr.packet_count, 166u);
  EXPECT_EQ(sr.octet_count, 92895u);
  EXPECT_TRUE(sr.reports.empty());
}

TEST(Rtcp, SenderReportBuilderReproducesFfmpegBytes) {
  ByteVector out;
  append_sender_report(out, {0xadda341c, 0xeeb0c84d9645a1ca, 0x95e9caa7, 166, 92895, {}});
  EXPECT_EQ(to_hex(out), to_hex(kFfmpegSr));
}

TEST(Rtcp, CompoundRrSdesByeRoundTrips) {
  ReceiverReport rr{0x01020304, {{0xadda341c, 12, -3, 0x0001ffff, 77, ntp_middle32(0xeeb0c84d9645a1ca), 65536}}};
  std::array<uint32_t, 2> ssrcs{0x01020304, 0x05060708};
  ByteVector out;
  append_receiver_report(out, rr);
  append_sdes_cname(out, 0x01020304, "streamgate@host");
  append_bye(out, ssrcs, "done");
  EXPECT_EQ(out.size() % 4, 0u);
  auto msgs = parse_rtcp(out);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  ASSERT_EQ(msgs->size(), 3u);
  EXPECT_EQ(as<ReceiverReport>(msgs->at(0)), rr);
  EXPECT_EQ(as<ReceiverReport>(msgs->at(0)).reports[0].last_sr, 0xc84d9645u);
  const auto& sdes = as<Sdes>(msgs->at(1));
  ASSERT_EQ(sdes.chunks.size(), 1u);
  EXPECT_EQ(sdes.chunks[0].ssrc, 0x01020304u);
  EXPECT_EQ(sdes.chunks[0].cname(), "streamgate@host");
  EXPECT_EQ(as<Bye>(msgs->at(2)), (Bye{{0x01020304, 0x05060708}, "done"}));
}

TEST(Rtcp, SdesChunkPaddingIsOneToFourNullBytes) {
  for (size_t len = 0; len < 8; ++len) {
    ByteVector out;
    append_sdes_cname(out, 1, std::string(len, 'x'));
    auto msgs = parse_rtcp(out);
    ASSERT_TRUE(msgs.ok()) << len << ": " << msgs.error();
    EXPECT_EQ(as<Sdes>(msgs->at(0)).chunks[0].cname(), std::string(len, 'x'));
    EXPECT_EQ(out.size(), 4 + ((4 + 2 + len + 1 + 3) & ~size_t{3}));
  }
}

TEST(Rtcp, SenderReportWithReportBlockAndNegativeLoss) {
  // SR with one report block, cumulative lost 0xffffff (-1), hand-assembled per RFC 3550 6.4.1.
  auto bytes = from_hex(
      "81c8000c 00000001 eeb0c84d9645a1ca 00001000 0000000a 00000400"
      "00000002 40ffffff 00010005 00000020 c84d9645 00008000");
  auto msgs = parse_rtcp(bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  const auto& sr = as<SenderReport>(msgs->at(0));
  ASSERT_EQ(sr.reports.size(), 1u);
  EXPECT_EQ(sr.reports[0], (ReportBlock{2, 0x40, -1, 0x00010005, 32, 0xc84d9645, 0x8000}));
  ByteVector out;
  append_sender_report(out, sr);
  EXPECT_EQ(out, bytes);
}

TEST(Rtcp, NackExpandsPidAndBitmask) {
  // RFC 4585 6.2.1: pid 0xfffe lost, blp bits 0 and 2 -> 0xffff and 0x0001 (wrapping) lost too.
  auto bytes = from_hex("81cd0003 00000001 0000abcd fffe0005");
  auto msgs = parse_rtcp(bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  const auto& nack = as<Nack>(msgs->at(0));
  EXPECT_EQ(nack.media_ssrc, 0xabcdu);
  EXPECT_EQ(nack.lost_sequences(), (std::vector<uint16_t>{0xfffe, 0xffff, 0x0001}));
}

TEST(Rtcp, NackBuilderPacksRunsIntoItems) {
  std::array<uint16_t, 6> lost{120, 100, 101, 116, 117, 101};
  ByteVector out;
  append_nack(out, 1, 2, lost);
  EXPECT_EQ(to_hex(out), "81cd0004000000010000000200648001"  // pid 100, 101 and 116 in blp bits 0 and 15
                         "00750004");                         // pid 117, 120 in bit 2
  auto msgs = parse_rtcp(out);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<Nack>(msgs->at(0)).lost_sequences(), (std::vector<uint16_t>{100, 101, 116, 117, 120}));
}

TEST(Rtcp, PliAndFirBuildersParseBack) {
  ByteVector out;
  append_pli(out, 7, 9);
  std::array<FirEntry, 1> fir{FirEntry{9, 3}};
  append_fir(out, 7, fir);
  EXPECT_EQ(to_hex(Bytes(out).first(12)), "81ce00020000000700000009");
  auto msgs = parse_rtcp(out);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<Pli>(msgs->at(0)), (Pli{7, 9}));
  EXPECT_EQ(as<Fir>(msgs->at(1)), (Fir{7, {{9, 3}}}));
}

TEST(Rtcp, RecognisesRembAndTransportCc) {
  // REMB: 1 SSRC, exponent 3, mantissa 0x3d090 (250000) -> 2 Mbit/s.
  auto remb = from_hex("8fce0005 00000001 00000000 52454d42 010fd090 12345678");
  auto msgs = parse_rtcp(remb);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<Remb>(msgs->at(0)), (Remb{1, 2000000, {0x12345678}}));
  auto twcc = from_hex("8fcd0005 00000001 00000002 00100003 00000100 20030000");
  msgs = parse_rtcp(twcc);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<TransportCc>(msgs->at(0)), (TransportCc{1, 2, 16, 3}));
}

TEST(Rtcp, RembBuilderWritesTheSmallestExponentThatFits) {
  // The same 2 Mbit/s as the packet above: exponent 3, mantissa 250000.
  ByteVector out;
  const uint32_t ssrcs[] = {0x12345678};
  append_remb(out, 1, 2000000, ssrcs);
  EXPECT_EQ(out, from_hex("8fce0005 00000001 00000000 52454d42 010fd090 12345678"));
}

TEST(Rtcp, RembBuilderRoundTripsLargeAndSmallBitrates) {
  for (uint64_t bitrate : {uint64_t{0}, uint64_t{30000}, uint64_t{2500000}, uint64_t{1} << 40}) {
    ByteVector out;
    const uint32_t ssrcs[] = {7, 9};
    append_remb(out, 3, bitrate, ssrcs);
    auto msgs = parse_rtcp(out);
    ASSERT_TRUE(msgs.ok()) << msgs.error();
    const auto& remb = as<Remb>(msgs->at(0));
    // Rounded down to 18 significant bits.
    EXPECT_LE(remb.bitrate, bitrate);
    EXPECT_GE(remb.bitrate, bitrate - (bitrate >> 17));
    EXPECT_EQ(remb.ssrcs, (std::vector<uint32_t>{7, 9}));
    EXPECT_EQ(remb.sender_ssrc, 3u);
  }
}

TEST(Rtcp, RembBitrateSaturatesInsteadOfOverflowing) {
  auto remb = from_hex("8fce0004 00000001 00000000 52454d42 00ffffff");
  auto msgs = parse_rtcp(remb);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<Remb>(msgs->at(0)).bitrate, UINT64_MAX);
}

TEST(Rtcp, AppAndUnknownPacketsAreSkippedNotFailed) {
  auto bytes = from_hex("80cc0002 00000001 41424344  80d00001 00000000  83cd0002 00000001 00000002");
  auto msgs = parse_rtcp(bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  ASSERT_EQ(msgs->size(), 3u);
  EXPECT_EQ(as<App>(msgs->at(0)).name, "ABCD");
  EXPECT_EQ(as<UnknownRtcp>(msgs->at(1)).type, 208);
  EXPECT_EQ(as<UnknownRtcp>(msgs->at(2)).count, 3);
}

TEST(Rtcp, PaddingOnTheLastPacketIsRemoved) {
  // BYE with one SSRC and 4 bytes of padding.
  auto bytes = from_hex("a1cb0002 00000005 00000004");
  auto msgs = parse_rtcp(bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_EQ(as<Bye>(msgs->at(0)), (Bye{{5}, std::nullopt}));
}

TEST(Rtcp, RejectsBadLengthsWithPositionInError) {
  auto too_long = parse_rtcp(from_hex("80c80006adda341c"));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error(), "RTCP packet 1 at offset 0: length 28 bytes exceeds the 8 bytes left");
  ByteVector two = kFfmpegSr;
  append(two, from_hex("40c90001 00000000"));
  auto bad_version = parse_rtcp(two);
  ASSERT_FALSE(bad_version.ok());
  EXPECT_EQ(bad_version.error(), "RTCP packet 2 at offset 28: version 1 is not 2");
  EXPECT_FALSE(parse_rtcp(from_hex("80c8")).ok());
  EXPECT_FALSE(parse_rtcp({}).ok());
  EXPECT_FALSE(parse_rtcp(from_hex("a0cb0000")).ok());              // padding count 0
  EXPECT_FALSE(parse_rtcp(from_hex("a1cb0001 00000009")).ok());     // padding larger than the body
}

TEST(Rtcp, RejectsBodiesShorterThanTheirCounts) {
  EXPECT_FALSE(parse_rtcp(from_hex("81c80006 adda341ceeb0c84d9645a1ca95e9caa7000000a600016adf")).ok());
  EXPECT_FALSE(parse_rtcp(from_hex("81c90001 00000001")).ok());
  EXPECT_FALSE(parse_rtcp(from_hex("82ca0002 00000001 01026100")).ok());  // second SDES chunk missing
  EXPECT_FALSE(parse_rtcp(from_hex("81ca0002 00000001 01056162")).ok());  // item runs past the end
  EXPECT_TRUE(parse_rtcp(from_hex("81ca0002 00000001 01016100")).ok());  // the well-formed control case
  EXPECT_FALSE(parse_rtcp(from_hex("82cb0001 00000001")).ok());
  EXPECT_FALSE(parse_rtcp(from_hex("81cb0002 00000001 09616263")).ok());  // reason longer than packet
  EXPECT_FALSE(parse_rtcp(from_hex("81cd0002 00000001 00000002")).ok());  // NACK without items
  EXPECT_FALSE(parse_rtcp(from_hex("81ce0001 00000001")).ok());           // PLI without media SSRC
  EXPECT_FALSE(parse_rtcp(from_hex("84ce0003 00000001 00000000 00000009")).ok());  // FIR entry cut
  EXPECT_FALSE(parse_rtcp(from_hex("8fce0004 00000001 00000000 52454d42 020fd090")).ok());  // REMB SSRCs cut
}

TEST(Rtcp, ReaderStopsAtFirstMalformedPacket) {
  ByteVector bytes = kFfmpegSr;
  append(bytes, from_hex("80c9ffff"));
  RtcpReader reader(bytes);
  auto first = reader.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type, 200);
  EXPECT_EQ(first->body.size(), 24u);
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_FALSE(reader.error().empty());
  EXPECT_FALSE(reader.next().has_value());
}

}  // namespace
}  // namespace sg::rtp
