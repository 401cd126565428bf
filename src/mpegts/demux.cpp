#include "mpegts/demux.hpp"

#include <map>
#include <string>

#include "mpegts/muxer.hpp"

namespace sg::mpegts {
namespace {

uint64_t read_timestamp(Bytes b, size_t at) {
  return (uint64_t{u8(b, at)} >> 1 & 0x07) << 30 | uint64_t{be16(b, at + 1)} >> 1 << 15 |
         uint64_t{be16(b, at + 3)} >> 1;
}

// Returns the section (from table_id to the end of the CRC) after checking the pointer field, length and CRC.
Result<Bytes> psi_section(Bytes payload, uint8_t table_id, const char* what) {
  if (payload.empty()) return make_error(std::string(what) + ": empty payload");
  const size_t pointer = u8(payload, 0);
  if (pointer + 1 + 3 > payload.size()) return make_error(std::string(what) + ": pointer field past the packet");
  Bytes s = payload.subspan(1 + pointer);
  if (u8(s, 0) != table_id)
    return make_error(std::string(what) + ": table_id " + std::to_string(u8(s, 0)) + ", expected " +
                      std::to_string(table_id));
  const size_t length = be16(s, 1) & 0x0fff;
  if (length < 9 || 3 + length > s.size())
    return make_error(std::string(what) + ": section_length " + std::to_string(length) + " out of range");
  s = s.first(3 + length);
  if (crc32_mpeg2(s) != 0) return make_error(std::string(what) + ": CRC mismatch");
  return s;
}

}  // namespace

Result<Packet> parse_packet(Bytes b) {
  if (b.size() != kPacketSize) return make_error("TS: packet of " + std::to_string(b.size()) + " bytes");
  if (u8(b, 0) != 0x47) return make_error("TS: lost sync byte");
  Packet p;
  p.payload_unit_start = u8(b, 1) & 0x40;
  p.pid = be16(b, 1) & 0x1fff;
  const uint8_t control = u8(b, 3) >> 4 & 0x3;
  p.continuity_counter = u8(b, 3) & 0x0f;
  if (control == 0) return make_error("TS: reserved adaptation_field_control on PID " + std::to_string(p.pid));
  size_t pos = 4;
  if (control & 0x2) {
    p.has_adaptation_field = true;
    const size_t len = u8(b, 4);
    // 2.4.3.5: 0..182 with a payload, 183 without.
    if (len > (control & 0x1 ? 182u : 183u))
      return make_error("TS: adaptation_field_length " + std::to_string(len) + " on PID " + std::to_string(p.pid));
    if (len > 0) {
      const uint8_t flags = u8(b, 5);
      p.random_access = flags & 0x40;
      size_t at = 6;
      if (flags & 0x10) {
        if (len < 7) return make_error("TS: PCR flag set in a short adaptation field");
        p.pcr_base = uint64_t{be32(b, 6)} << 1 | u8(b, 10) >> 7;
        at += 6;
      }
      for (size_t i = 5 + len; i > at && u8(b, i - 1) == 0xff; --i) ++p.stuffing;
    }
    pos = 5 + len;
  }
  if (control & 0x1) p.payload = b.subspan(pos);
  return p;
}

Result<PesHeader> parse_pes_header(Bytes b) {
  if (b.size() < 9) return make_error("PES: header truncated");
  if (be24(b, 0) != 1) return make_error("PES: bad start code prefix");
  PesHeader h;
  h.stream_id = u8(b, 3);
  h.packet_length = be16(b, 4);
  if ((u8(b, 6) & 0xc0) != 0x80) return make_error("PES: missing '10' marker");
  const uint8_t flags = u8(b, 7) >> 6;
  const size_t header_len = u8(b, 8);
  if (9 + header_len > b.size()) return make_error("PES: header_data_length past the data");
  if (flags == 1) return make_error("PES: forbidden PTS_DTS_flags 01");
  if (flags & 0x2) {
    if (header_len < 5) return make_error("PES: PTS does not fit in header");
    h.pts = read_timestamp(b, 9);
  }
  if (flags == 3) {
    if (header_len < 10) return make_error("PES: DTS does not fit in header");
    h.dts = read_timestamp(b, 14);
  }
  h.payload = b.subspan(9 + header_len);
  return h;
}

Result<uint16_t> parse_pat(Bytes payload) {
  auto s = psi_section(payload, 0x00, "PAT");
  if (!s) return make_error(s.error());
  const Bytes sec = *s;
  for (size_t at = 8; at + 4 <= sec.size() - 4; at += 4) {
    if (be16(sec, at) != 0) return static_cast<uint16_t>(be16(sec, at + 2) & 0x1fff);  // program 0 = NIT
  }
  return make_error("PAT: no program");
}

Result<Pmt> parse_pmt(Bytes payload) {
  auto s = psi_section(payload, 0x02, "PMT");
  if (!s) return make_error(s.error());
  const Bytes sec = *s;
  if (sec.size() < 12 + 4) return make_error("PMT: section too short");
  Pmt pmt;
  pmt.pcr_pid = be16(sec, 8) & 0x1fff;
  const size_t info = be16(sec, 10) & 0x0fff;
  const size_t end = sec.size() - 4;
  size_t at = 12 + info;
  if (at > end) return make_error("PMT: program_info_length past the section");
  while (at < end) {
    if (end - at < 5) return make_error("PMT: truncated stream entry");
    const size_t es_info = be16(sec, at + 3) & 0x0fff;
    if (es_info > end - at - 5) return make_error("PMT: ES_info_length past the section");
    pmt.streams.push_back({u8(sec, at), static_cast<uint16_t>(be16(sec, at + 1) & 0x1fff)});
    at += 5 + es_info;
  }
  return pmt;
}

Result<Demuxed> demux(Bytes ts) {
  if (ts.size() % kPacketSize != 0)
    return make_error("TS: " + std::to_string(ts.size()) + " bytes is not whole packets");
  Demuxed d;
  std::map<uint16_t, uint8_t> last_cc;
  std::map<uint16_t, Pes> open;  // PES being reassembled per PID
  bool have_pmt = false;
  auto finish = [&d](Pes& p, const ByteVector& raw) -> Status {
    auto h = parse_pes_header(raw);
    if (!h) return make_error(h.error());
    p.stream_id = h->stream_id;
    p.pts = h->pts;
    p.dts = h->dts;
    p.data.assign(h->payload.begin(), h->payload.end());
    d.pes.push_back(std::move(p));
    return Ok{};
  };
  std::map<uint16_t, ByteVector> raw;
  for (size_t off = 0; off < ts.size(); off += kPacketSize) {
    auto p = parse_packet(ts.subspan(off, kPacketSize));
    if (!p) return make_error(p.error() + " at offset " + std::to_string(off));
    ++d.packets;
    if (p->pcr_base) d.pcrs.push_back(*p->pcr_base);
    if (!p->payload.empty()) {
      auto it = last_cc.find(p->pid);
      if (it != last_cc.end() && ((it->second + 1) & 0xf) != p->continuity_counter) ++d.continuity_errors;
      last_cc[p->pid] = p->continuity_counter;
    }
    if (p->pid == 0 && p->payload_unit_start) {
      auto pmt_pid = parse_pat(p->payload);
      if (!pmt_pid) return make_error(pmt_pid.error());
      d.pmt_pid = *pmt_pid;
      continue;
    }
    if (d.pmt_pid != 0 && p->pid == d.pmt_pid && p->payload_unit_start) {
      auto pmt = parse_pmt(p->payload);
      if (!pmt) return make_error(pmt.error());
      d.pmt = std::move(*pmt);
      have_pmt = true;
      continue;
    }
    if (!have_pmt) continue;
    bool elementary = false;
    for (const auto& s : d.pmt.streams) elementary |= s.pid == p->pid;
    if (!elementary) continue;
    if (p->payload_unit_start) {
      if (auto it = open.find(p->pid); it != open.end()) {
        if (auto s = finish(it->second, raw[p->pid]); !s) return make_error(s.error());
        open.erase(it);
      }
      Pes pes;
      pes.pid = p->pid;
      pes.random_access = p->random_access;
      open[p->pid] = std::move(pes);
      raw[p->pid].assign(p->payload.begin(), p->payload.end());
    } else if (open.count(p->pid)) {
      append(raw[p->pid], p->payload);
    }
  }
  for (auto& [pid, pes] : open)
    if (auto s = finish(pes, raw[pid]); !s) return make_error(s.error());
  return d;
}

}  // namespace sg::mpegts
