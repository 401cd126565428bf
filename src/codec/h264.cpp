#include "codec/h264.hpp"

#include <fmt/format.h>

#include "base/bit_reader.hpp"

namespace sg::codec::h264 {

namespace {

// Largest picture dimension accepted from an SPS; anything larger is treated as corrupt.
constexpr uint64_t kMaxDimension = 16384;

bool is_high_profile(uint8_t profile_idc) {
  // ITU-T H.264 7.3.2.1.1: profiles that carry chroma_format_idc and the scaling matrix.
  switch (profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      return true;
    default:
      return false;
  }
}

// ITU-T H.264 7.3.2.1.1.1: only skipped, the values are not needed. False when delta_scale is out of range.
bool skip_scaling_list(BitReader& br, int size) {
  int32_t last_scale = 8;
  int32_t next_scale = 8;
  for (int j = 0; j < size && br.ok(); ++j) {
    if (next_scale != 0) {
      int32_t delta = br.se();
      if (delta < -128 || delta > 127) return false;  // 7.4.2.1.1
      next_scale = (last_scale + delta + 256) % 256;
    }
    if (next_scale != 0) last_scale = next_scale;
  }
  return true;
}

// ITU-T H.264 E.1.2 hrd_parameters(): only skipped. False when cpb_cnt_minus1 is out of range.
bool skip_hrd_parameters(BitReader& br) {
  const uint32_t cpb_cnt_minus1 = br.ue();
  if (cpb_cnt_minus1 > 31) return false;  // E.2.2
  br.bits(8);                             // bit_rate_scale, cpb_size_scale
  for (uint32_t i = 0; i <= cpb_cnt_minus1 && br.ok(); ++i) {
    br.ue();   // bit_rate_value_minus1
    br.ue();   // cpb_size_value_minus1
    br.bit();  // cbr_flag
  }
  br.bits(20);  // initial_cpb_removal_delay_length_minus1, cpb_removal_delay_length_minus1,
                // dpb_output_delay_length_minus1, time_offset_length (5 bits each)
  return br.ok();
}

// ITU-T H.264 E.1.1 vui_parameters(): the timing and reordering fields; the rest is skipped. Leaves `s` unchanged
// when the VUI is truncated or out of range.
void parse_vui(BitReader& br, Sps& s) {
  if (br.bit()) {                // aspect_ratio_info_present_flag
    if (br.bits(8) == 255) {     // aspect_ratio_idc == Extended_SAR
      br.bits(16);               // sar_width
      br.bits(16);               // sar_height
    }
  }
  if (br.bit()) br.bit();        // overscan_info_present_flag, overscan_appropriate_flag
  if (br.bit()) {                // video_signal_type_present_flag
    br.bits(4);                  // video_format, video_full_range_flag
    if (br.bit()) br.bits(24);   // colour_description_present_flag: primaries, transfer, matrix
  }
  if (br.bit()) {                // chroma_loc_info_present_flag
    br.ue();
    br.ue();
  }
  uint32_t num_units_in_tick = 0, time_scale = 0;
  if (br.bit()) {  // timing_info_present_flag
    num_units_in_tick = br.bits(32);
    time_scale = br.bits(32);
    br.bit();  // fixed_frame_rate_flag
  }
  const bool nal_hrd = br.bit() != 0;
  if (nal_hrd && !skip_hrd_parameters(br)) return;
  const bool vcl_hrd = br.bit() != 0;
  if (vcl_hrd && !skip_hrd_parameters(br)) return;
  if (nal_hrd || vcl_hrd) br.bit();  // low_delay_hrd_flag
  br.bit();                          // pic_struct_present_flag
  std::optional<uint32_t> reorder;
  if (br.bit()) {  // bitstream_restriction_flag
    br.bit();      // motion_vectors_over_pic_boundaries_flag
    br.ue();       // max_bytes_per_pic_denom
    br.ue();       // max_bits_per_mb_denom
    br.ue();       // log2_max_mv_length_horizontal
    br.ue();       // log2_max_mv_length_vertical
    const uint32_t max_num_reorder_frames = br.ue();
    const uint32_t max_dec_frame_buffering = br.ue();
    // E.2.1: max_num_reorder_frames <= max_dec_frame_buffering <= MaxDpbFrames (at most 16).
    if (max_dec_frame_buffering > 16 || max_num_reorder_frames > max_dec_frame_buffering) return;
    reorder = max_num_reorder_frames;
  }
  if (!br.ok()) return;
  s.num_units_in_tick = num_units_in_tick;
  s.time_scale = time_scale;
  s.max_num_reorder_frames = reorder;
}

}  // namespace

std::vector<Bytes> split_annexb(Bytes stream) {
  std::vector<Bytes> out;
  const size_t n = stream.size();
  size_t i = 0;
  size_t start = SIZE_MAX;  // start of the current NAL unit
  auto finish = [&](size_t end) {
    if (start == SIZE_MAX) return;
    while (end > start && u8(stream, end - 1) == 0) --end;  // trailing_zero_8bits / 4-byte start code's zero
    if (end > start) out.push_back(stream.subspan(start, end - start));
  };
  while (i + 3 <= n) {
    if (u8(stream, i) == 0 && u8(stream, i + 1) == 0 && u8(stream, i + 2) == 1) {
      finish(i);
      i += 3;
      start = i;
    } else {
      ++i;
    }
  }
  finish(n);
  return out;
}

ByteVector write_annexb(const std::vector<Bytes>& nalus) {
  ByteVector out;
  for (Bytes n : nalus) {
    append32(out, 1);
    append(out, n);
  }
  return out;
}

Result<std::vector<Bytes>> split_avcc(Bytes data, int length_size) {
  if (length_size != 1 && length_size != 2 && length_size != 4) {
    return make_error(fmt::format("AVCC: unsupported NAL length size {}", length_size));
  }
  std::vector<Bytes> out;
  size_t pos = 0;
  const auto ls = static_cast<size_t>(length_size);
  while (pos < data.size()) {
    if (data.size() - pos < ls) return make_error(fmt::format("AVCC: truncated length at offset {}", pos));
    size_t len = length_size == 1 ? u8(data, pos) : length_size == 2 ? be16(data, pos) : be32(data, pos);
    pos += ls;
    if (len > data.size() - pos) {
      return make_error(fmt::format("AVCC: NAL length {} at offset {} exceeds the remaining {} bytes", len, pos - ls,
                                    data.size() - pos));
    }
    if (len > 0) out.push_back(data.subspan(pos, len));
    pos += len;
  }
  return out;
}

ByteVector write_avcc(const std::vector<Bytes>& nalus, int length_size) {
  ByteVector out;
  for (Bytes n : nalus) {
    if (length_size == 1)
      append8(out, static_cast<uint8_t>(n.size()));
    else if (length_size == 2)
      append16(out, static_cast<uint16_t>(n.size()));
    else
      append32(out, static_cast<uint32_t>(n.size()));
    append(out, n);
  }
  return out;
}

ByteVector remove_emulation_prevention(Bytes nalu) {
  ByteVector out;
  out.reserve(nalu.size());
  int zeros = 0;
  for (std::byte b : nalu) {
    auto v = static_cast<uint8_t>(b);
    if (zeros >= 2 && v == 3) {
      zeros = 0;  // drop the emulation_prevention_three_byte
      continue;
    }
    zeros = v == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

bool is_keyframe(const std::vector<Bytes>& nalus) {
  for (Bytes n : nalus) {
    if (nal_type(n) == static_cast<uint8_t>(NalType::kIdr)) return true;
  }
  return false;
}

Result<Sps> parse_sps(Bytes nalu) {
  if (nalu.size() < 4) return make_error(fmt::format("H264 SPS: too short ({} bytes)", nalu.size()));
  if (nal_type(u8(nalu, 0)) != static_cast<uint8_t>(NalType::kSps)) {
    return make_error(fmt::format("H264 SPS: NAL type is {}, not 7", nal_type(u8(nalu, 0))));
  }
  ByteVector rbsp = remove_emulation_prevention(nalu.subspan(1));
  BitReader br(rbsp);
  Sps s;
  s.profile_idc = static_cast<uint8_t>(br.bits(8));
  s.constraint_flags = static_cast<uint8_t>(br.bits(8));
  s.level_idc = static_cast<uint8_t>(br.bits(8));
  s.sps_id = br.ue();
  if (s.sps_id > 31) return make_error(fmt::format("H264 SPS: seq_parameter_set_id {} > 31", s.sps_id));
  if (is_high_profile(s.profile_idc)) {
    s.chroma_format_idc = br.ue();
    if (s.chroma_format_idc > 3) {
      return make_error(fmt::format("H264 SPS: chroma_format_idc {} > 3", s.chroma_format_idc));
    }
    if (s.chroma_format_idc == 3) s.separate_colour_plane = br.bit() != 0;
    uint32_t luma_minus8 = br.ue();
    uint32_t chroma_minus8 = br.ue();
    if (luma_minus8 > 6 || chroma_minus8 > 6) return make_error("H264 SPS: bit depth out of range");
    s.bit_depth_luma = luma_minus8 + 8;
    s.bit_depth_chroma = chroma_minus8 + 8;
    br.bit();        // qpprime_y_zero_transform_bypass_flag
    if (br.bit()) {  // seq_scaling_matrix_present_flag
      const int lists = s.chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && br.ok(); ++i) {
        if (br.bit() && !skip_scaling_list(br, i < 6 ? 16 : 64)) {
          return make_error(fmt::format("H264 SPS: delta_scale out of range in scaling list {}", i));
        }
      }
    }
  }
  uint32_t log2_max_frame_num_minus4 = br.ue();
  if (log2_max_frame_num_minus4 > 12) return make_error("H264 SPS: log2_max_frame_num_minus4 > 12");
  uint32_t poc_type = br.ue();
  if (poc_type == 0) {
    if (br.ue() > 12) return make_error("H264 SPS: log2_max_pic_order_cnt_lsb_minus4 > 12");
  } else if (poc_type == 1) {
    br.bit();  // delta_pic_order_always_zero_flag
    br.se();   // offset_for_non_ref_pic
    br.se();   // offset_for_top_to_bottom_field
    uint32_t cycle = br.ue();
    if (cycle > 255) return make_error(fmt::format("H264 SPS: num_ref_frames_in_pic_order_cnt_cycle {}", cycle));
    for (uint32_t i = 0; i < cycle && br.ok(); ++i) br.se();
  } else if (poc_type != 2) {
    return make_error(fmt::format("H264 SPS: pic_order_cnt_type {} > 2", poc_type));
  }
  s.pic_order_cnt_type = poc_type;
  br.ue();   // max_num_ref_frames
  br.bit();  // gaps_in_frame_num_value_allowed_flag
  uint64_t width_mbs = uint64_t{br.ue()} + 1;
  uint64_t height_map_units = uint64_t{br.ue()} + 1;
  s.frame_mbs_only = br.bit() != 0;
  if (!s.frame_mbs_only) br.bit();  // mb_adaptive_frame_field_flag
  br.bit();                         // direct_8x8_inference_flag
  uint64_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (br.bit()) {  // frame_cropping_flag
    crop_left = br.ue();
    crop_right = br.ue();
    crop_top = br.ue();
    crop_bottom = br.ue();
  }
  if (!br.ok()) return make_error(fmt::format("H264 SPS: truncated ({} bytes)", nalu.size()));
  if (br.bit() && br.ok()) parse_vui(br, s);  // vui_parameters_present_flag

  const uint64_t frame_height_factor = s.frame_mbs_only ? 1 : 2;
  uint64_t width = width_mbs * 16;
  uint64_t height = height_map_units * 16 * frame_height_factor;
  if (width > kMaxDimension || height > kMaxDimension) {
    return make_error(fmt::format("H264 SPS: picture size {}x{} too large", width, height));
  }
  // ITU-T H.264 7.4.2.1.1: CropUnitX / CropUnitY from ChromaArrayType.
  const uint32_t chroma_array_type = s.separate_colour_plane ? 0 : s.chroma_format_idc;
  uint64_t crop_x = 1, crop_y = frame_height_factor;
  if (chroma_array_type != 0) {
    const uint64_t sub_width_c = chroma_array_type == 3 ? 1 : 2;
    const uint64_t sub_height_c = chroma_array_type == 1 ? 2 : 1;
    crop_x = sub_width_c;
    crop_y = sub_height_c * frame_height_factor;
  }
  // Bounded by kMaxDimension checks below; ue() values fit 32 bits so the products fit 64 bits.
  uint64_t cut_x = crop_x * (crop_left + crop_right);
  uint64_t cut_y = crop_y * (crop_top + crop_bottom);
  if (cut_x >= width || cut_y >= height) {
    return make_error(fmt::format("H264 SPS: cropping {}x{} leaves no picture of {}x{}", cut_x, cut_y, width, height));
  }
  s.width = static_cast<uint32_t>(width - cut_x);
  s.height = static_cast<uint32_t>(height - cut_y);
  return s;
}

Result<std::string> profile_level_id(Bytes sps_nalu) {
  if (sps_nalu.size() < 4 || nal_type(sps_nalu) != static_cast<uint8_t>(NalType::kSps)) {
    return make_error("H264 profile-level-id: not an SPS");
  }
  return to_hex(sps_nalu.subspan(1, 3));
}

Result<ParameterSets> decode_sprop_parameter_sets(std::string_view value) {
  ParameterSets out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      ByteVector nalu;
      if (!base64_decode(item, nalu) || nalu.empty()) {
        return make_error(fmt::format("H264 sprop-parameter-sets: bad base64 '{}'", item));
      }
      switch (nal_type(nalu)) {
        case static_cast<uint8_t>(NalType::kSps):
          out.sps.push_back(std::move(nalu));
          break;
        case static_cast<uint8_t>(NalType::kPps):
          out.pps.push_back(std::move(nalu));
          break;
        default:
          out.other.push_back(std::move(nalu));
          break;
      }
    }
    pos = comma + 1;
  }
  return out;
}

std::string encode_sprop_parameter_sets(const std::vector<Bytes>& nalus) {
  std::string out;
  for (Bytes n : nalus) {
    if (!out.empty()) out += ',';
    out += base64_encode(n);
  }
  return out;
}

Result<ByteVector> build_avcc(const std::vector<Bytes>& sps, const std::vector<Bytes>& pps) {
  if (sps.empty()) return make_error("avcC: no SPS");
  if (sps.size() > 31 || pps.size() > 255) return make_error("avcC: too many parameter sets");
  auto first = parse_sps(sps.front());
  if (!first) return make_error("avcC: " + first.error());
  ByteVector out;
  append8(out, 1);  // configurationVersion
  append8(out, first->profile_idc);
  append8(out, first->constraint_flags);
  append8(out, first->level_idc);
  append8(out, 0xfc | 3);  // lengthSizeMinusOne = 3
  append8(out, static_cast<uint8_t>(0xe0 | sps.size()));
  for (Bytes s : sps) {
    if (s.size() > 0xffff) return make_error("avcC: SPS larger than 65535 bytes");
    append16(out, static_cast<uint16_t>(s.size()));
    append(out, s);
  }
  append8(out, static_cast<uint8_t>(pps.size()));
  for (Bytes p : pps) {
    if (p.size() > 0xffff) return make_error("avcC: PPS larger than 65535 bytes");
    append16(out, static_cast<uint16_t>(p.size()));
    append(out, p);
  }
  // ISO/IEC 14496-15 5.3.3.1.2: extra fields for the high profiles.
  if (first->profile_idc == 100 || first->profile_idc == 110 || first->profile_idc == 122 ||
      first->profile_idc == 144) {
    append8(out, static_cast<uint8_t>(0xfc | first->chroma_format_idc));
    append8(out, static_cast<uint8_t>(0xf8 | (first->bit_depth_luma - 8)));
    append8(out, static_cast<uint8_t>(0xf8 | (first->bit_depth_chroma - 8)));
    append8(out, 0);  // numOfSequenceParameterSetExt
  }
  return out;
}

}  // namespace sg::codec::h264
