#pragma once
// A media unit: one frame of one track (a video access unit or an audio frame), immutable once published and
// shared by every reader. It carries both forms readers need: the RTP packets as received (RTSP and WebRTC
// forward these with rewritten headers) and the frame's payload (NAL units / audio frames for HLS and
// transcoding). All bytes live in one buffer: one allocation per unit, none per reader.
#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.hpp"

namespace sg::media {

struct Slice {
  uint32_t offset = 0;
  uint32_t size = 0;
};

struct Unit {
  uint32_t track = 0;          // index into the stream's tracks
  uint64_t seq = 0;            // stream-wide order, assigned by Stream::publish
  uint32_t rtp_timestamp = 0;  // in the track's clock rate; continuous across source sessions (Stream::publish)
  uint32_t source = 0;         // the source session that made it (Stream::begin_source)
  bool video = false;
  bool keyframe = false;       // video: an IDR / IRAP access unit, a reader may start here
  int64_t ingest_ns = 0;       // steady clock when the unit's first byte arrived (latency measurement)

  ByteVector data;
  std::vector<Slice> rtp_packets;  // whole RTP packets (header + payload) in data
  std::vector<Slice> frames;       // NAL units without start codes / audio frames in data

  Bytes rtp_packet(size_t i) const { return slice(rtp_packets[i]); }
  Bytes frame(size_t i) const { return slice(frames[i]); }
  Bytes slice(Slice s) const { return Bytes(data).subspan(s.offset, s.size); }

  // Appends bytes to data and returns where they are.
  Slice add(Bytes bytes) {
    Slice s{static_cast<uint32_t>(data.size()), static_cast<uint32_t>(bytes.size())};
    data.insert(data.end(), bytes.begin(), bytes.end());
    return s;
  }
  void add_rtp_packet(Bytes bytes) { rtp_packets.push_back(add(bytes)); }
  void add_frame(Bytes bytes) { frames.push_back(add(bytes)); }
  size_t payload_bytes() const { return data.size(); }
};

using UnitPtr = std::shared_ptr<const Unit>;

}  // namespace sg::media
