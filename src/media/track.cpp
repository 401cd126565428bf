#include "media/track.hpp"

#include <algorithm>
#include <cctype>

namespace sg::media {

std::string_view to_string(MediaKind kind) { return kind == MediaKind::Video ? "video" : "audio"; }

std::string_view to_string(CodecId codec) {
  switch (codec) {
    case CodecId::H264: return "H264";
    case CodecId::H265: return "H265";
    case CodecId::AAC: return "AAC";
    case CodecId::Opus: return "Opus";
    case CodecId::PCMU: return "PCMU";
    case CodecId::PCMA: return "PCMA";
    case CodecId::Unknown: break;
  }
  return "unknown";
}

CodecId codec_from_rtpmap(std::string_view encoding) {
  std::string e(encoding);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::toupper(c); });
  if (e == "H264") return CodecId::H264;
  if (e == "H265" || e == "HEVC") return CodecId::H265;
  if (e == "MPEG4-GENERIC" || e == "MP4A-LATM") return CodecId::AAC;
  if (e == "OPUS") return CodecId::Opus;
  if (e == "PCMU") return CodecId::PCMU;
  if (e == "PCMA") return CodecId::PCMA;
  return CodecId::Unknown;
}

}  // namespace sg::media
