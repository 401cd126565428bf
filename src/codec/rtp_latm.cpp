#include "codec/rtp_latm.hpp"

#include <fmt/format.h>

#include <charconv>

namespace sg::codec {

Result<latm::StreamMuxConfig> latm_config_from_fmtp(const FmtpParams& fmtp) {
  if (auto it = fmtp.find("cpresent"); it != fmtp.end() && it->second != "0") {
    return make_error(fmt::format("MP4A-LATM: cpresent={} (config in the payload) not supported", it->second));
  }
  if (auto it = fmtp.find("object"); it != fmtp.end()) {
    unsigned object = 0;
    const std::string& v = it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), object);
    if (ec != std::errc{} || end != v.data() + v.size() || object == 0 || object > 95) {
      return make_error(fmt::format("MP4A-LATM: bad object={}", v));
    }
  }
  auto it = fmtp.find("config");
  if (it == fmtp.end()) return make_error("MP4A-LATM: no config= (cpresent=0 needs it)");
  auto config = latm::stream_mux_config_from_sdp(it->second);
  if (!config) return make_error("MP4A-LATM: " + config.error());
  return config;
}

void LatmDepacketizer::reset() {
  fragment_.clear();
  fragment_active_ = false;
  forget_sequence();
}

void LatmDepacketizer::drop_fragment(std::string reason) {
  fragment_.clear();
  fragment_active_ = false;
  ++stats_.dropped_units;
  stats_.last_error = std::move(reason);
}

void LatmDepacketizer::emit(Bytes elements, uint32_t timestamp, std::vector<AccessUnit>& out) {
  frames_.clear();
  if (auto s = latm::split_audio_mux_elements(elements, config_, frames_); !s) {
    ++stats_.dropped_units;
    return note_corrupt(s.error());
  }
  for (size_t k = 0; k < frames_.size(); ++k) {
    AccessUnit au;
    au.timestamp = timestamp + static_cast<uint32_t>(k) * config_.asc.samples_per_frame;
    au.keyframe = true;
    au.add_frame(frames_[k]);
    ++stats_.units;
    out.push_back(std::move(au));
  }
}

void LatmDepacketizer::push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker,
                            std::vector<AccessUnit>& out) {
  ++stats_.packets;
  const int64_t lost = track_sequence(sequence);
  if (lost < 0) return;
  if (fragment_active_ && lost > 0) drop_fragment(fmt::format("LATM: fragment lost before sequence {}", sequence));
  if (fragment_active_ && timestamp != fragment_timestamp_) drop_fragment("LATM: fragment without its last part");
  if (payload.empty()) return note_corrupt(fmt::format("LATM: empty payload at sequence {}", sequence));

  if (!fragment_active_ && marker) return emit(payload, timestamp, out);  // whole elements, no copy
  if (fragment_.size() + payload.size() > kMaxElementBytes) {
    drop_fragment("LATM: fragmented element too large");
    return note_corrupt("LATM: fragmented element too large");
  }
  if (!fragment_active_) {
    fragment_active_ = true;
    fragment_timestamp_ = timestamp;
  }
  fragment_.insert(fragment_.end(), payload.begin(), payload.end());
  if (!marker) return;
  ByteVector element = std::move(fragment_);
  fragment_.clear();
  fragment_active_ = false;
  emit(element, timestamp, out);
}

}  // namespace sg::codec
