#include "hls/blocking_reload.hpp"

#include <cmath>

namespace sg::hls {

ReloadDecision decide_reload(const PlaylistPosition& now, std::optional<uint64_t> msn, std::optional<uint64_t> part) {
  if (!msn) return part ? ReloadDecision::BadRequest : ReloadDecision::Ready;
  // The last complete segment is next_msn - 1; more than two past it is too far ahead.
  if (*msn > now.next_msn + 1) return ReloadDecision::BadRequest;
  if (*msn < now.next_msn) return ReloadDecision::Ready;
  if (!part) return ReloadDecision::Wait;  // segment msn is not complete yet
  if (*msn == now.next_msn && *part < now.parts_in_next) return ReloadDecision::Ready;
  const double limit = now.part_target > 0 && now.part_target < 1.0 ? std::floor(3.0 / now.part_target) : 3.0;
  // Parts beyond the last published one; for the segment after next, at least part + 1 (the parts still to come
  // in the current segment are unknown).
  const uint64_t ahead = *msn == now.next_msn ? *part + 1 - now.parts_in_next : *part + 1;
  if (static_cast<double>(ahead) > limit) return ReloadDecision::BadRequest;
  return ReloadDecision::Wait;
}

}  // namespace sg::hls
