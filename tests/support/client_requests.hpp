// What test clients send, in one place: an HTTP Basic credential and a minimal WHEP offer.
#pragma once

#include <string>

#include "base/bytes.hpp"

namespace sg::test {

// "Basic <base64(user:pass)>" (RFC 7617), the value of an Authorization header.
inline std::string basic_authorization(const std::string& user, const std::string& pass) {
  return "Basic " + base64_encode(as_bytes(user + ":" + pass));
}

// A minimal browser-like WHEP offer: one H.264 video section (real Chromium offers are in
// tests/webrtc/chrome_offer.hpp). Its fingerprint belongs to no key: enough for signaling, not for DTLS.
inline const std::string kMinimalOffer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:CLNT\r\na=ice-pwd:clientpasswordclientpw\r\n"
    "a=fingerprint:sha-256 D8:33:79:28:6F:9C:4B:A6:08:77:3D:34:25:BA:7B:0D:AB:A0:54:97:81:FC:C6:90:96:38:8A:66:A2:AF:79:3A\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";

}  // namespace sg::test
