#pragma once
// H.264 / AVC bitstream helpers (ITU-T H.264): NAL unit types, Annex-B and AVCC framing, RBSP extraction, SPS
// parsing, RFC 6184 SDP parameters (profile-level-id, sprop-parameter-sets) and the avcC record (ISO/IEC 14496-15).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::codec::h264 {

// ITU-T H.264 Table 7-1 (and RFC 6184 5.2 for the payload-only types 24..29).
enum class NalType : uint8_t {
  kSlice = 1,
  kSliceA = 2,
  kIdr = 5,
  kSei = 6,
  kSps = 7,
  kPps = 8,
  kAud = 9,
  kEndOfSequence = 10,
  kEndOfStream = 11,
  kFiller = 12,
  kStapA = 24,
  kStapB = 25,
  kMtap16 = 26,
  kMtap24 = 27,
  kFuA = 28,
  kFuB = 29,
};

inline uint8_t nal_type(uint8_t header) { return header & 0x1f; }
inline uint8_t nal_ref_idc(uint8_t header) { return (header >> 5) & 0x03; }
// Type of a NAL unit (0 if empty).
inline uint8_t nal_type(Bytes nalu) { return nalu.empty() ? 0 : nal_type(u8(nalu, 0)); }
inline bool is_vcl(uint8_t type) { return type >= 1 && type <= 5; }

// Splits an Annex-B byte stream at 3- and 4-byte start codes. Spans point into `stream`, without start codes and
// without trailing zero bytes (trailing_zero_8bits). Bytes before the first start code are ignored; empty NAL units
// are skipped.
std::vector<Bytes> split_annexb(Bytes stream);
// Writes NAL units with 4-byte start codes.
ByteVector write_annexb(const std::vector<Bytes>& nalus);

// Splits length-prefixed NAL units (AVCC / hvcC sample format); length_size is 1, 2 or 4.
Result<std::vector<Bytes>> split_avcc(Bytes data, int length_size = 4);
ByteVector write_avcc(const std::vector<Bytes>& nalus, int length_size = 4);

// Removes emulation_prevention_three_byte (00 00 03 -> 00 00), ITU-T H.264 7.4.1. Also valid for H.265.
ByteVector remove_emulation_prevention(Bytes nalu);

// True when any NAL unit is an IDR slice.
bool is_keyframe(const std::vector<Bytes>& nalus);

struct Sps {
  uint8_t profile_idc = 0;
  uint8_t constraint_flags = 0;  // constraint_set0..5 flags and reserved bits, the byte after profile_idc
  uint8_t level_idc = 0;
  uint32_t sps_id = 0;
  uint32_t chroma_format_idc = 1;  // 4:2:0 unless a high profile says otherwise
  bool separate_colour_plane = false;
  uint32_t bit_depth_luma = 8;
  uint32_t bit_depth_chroma = 8;
  bool frame_mbs_only = true;
  uint32_t width = 0;   // after frame cropping
  uint32_t height = 0;  // after frame cropping
  uint32_t pic_order_cnt_type = 0;  // 2: output order is decoding order (8.2.1.3)
  // From the VUI (Annex E.1.1) when present and readable; a damaged VUI leaves them unset, it does not fail the SPS.
  uint32_t num_units_in_tick = 0;  // timing_info: a frame lasts 2 * num_units_in_tick / time_scale seconds (E.2.1)
  uint32_t time_scale = 0;
  std::optional<uint32_t> max_num_reorder_frames;  // bitstream_restriction: frames that precede one in decoding
                                                   // order and follow it in output order, at most
};

// Parses a sequence parameter set NAL unit (with its 1-byte header), ITU-T H.264 7.3.2.1.1, with the VUI timing and
// reordering fields.
Result<Sps> parse_sps(Bytes nalu);

// RFC 6184 8.1: profile-level-id, the hex of the three bytes after the SPS NAL header ("64001f").
Result<std::string> profile_level_id(Bytes sps_nalu);

struct ParameterSets {
  std::vector<ByteVector> sps;
  std::vector<ByteVector> pps;
  std::vector<ByteVector> other;  // anything else found (e.g. SEI): kept, not interpreted
};
// RFC 6184 8.1: sprop-parameter-sets, a comma-separated list of base64 NAL units.
Result<ParameterSets> decode_sprop_parameter_sets(std::string_view value);
std::string encode_sprop_parameter_sets(const std::vector<Bytes>& nalus);

// ISO/IEC 14496-15 5.3.3.1: AVCDecoderConfigurationRecord with 4-byte NAL lengths. Needs at least one SPS.
Result<ByteVector> build_avcc(const std::vector<Bytes>& sps, const std::vector<Bytes>& pps);

}  // namespace sg::codec::h264
