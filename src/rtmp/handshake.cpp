#include "rtmp/handshake.hpp"

#include <algorithm>

namespace sg::rtmp {

Result<ByteVector> server_handshake(Bytes c0c1, Bytes random) {
  if (c0c1.size() != 1 + kHandshakeSize) return make_error("RTMP handshake: C0+C1 must be 1537 bytes");
  if (u8(c0c1, 0) != kRtmpVersion)
    return make_error("RTMP handshake: version " + std::to_string(u8(c0c1, 0)) + " (only 3, plain RTMP)");
  if (random.size() != kHandshakeSize - 8) return make_error("RTMP handshake: S1 needs 1528 random bytes");
  ByteVector out;
  out.reserve(1 + 2 * kHandshakeSize);
  append8(out, kRtmpVersion);
  append32(out, 0);  // S1 time
  append32(out, 0);  // S1 zero: no digest scheme
  append(out, random);
  append(out, c0c1.subspan(1));  // S2 = C1 (5.2.4: time, time2 and random echo)
  return out;
}

ByteVector client_handshake(Bytes random) {
  ByteVector out;
  append8(out, kRtmpVersion);
  append32(out, 0);
  append32(out, 0);
  ByteVector pad(kHandshakeSize - 8);
  std::copy_n(random.begin(), std::min(random.size(), pad.size()), pad.begin());
  append(out, pad);
  return out;
}

}  // namespace sg::rtmp
