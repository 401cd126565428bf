#include "rtsp/rtp_info.hpp"

namespace sg::rtsp {

std::string format_rtp_info(std::span<const RtpInfo> streams) {
  std::string out;
  for (const auto& s : streams) {
    if (s.url.empty()) continue;
    if (!out.empty()) out += ',';
    out += "url=" + s.url;
    if (s.seq) out += ";seq=" + std::to_string(*s.seq);
    if (s.rtptime) out += ";rtptime=" + std::to_string(*s.rtptime);
  }
  return out;
}

}  // namespace sg::rtsp
