#pragma once
// Access-unit assembly shared by the H.264 (RFC 6184) and H.265 (RFC 7798) depacketizers: NAL units collected until
// the marker bit or a timestamp change; fragmentation units reassembled; any loss or malformed packet marks the
// unit corrupt, and a corrupt unit is dropped (counted), never emitted.
#include "codec/rtp_payload.hpp"

namespace sg::codec {

class VideoDepacketizer : public Depacketizer {
 public:
  // Upper bounds on one access unit, so that input cannot drive unbounded allocation.
  static constexpr size_t kMaxUnitBytes = 16 * 1024 * 1024;
  static constexpr size_t kMaxUnitNalus = 4096;

  void push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker, std::vector<AccessUnit>& out) override;
  void reset() override;

 protected:
  // Interprets one payload by calling add_nalu / fu_* / corrupt.
  virtual void parse_payload(Bytes payload) = 0;
  virtual bool is_keyframe_nalu(Bytes nalu) const = 0;

  void add_nalu(Bytes nalu);
  // A fragmentation unit: `header` is the reconstructed NAL header, `type` the fragmented NAL type.
  void fu_fragment(Bytes header, uint8_t type, bool start, bool end, Bytes data);
  // Marks the current unit corrupt and counts the packet as malformed.
  void corrupt(std::string reason);

 private:
  void flush(std::vector<AccessUnit>& out);
  void begin(uint32_t timestamp);
  void drop_fragment(const char* reason);
  void mark_loss(int64_t lost, uint16_t sequence);

  AccessUnit unit_;
  bool in_unit_ = false;
  bool unit_corrupt_ = false;
  std::string unit_error_;
  ByteVector fu_;
  bool fu_active_ = false;
  uint8_t fu_type_ = 0;
};

}  // namespace sg::codec
