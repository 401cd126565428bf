#pragma once
// RFC 7798: H.265 over RTP, without DONL (sprop-max-don-diff=0, one RTP stream).
#include "codec/rtp_video.hpp"

namespace sg::codec {

// Accepts single NAL unit packets (4.4.1), aggregation packets (AP, type 48, 4.4.2) and fragmentation units
// (FU, type 49, 4.4.3). PACI (50) and reserved types are counted as corrupt.
class H265Depacketizer final : public VideoDepacketizer {
 protected:
  void parse_payload(Bytes payload) override;
  bool is_keyframe_nalu(Bytes nalu) const override;
};

struct H265PacketizerOptions {
  size_t max_payload = 1200;  // at least 4
  bool aggregate = false;     // put consecutive small NAL units (e.g. VPS+SPS+PPS) into APs
};

// Packetizes one access unit like packetize_h264, with APs and FUs. The last payload carries the marker bit.
Result<std::vector<RtpPayload>> packetize_h265(const std::vector<Bytes>& nalus, const H265PacketizerOptions& options);

}  // namespace sg::codec
