#include "codec/rtp_audio.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sg::codec {

void FrameDepacketizer::push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool, std::vector<AccessUnit>& out) {
  ++stats_.packets;
  if (track_sequence(sequence) < 0) return;
  if (payload.empty()) return note_corrupt(fmt::format("audio: empty payload at sequence {}", sequence));
  AccessUnit au;
  au.timestamp = timestamp;
  au.keyframe = true;
  au.add_frame(payload);
  ++stats_.units;
  out.push_back(std::move(au));
}

Result<std::vector<RtpPayload>> packetize_opus(Bytes frame, size_t max_payload) {
  if (frame.empty()) return make_error("Opus packetizer: empty frame");
  if (frame.size() > max_payload) {
    return make_error(fmt::format("Opus packetizer: frame of {} bytes exceeds {}", frame.size(), max_payload));
  }
  std::vector<RtpPayload> out;
  out.push_back({to_vector(frame), false, 0});
  return out;
}

Result<std::vector<RtpPayload>> packetize_g711(Bytes samples, size_t max_payload) {
  if (samples.empty()) return make_error("G.711 packetizer: no samples");
  if (max_payload == 0) return make_error("G.711 packetizer: max_payload is 0");
  std::vector<RtpPayload> out;
  for (size_t pos = 0; pos < samples.size(); pos += max_payload) {
    const size_t n = std::min(max_payload, samples.size() - pos);
    out.push_back({to_vector(samples.subspan(pos, n)), false, static_cast<uint32_t>(pos)});
  }
  return out;
}

}  // namespace sg::codec
