#pragma once
// MPEG-TS muxer (ISO/IEC 13818-1) for HLS segments (RFC 8216 3.2): 188-byte packets, PAT + PMT, one PES per access
// unit with PTS/DTS at 90 kHz, PCR in the adaptation field of the PCR PID (the first video track, else the first
// track), continuity counters per PID kept across segments, random_access_indicator on keyframes.
// Video samples (AVCC length-prefixed NAL units, see mp4::Sample) are written as Annex B with an access unit
// delimiter and, before keyframes, the track's VPS/SPS/PPS. AAC frames get a 7-byte ADTS header.
// Opus is not supported in TS (ETSI TS 102 366 style mapping is not implemented).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mp4/sample.hpp"

namespace sg::mpegts {

using mp4::Sample;
using mp4::TrackInfo;

inline constexpr size_t kPacketSize = 188;
inline constexpr uint16_t kPmtPid = 0x1000;
inline constexpr uint16_t kFirstElementaryPid = 0x100;  // track i -> PID 0x100 + i

// ISO/IEC 13818-1 Table 2-34 stream_type values.
inline constexpr uint8_t kStreamTypeAacAdts = 0x0f;
inline constexpr uint8_t kStreamTypeH264 = 0x1b;
inline constexpr uint8_t kStreamTypeH265 = 0x24;

// The muxer writes PCR this far (in 90 kHz ticks) before the DTS of the access unit it is sent with.
inline constexpr uint64_t kPcrLead = 9000;

class Muxer {
 public:
  // Fails for unsupported codecs (Opus), bad AAC config, zero timescale or more than 16 tracks.
  static Result<Muxer> create(std::vector<TrackInfo> tracks);

  // PAT then PMT; call at the start of every segment.
  void write_tables(ByteVector& out);
  // One access unit of track `track` as a PES. Fails on malformed AVCC data or an oversized AAC frame; nothing is
  // appended to `out` then.
  Status write_sample(size_t track, const Sample& sample, ByteVector& out);

  uint16_t pid(size_t track) const { return static_cast<uint16_t>(kFirstElementaryPid + track); }
  uint16_t pcr_pid() const { return pid(pcr_track_); }

 private:
  struct Adts {
    uint8_t profile = 1;  // audio object type - 1
    uint8_t frequency_index = 4;
    uint8_t channel_config = 2;
  };
  Muxer() = default;
  void write_section_packet(uint16_t pid, Bytes section, ByteVector& out);
  void write_pes(size_t track, Bytes pes, bool keyframe, std::optional<uint64_t> pcr, ByteVector& out);

  std::vector<TrackInfo> tracks_;
  std::vector<Adts> adts_;
  std::vector<uint8_t> cc_;  // continuity counters per track
  uint8_t pat_cc_ = 0, pmt_cc_ = 0;
  size_t pcr_track_ = 0;
};

// CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A) over PSI sections.
uint32_t crc32_mpeg2(Bytes data);

// 7-byte ADTS header (ISO/IEC 14496-3 1.A.2.2) for a raw AAC frame of `payload_size` bytes, from the fields of an
// AudioSpecificConfig. Fails if the config is not one ADTS can express (object type > 4, explicit frequency,
// channel config > 7) or the frame would exceed 8191 bytes.
Result<ByteVector> adts_header(Bytes audio_specific_config, size_t payload_size);

}  // namespace sg::mpegts
