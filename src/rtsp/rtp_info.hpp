#pragma once
// The RTP-Info header of a PLAY response (RFC 2326 12.33; RFC 7826 18.45 keeps the meaning): per stream, the
// sequence number of its first packet and the RTP timestamp that stands for the start of the Range.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace sg::rtsp {

struct RtpInfo {
  std::string url;  // the stream's control URL as the client used it in SETUP
  std::optional<uint16_t> seq;
  std::optional<uint32_t> rtptime;
};

// "url=rtsp://h/s/trackID=0;seq=1;rtptime=2,url=..." (entries with an empty url are skipped).
std::string format_rtp_info(std::span<const RtpInfo> streams);

}  // namespace sg::rtsp
