#pragma once
// RTCP (RFC 3550 6, RFC 4585, RFC 5104): compound packet parsing and builders for the reports and feedback a
// media server sends. RTCP is low-rate, so the parsed messages own small vectors (bounded by the packet size).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::rtp {

enum class RtcpType : uint8_t { kSr = 200, kRr = 201, kSdes = 202, kBye = 203, kApp = 204, kRtpfb = 205, kPsfb = 206 };

// One packet of a compound packet, length-checked: the 4-byte common header plus its body (padding removed).
struct RtcpHeader {
  uint8_t count = 0;  // RC / SC / FMT, the low 5 bits of the first byte
  uint8_t type = 0;
  Bytes packet;  // the whole packet, header included, padding included
  Bytes body;    // after the common header, padding excluded
};

// Iterates the packets of a compound packet (RFC 3550 6.1, A.2 validity checks without the first-packet rule,
// which RFC 5506 reduced-size RTCP relaxes).
class RtcpReader {
 public:
  explicit RtcpReader(Bytes compound) : data_(compound) {}
  std::optional<RtcpHeader> next();  // nothing at the end or on error
  const std::string& error() const { return error_; }  // empty unless a packet was malformed

 private:
  Bytes data_;
  size_t pos_ = 0;
  size_t index_ = 0;
  std::string error_;
};

struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  uint32_t highest_sequence = 0;  // extended
  uint32_t jitter = 0;
  uint32_t last_sr = 0;  // middle 32 bits of the NTP timestamp of the last SR
  uint32_t delay_since_last_sr = 0;  // 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::vector<ReportBlock> reports;  // at most 31
  bool operator==(const SenderReport&) const = default;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> reports;
  bool operator==(const ReceiverReport&) const = default;
};

struct SdesItem {
  uint8_t type = 0;  // 1 CNAME, 2 NAME, ... (RFC 3550 6.5)
  std::string value;
  bool operator==(const SdesItem&) const = default;
};
struct SdesChunk {
  uint32_t ssrc = 0;
  std::vector<SdesItem> items;
  std::optional<std::string> cname() const;
  bool operator==(const SdesChunk&) const = default;
};
struct Sdes {
  std::vector<SdesChunk> chunks;
  bool operator==(const Sdes&) const = default;
};

struct Bye {
  std::vector<uint32_t> ssrcs;
  std::optional<std::string> reason;
  bool operator==(const Bye&) const = default;
};

struct App {  // recognised and skipped
  uint32_t ssrc = 0;
  uint8_t subtype = 0;
  std::string name;  // 4 ASCII characters
  bool operator==(const App&) const = default;
};

// RFC 4585 6.2.1 generic NACK: each item is a lost packet id and a bitmask of the 16 following ones.
struct NackItem {
  uint16_t pid = 0;
  uint16_t blp = 0;
  bool operator==(const NackItem&) const = default;
};
struct Nack {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::vector<NackItem> items;
  std::vector<uint16_t> lost_sequences() const;  // expanded, in item order
  bool operator==(const Nack&) const = default;
};

// draft-holmer-rmcat-transport-wide-cc-extensions-01 feedback; recognised, not decoded.
struct TransportCc {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence = 0;
  uint16_t status_count = 0;
  bool operator==(const TransportCc&) const = default;
};

struct Pli {  // RFC 4585 6.3.1
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  bool operator==(const Pli&) const = default;
};

struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t sequence = 0;
  bool operator==(const FirEntry&) const = default;
};
struct Fir {  // RFC 5104 4.3.1
  uint32_t sender_ssrc = 0;
  std::vector<FirEntry> entries;
  bool operator==(const Fir&) const = default;
};

struct Remb {  // draft-alvestrand-rmcat-remb-03
  uint32_t sender_ssrc = 0;
  uint64_t bitrate = 0;  // bit/s
  std::vector<uint32_t> ssrcs;
  bool operator==(const Remb&) const = default;
};

// A packet type or feedback format this code does not decode (kept so callers can count it).
struct UnknownRtcp {
  uint8_t type = 0;
  uint8_t count = 0;
  bool operator==(const UnknownRtcp&) const = default;
};

using RtcpMessage = std::variant<SenderReport, ReceiverReport, Sdes, Bye, App, Nack, TransportCc, Pli, Fir, Remb,
                                 UnknownRtcp>;

// Parses one packet (from RtcpReader) into its message; an error names the packet type and the problem.
Result<RtcpMessage> parse_rtcp_packet(const RtcpHeader& header);
// Parses every packet of a compound packet; fails on the first malformed one.
Result<std::vector<RtcpMessage>> parse_rtcp(Bytes compound);

// Builders append one packet to `out` (so a compound packet is several calls on one buffer).
void append_sender_report(ByteVector& out, const SenderReport& sr);  // reports beyond 31 are ignored
void append_receiver_report(ByteVector& out, const ReceiverReport& rr);
void append_sdes_cname(ByteVector& out, uint32_t ssrc, std::string_view cname);  // cname cut at 255 bytes
void append_bye(ByteVector& out, std::span<const uint32_t> ssrcs, std::string_view reason = {});
// Packs the lost sequence numbers into pid+blp items (RFC 4585 6.2.1); unsorted input is fine.
void append_nack(ByteVector& out, uint32_t sender_ssrc, uint32_t media_ssrc, std::span<const uint16_t> lost);
void append_pli(ByteVector& out, uint32_t sender_ssrc, uint32_t media_ssrc);
void append_fir(ByteVector& out, uint32_t sender_ssrc, std::span<const FirEntry> entries);
// draft-alvestrand-rmcat-remb-03: the receiver's estimate of the bitrate the sender may use for `ssrcs` (at most
// 255 listed), rounded down to what an 18-bit mantissa and a 6-bit exponent can say.
void append_remb(ByteVector& out, uint32_t sender_ssrc, uint64_t bitrate, std::span<const uint32_t> ssrcs);

// The middle 32 bits of a 64-bit NTP timestamp, as carried in the LSR field of a report block.
inline uint32_t ntp_middle32(uint64_t ntp) { return static_cast<uint32_t>(ntp >> 16); }

}  // namespace sg::rtp
