#include "codec/rtp_video.hpp"

#include <fmt/format.h>

namespace sg::codec {

void VideoDepacketizer::push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker,
                             std::vector<AccessUnit>& out) {
  ++stats_.packets;
  const int64_t lost = track_sequence(sequence);
  if (lost < 0) return;
  if (lost > 0 && in_unit_) {
    // The lost packets may have ended the unit in progress (its marker) or belong to it.
    mark_loss(lost, sequence);
  }
  if (in_unit_ && timestamp != unit_.timestamp) flush(out);  // RFC 6184 5.1: a new timestamp starts a new AU
  if (!in_unit_) begin(timestamp);
  // The lost packets may also have started this unit: it cannot be trusted either.
  if (lost > 0) mark_loss(lost, sequence);
  parse_payload(payload);
  if (unit_corrupt_) ++stats_.dropped_packets;
  if (marker) flush(out);
}

void VideoDepacketizer::mark_loss(int64_t lost, uint16_t sequence) {
  if (fu_active_) drop_fragment("FU fragment lost");
  unit_corrupt_ = true;
  unit_error_ = fmt::format("{} packet(s) lost before sequence {}", lost, sequence);
  stats_.last_error = unit_error_;
}

void VideoDepacketizer::reset() {
  unit_.clear();
  in_unit_ = false;
  unit_corrupt_ = false;
  fu_.clear();
  fu_active_ = false;
  forget_sequence();
}

void VideoDepacketizer::begin(uint32_t timestamp) {
  unit_.clear();
  unit_.timestamp = timestamp;
  in_unit_ = true;
  unit_corrupt_ = false;
  unit_error_.clear();
}

void VideoDepacketizer::flush(std::vector<AccessUnit>& out) {
  if (!in_unit_) return;
  if (fu_active_) drop_fragment("FU without end bit");
  if (unit_corrupt_ || unit_.frames.empty()) {
    if (unit_corrupt_) {
      ++stats_.dropped_units;
      stats_.last_error = fmt::format("access unit at timestamp {} dropped: {}", unit_.timestamp, unit_error_);
    }
  } else {
    unit_.keyframe = false;
    for (size_t i = 0; i < unit_.frame_count(); ++i) {
      if (is_keyframe_nalu(unit_.frame(i))) unit_.keyframe = true;
    }
    ++stats_.units;
    out.push_back(std::move(unit_));
  }
  unit_.clear();
  in_unit_ = false;
  unit_corrupt_ = false;
}

void VideoDepacketizer::add_nalu(Bytes nalu) {
  if (unit_corrupt_) return;
  if (nalu.empty()) return corrupt("empty NAL unit");
  if (fu_active_) drop_fragment("FU interrupted by another packet");
  if (unit_.data.size() + nalu.size() > kMaxUnitBytes || unit_.frames.size() >= kMaxUnitNalus) {
    return corrupt("access unit too large");
  }
  unit_.add_frame(nalu);
}

void VideoDepacketizer::fu_fragment(Bytes header, uint8_t type, bool start, bool end, Bytes data) {
  if (unit_corrupt_) {
    fu_active_ = false;
    return;
  }
  if (start) {
    if (fu_active_) drop_fragment("FU start before the previous FU ended");
    if (unit_corrupt_) return;
    fu_.assign(header.begin(), header.end());
    fu_active_ = true;
    fu_type_ = type;
  } else if (!fu_active_) {
    return corrupt("FU continuation without a start");
  } else if (type != fu_type_) {
    return drop_fragment("FU type changed within a NAL unit");
  }
  if (unit_.data.size() + fu_.size() + data.size() > kMaxUnitBytes) return drop_fragment("FU NAL unit too large");
  fu_.insert(fu_.end(), data.begin(), data.end());
  if (end) {
    fu_active_ = false;
    if (unit_.frames.size() >= kMaxUnitNalus) return corrupt("access unit too large");
    unit_.add_frame(fu_);
  }
}

void VideoDepacketizer::drop_fragment(const char* reason) {
  fu_active_ = false;
  fu_.clear();
  unit_corrupt_ = true;
  unit_error_ = reason;
  stats_.last_error = reason;
}

void VideoDepacketizer::corrupt(std::string reason) {
  fu_active_ = false;
  unit_corrupt_ = true;
  unit_error_ = reason;
  note_corrupt(std::move(reason));
}

}  // namespace sg::codec
