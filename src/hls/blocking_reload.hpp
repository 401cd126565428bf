#pragma once
// Blocking playlist reload (draft-pantos-hls-rfc8216bis 6.2.5.2): decides, for a request carrying _HLS_msn /
// _HLS_part, whether the current playlist already satisfies it, whether to hold the request, or whether to reject
// it. Pure: the caller re-evaluates whenever a part or segment completes and applies its own timeout.
#include <cstdint>
#include <optional>

namespace sg::hls {

// Where the playlist is now.
struct PlaylistPosition {
  uint64_t next_msn = 0;       // Media Sequence Number of the segment being built (last complete one + 1)
  uint64_t parts_in_next = 0;  // complete parts already published for that segment
  double part_target = 0.2;    // seconds
};

enum class ReloadDecision {
  Ready,       // answer with the current playlist
  Wait,        // hold the request until the playlist advances
  BadRequest,  // 400: too far in the future, or _HLS_part without _HLS_msn
};

// Requests for segments that are already complete (or have scrolled out of the window) are Ready. A request is
// BadRequest if _HLS_msn is more than two past the last complete segment, or if _HLS_part is more than the Advance
// Part Limit (3 / PART-TARGET when PART-TARGET < 1 s, else 3) parts past the last published part.
ReloadDecision decide_reload(const PlaylistPosition& now, std::optional<uint64_t> msn, std::optional<uint64_t> part);

}  // namespace sg::hls
