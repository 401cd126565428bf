#include <gtest/gtest.h>

#include "codec/h264.hpp"
#include "sample_streams.hpp"

namespace sg::codec::h264 {
namespace {

// SPS/PPS as written by libx264 (see sample_streams.hpp for the commands).
const char* kSps64x48High = "6764000aacd9447b011000000300100000030320f1225960";
const char* kPps64x48High = "68ebe3cb22c0";
const char* kSps640x360Baseline = "6742c01ed900a02ff97011000003000100000300320f162e48";
const char* kSps1920x1080High = "67640028acd940780227e5c044000003000400000300c83c60c658";

TEST(H264AnnexB, SplitsRealStreamIntoNalUnitsOfKnownTypes) {
  ByteVector stream = from_hex(testdata::kH264Small);
  auto nalus = split_annexb(stream);
  ASSERT_EQ(nalus.size(), 5u);
  EXPECT_EQ(nal_type(nalus[0]), 7);
  EXPECT_EQ(nal_type(nalus[1]), 8);
  EXPECT_EQ(nal_type(nalus[2]), 6);
  EXPECT_EQ(nal_type(nalus[3]), 5);
  EXPECT_EQ(nal_type(nalus[4]), 1);
  EXPECT_EQ(to_hex(nalus[0]), kSps64x48High);
  EXPECT_EQ(nalus[3].size(), 750u);
}

TEST(H264AnnexB, HandlesThreeAndFourByteStartCodesAndTrailingZeros) {
  ByteVector stream = from_hex("0000000167aa 000001 68bb 00 00000001 65cc0000 0000 000001 01dd");
  auto nalus = split_annexb(stream);
  ASSERT_EQ(nalus.size(), 4u);
  EXPECT_EQ(to_hex(nalus[0]), "67aa");
  EXPECT_EQ(to_hex(nalus[1]), "68bb");
  EXPECT_EQ(to_hex(nalus[2]), "65cc");
  EXPECT_EQ(to_hex(nalus[3]), "01dd");
}

TEST(H264AnnexB, IgnoresLeadingGarbageAndEmptyInput) {
  EXPECT_TRUE(split_annexb({}).empty());
  EXPECT_TRUE(split_annexb(from_hex("0000")).empty());
  ByteVector stream = from_hex("ffee 000001 0910");
  auto nalus = split_annexb(stream);
  ASSERT_EQ(nalus.size(), 1u);
  EXPECT_EQ(to_hex(nalus[0]), "0910");
}

TEST(H264AnnexB, WriteThenSplitRoundTrips) {
  ByteVector a = from_hex("6742"), b = from_hex("68ce");
  ByteVector stream = write_annexb({a, b});
  EXPECT_EQ(to_hex(stream),
            "00000001674200000001"
            "68ce");
  auto nalus = split_annexb(stream);
  ASSERT_EQ(nalus.size(), 2u);
  EXPECT_EQ(to_hex(nalus[1]), "68ce");
}

TEST(H264Avcc, WriteThenSplitRoundTripsForEachLengthSize) {
  ByteVector a = from_hex("6742c0"), b = from_hex("68");
  for (int ls : {1, 2, 4}) {
    ByteVector data = write_avcc({a, b}, ls);
    EXPECT_EQ(data.size(), 4u + 2 * static_cast<size_t>(ls));
    auto nalus = split_avcc(data, ls);
    ASSERT_TRUE(nalus.ok()) << nalus.error();
    ASSERT_EQ(nalus->size(), 2u);
    EXPECT_EQ(to_hex((*nalus)[0]), "6742c0");
    EXPECT_EQ(to_hex((*nalus)[1]), "68");
  }
}

TEST(H264Avcc, RejectsLengthBeyondDataAndTruncatedPrefix) {
  auto over = split_avcc(from_hex("0000000567"), 4);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().find("exceeds"), std::string::npos);
  EXPECT_FALSE(split_avcc(from_hex("00000001 65 0000"), 4).ok());
  EXPECT_FALSE(split_avcc(from_hex("00"), 3).ok());
}

TEST(H264Rbsp, RemovesEmulationPreventionBytes) {
  EXPECT_EQ(to_hex(remove_emulation_prevention(from_hex("00000301 000003 00000303"))), "0000010000000003");
  EXPECT_EQ(to_hex(remove_emulation_prevention(from_hex("0003"))), "0003");
}

TEST(H264Sps, ParsesHighProfileWithoutCropping) {
  auto sps = parse_sps(from_hex(kSps64x48High));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->profile_idc, 100);
  EXPECT_EQ(sps->constraint_flags, 0);
  EXPECT_EQ(sps->level_idc, 10);
  EXPECT_EQ(sps->chroma_format_idc, 1u);
  EXPECT_EQ(sps->width, 64u);
  EXPECT_EQ(sps->height, 48u);
}

TEST(H264Sps, ParsesBaselineWithBottomCropTo360) {
  auto sps = parse_sps(from_hex(kSps640x360Baseline));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->profile_idc, 66);
  EXPECT_EQ(sps->constraint_flags, 0xc0);
  EXPECT_EQ(sps->level_idc, 30);
  EXPECT_EQ(sps->width, 640u);
  EXPECT_EQ(sps->height, 360u);
}

TEST(H264Sps, Parses1080pCroppedFrom1088) {
  auto sps = parse_sps(from_hex(kSps1920x1080High));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->profile_idc, 100);
  EXPECT_EQ(sps->level_idc, 40);
  EXPECT_TRUE(sps->frame_mbs_only);
  EXPECT_EQ(sps->width, 1920u);
  EXPECT_EQ(sps->height, 1080u);
}

// Builds an SPS NAL from its header bytes and a string of '0'/'1' bits (padded with zeros).
ByteVector nalu_from_bits(const char* header_hex, std::string bits) {
  while (bits.size() % 8) bits += '0';
  ByteVector nalu = from_hex(header_hex);
  for (size_t i = 0; i < bits.size(); i += 8) nalu.push_back(std::byte(std::stoi(bits.substr(i, 8), nullptr, 2)));
  return nalu;
}

TEST(H264Sps, RejectsScalingListDeltaOutOfRange) {
  // As below, but list 0 starts with delta_scale = se(200): ue 399, i.e. 8 zeros then 110010000.
  auto sps = parse_sps(nalu_from_bits("67 64 00 1e",
                                      "1"
                                      "010"
                                      "1"
                                      "1"
                                      "0"
                                      "1"
                                      "1"
                                      "00000000"
                                      "110010000"));
  ASSERT_FALSE(sps.ok());
  EXPECT_NE(sps.error().find("delta_scale"), std::string::npos);
}

TEST(H264Sps, ParsesHigh444AndHigh422_10WithChromaFormat) {
  // libx264 -pix_fmt yuv444p / yuv422p10le at 1280x720.
  auto s444 = parse_sps(from_hex("67f4001f919b280a00b76022000003000200000300641e30632c"));
  ASSERT_TRUE(s444.ok()) << s444.error();
  EXPECT_EQ(s444->profile_idc, 244);
  EXPECT_EQ(s444->chroma_format_idc, 3u);
  EXPECT_EQ(s444->width, 1280u);
  EXPECT_EQ(s444->height, 720u);
  auto s422 = parse_sps(from_hex("677a001fb6cd9405005bb011000003000100000300320f183196"));
  ASSERT_TRUE(s422.ok()) << s422.error();
  EXPECT_EQ(s422->profile_idc, 122);
  EXPECT_EQ(s422->chroma_format_idc, 2u);
  EXPECT_EQ(s422->bit_depth_luma, 10u);
  EXPECT_EQ(s422->bit_depth_chroma, 10u);
  EXPECT_EQ(s422->width, 1280u);
  EXPECT_EQ(s422->height, 720u);
}

TEST(H264Sps, SkipsScalingListsInHighProfile) {
  // Hand-made High SPS: 176x144, seq_scaling_matrix_present with list 0 coded (delta_scale -8 -> next 0, so the
  // rest of the list uses last_scale) and list 6 absent. Bits after the scaling matrix must still line up.
  // profile 100, flags 0, level 30, then: ue(0) sps_id, ue(1) chroma, ue(0) ue(0) depth, 0 bypass, 1 matrix,
  // list0 flag 1 + se(-8), lists 1..7 flag 0, ue(0) frame_num, ue(2) poc type, ue(1) refs, 0 gaps,
  // ue(10) width-1, ue(8) height-1, 1 frame_mbs_only, 1 direct8x8, 0 cropping, 0 vui, rbsp stop bit.
  std::string bits =
      "1"
      "010"
      "1"
      "1"
      "0"
      "1"
      "1"
      "000010001"
      "0000000"
      "1"
      "011"
      "010"
      "0"
      "0001011"
      "0001001"
      "1"
      "1"
      "0"
      "0"
      "1";
  auto sps = parse_sps(nalu_from_bits("67 64 00 1e", bits));
  ASSERT_TRUE(sps.ok()) << sps.error();
  EXPECT_EQ(sps->width, 176u);
  EXPECT_EQ(sps->height, 144u);
}

TEST(H264Sps, RejectsTruncatedWrongTypeAndOversizedInput) {
  ByteVector sps = from_hex(kSps1920x1080High);
  auto truncated = parse_sps(Bytes(sps).first(8));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("truncated"), std::string::npos);
  EXPECT_FALSE(parse_sps(from_hex(kPps64x48High)).ok());
  EXPECT_FALSE(parse_sps(from_hex("67")).ok());
  // pic_width_in_mbs_minus1 = 2^20: larger than any real picture.
  EXPECT_FALSE(parse_sps(from_hex("6742c01e 8c 000000 80 8000 8000 00 00")).ok());
}

TEST(H264, KeyframeMeansIdrSlicePresent) {
  ByteVector stream = from_hex(testdata::kH264Small);
  auto nalus = split_annexb(stream);
  EXPECT_TRUE(is_keyframe({nalus[0], nalus[1], nalus[2], nalus[3]}));
  EXPECT_FALSE(is_keyframe({nalus[4]}));
  EXPECT_FALSE(is_keyframe({nalus[0], nalus[1]}));
}

TEST(H264Sdp, ProfileLevelIdIsHexOfSpsBytes) {
  EXPECT_EQ(*profile_level_id(from_hex(kSps640x360Baseline)), "42c01e");
  EXPECT_EQ(*profile_level_id(from_hex(kSps1920x1080High)), "640028");
  EXPECT_FALSE(profile_level_id(from_hex(kPps64x48High)).ok());
}

TEST(H264Sdp, SpropParameterSetsRoundTrip) {
  ByteVector sps = from_hex(kSps64x48High), pps = from_hex(kPps64x48High);
  std::string value = encode_sprop_parameter_sets({sps, pps});
  EXPECT_EQ(value, "Z2QACqzZRHsBEAAAAwAQAAADAyDxIllg,aOvjyyLA");
  auto sets = decode_sprop_parameter_sets(value);
  ASSERT_TRUE(sets.ok()) << sets.error();
  ASSERT_EQ(sets->sps.size(), 1u);
  ASSERT_EQ(sets->pps.size(), 1u);
  EXPECT_EQ(sets->sps[0], sps);
  EXPECT_EQ(sets->pps[0], pps);
}

TEST(H264Sdp, SpropParameterSetsRejectsBadBase64) {
  auto sets = decode_sprop_parameter_sets("Z2QACqzZ,*bad*");
  ASSERT_FALSE(sets.ok());
  EXPECT_NE(sets.error().find("*bad*"), std::string::npos);
}

TEST(H264Avcc, BuildMatchesFfmpegMp4Record) {
  // avcC box payload written by `ffmpeg -i small.h264 -c copy s.mp4` for the same SPS/PPS.
  ByteVector sps = from_hex(kSps64x48High), pps = from_hex(kPps64x48High);
  auto avcc = build_avcc({sps}, {pps});
  ASSERT_TRUE(avcc.ok()) << avcc.error();
  EXPECT_EQ(to_hex(*avcc),
            "0164000affe100186764000aacd9447b011000000300100000030320f122596001000668ebe3cb22c0fdf8f800");
}

TEST(H264Avcc, BaselineHasNoHighProfileTail) {
  ByteVector sps = from_hex(kSps640x360Baseline), pps = from_hex("68cb83cb20");
  auto avcc = build_avcc({sps}, {pps});
  ASSERT_TRUE(avcc.ok());
  EXPECT_EQ(avcc->size(), 6 + 2 + sps.size() + 1 + 2 + pps.size());
  EXPECT_FALSE(build_avcc({}, {pps}).ok());
}

}  // namespace
}  // namespace sg::codec::h264
