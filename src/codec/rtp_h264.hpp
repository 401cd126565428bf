#pragma once
// RFC 6184 (non-interleaved mode, packetization-mode 0/1): H.264 over RTP.
#include "codec/rtp_video.hpp"

namespace sg::codec {

// Accepts single NAL unit packets (5.6), STAP-A (5.7.1) and FU-A (5.8). STAP-B, MTAPs and FU-B (interleaved mode)
// are counted as corrupt. An access unit ends at the marker bit or when the timestamp changes.
class H264Depacketizer final : public VideoDepacketizer {
 protected:
  void parse_payload(Bytes payload) override;
  bool is_keyframe_nalu(Bytes nalu) const override;
};

struct H264PacketizerOptions {
  size_t max_payload = 1200;  // bytes of RTP payload per packet; at least 3
  bool aggregate = false;     // put consecutive small NAL units (e.g. SPS+PPS) into STAP-A packets
};

// Packetizes one access unit (NAL units without start codes): single NAL unit packets when a NAL fits, FU-A
// otherwise, STAP-A for runs of small NALs when asked. The last payload carries the marker bit.
Result<std::vector<RtpPayload>> packetize_h264(const std::vector<Bytes>& nalus, const H264PacketizerOptions& options);

}  // namespace sg::codec
