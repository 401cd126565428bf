#include <gtest/gtest.h>

#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "sample_streams.hpp"

namespace sg::codec::h265 {
namespace {

// From libx265 (ffmpeg -f lavfi -i testsrc2=size=1920x1080 -frames:v 1 -c:v libx265 -f hevc).
const char* kVps1080 = "40010c01ffff016000000300900000030000030078959809";
const char* kSps1080 = "420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000c84";
// From kH265Small (64x64).
const char* kVps64 = "40010c01ffff01600000030090000003000003001e959809";
const char* kSps64 = "42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84";
const char* kPps64 = "4401c172b42240";

TEST(H265Nal, HeaderFieldsAndIrapRange) {
  ByteVector sps = from_hex(kSps64);
  EXPECT_EQ(nal_type(sps), 33);
  EXPECT_EQ(layer_id(sps), 0);
  EXPECT_EQ(temporal_id_plus1(sps), 1);
  EXPECT_FALSE(is_irap(15));
  for (uint8_t t = 16; t <= 21; ++t) EXPECT_TRUE(is_irap(t));
  EXPECT_FALSE(is_irap(22));
}

TEST(H265Nal, RealStreamHasParameterSetsThenIdrThenTrailing) {
  ByteVector stream = from_hex(testdata::kH265Small);
  auto nalus = h264::split_annexb(stream);
  ASSERT_EQ(nalus.size(), 5u);
  EXPECT_EQ(nal_type(nalus[0]), 32);
  EXPECT_EQ(nal_type(nalus[1]), 33);
  EXPECT_EQ(nal_type(nalus[2]), 34);
  EXPECT_EQ(nal_type(nalus[3]), 20);
  EXPECT_EQ(nal_type(nalus[4]), 1);
  EXPECT_TRUE(is_keyframe({nalus[3]}));
  EXPECT_FALSE(is_keyframe({nalus[0], nalus[1], nalus[2], nalus[4]}));
}

TEST(H265Sps, Parses1080pWithConformanceWindow) {
  // 1080 is not a multiple of the 8-pixel minimum CB: coded 1088, cropped by the conformance window.
  auto sps = parse_sps(from_hex(kSps1080));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->width, 1920u);
  EXPECT_EQ(sps->height, 1080u);
  EXPECT_EQ(sps->profile_idc, 1);  // Main
  EXPECT_FALSE(sps->tier_flag);
  EXPECT_EQ(sps->level_idc, 120);  // 4.0
  EXPECT_EQ(sps->profile_compatibility_flags, 0x60000000u);
  EXPECT_EQ(sps->constraint_indicator_flags, 0x900000000000u);
  EXPECT_EQ(sps->chroma_format_idc, 1u);
  EXPECT_EQ(sps->bit_depth_luma, 8u);
}

TEST(H265Sps, ParsesMain10) {
  // libx265 -pix_fmt yuv420p10le at 640x360.
  auto sps =
      parse_sps(from_hex("42010102200000030090000003000003003fa005020169365959a4932bc05a020000030002000003003210"));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->profile_idc, 2);  // Main 10
  EXPECT_EQ(sps->bit_depth_luma, 10u);
  EXPECT_EQ(sps->width, 640u);
  EXPECT_EQ(sps->height, 360u);
}

TEST(H265Sps, Parses444WithOddSizeConformanceWindow) {
  // libx265 -pix_fmt yuv444p at 1000x562: coded 1000x568, SubWidthC = SubHeightC = 1 in 4:4:4.
  auto sps =
      parse_sps(from_hex("4201010408000003009e0800000300005d9000fa4011cf9f2cacd24995e02d010000030001000003001908"));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->profile_idc, 4);  // format range extensions
  EXPECT_EQ(sps->chroma_format_idc, 3u);
  EXPECT_EQ(sps->width, 1000u);
  EXPECT_EQ(sps->height, 562u);
}

TEST(H265Sps, ParsesSmallPicture) {
  auto sps = parse_sps(from_hex(kSps64));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->width, 64u);
  EXPECT_EQ(sps->height, 64u);
  EXPECT_EQ(sps->level_idc, 30);
  EXPECT_EQ(sps->max_sub_layers, 1u);
}

// Exp-Golomb code of v as a bit string.
std::string ue_bits(uint32_t v) {
  std::string code;
  for (uint32_t x = v + 1; x; x >>= 1) code.insert(code.begin(), (x & 1) ? '1' : '0');
  return std::string(code.size() - 1, '0') + code;
}

TEST(H265Sps, SkipsSubLayerProfileTierLevel) {
  // Hand-made SPS with sps_max_sub_layers_minus1 = 1 and sub_layer profile+level present: 2 flag bits, 14 reserved
  // bits, 88 + 8 sub-layer bits must be skipped before sps_seq_parameter_set_id.
  std::string bits =
      "0000"
      "001"
      "1";  // vps id, max_sub_layers_minus1 = 1, nesting
  bits +=
      "00"
      "0"
      "00001" +
      std::string(32, '0') + std::string(48, '0') + "01011010";             // general PTL, level 90
  bits += "11" + std::string(14, '0') + std::string(88, '1') + "00111100";  // sub-layer flags, PTL
  bits += ue_bits(0) + ue_bits(1);                                          // sps_id 0, chroma 4:2:0
  bits += ue_bits(128) + ue_bits(64);                                       // pic width, height
  bits += "0" + ue_bits(0) + ue_bits(0);                                    // no conformance window, 8-bit
  bits += "1";
  while (bits.size() % 8) bits += '0';
  ByteVector nalu = from_hex("4201");
  for (size_t i = 0; i < bits.size(); i += 8) nalu.push_back(std::byte(std::stoi(bits.substr(i, 8), nullptr, 2)));
  auto sps = parse_sps(nalu);
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->max_sub_layers, 2u);
  EXPECT_EQ(sps->level_idc, 90);
  EXPECT_EQ(sps->width, 128u);
  EXPECT_EQ(sps->height, 64u);
}

TEST(H265Sps, RejectsTruncatedAndWrongType) {
  ByteVector sps = from_hex(kSps1080);
  auto r = parse_sps(Bytes(sps).first(14));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("truncated"), std::string::npos);
  EXPECT_FALSE(parse_sps(from_hex(kVps1080)).ok());
  EXPECT_FALSE(parse_sps(from_hex("42")).ok());
}

TEST(H265Sdp, SpropRoundTripsAndChecksTypes) {
  ByteVector vps = from_hex(kVps64), sps = from_hex(kSps64), pps = from_hex(kPps64);
  std::string v = encode_sprop({vps}), s = encode_sprop({sps}), p = encode_sprop({pps});
  EXPECT_EQ(p, "RAHBcrQiQA==");
  auto sets = decode_sprop(v, s, p);
  ASSERT_TRUE(sets.ok()) << sets.error();
  ASSERT_EQ(sets->vps.size(), 1u);
  EXPECT_EQ(sets->vps[0], vps);
  EXPECT_EQ(sets->sps[0], sps);
  EXPECT_EQ(sets->pps[0], pps);
  auto swapped = decode_sprop(s, v, p);
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.error().find("sprop-vps"), std::string::npos);
  EXPECT_FALSE(decode_sprop("", "!!", "").ok());
}

TEST(H265Hvcc, BuildMatchesFfmpegMp4RecordExceptArrayCompleteness) {
  // hvcC written by `ffmpeg -i small.hevc -c copy s.mp4`; ffmpeg leaves array_completeness 0 where we set 1
  // (all parameter sets are in the record, ISO/IEC 14496-15 8.4.1 for 'hvc1').
  ByteVector vps = from_hex(kVps64), sps = from_hex(kSps64), pps = from_hex(kPps64);
  auto hvcc = build_hvcc({vps}, {sps}, {pps});
  ASSERT_TRUE(hvcc.ok()) << hvcc.error();
  EXPECT_EQ(to_hex(*hvcc),
            "0101600000009000000000001ef000fcfdf8f800000f03"
            "a00001001840010c01ffff01600000030090000003000003001e959809"
            "a10001002842010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84"
            "a2000100074401c172b42240");
  EXPECT_FALSE(build_hvcc({}, {sps}, {pps}).ok());
}

}  // namespace
}  // namespace sg::codec::h265
