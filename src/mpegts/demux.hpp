#pragma once
// MPEG-TS reader, "demux-lite": enough of ISO/IEC 13818-1 to check our muxer's output and to be fuzzed.
// Packets and PES headers are views into the caller's bytes.
#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::mpegts {

struct Packet {
  uint16_t pid = 0;
  bool payload_unit_start = false;
  uint8_t continuity_counter = 0;
  bool has_adaptation_field = false;
  bool random_access = false;
  std::optional<uint64_t> pcr_base;  // 90 kHz part of the PCR
  size_t stuffing = 0;               // 0xff bytes at the end of the adaptation field
  Bytes payload;
};
// Exactly one 188-byte packet.
Result<Packet> parse_packet(Bytes packet);

struct PesHeader {
  uint8_t stream_id = 0;
  uint16_t packet_length = 0;  // 0 = unbounded
  std::optional<uint64_t> pts, dts;
  Bytes payload;  // elementary stream bytes after the header (possibly only the first part of the PES)
};
Result<PesHeader> parse_pes_header(Bytes pes);

struct ProgramStream {
  uint8_t stream_type = 0;
  uint16_t pid = 0;
};
struct Pmt {
  uint16_t pcr_pid = 0;
  std::vector<ProgramStream> streams;
};
// PSI sections start at the pointer field (payload of a packet with payload_unit_start). CRC is verified.
Result<uint16_t> parse_pat(Bytes payload);  // PMT PID of the first program
Result<Pmt> parse_pmt(Bytes payload);

// Whole-buffer demux: PAT -> PMT -> PES reassembly per elementary PID.
struct Pes {
  uint16_t pid = 0;
  uint8_t stream_id = 0;
  std::optional<uint64_t> pts, dts;
  bool random_access = false;
  ByteVector data;  // elementary stream bytes
};
struct Demuxed {
  uint16_t pmt_pid = 0;
  Pmt pmt;
  std::vector<Pes> pes;
  std::vector<uint64_t> pcrs;
  size_t packets = 0;
  size_t continuity_errors = 0;
};
// Fails on a size that is not a multiple of 188, a lost sync byte, malformed tables or PES headers.
Result<Demuxed> demux(Bytes ts);

}  // namespace sg::mpegts
