#pragma once
// Incremental MPEG-TS demuxer (ISO/IEC 13818-1) for live input that arrives in pieces (SRT messages, UDP): bytes in
// any split, PAT -> PMT -> PES reassembly per elementary PID across calls, and each complete PES out as a Frame.
//
// Carried: H.264 (stream_type 0x1b) and H.265 (0x24) as NAL units (Annex B start codes removed, access unit
// delimiters dropped), AAC in ADTS (0x0f) as raw frames with the AudioSpecificConfig their ADTS header describes.
// Other stream types are skipped. PSI sections must fit one packet (as every muxer writes a PAT and a small PMT).
//
// A PES ends at the next payload_unit_start of its PID, or as soon as PES_packet_length bytes are in. Bad input is
// counted, never fatal: a lost sync byte resynchronises on the next 0x47, a continuity counter gap drops the PES
// being reassembled (its frame would be corrupt), an oversized PES is dropped.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mpegts/demux.hpp"

namespace sg::mpegts {

enum class StreamCodec { H264, H265, AAC };

struct ElementaryStream {
  uint16_t pid = 0;
  StreamCodec codec = StreamCodec::H264;
};

struct Frame {
  uint16_t pid = 0;
  StreamCodec codec = StreamCodec::H264;
  uint64_t pts = 0;  // 90 kHz, 33 bits as sent
  uint64_t dts = 0;  // = pts when the PES has none
  bool random_access = false;  // adaptation field flag of the PES's first packet
  // Video: the NAL units of the access unit (views into the demuxer's buffer, valid during the callback).
  // AAC: the raw frames of the PES (one per ADTS header), frame i starting at pts + i * 1024 samples.
  std::vector<Bytes> units;
  // AAC: the AudioSpecificConfig built from the first ADTS header, and its sample rate.
  ByteVector audio_config;
  uint32_t sample_rate = 0;
  // Video: an IDR (H.264 type 5) or IRAP (H.265 types 16-23) NAL unit is present.
  bool keyframe = false;
};

// Splits Annex B bytes into NAL units (without start codes; trailing zero bytes of a unit are dropped).
std::vector<Bytes> split_annex_b(Bytes data);

// ADTS frames (ISO/IEC 14496-3 1.A.2.2) of an AAC PES payload: raw frames without their headers, and the
// AudioSpecificConfig of the first header.
struct AdtsFrames {
  std::vector<Bytes> frames;
  ByteVector audio_config;
  uint32_t sample_rate = 0;
};
Result<AdtsFrames> parse_adts(Bytes data);

class StreamDemuxer {
 public:
  using FrameHandler = std::function<void(const Frame&)>;

  // Any number of bytes; frames complete within them are handed to `on_frame` in order.
  void feed(Bytes data, const FrameHandler& on_frame);
  // Elementary streams of the current PMT that are carried (in PMT order).
  const std::vector<ElementaryStream>& streams() const { return streams_; }
  // Incremented whenever the carried streams change (a new PMT with other PIDs or codecs).
  uint32_t program_generation() const { return generation_; }

  uint64_t packets() const { return packets_; }
  uint64_t sync_losses() const { return sync_losses_; }
  uint64_t bad_packets() const { return bad_packets_; }  // malformed packets, tables or PES headers
  uint64_t continuity_errors() const { return continuity_errors_; }
  uint64_t dropped_frames() const { return dropped_frames_; }  // PES dropped (CC gap, bad header, oversized, bad ES)

  static constexpr size_t kMaxPesBytes = 4 << 20;

 private:
  struct Assembly {
    uint16_t pid = 0;
    StreamCodec codec = StreamCodec::H264;
    bool open = false;
    bool random_access = false;
    std::optional<uint8_t> last_cc;
    ByteVector data;  // PES header + payload so far
  };
  void packet(Bytes bytes, const FrameHandler& on_frame);
  void finish(Assembly& a, const FrameHandler& on_frame);
  Assembly* assembly(uint16_t pid);

  ByteVector partial_;  // bytes of an incomplete packet from the previous feed
  uint16_t pmt_pid_ = 0;
  std::vector<ElementaryStream> streams_;
  std::vector<Assembly> assemblies_;  // parallel to streams_
  uint32_t generation_ = 0;
  Frame frame_;  // reused per frame
  uint64_t packets_ = 0, sync_losses_ = 0, bad_packets_ = 0, continuity_errors_ = 0, dropped_frames_ = 0;
};

}  // namespace sg::mpegts
