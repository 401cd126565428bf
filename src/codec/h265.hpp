#pragma once
// H.265 / HEVC bitstream helpers (ITU-T H.265): 2-byte NAL headers, IRAP detection, SPS parsing, RFC 7798 SDP
// parameters (sprop-vps/sps/pps) and the hvcC record (ISO/IEC 14496-15 8.3.3). Annex-B / AVCC framing and RBSP
// extraction are the same as H.264: use h264::split_annexb, h264::split_avcc, h264::remove_emulation_prevention.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::codec::h265 {

// ITU-T H.265 Table 7-1 (and RFC 7798 4.4 for 48..50).
enum class NalType : uint8_t {
  kTrailN = 0,
  kTrailR = 1,
  kBlaWLp = 16,
  kBlaWRadl = 17,
  kBlaNLp = 18,
  kIdrWRadl = 19,
  kIdrNLp = 20,
  kCraNut = 21,
  kVps = 32,
  kSps = 33,
  kPps = 34,
  kAud = 35,
  kPrefixSei = 39,
  kSuffixSei = 40,
  kAp = 48,
  kFu = 49,
  kPaci = 50,
};

// NAL unit header, ITU-T H.265 7.3.1.2: forbidden_zero_bit(1) nal_unit_type(6) nuh_layer_id(6)
// nuh_temporal_id_plus1(3).
inline uint8_t nal_type(uint8_t first_header_byte) { return (first_header_byte >> 1) & 0x3f; }
inline uint8_t nal_type(Bytes nalu) { return nalu.empty() ? 0 : nal_type(u8(nalu, 0)); }
inline uint8_t layer_id(Bytes nalu) {
  return nalu.size() < 2 ? 0 : static_cast<uint8_t>(((u8(nalu, 0) & 1) << 5) | (u8(nalu, 1) >> 3));
}
inline uint8_t temporal_id_plus1(Bytes nalu) { return nalu.size() < 2 ? 0 : u8(nalu, 1) & 0x07; }
// IRAP pictures (BLA, IDR, CRA; reserved 22..23 excluded): a decoder may start here.
inline bool is_irap(uint8_t type) { return type >= 16 && type <= 21; }
inline bool is_vcl(uint8_t type) { return type < 32; }

// True when any NAL unit is an IRAP picture slice.
bool is_keyframe(const std::vector<Bytes>& nalus);

struct Sps {
  uint32_t vps_id = 0;
  uint32_t max_sub_layers = 1;
  bool temporal_id_nesting = false;
  // General profile_tier_level fields, ITU-T H.265 7.3.3.
  uint8_t profile_space = 0;
  bool tier_flag = false;
  uint8_t profile_idc = 0;
  uint32_t profile_compatibility_flags = 0;
  uint64_t constraint_indicator_flags = 0;  // 48 bits
  uint8_t level_idc = 0;
  uint32_t sps_id = 0;
  uint32_t chroma_format_idc = 1;
  bool separate_colour_plane = false;
  uint32_t bit_depth_luma = 8;
  uint32_t bit_depth_chroma = 8;
  uint32_t width = 0;   // after the conformance window
  uint32_t height = 0;  // after the conformance window
  // sps_max_num_reorder_pics[HighestTid] (7.4.3.2.1): pictures that precede one in decoding order and follow it in
  // output order, at most. Unset when the SPS ends before it or the value is out of range.
  std::optional<uint32_t> max_num_reorder_pics;
};

// Parses a sequence parameter set NAL unit (with its 2-byte header), ITU-T H.265 7.3.2.2, up to the sub-layer
// ordering info.
Result<Sps> parse_sps(Bytes nalu);

struct ParameterSets {
  std::vector<ByteVector> vps;
  std::vector<ByteVector> sps;
  std::vector<ByteVector> pps;
};
// RFC 7798 7.1: sprop-vps / sprop-sps / sprop-pps, each a comma-separated list of base64 NAL units. Each value
// must hold NAL units of its own type. Empty values are allowed (nothing decoded).
Result<ParameterSets> decode_sprop(std::string_view sprop_vps, std::string_view sprop_sps, std::string_view sprop_pps);
// The value of one sprop-* parameter.
std::string encode_sprop(const std::vector<Bytes>& nalus);

// ISO/IEC 14496-15 8.3.3.1: HEVCDecoderConfigurationRecord with 4-byte NAL lengths, arrays VPS, SPS, PPS.
Result<ByteVector> build_hvcc(const std::vector<Bytes>& vps, const std::vector<Bytes>& sps,
                              const std::vector<Bytes>& pps);

}  // namespace sg::codec::h265
