#include "codec/rtp_h265.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "codec/h265.hpp"

namespace sg::codec {

namespace {
constexpr uint8_t kAp = static_cast<uint8_t>(h265::NalType::kAp);
constexpr uint8_t kFu = static_cast<uint8_t>(h265::NalType::kFu);
}  // namespace

void H265Depacketizer::parse_payload(Bytes payload) {
  if (payload.size() < 2) return corrupt("H265 RTP: payload shorter than the NAL header");
  const uint8_t type = h265::nal_type(payload);
  if (type < kAp) {
    if (payload.size() < 3) return corrupt("H265 RTP: NAL unit without payload");
    return add_nalu(payload);
  }
  if (type == kAp) {
    // RFC 7798 4.4.2: payload header, then (16-bit size, NAL unit)*; no DONL fields. Validate all first.
    size_t pos = 2;
    size_t count = 0;
    while (pos < payload.size()) {
      if (payload.size() - pos < 2) return corrupt("H265 AP: truncated NAL size");
      const size_t size = be16(payload, pos);
      pos += 2;
      if (size < 2 || size > payload.size() - pos) {
        return corrupt(fmt::format("H265 AP: NAL size {} at offset {} out of bounds", size, pos - 2));
      }
      pos += size;
      ++count;
    }
    if (count == 0) return corrupt("H265 AP: no NAL units");
    for (pos = 2; pos < payload.size();) {
      const size_t size = be16(payload, pos);
      add_nalu(payload.subspan(pos + 2, size));
      pos += 2 + size;
    }
    return;
  }
  if (type == kFu) {
    // RFC 7798 4.4.3: payload header (type 49), FU header (S, E, FuType), then the fragment.
    if (payload.size() < 3) return corrupt("H265 FU: truncated header");
    const uint8_t fu_header = u8(payload, 2);
    const bool start = (fu_header & 0x80) != 0;
    const bool end = (fu_header & 0x40) != 0;
    const uint8_t nal_type = fu_header & 0x3f;
    if (nal_type >= kAp) return corrupt(fmt::format("H265 FU: bad NAL type {}", nal_type));
    // The NAL header is the payload header with the FU's type: F, LayerId and TID carry over.
    const std::byte header[2] = {std::byte{static_cast<uint8_t>((u8(payload, 0) & 0x81) | (nal_type << 1))},
                                 payload[1]};
    return fu_fragment(Bytes(header, 2), nal_type, start, end, payload.subspan(3));
  }
  corrupt(fmt::format("H265 RTP: unsupported NAL type {}", type));
}

bool H265Depacketizer::is_keyframe_nalu(Bytes nalu) const { return h265::is_irap(h265::nal_type(nalu)); }

Result<std::vector<RtpPayload>> packetize_h265(const std::vector<Bytes>& nalus, const H265PacketizerOptions& opt) {
  if (opt.max_payload < 4) return make_error("H265 packetizer: max_payload < 4");
  std::vector<RtpPayload> out;
  for (size_t i = 0; i < nalus.size();) {
    Bytes nalu = nalus[i];
    if (nalu.size() < 3) return make_error(fmt::format("H265 packetizer: NAL unit {} is shorter than 3 bytes", i));
    if (opt.aggregate) {
      size_t size = 2;
      size_t j = i;
      while (j < nalus.size() && nalus[j].size() >= 3 && size + 2 + nalus[j].size() <= opt.max_payload) {
        size += 2 + nalus[j].size();
        ++j;
      }
      if (j - i >= 2) {
        // RFC 7798 4.4.2: F = OR of F bits, LayerId and TID = the lowest of the aggregated NAL units.
        uint8_t f = 0, layer = 63, tid = 7;
        for (size_t k = i; k < j; ++k) {
          f |= u8(nalus[k], 0) & 0x80;
          layer = std::min(layer, h265::layer_id(nalus[k]));
          tid = std::min(tid, h265::temporal_id_plus1(nalus[k]));
        }
        RtpPayload p;
        p.first_frame = static_cast<uint32_t>(i);
        append8(p.data, static_cast<uint8_t>(f | kAp << 1 | layer >> 5));
        append8(p.data, static_cast<uint8_t>((layer & 0x1f) << 3 | tid));
        for (size_t k = i; k < j; ++k) {
          append16(p.data, static_cast<uint16_t>(nalus[k].size()));
          append(p.data, nalus[k]);
        }
        out.push_back(std::move(p));
        i = j;
        continue;
      }
    }
    if (nalu.size() <= opt.max_payload) {
      out.push_back({to_vector(nalu), false, static_cast<uint32_t>(i)});
    } else {
      const uint8_t type = h265::nal_type(nalu);
      Bytes rest = nalu.subspan(2);
      const size_t chunk = opt.max_payload - 3;
      for (size_t pos = 0; pos < rest.size(); pos += chunk) {
        const size_t n = std::min(chunk, rest.size() - pos);
        RtpPayload p;
        p.first_frame = static_cast<uint32_t>(i);
        p.data.reserve(3 + n);
        append8(p.data, static_cast<uint8_t>((u8(nalu, 0) & 0x81) | kFu << 1));
        append8(p.data, u8(nalu, 1));
        uint8_t fu = type;
        if (pos == 0) fu |= 0x80;
        if (pos + n == rest.size()) fu |= 0x40;
        append8(p.data, fu);
        append(p.data, rest.subspan(pos, n));
        out.push_back(std::move(p));
      }
    }
    ++i;
  }
  if (!out.empty()) out.back().marker = true;
  return out;
}

}  // namespace sg::codec
