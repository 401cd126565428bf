#pragma once
// RTMP handshake (RTMP specification 5.2): C0/S0 is the version byte (3), C1/S1 and C2/S2 are 1536 bytes each.
// The server answers C0+C1 with S0+S1+S2 at once and then waits for C2.
//
// Plain handshake only: S1's version field is zero, which tells Flash-era clients (ffmpeg's rtmpproto, librtmp in
// OBS) not to look for the HMAC digest scheme; they check nothing else. RTMPE (C0 = 6) is refused.
#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::rtmp {

inline constexpr uint8_t kRtmpVersion = 3;
inline constexpr size_t kHandshakeSize = 1536;

// From C0+C1 (1537 bytes) and 1528 bytes of the server's random data: S0+S1+S2 (3073 bytes). S2 echoes C1.
Result<ByteVector> server_handshake(Bytes c0c1, Bytes random);
// A client's C0+C1 (for RTMP pull sources and tests): version 3, time 0, zero version field, `random`.
ByteVector client_handshake(Bytes random);

}  // namespace sg::rtmp
