#include "codec/rtp_payload.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "codec/aac.hpp"
#include "codec/rtp_aac.hpp"
#include "codec/rtp_audio.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"
#include "codec/rtp_latm.hpp"

namespace sg::codec {

std::vector<Bytes> AccessUnit::frame_views() const {
  std::vector<Bytes> out;
  out.reserve(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) out.push_back(frame(i));
  return out;
}

void AccessUnit::add_frame(Bytes bytes) {
  frames.push_back({static_cast<uint32_t>(data.size()), static_cast<uint32_t>(bytes.size())});
  data.insert(data.end(), bytes.begin(), bytes.end());
}

void AccessUnit::clear() {
  timestamp = 0;
  keyframe = false;
  data.clear();
  frames.clear();
}

int64_t Depacketizer::track_sequence(uint16_t sequence) {
  if (!have_sequence_) {
    have_sequence_ = true;
    next_sequence_ = static_cast<uint16_t>(sequence + 1);
    return 0;
  }
  const auto ahead = static_cast<uint16_t>(sequence - next_sequence_);
  if (ahead >= 0x8000) {
    note_dropped(fmt::format("late or duplicate sequence {} (expected {})", sequence, next_sequence_));
    return -1;
  }
  next_sequence_ = static_cast<uint16_t>(sequence + 1);
  stats_.lost_packets += ahead;
  return ahead;
}

void Depacketizer::note_corrupt(std::string reason) {
  ++stats_.corrupt_packets;
  stats_.last_error = std::move(reason);
}

void Depacketizer::note_dropped(std::string reason) {
  ++stats_.dropped_packets;
  stats_.last_error = std::move(reason);
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::string* find_param(const FmtpParams& fmtp, std::string_view key) {
  for (const auto& [k, v] : fmtp) {
    if (lower(k) == key) return &v;
  }
  return nullptr;
}

// Reads an unsigned fmtp value; `fallback` when absent.
Result<uint32_t> uint_param(const FmtpParams& fmtp, std::string_view key, uint32_t fallback) {
  const std::string* v = find_param(fmtp, key);
  if (!v) return fallback;
  uint32_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || end != v->data() + v->size()) {
    return make_error(fmt::format("fmtp: bad {}='{}'", key, *v));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Depacketizer>> make_depacketizer(std::string_view encoding, const FmtpParams& fmtp) {
  const std::string name = lower(encoding);
  if (name == "h264") {
    auto mode = uint_param(fmtp, "packetization-mode", 0);
    if (!mode) return make_error(mode.error());
    if (*mode > 1) return make_error(fmt::format("H264: packetization-mode {} not supported", *mode));
    return std::unique_ptr<Depacketizer>(std::make_unique<H264Depacketizer>());
  }
  if (name == "h265" || name == "hevc") {
    auto don = uint_param(fmtp, "sprop-max-don-diff", 0);
    if (!don) return make_error(don.error());
    if (*don > 0) return make_error("H265: sprop-max-don-diff > 0 (DONL) not supported");
    return std::unique_ptr<Depacketizer>(std::make_unique<H265Depacketizer>());
  }
  if (name == "mpeg4-generic") {
    const std::string* mode = find_param(fmtp, "mode");
    if (!mode || (lower(*mode) != "aac-hbr" && lower(*mode) != "aac-lbr")) {
      return make_error("MPEG4-GENERIC: mode must be AAC-hbr or AAC-lbr");
    }
    AacRtpParams p;
    auto size = uint_param(fmtp, "sizelength", 0);
    auto index = uint_param(fmtp, "indexlength", 0);
    auto delta = uint_param(fmtp, "indexdeltalength", 0);
    if (!size) return make_error(size.error());
    if (!index) return make_error(index.error());
    if (!delta) return make_error(delta.error());
    if (*size < 1 || *size > 16 || *index > 8 || *delta > 8) {
      return make_error(fmt::format("MPEG4-GENERIC: unsupported sizelength={} indexlength={} indexdeltalength={}",
                                    *size, *index, *delta));
    }
    p.size_length = static_cast<int>(*size);
    p.index_length = static_cast<int>(*index);
    p.index_delta_length = static_cast<int>(*delta);
    if (const std::string* config = find_param(fmtp, "config")) {
      auto asc = aac::config_from_sdp(*config);
      if (!asc) return make_error(asc.error());
      auto parsed = aac::parse_audio_specific_config(*asc);
      if (!parsed) return make_error(parsed.error());
      p.samples_per_frame = parsed->samples_per_frame;
    }
    auto duration = uint_param(fmtp, "constantduration", p.samples_per_frame);
    if (!duration) return make_error(duration.error());
    p.samples_per_frame = *duration;
    return std::unique_ptr<Depacketizer>(std::make_unique<AacDepacketizer>(p));
  }
  if (name == "mp4a-latm") {
    auto config = latm_config_from_fmtp(fmtp);
    if (!config) return make_error(config.error());
    return std::unique_ptr<Depacketizer>(std::make_unique<LatmDepacketizer>(std::move(*config)));
  }
  if (name == "opus") return std::unique_ptr<Depacketizer>(std::make_unique<FrameDepacketizer>());
  if (name == "pcmu" || name == "pcma") return std::unique_ptr<Depacketizer>(std::make_unique<FrameDepacketizer>());
  return make_error(fmt::format("no depacketizer for encoding '{}'", encoding));
}

}  // namespace sg::codec
