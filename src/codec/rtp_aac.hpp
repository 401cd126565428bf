#pragma once
// RFC 3640 (mpeg4-generic), AAC-hbr / AAC-lbr modes: AU-headers-length (bits), AU headers (AU-size, AU-Index /
// AU-Index-delta), then the AUs. Several AUs per packet, or one AU fragmented over packets (marker on the last).
#include "codec/rtp_payload.hpp"

namespace sg::codec {

struct AacRtpParams {
  int size_length = 13;               // sizelength: AAC-hbr 13, AAC-lbr 6
  int index_length = 3;               // indexlength
  int index_delta_length = 3;         // indexdeltalength
  uint32_t samples_per_frame = 1024;  // RTP timestamp step between consecutive AUs of a packet
};

// Emits one AccessUnit per AAC frame (keyframe = true), its timestamp the packet's plus its index times
// samples_per_frame. Interleaving (non-zero AU-Index / delta) is not reordered, only used for the timestamps.
class AacDepacketizer final : public Depacketizer {
 public:
  explicit AacDepacketizer(AacRtpParams params) : params_(params) {}
  void push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker, std::vector<AccessUnit>& out) override;
  void reset() override;

 private:
  void drop_fragment(std::string reason);

  AacRtpParams params_;
  ByteVector fragment_;
  bool fragment_active_ = false;
  size_t fragment_size_ = 0;
  uint32_t fragment_timestamp_ = 0;
};

// Packetizes consecutive AAC frames (raw, without ADTS): as many whole frames per payload as fit, each payload
// marked; a frame larger than one payload is fragmented, only its last fragment marked. RtpPayload::first_frame
// tells the caller which frame's timestamp to put in the RTP header. Fails when a frame exceeds 2^sizelength - 1.
Result<std::vector<RtpPayload>> packetize_aac(const std::vector<Bytes>& frames, size_t max_payload,
                                              const AacRtpParams& params = {});

}  // namespace sg::codec
