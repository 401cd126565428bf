#pragma once
// RFC 6416 MP4A-LATM with cpresent=0: the StreamMuxConfig comes from the SDP (`config=`), each RTP payload holds
// AudioMuxElements without an in-band config. One element may be fragmented over packets of one timestamp; the
// marker bit ends an element (RFC 6416 6.1). See codec/latm.hpp for what is supported.
#include "codec/latm.hpp"
#include "codec/rtp_payload.hpp"

namespace sg::codec {

// The StreamMuxConfig of an MP4A-LATM fmtp (keys lower case): `config=` is required, `cpresent` must be 0 when
// given (RFC 6416 7.1 defaults it to 1, but senders that put the config in the SDP rarely multiplex it too:
// without cpresent, config= is taken as out of band, as ffmpeg does), `object` must be a number when given.
Result<latm::StreamMuxConfig> latm_config_from_fmtp(const FmtpParams& fmtp);

// Emits one AccessUnit per AAC frame (keyframe = true), the k-th frame of a packet at its timestamp plus k times
// samples_per_frame. An element whose fragments are not all received (loss, timestamp change) is dropped.
class LatmDepacketizer final : public Depacketizer {
 public:
  static constexpr size_t kMaxElementBytes = 64 * 1024;

  explicit LatmDepacketizer(latm::StreamMuxConfig config) : config_(std::move(config)) {}
  void push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker, std::vector<AccessUnit>& out) override;
  void reset() override;

 private:
  void drop_fragment(std::string reason);
  void emit(Bytes elements, uint32_t timestamp, std::vector<AccessUnit>& out);

  latm::StreamMuxConfig config_;
  ByteVector fragment_;
  bool fragment_active_ = false;
  uint32_t fragment_timestamp_ = 0;
  std::vector<Bytes> frames_;  // scratch
};

}  // namespace sg::codec
