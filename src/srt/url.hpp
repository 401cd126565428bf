#pragma once
// srt:// URLs of pull sources (SRT caller mode): srt://host:port[?key=value&...].
//
// Query keys follow libsrt's own URI convention (srt-live-transmit) and MediaMTX's examples:
//  - streamid:   sent in the handshake (SRTO_STREAMID), percent-decoded (a `#!::r=cam` id is written `%23!::r=cam`
//                since '#' starts a fragment); what the remote server expects, e.g. `read:cam` for MediaMTX or
//                streamgate, `#!::r=cam,m=request` for servers following the SRT access control guidelines;
//  - passphrase: 10..79 characters (SRTO_PASSPHRASE), empty = no encryption;
//  - latency:    milliseconds (SRTO_LATENCY), 20..10000 — libsrt's unit, not ffmpeg's (ffmpeg's srt:// takes
//                microseconds);
//  - mode:       only `caller` (the default): a pull source connects out.
// Any other key is an error naming the supported ones, so a typo is not silently ignored. A port is required (SRT
// has no standard port). Credentials before the host are refused: SRT has no user info; they go in the stream id.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::srt {

struct SrtUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string stream_id;
  std::string passphrase;
  std::optional<int> latency_ms;
};

inline constexpr int kMinLatencyMs = 20;
inline constexpr int kMaxLatencyMs = 10000;

Result<SrtUrl> parse_srt_url(std::string_view url);

}  // namespace sg::srt
