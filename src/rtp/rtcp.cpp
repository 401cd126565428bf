#include "rtp/rtcp.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace sg::rtp {
namespace {

constexpr size_t kReportBlockSize = 24;

ReportBlock read_report_block(Bytes b, size_t at) {
  ReportBlock r;
  r.ssrc = be32(b, at);
  r.fraction_lost = u8(b, at + 4);
  uint32_t lost = be24(b, at + 5);
  r.cumulative_lost = (lost & 0x800000) ? static_cast<int32_t>(lost) - 0x1000000 : static_cast<int32_t>(lost);
  r.highest_sequence = be32(b, at + 8);
  r.jitter = be32(b, at + 12);
  r.last_sr = be32(b, at + 16);
  r.delay_since_last_sr = be32(b, at + 20);
  return r;
}

void append_report_block(ByteVector& out, const ReportBlock& r) {
  append32(out, r.ssrc);
  append8(out, r.fraction_lost);
  // 24-bit two's complement, clamped to the representable range (RFC 3550 6.4.1).
  int32_t lost = std::clamp(r.cumulative_lost, -0x800000, 0x7fffff);
  append24(out, static_cast<uint32_t>(lost) & 0xffffff);
  append32(out, r.highest_sequence);
  append32(out, r.jitter);
  append32(out, r.last_sr);
  append32(out, r.delay_since_last_sr);
}

// Writes the common header; `total` is the packet size in bytes, a multiple of 4.
void append_common_header(ByteVector& out, uint8_t count, RtcpType type, size_t total) {
  append8(out, static_cast<uint8_t>(0x80 | (count & 0x1f)));
  append8(out, static_cast<uint8_t>(type));
  append16(out, static_cast<uint16_t>(total / 4 - 1));
}

Error packet_error(const RtcpHeader& h, std::string_view what) {
  return make_error(fmt::format("RTCP type {} (count {}, {} bytes): {}", h.type, h.count, h.packet.size(), what));
}

Result<RtcpMessage> parse_sdes(const RtcpHeader& h) {
  const Bytes b = h.body;
  Sdes sdes;
  size_t pos = 0;
  for (size_t c = 0; c < h.count; ++c) {
    if (pos + 4 > b.size()) return packet_error(h, fmt::format("SDES chunk {} truncated", c));
    SdesChunk chunk;
    chunk.ssrc = be32(b, pos);
    pos += 4;
    while (true) {
      if (pos >= b.size()) return packet_error(h, fmt::format("SDES chunk {} has no terminating null item", c));
      const uint8_t type = u8(b, pos);
      if (type == 0) {
        pos = (pos + 4) & ~size_t{3};  // RFC 3550 6.5: the null item(s) pad the chunk to a 32-bit boundary
        break;
      }
      if (pos + 2 > b.size() || pos + 2 + u8(b, pos + 1) > b.size())
        return packet_error(h, fmt::format("SDES item type {} runs past the packet", type));
      const size_t len = u8(b, pos + 1);
      chunk.items.push_back({type, std::string(as_string_view(b.subspan(pos + 2, len)))});
      pos += 2 + len;
    }
    sdes.chunks.push_back(std::move(chunk));
  }
  return RtcpMessage{std::move(sdes)};
}

Result<RtcpMessage> parse_rtpfb(const RtcpHeader& h) {
  const Bytes b = h.body;
  if (b.size() < 8) return packet_error(h, "feedback packet shorter than its two SSRCs");
  const uint32_t sender = be32(b, 0), media = be32(b, 4);
  switch (h.count) {
    case 1: {  // RFC 4585 6.2.1 generic NACK
      if ((b.size() - 8) % 4 != 0 || b.size() == 8) return packet_error(h, "NACK FCI is not a list of pid+blp");
      Nack nack{sender, media, {}};
      for (size_t at = 8; at < b.size(); at += 4) nack.items.push_back({be16(b, at), be16(b, at + 2)});
      return RtcpMessage{std::move(nack)};
    }
    case 15: {  // transport-wide congestion control
      if (b.size() < 16) return packet_error(h, "transport-cc FCI truncated");
      return RtcpMessage{TransportCc{sender, media, be16(b, 8), be16(b, 10)}};
    }
    default: return RtcpMessage{UnknownRtcp{h.type, h.count}};
  }
}

Result<RtcpMessage> parse_psfb(const RtcpHeader& h) {
  const Bytes b = h.body;
  if (b.size() < 8) return packet_error(h, "feedback packet shorter than its two SSRCs");
  const uint32_t sender = be32(b, 0), media = be32(b, 4);
  switch (h.count) {
    case 1: return RtcpMessage{Pli{sender, media}};
    case 4: {  // RFC 5104 4.3.1: FCI entries of SSRC, seq nr, 24 reserved bits
      if ((b.size() - 8) % 8 != 0 || b.size() == 8) return packet_error(h, "FIR FCI is not a list of 8-byte entries");
      Fir fir{sender, {}};
      for (size_t at = 8; at < b.size(); at += 8) fir.entries.push_back({be32(b, at), u8(b, at + 4)});
      return RtcpMessage{std::move(fir)};
    }
    case 15: {  // application layer feedback: REMB if it says so
      if (b.size() < 16 || as_string_view(b.subspan(8, 4)) != "REMB") return RtcpMessage{UnknownRtcp{h.type, h.count}};
      const size_t n = u8(b, 12);
      const unsigned exp = u8(b, 13) >> 2;
      const uint64_t mantissa = (uint64_t{u8(b, 13) & 0x03u} << 16) | be16(b, 14);
      if (16 + 4 * n > b.size()) return packet_error(h, fmt::format("REMB lists {} SSRCs past the packet", n));
      Remb remb{sender, 0, {}};
      // 18-bit mantissa shifted by up to 63: saturate rather than overflow.
      remb.bitrate = (mantissa != 0 && exp > static_cast<unsigned>(std::countl_zero(mantissa)))
                         ? UINT64_MAX
                         : mantissa << exp;
      for (size_t i = 0; i < n; ++i) remb.ssrcs.push_back(be32(b, 16 + 4 * i));
      return RtcpMessage{std::move(remb)};
    }
    default: return RtcpMessage{UnknownRtcp{h.type, h.count}};
  }
}

}  // namespace

std::optional<RtcpHeader> RtcpReader::next() {
  if (!error_.empty() || pos_ >= data_.size()) return std::nullopt;
  const size_t remaining = data_.size() - pos_;
  auto fail = [&](std::string what) {
    error_ = fmt::format("RTCP packet {} at offset {}: {}", index_ + 1, pos_, what);
    return std::nullopt;
  };
  if (remaining < 4) return fail(fmt::format("{} bytes left, less than a header", remaining));
  const uint8_t b0 = u8(data_, pos_);
  if ((b0 >> 6) != 2) return fail(fmt::format("version {} is not 2", b0 >> 6));
  const size_t len = (size_t{be16(data_, pos_ + 2)} + 1) * 4;
  if (len > remaining) return fail(fmt::format("length {} bytes exceeds the {} bytes left", len, remaining));
  RtcpHeader h;
  h.count = b0 & 0x1f;
  h.type = u8(data_, pos_ + 1);
  h.packet = data_.subspan(pos_, len);
  size_t padding = 0;
  if (b0 & 0x20) {  // RFC 3550 6.4.1: the last octet counts the padding, itself included
    padding = u8(h.packet, len - 1);
    if (padding == 0 || padding > len - 4) return fail(fmt::format("bad padding count {}", padding));
  }
  h.body = h.packet.subspan(4, len - 4 - padding);
  pos_ += len;
  ++index_;
  return h;
}

std::optional<std::string> SdesChunk::cname() const {
  for (const auto& item : items)
    if (item.type == 1) return item.value;
  return std::nullopt;
}

std::vector<uint16_t> Nack::lost_sequences() const {
  std::vector<uint16_t> out;
  out.reserve(items.size() * 17);
  for (const auto& item : items) {
    out.push_back(item.pid);
    for (unsigned bit = 0; bit < 16; ++bit)
      if (item.blp & (1u << bit)) out.push_back(static_cast<uint16_t>(item.pid + bit + 1));
  }
  return out;
}

Result<RtcpMessage> parse_rtcp_packet(const RtcpHeader& h) {
  const Bytes b = h.body;
  switch (static_cast<RtcpType>(h.type)) {
    case RtcpType::kSr: {
      if (b.size() < 24 + kReportBlockSize * h.count) return packet_error(h, "SR shorter than its report count");
      SenderReport sr{be32(b, 0), be64(b, 4), be32(b, 12), be32(b, 16), be32(b, 20), {}};
      for (size_t i = 0; i < h.count; ++i) sr.reports.push_back(read_report_block(b, 24 + kReportBlockSize * i));
      return RtcpMessage{std::move(sr)};
    }
    case RtcpType::kRr: {
      if (b.size() < 4 + kReportBlockSize * h.count) return packet_error(h, "RR shorter than its report count");
      ReceiverReport rr{be32(b, 0), {}};
      for (size_t i = 0; i < h.count; ++i) rr.reports.push_back(read_report_block(b, 4 + kReportBlockSize * i));
      return RtcpMessage{std::move(rr)};
    }
    case RtcpType::kSdes: return parse_sdes(h);
    case RtcpType::kBye: {
      if (b.size() < 4 * size_t{h.count}) return packet_error(h, "BYE shorter than its SSRC count");
      Bye bye;
      for (size_t i = 0; i < h.count; ++i) bye.ssrcs.push_back(be32(b, 4 * i));
      const size_t at = 4 * size_t{h.count};
      if (at < b.size()) {
        const size_t len = u8(b, at);
        if (at + 1 + len > b.size()) return packet_error(h, "BYE reason runs past the packet");
        bye.reason = std::string(as_string_view(b.subspan(at + 1, len)));
      }
      return RtcpMessage{std::move(bye)};
    }
    case RtcpType::kApp: {
      if (b.size() < 8) return packet_error(h, "APP shorter than SSRC and name");
      return RtcpMessage{App{be32(b, 0), h.count, std::string(as_string_view(b.subspan(4, 4)))}};
    }
    case RtcpType::kRtpfb: return parse_rtpfb(h);
    case RtcpType::kPsfb: return parse_psfb(h);
  }
  return RtcpMessage{UnknownRtcp{h.type, h.count}};
}

Result<std::vector<RtcpMessage>> parse_rtcp(Bytes compound) {
  if (compound.empty()) return make_error("RTCP: empty packet");
  std::vector<RtcpMessage> out;
  RtcpReader reader(compound);
  while (auto h = reader.next()) {
    auto msg = parse_rtcp_packet(*h);
    if (!msg.ok()) return make_error(fmt::format("RTCP packet {}: {}", out.size() + 1, msg.error()));
    out.push_back(std::move(msg.value()));
  }
  if (!reader.error().empty()) return make_error(reader.error());
  return out;
}

void append_sender_report(ByteVector& out, const SenderReport& sr) {
  const size_t n = std::min<size_t>(sr.reports.size(), 31);
  append_common_header(out, static_cast<uint8_t>(n), RtcpType::kSr, 28 + kReportBlockSize * n);
  append32(out, sr.ssrc);
  append64(out, sr.ntp_timestamp);
  append32(out, sr.rtp_timestamp);
  append32(out, sr.packet_count);
  append32(out, sr.octet_count);
  for (size_t i = 0; i < n; ++i) append_report_block(out, sr.reports[i]);
}

void append_receiver_report(ByteVector& out, const ReceiverReport& rr) {
  const size_t n = std::min<size_t>(rr.reports.size(), 31);
  append_common_header(out, static_cast<uint8_t>(n), RtcpType::kRr, 8 + kReportBlockSize * n);
  append32(out, rr.ssrc);
  for (size_t i = 0; i < n; ++i) append_report_block(out, rr.reports[i]);
}

void append_sdes_cname(ByteVector& out, uint32_t ssrc, std::string_view cname) {
  cname = cname.substr(0, 255);
  // SSRC, CNAME item, then 1-4 null bytes ending the chunk on a 32-bit boundary.
  const size_t chunk = (4 + 2 + cname.size() + 1 + 3) & ~size_t{3};
  append_common_header(out, 1, RtcpType::kSdes, 4 + chunk);
  append32(out, ssrc);
  append8(out, 1);
  append8(out, static_cast<uint8_t>(cname.size()));
  append(out, cname);
  for (size_t i = 4 + 2 + cname.size(); i < chunk; ++i) append8(out, 0);
}

void append_bye(ByteVector& out, std::span<const uint32_t> ssrcs, std::string_view reason) {
  ssrcs = ssrcs.first(std::min<size_t>(ssrcs.size(), 31));
  reason = reason.substr(0, 255);
  const size_t reason_size = reason.empty() ? 0 : (1 + reason.size() + 3) & ~size_t{3};
  append_common_header(out, static_cast<uint8_t>(ssrcs.size()), RtcpType::kBye, 4 + 4 * ssrcs.size() + reason_size);
  for (uint32_t s : ssrcs) append32(out, s);
  if (!reason.empty()) {
    append8(out, static_cast<uint8_t>(reason.size()));
    append(out, reason);
    for (size_t i = 1 + reason.size(); i < reason_size; ++i) append8(out, 0);
  }
}

void append_nack(ByteVector& out, uint32_t sender_ssrc, uint32_t media_ssrc, std::span<const uint16_t> lost) {
  std::vector<uint16_t> seqs(lost.begin(), lost.end());
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::vector<NackItem> items;
  for (uint16_t s : seqs) {
    const auto delta = static_cast<uint16_t>(s - (items.empty() ? 0 : items.back().pid));
    if (!items.empty() && delta >= 1 && delta <= 16) {
      items.back().blp = static_cast<uint16_t>(items.back().blp | (1u << (delta - 1)));
    } else {
      items.push_back({s, 0});
    }
  }
  // The 16-bit length field bounds one packet to 16381 items; a longer list would be a caller bug.
  if (items.size() > 16381) items.resize(16381);
  append_common_header(out, 1, RtcpType::kRtpfb, 12 + 4 * items.size());
  append32(out, sender_ssrc);
  append32(out, media_ssrc);
  for (const auto& item : items) {
    append16(out, item.pid);
    append16(out, item.blp);
  }
}

void append_pli(ByteVector& out, uint32_t sender_ssrc, uint32_t media_ssrc) {
  append_common_header(out, 1, RtcpType::kPsfb, 12);
  append32(out, sender_ssrc);
  append32(out, media_ssrc);
}

void append_fir(ByteVector& out, uint32_t sender_ssrc, std::span<const FirEntry> entries) {
  entries = entries.first(std::min<size_t>(entries.size(), 8000));
  append_common_header(out, 4, RtcpType::kPsfb, 12 + 8 * entries.size());
  append32(out, sender_ssrc);
  append32(out, 0);  // RFC 5104 4.3.1.2: media source SSRC unused, set to 0
  for (const auto& e : entries) {
    append32(out, e.ssrc);
    append8(out, e.sequence);
    append24(out, 0);
  }
}

void append_remb(ByteVector& out, uint32_t sender_ssrc, uint64_t bitrate, std::span<const uint32_t> ssrcs) {
  ssrcs = ssrcs.first(std::min<size_t>(ssrcs.size(), 255));
  // draft-alvestrand-rmcat-remb-03 2.2: bitrate = mantissa (18 bits) << exp (6 bits); the smallest exponent that
  // fits keeps the most precision.
  unsigned exp = 0;
  while (exp < 63 && (bitrate >> exp) > 0x3ffff) ++exp;
  const auto mantissa = static_cast<uint32_t>(std::min<uint64_t>(bitrate >> exp, 0x3ffff));
  append_common_header(out, 15, RtcpType::kPsfb, 20 + 4 * ssrcs.size());
  append32(out, sender_ssrc);
  append32(out, 0);  // media source SSRC: unused, 0 (2.2)
  append8(out, 'R');
  append8(out, 'E');
  append8(out, 'M');
  append8(out, 'B');
  append8(out, static_cast<uint8_t>(ssrcs.size()));
  append8(out, static_cast<uint8_t>((exp << 2) | (mantissa >> 16)));
  append16(out, static_cast<uint16_t>(mantissa & 0xffff));
  for (uint32_t s : ssrcs) append32(out, s);
}

}  // namespace sg::rtp
