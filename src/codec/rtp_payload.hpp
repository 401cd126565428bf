#pragma once
// RTP payload formats: the common shape of depacketizers (RTP payloads in, complete access units out) and
// packetizers (an access unit in, RTP payloads out). The RTP header itself belongs to the caller: depacketizers
// take its fields as plain arguments, packetizers say which payload carries the marker bit.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::codec {

// Where one NAL unit / audio frame lies inside AccessUnit::data.
struct FrameSlice {
  uint32_t offset = 0;
  uint32_t size = 0;
};

// One access unit: a video frame (NAL units without start codes) or one audio frame. All bytes live in one buffer
// with slices into it, so an AU costs two allocations however many NAL units it has, and it moves cheaply into a
// media::Unit (same layout).
struct AccessUnit {
  uint32_t timestamp = 0;  // RTP timestamp, in the track's clock rate
  bool keyframe = false;   // video: IDR / IRAP present; audio: always true
  ByteVector data;
  std::vector<FrameSlice> frames;

  size_t frame_count() const { return frames.size(); }
  Bytes frame(size_t i) const { return Bytes(data).subspan(frames[i].offset, frames[i].size); }
  std::vector<Bytes> frame_views() const;
  void add_frame(Bytes bytes);
  void clear();
};

// Counters of a depacketizer. Bad packets are counted and dropped, never thrown; last_error says the most recent
// reason (for a rate-limited log line by the caller).
struct DepacketizerStats {
  uint64_t packets = 0;          // payloads pushed
  uint64_t lost_packets = 0;     // missing sequence numbers seen
  uint64_t dropped_packets = 0;  // payloads discarded: late/duplicate, or part of a corrupt unit
  uint64_t corrupt_packets = 0;  // payloads that were malformed for the format
  uint64_t units = 0;            // access units emitted
  uint64_t dropped_units = 0;    // access units discarded as incomplete (loss) or corrupt
  std::string last_error;
};

class Depacketizer {
 public:
  virtual ~Depacketizer() = default;
  // Feeds one RTP payload in arrival order (reordering is the jitter buffer's job: a sequence number older than
  // the last one is dropped). Complete access units are appended to `out`; usually 0 or 1, sometimes more (an AU
  // closed by a timestamp change, several AAC frames in one packet).
  virtual void push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker,
                    std::vector<AccessUnit>& out) = 0;
  // Forgets partial state and the sequence number (e.g. after a source restart); counters are kept.
  virtual void reset() = 0;
  const DepacketizerStats& stats() const { return stats_; }

 protected:
  // Updates the expected sequence number. Returns the number of packets lost before this one, or -1 when the
  // packet is late or a duplicate (already counted as dropped).
  int64_t track_sequence(uint16_t sequence);
  void forget_sequence() { have_sequence_ = false; }
  void note_corrupt(std::string reason);  // counts a malformed packet
  void note_dropped(std::string reason);  // counts a packet discarded for another reason

  DepacketizerStats stats_;

 private:
  bool have_sequence_ = false;
  uint16_t next_sequence_ = 0;
};

// One RTP payload produced by a packetizer.
struct RtpPayload {
  ByteVector data;
  bool marker = false;       // set the RTP marker bit on this packet
  uint32_t first_frame = 0;  // index of the first input frame it carries (AAC: RTP timestamp = that frame's)
};

// fmtp parameters as written in SDP (a=fmtp:96 key=value;...). Keys are matched case-insensitively.
using FmtpParams = std::map<std::string, std::string>;

// Makes a depacketizer for an SDP encoding name (H264, H265, MPEG4-GENERIC, MP4A-LATM, OPUS, PCMU, PCMA;
// case-insensitive). Fails for unknown encodings and for unsupported modes (H.264 interleaved, H.265 with DONL, AAC
// without sizelength, LATM with cpresent=1 or a StreamMuxConfig codec/latm.hpp does not support).
Result<std::unique_ptr<Depacketizer>> make_depacketizer(std::string_view encoding, const FmtpParams& fmtp);

}  // namespace sg::codec
