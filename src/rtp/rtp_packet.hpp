#pragma once
// RTP packets (RFC 3550 5.1): a validated view over received bytes, header writing and in-place header rewrite.
// Nothing here allocates: RTP handling is on the per-packet, per-reader hot path.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "base/bytes.hpp"

namespace sg::rtp {

inline constexpr size_t kFixedHeaderSize = 12;
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;  // RFC 8285 4.2
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // RFC 8285 4.3 (low 4 bits: appbits)

// The header extension of RFC 3550 5.3.1: a profile-defined 16-bit value and a body of 32-bit words.
struct HeaderExtension {
  uint16_t profile = 0;
  Bytes data;  // the body, after the 4-byte extension header
};

// One RFC 8285 extension element.
struct ExtensionElement {
  uint8_t id = 0;
  Bytes value;
};

// Walks the RFC 8285 elements of a one-byte (0xBEDE) or two-byte (0x100X) extension body.
class ExtensionElementReader {
 public:
  ExtensionElementReader(uint16_t profile, Bytes data);
  // The next element, or nothing at the end, on a malformed element, or for a non-RFC 8285 profile.
  std::optional<ExtensionElement> next();
  bool malformed() const { return malformed_; }  // an element ran past the end of the extension

 private:
  Bytes data_;
  size_t pos_ = 0;
  bool two_byte_ = false;
  bool done_ = false;
  bool malformed_ = false;
};

class RtpPacket {
 public:
  // Validates version 2, the CSRC list, the extension length and the padding count against the packet size.
  static std::optional<RtpPacket> parse(Bytes packet);

  uint8_t version() const { return 2; }
  bool has_padding() const { return (u8(bytes_, 0) & 0x20) != 0; }
  bool has_extension() const { return (u8(bytes_, 0) & 0x10) != 0; }
  uint8_t csrc_count() const { return u8(bytes_, 0) & 0x0f; }
  bool marker() const { return (u8(bytes_, 1) & 0x80) != 0; }
  uint8_t payload_type() const { return u8(bytes_, 1) & 0x7f; }
  uint16_t sequence() const { return be16(bytes_, 2); }
  uint32_t timestamp() const { return be32(bytes_, 4); }
  uint32_t ssrc() const { return be32(bytes_, 8); }
  uint32_t csrc(size_t i) const { return be32(bytes_, kFixedHeaderSize + 4 * i); }  // i < csrc_count()
  Bytes csrc_bytes() const { return bytes_.subspan(kFixedHeaderSize, 4 * size_t{csrc_count()}); }

  std::optional<HeaderExtension> extension() const;
  // The RFC 8285 element with this id (1-14 one-byte, 1-255 two-byte), if present and well formed.
  std::optional<Bytes> extension_element(uint8_t id) const;
  ExtensionElementReader extension_elements() const;

  size_t header_size() const { return header_size_; }  // fixed header + CSRCs + extension
  size_t padding_size() const { return padding_size_; }
  Bytes payload() const { return bytes_.subspan(header_size_, bytes_.size() - header_size_ - padding_size_); }
  Bytes bytes() const { return bytes_; }

 private:
  RtpPacket(Bytes b, size_t header_size, size_t padding) : bytes_(b), header_size_(header_size), padding_size_(padding) {}
  Bytes bytes_;
  size_t header_size_ = 0;
  size_t padding_size_ = 0;
};

// Fields for writing a header. The extension body must be a whole number of 32-bit words.
struct RtpHeader {
  bool marker = false;
  uint8_t payload_type = 0;  // 0-127
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;  // at most 15
  std::optional<uint16_t> extension_profile;
  Bytes extension;  // body only; written after the 4-byte extension header
};

// Bytes write_header() needs for this header, or nothing if the header cannot be written (too many CSRCs,
// payload type > 127, extension body not a multiple of 4 or over 65535 words).
std::optional<size_t> header_size(const RtpHeader& header);
// Writes the header at the start of `out`; returns the bytes written, or nothing if it is invalid or does not fit.
std::optional<size_t> write_header(MutableBytes out, const RtpHeader& header);

// In-place changes to the fixed header of a packet copy (a reader's own SSRC, sequence and timestamp space).
struct HeaderRewrite {
  std::optional<uint32_t> ssrc = std::nullopt;
  std::optional<uint16_t> sequence = std::nullopt;
  std::optional<uint32_t> timestamp = std::nullopt;
  std::optional<uint8_t> payload_type = std::nullopt;
  std::optional<bool> marker = std::nullopt;
};
// False (and nothing written) if `packet` is shorter than the fixed header, is not version 2 or the payload type
// is over 127.
bool rewrite_header(MutableBytes packet, const HeaderRewrite& rewrite);

// RFC 5761 4: in an RTP/RTCP-muxed stream, a second byte of 192-223 means RTCP (packet types 200-206 and the
// rest of that range cannot be RTP payload types 64-95 with the marker set, which RFC 5761 forbids using).
bool is_rtcp(Bytes packet);
// RFC 7983: first byte 128-191 is RTP or RTCP (not STUN/DTLS); combine with is_rtcp() to tell which.
bool is_rtp_or_rtcp(Bytes packet);

}  // namespace sg::rtp
