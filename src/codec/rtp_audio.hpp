#pragma once
// Audio formats with one frame per RTP packet: Opus (RFC 7587) and G.711 PCMU / PCMA (RFC 3551 4.5.14).
#include "codec/rtp_payload.hpp"

namespace sg::codec {

// Each non-empty payload is one AccessUnit (keyframe = true). Empty payloads are counted as corrupt.
class FrameDepacketizer final : public Depacketizer {
 public:
  void push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker, std::vector<AccessUnit>& out) override;
  void reset() override { forget_sequence(); }
};

// RFC 7587 4.2: one Opus packet per RTP payload; it cannot be split, so it must fit max_payload.
Result<std::vector<RtpPayload>> packetize_opus(Bytes frame, size_t max_payload);
// G.711 samples are independent bytes: a frame larger than max_payload is split. RtpPayload::first_frame is the
// byte (= sample) offset, so the caller adds it to the RTP timestamp. No marker bit (RFC 3551 4.1: talkspurts only).
Result<std::vector<RtpPayload>> packetize_g711(Bytes samples, size_t max_payload);

}  // namespace sg::codec
