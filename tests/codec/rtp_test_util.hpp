#pragma once
// Helpers for the RTP payload tests: feed payloads as consecutive RTP packets.
#include <vector>

#include "codec/rtp_payload.hpp"

namespace sg::codec::testing {

struct Feed {
  explicit Feed(Depacketizer& depacketizer) : d(depacketizer) {}
  Depacketizer& d;
  uint16_t seq = 1000;
  std::vector<AccessUnit> out;

  // Pushes payloads with consecutive sequence numbers, skipping the indices in `lose`.
  void push(const std::vector<RtpPayload>& payloads, uint32_t ts, std::vector<size_t> lose = {}) {
    for (size_t i = 0; i < payloads.size(); ++i) {
      const uint16_t s = seq++;
      bool lost = false;
      for (size_t l : lose) lost = lost || l == i;
      if (!lost) d.push(payloads[i].data, ts, s, payloads[i].marker, out);
    }
  }
};

inline std::vector<ByteVector> copy_frames(const AccessUnit& au) {
  std::vector<ByteVector> out;
  for (Bytes f : au.frame_views()) out.push_back(to_vector(f));
  return out;
}

inline std::vector<ByteVector> copy_all(const std::vector<Bytes>& v) {
  std::vector<ByteVector> out;
  for (Bytes f : v) out.push_back(to_vector(f));
  return out;
}

}  // namespace sg::codec::testing
