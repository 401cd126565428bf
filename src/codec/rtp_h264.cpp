#include "codec/rtp_h264.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "codec/h264.hpp"

namespace sg::codec {

void H264Depacketizer::parse_payload(Bytes payload) {
  if (payload.empty()) return corrupt("H264 RTP: empty payload");
  const uint8_t type = h264::nal_type(u8(payload, 0));
  if (type >= 1 && type <= 23) return add_nalu(payload);
  if (type == static_cast<uint8_t>(h264::NalType::kStapA)) {
    // RFC 6184 5.7.1: STAP-A header, then (16-bit size, NAL unit)*. Validate all before taking any.
    size_t pos = 1;
    size_t count = 0;
    while (pos < payload.size()) {
      if (payload.size() - pos < 2) return corrupt("H264 STAP-A: truncated NAL size");
      const size_t size = be16(payload, pos);
      pos += 2;
      if (size == 0 || size > payload.size() - pos) {
        return corrupt(fmt::format("H264 STAP-A: NAL size {} at offset {} out of bounds", size, pos - 2));
      }
      pos += size;
      ++count;
    }
    if (count == 0) return corrupt("H264 STAP-A: no NAL units");
    for (pos = 1; pos < payload.size();) {
      const size_t size = be16(payload, pos);
      add_nalu(payload.subspan(pos + 2, size));
      pos += 2 + size;
    }
    return;
  }
  if (type == static_cast<uint8_t>(h264::NalType::kFuA)) {
    // RFC 6184 5.8: FU indicator (F, NRI, 28), FU header (S, E, R, type).
    if (payload.size() < 2) return corrupt("H264 FU-A: truncated header");
    const uint8_t indicator = u8(payload, 0);
    const uint8_t fu_header = u8(payload, 1);
    const bool start = (fu_header & 0x80) != 0;
    const bool end = (fu_header & 0x40) != 0;
    const uint8_t nal_type = fu_header & 0x1f;
    if (nal_type == 0 || nal_type >= 24) return corrupt(fmt::format("H264 FU-A: bad NAL type {}", nal_type));
    const std::byte header{static_cast<uint8_t>((indicator & 0xe0) | nal_type)};
    return fu_fragment(Bytes(&header, 1), nal_type, start, end, payload.subspan(2));
  }
  corrupt(fmt::format("H264 RTP: unsupported NAL type {}", type));
}

bool H264Depacketizer::is_keyframe_nalu(Bytes nalu) const {
  return h264::nal_type(nalu) == static_cast<uint8_t>(h264::NalType::kIdr);
}

Result<std::vector<RtpPayload>> packetize_h264(const std::vector<Bytes>& nalus, const H264PacketizerOptions& opt) {
  if (opt.max_payload < 3) return make_error("H264 packetizer: max_payload < 3");
  std::vector<RtpPayload> out;
  for (size_t i = 0; i < nalus.size();) {
    Bytes nalu = nalus[i];
    if (nalu.empty()) return make_error(fmt::format("H264 packetizer: NAL unit {} is empty", i));
    if (opt.aggregate) {
      // Greedy STAP-A over the following NAL units that fit together (at least two).
      size_t size = 1;
      size_t j = i;
      while (j < nalus.size() && !nalus[j].empty() && size + 2 + nalus[j].size() <= opt.max_payload) {
        size += 2 + nalus[j].size();
        ++j;
      }
      if (j - i >= 2) {
        RtpPayload p;
        p.first_frame = static_cast<uint32_t>(i);
        uint8_t f = 0, nri = 0;
        for (size_t k = i; k < j; ++k) {
          f |= u8(nalus[k], 0) & 0x80;
          nri = std::max<uint8_t>(nri, u8(nalus[k], 0) & 0x60);
        }
        append8(p.data, static_cast<uint8_t>(f | nri | static_cast<uint8_t>(h264::NalType::kStapA)));
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
      // RFC 6184 5.8: the NAL header is not sent; its F/NRI go in the indicator and its type in the FU header.
      const uint8_t header = u8(nalu, 0);
      Bytes rest = nalu.subspan(1);
      const size_t chunk = opt.max_payload - 2;
      for (size_t pos = 0; pos < rest.size(); pos += chunk) {
        const size_t n = std::min(chunk, rest.size() - pos);
        RtpPayload p;
        p.first_frame = static_cast<uint32_t>(i);
        p.data.reserve(2 + n);
        append8(p.data, static_cast<uint8_t>((header & 0xe0) | static_cast<uint8_t>(h264::NalType::kFuA)));
        uint8_t fu = header & 0x1f;
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
