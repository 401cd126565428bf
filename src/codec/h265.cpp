#include "codec/h265.hpp"

#include <fmt/format.h>

#include "base/bit_reader.hpp"
#include "codec/h264.hpp"

namespace sg::codec::h265 {

namespace {

constexpr uint64_t kMaxDimension = 16384;

Status decode_list(std::string_view value, NalType want, const char* name, std::vector<ByteVector>& out) {
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      ByteVector nalu;
      if (!base64_decode(item, nalu) || nalu.size() < 2) {
        return make_error(fmt::format("H265 {}: bad base64 '{}'", name, item));
      }
      if (nal_type(nalu) != static_cast<uint8_t>(want)) {
        return make_error(
            fmt::format("H265 {}: NAL type {} where {} was expected", name, nal_type(nalu), static_cast<int>(want)));
      }
      out.push_back(std::move(nalu));
    }
    pos = comma + 1;
  }
  return Ok{};
}

}  // namespace

bool is_keyframe(const std::vector<Bytes>& nalus) {
  for (Bytes n : nalus) {
    if (is_irap(nal_type(n))) return true;
  }
  return false;
}

Result<Sps> parse_sps(Bytes nalu) {
  if (nalu.size() < 3) return make_error(fmt::format("H265 SPS: too short ({} bytes)", nalu.size()));
  if (nal_type(nalu) != static_cast<uint8_t>(NalType::kSps)) {
    return make_error(fmt::format("H265 SPS: NAL type is {}, not 33", nal_type(nalu)));
  }
  ByteVector rbsp = h264::remove_emulation_prevention(nalu.subspan(2));
  BitReader br(rbsp);
  Sps s;
  s.vps_id = br.bits(4);
  s.max_sub_layers = br.bits(3) + 1;
  s.temporal_id_nesting = br.bit() != 0;
  if (s.max_sub_layers > 7) return make_error("H265 SPS: sps_max_sub_layers_minus1 is 7 (reserved)");
  // profile_tier_level(1, sps_max_sub_layers_minus1), ITU-T H.265 7.3.3.
  s.profile_space = static_cast<uint8_t>(br.bits(2));
  s.tier_flag = br.bit() != 0;
  s.profile_idc = static_cast<uint8_t>(br.bits(5));
  s.profile_compatibility_flags = br.bits(32);
  s.constraint_indicator_flags = uint64_t{br.bits(16)} << 32 | br.bits(32);
  s.level_idc = static_cast<uint8_t>(br.bits(8));
  const uint32_t sub_layers_minus1 = s.max_sub_layers - 1;
  bool profile_present[8] = {};
  bool level_present[8] = {};
  for (uint32_t i = 0; i < sub_layers_minus1; ++i) {
    profile_present[i] = br.bit() != 0;
    level_present[i] = br.bit() != 0;
  }
  if (sub_layers_minus1 > 0) {
    for (uint32_t i = sub_layers_minus1; i < 8; ++i) br.skip(2);  // reserved_zero_2bits
  }
  for (uint32_t i = 0; i < sub_layers_minus1; ++i) {
    if (profile_present[i]) br.skip(88);  // sub_layer profile space .. constraint flags
    if (level_present[i]) br.skip(8);     // sub_layer_level_idc
  }
  s.sps_id = br.ue();
  if (s.sps_id > 15) return make_error(fmt::format("H265 SPS: sps_seq_parameter_set_id {} > 15", s.sps_id));
  s.chroma_format_idc = br.ue();
  if (s.chroma_format_idc > 3) {
    return make_error(fmt::format("H265 SPS: chroma_format_idc {} > 3", s.chroma_format_idc));
  }
  if (s.chroma_format_idc == 3) s.separate_colour_plane = br.bit() != 0;
  uint64_t width = br.ue();
  uint64_t height = br.ue();
  uint64_t left = 0, right = 0, top = 0, bottom = 0;
  if (br.bit()) {  // conformance_window_flag
    left = br.ue();
    right = br.ue();
    top = br.ue();
    bottom = br.ue();
  }
  uint32_t luma_minus8 = br.ue();
  uint32_t chroma_minus8 = br.ue();
  if (!br.ok()) return make_error(fmt::format("H265 SPS: truncated ({} bytes)", nalu.size()));
  if (luma_minus8 > 8 || chroma_minus8 > 8) return make_error("H265 SPS: bit depth out of range");
  s.bit_depth_luma = luma_minus8 + 8;
  s.bit_depth_chroma = chroma_minus8 + 8;
  if (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension) {
    return make_error(fmt::format("H265 SPS: bad picture size {}x{}", width, height));
  }
  // ITU-T H.265 Table 6-1: SubWidthC / SubHeightC (1 for monochrome, 4:4:4 and separate planes).
  const uint32_t chroma_array_type = s.separate_colour_plane ? 0 : s.chroma_format_idc;
  const uint64_t sub_width_c = (chroma_array_type == 1 || chroma_array_type == 2) ? 2 : 1;
  const uint64_t sub_height_c = chroma_array_type == 1 ? 2 : 1;
  uint64_t cut_x = sub_width_c * (left + right);
  uint64_t cut_y = sub_height_c * (top + bottom);
  if (cut_x >= width || cut_y >= height) {
    return make_error(
        fmt::format("H265 SPS: conformance window {}x{} leaves no picture of {}x{}", cut_x, cut_y, width, height));
  }
  s.width = static_cast<uint32_t>(width - cut_x);
  s.height = static_cast<uint32_t>(height - cut_y);
  // 7.3.2.2.1: the ordering info for every sub-layer, or only the highest; the highest's values are kept.
  const uint32_t log2_max_poc_lsb_minus4 = br.ue();
  const bool all_sub_layers = br.bit() != 0;
  uint32_t reorder = 0, dec_buffering_minus1 = 0;
  for (uint32_t i = all_sub_layers ? 0 : sub_layers_minus1; i <= sub_layers_minus1 && br.ok(); ++i) {
    dec_buffering_minus1 = br.ue();
    reorder = br.ue();
    br.ue();  // sps_max_latency_increase_plus1
  }
  // 7.4.3.2.1: the POC LSB length is at most 16 bits, the reorder count at most the DPB size (at most 16).
  if (br.ok() && log2_max_poc_lsb_minus4 <= 12 && dec_buffering_minus1 < 16 && reorder <= dec_buffering_minus1)
    s.max_num_reorder_pics = reorder;
  return s;
}

Result<ParameterSets> decode_sprop(std::string_view sprop_vps, std::string_view sprop_sps, std::string_view sprop_pps) {
  ParameterSets out;
  if (auto st = decode_list(sprop_vps, NalType::kVps, "sprop-vps", out.vps); !st) return make_error(st.error());
  if (auto st = decode_list(sprop_sps, NalType::kSps, "sprop-sps", out.sps); !st) return make_error(st.error());
  if (auto st = decode_list(sprop_pps, NalType::kPps, "sprop-pps", out.pps); !st) return make_error(st.error());
  return out;
}

std::string encode_sprop(const std::vector<Bytes>& nalus) { return h264::encode_sprop_parameter_sets(nalus); }

Result<ByteVector> build_hvcc(const std::vector<Bytes>& vps, const std::vector<Bytes>& sps,
                              const std::vector<Bytes>& pps) {
  if (vps.empty() || sps.empty() || pps.empty()) return make_error("hvcC: needs at least one VPS, SPS and PPS");
  auto first = parse_sps(sps.front());
  if (!first) return make_error("hvcC: " + first.error());
  const Sps& s = *first;
  ByteVector out;
  append8(out, 1);  // configurationVersion
  append8(out, static_cast<uint8_t>(s.profile_space << 6 | (s.tier_flag ? 0x20 : 0) | s.profile_idc));
  append32(out, s.profile_compatibility_flags);
  append16(out, static_cast<uint16_t>(s.constraint_indicator_flags >> 32));
  append32(out, static_cast<uint32_t>(s.constraint_indicator_flags));
  append8(out, s.level_idc);
  append16(out, 0xf000);  // reserved 1111 + min_spatial_segmentation_idc 0 (VUI not parsed)
  append8(out, 0xfc);     // reserved 111111 + parallelismType 0 (unknown)
  append8(out, static_cast<uint8_t>(0xfc | s.chroma_format_idc));
  append8(out, static_cast<uint8_t>(0xf8 | (s.bit_depth_luma - 8)));
  append8(out, static_cast<uint8_t>(0xf8 | (s.bit_depth_chroma - 8)));
  append16(out, 0);  // avgFrameRate unknown
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
  append8(out, static_cast<uint8_t>((s.max_sub_layers & 7) << 3 | (s.temporal_id_nesting ? 4 : 0) | 3));
  append8(out, 3);  // numOfArrays
  const std::pair<NalType, const std::vector<Bytes>*> arrays[] = {
      {NalType::kVps, &vps}, {NalType::kSps, &sps}, {NalType::kPps, &pps}};
  for (const auto& [type, list] : arrays) {
    if (list->size() > 0xffff) return make_error("hvcC: too many parameter sets");
    append8(out, static_cast<uint8_t>(0x80 | static_cast<uint8_t>(type)));  // array_completeness = 1
    append16(out, static_cast<uint16_t>(list->size()));
    for (Bytes n : *list) {
      if (n.size() > 0xffff) return make_error("hvcC: parameter set larger than 65535 bytes");
      append16(out, static_cast<uint16_t>(n.size()));
      append(out, n);
    }
  }
  return out;
}

}  // namespace sg::codec::h265
