#include "rtp/rtp_packet.hpp"

namespace sg::rtp {

ExtensionElementReader::ExtensionElementReader(uint16_t profile, Bytes data) : data_(data) {
  if (profile == kOneByteExtensionProfile) {
    two_byte_ = false;
  } else if ((profile & 0xfff0) == kTwoByteExtensionProfile) {
    two_byte_ = true;
  } else {
    done_ = true;  // not RFC 8285: the body is profile-specific
  }
}

std::optional<ExtensionElement> ExtensionElementReader::next() {
  while (!done_ && pos_ < data_.size()) {
    const uint8_t first = u8(data_, pos_);
    if (first == 0) {  // RFC 8285 4.1: padding bytes between and after elements
      ++pos_;
      continue;
    }
    size_t id = 0, len = 0, value_at = 0;
    if (!two_byte_) {
      id = first >> 4;
      if (id == 15) {  // RFC 8285 4.2: reserved; stop processing here
        done_ = true;
        return std::nullopt;
      }
      if (id == 0) break;  // ID 0 is only valid as a zero padding byte
      len = size_t{first & 0x0fu} + 1;
      value_at = pos_ + 1;
    } else {
      if (pos_ + 2 > data_.size()) break;
      id = first;
      len = u8(data_, pos_ + 1);
      value_at = pos_ + 2;
    }
    if (value_at + len > data_.size()) break;
    pos_ = value_at + len;
    return ExtensionElement{static_cast<uint8_t>(id), data_.subspan(value_at, len)};
  }
  if (!done_ && pos_ < data_.size()) malformed_ = true;
  done_ = true;
  return std::nullopt;
}

std::optional<RtpPacket> RtpPacket::parse(Bytes packet) {
  if (packet.size() < kFixedHeaderSize) return std::nullopt;
  const uint8_t b0 = u8(packet, 0);
  if ((b0 >> 6) != 2) return std::nullopt;
  size_t header = kFixedHeaderSize + 4 * size_t{b0 & 0x0fu};
  if (header > packet.size()) return std::nullopt;
  if (b0 & 0x10) {  // RFC 3550 5.3.1: 16-bit profile value, 16-bit length in 32-bit words
    if (header + 4 > packet.size()) return std::nullopt;
    header += 4 + 4 * size_t{be16(packet, header + 2)};
    if (header > packet.size()) return std::nullopt;
  }
  size_t padding = 0;
  if (b0 & 0x20) {  // RFC 3550 5.1: the last octet counts the padding, itself included
    padding = u8(packet, packet.size() - 1);
    if (padding == 0 || header + padding > packet.size()) return std::nullopt;
  }
  return RtpPacket(packet, header, padding);
}

std::optional<HeaderExtension> RtpPacket::extension() const {
  if (!has_extension()) return std::nullopt;
  const size_t at = kFixedHeaderSize + 4 * size_t{csrc_count()};
  return HeaderExtension{be16(bytes_, at), bytes_.subspan(at + 4, 4 * size_t{be16(bytes_, at + 2)})};
}

ExtensionElementReader RtpPacket::extension_elements() const {
  auto ext = extension();
  if (!ext) return ExtensionElementReader(0, {});
  return ExtensionElementReader(ext->profile, ext->data);
}

std::optional<Bytes> RtpPacket::extension_element(uint8_t id) const {
  if (id == 0) return std::nullopt;
  auto reader = extension_elements();
  while (auto e = reader.next())
    if (e->id == id) return e->value;
  return std::nullopt;
}

std::optional<size_t> header_size(const RtpHeader& h) {
  if (h.csrcs.size() > 15 || h.payload_type > 127) return std::nullopt;
  size_t size = kFixedHeaderSize + 4 * h.csrcs.size();
  if (h.extension_profile) {
    if (h.extension.size() % 4 != 0 || h.extension.size() / 4 > 0xffff) return std::nullopt;
    size += 4 + h.extension.size();
  } else if (!h.extension.empty()) {
    return std::nullopt;
  }
  return size;
}

std::optional<size_t> write_header(MutableBytes out, const RtpHeader& h) {
  auto size = header_size(h);
  if (!size || *size > out.size()) return std::nullopt;
  put8(out, 0, static_cast<uint8_t>(0x80 | (h.extension_profile ? 0x10 : 0) | h.csrcs.size()));
  put8(out, 1, static_cast<uint8_t>((h.marker ? 0x80 : 0) | h.payload_type));
  put16(out, 2, h.sequence);
  put32(out, 4, h.timestamp);
  put32(out, 8, h.ssrc);
  size_t at = kFixedHeaderSize;
  for (uint32_t csrc : h.csrcs) {
    put32(out, at, csrc);
    at += 4;
  }
  if (h.extension_profile) {
    put16(out, at, *h.extension_profile);
    put16(out, at + 2, static_cast<uint16_t>(h.extension.size() / 4));
    at += 4;
    for (size_t i = 0; i < h.extension.size(); ++i) out[at + i] = h.extension[i];
  }
  return size;
}

bool rewrite_header(MutableBytes p, const HeaderRewrite& r) {
  if (p.size() < kFixedHeaderSize || (static_cast<uint8_t>(p[0]) >> 6) != 2) return false;
  if (r.payload_type && *r.payload_type > 127) return false;
  uint8_t b1 = static_cast<uint8_t>(p[1]);
  if (r.payload_type) b1 = static_cast<uint8_t>((b1 & 0x80) | *r.payload_type);
  if (r.marker) b1 = static_cast<uint8_t>((b1 & 0x7f) | (*r.marker ? 0x80 : 0));
  put8(p, 1, b1);
  if (r.sequence) put16(p, 2, *r.sequence);
  if (r.timestamp) put32(p, 4, *r.timestamp);
  if (r.ssrc) put32(p, 8, *r.ssrc);
  return true;
}

bool is_rtcp(Bytes packet) {
  if (packet.size() < 2) return false;
  const uint8_t pt = u8(packet, 1);
  return pt >= 192 && pt <= 223;
}

bool is_rtp_or_rtcp(Bytes packet) {
  if (packet.empty()) return false;
  const uint8_t b = u8(packet, 0);
  return b >= 128 && b <= 191;
}

}  // namespace sg::rtp
