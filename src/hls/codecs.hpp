#pragma once
// RFC 6381 codec strings for the CODECS attribute of EXT-X-STREAM-INF (RFC 8216 4.3.4.2).
#include <string>

#include "base/result.hpp"
#include "mp4/sample.hpp"

namespace sg::hls {

// avc1.PPCCLL from the SPS (profile_idc, constraint flags, level_idc; falls back to the avcC record),
// hvc1.<space><profile>.<compat>.<tier><level>[.<constraint bytes>] (ISO/IEC 14496-15 E.3) from the SPS
// profile_tier_level (falls back to the hvcC record), mp4a.40.<object type> from the AudioSpecificConfig, "opus".
Result<std::string> codec_string(const mp4::TrackInfo& track);

}  // namespace sg::hls
