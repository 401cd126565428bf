#pragma once
// A real offer from GStreamer 1.22 webrtcbin (tests/e2e/whep_webrtcbin.py): bundle-policy max-bundle, recvonly
// H.265 video + Opus audio transceivers, after ICE gathering on 127.0.0.1. The audio section is bundle-only with
// port 0 (RFC 8843 6). LF line endings here; the parser accepts both.
#include <string_view>

namespace sg::webrtc::test {
inline constexpr std::string_view kWebrtcbinMaxBundleOffer = R"SDP(
v=0
o=- 1560936261011399604 0 IN IP4 0.0.0.0
s=-
t=0 0
a=ice-options:trickle
a=group:BUNDLE video0 audio1
m=video 9 UDP/TLS/RTP/SAVPF 98
c=IN IP4 0.0.0.0
a=setup:actpass
a=ice-ufrag:7qPile45zu0HI/lwJMe4rO7QZ5YenyvU
a=ice-pwd:gpd8V0WzB6RqU5YU6HUOjABy/VTVcOc7
a=rtcp-mux
a=rtcp-rsize
a=recvonly
a=rtpmap:98 H265/90000
a=rtcp-fb:98 nack pli
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 transport-cc
a=mid:video0
a=fingerprint:sha-256 C6:70:07:F3:B1:54:E7:8B:B7:0F:A8:26:FA:95:64:4E:EB:C1:76:84:58:FE:2D:34:DA:78:20:57:8A:39:09:21
a=rtcp-mux-only
a=candidate:1 1 UDP 2015364095 127.0.0.1 34367 typ host
a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active
a=candidate:3 1 TCP 1010828287 127.0.0.1 46047 typ host tcptype passive
m=audio 0 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=setup:actpass
a=ice-ufrag:7qPile45zu0HI/lwJMe4rO7QZ5YenyvU
a=ice-pwd:gpd8V0WzB6RqU5YU6HUOjABy/VTVcOc7
a=bundle-only
a=rtcp-mux
a=rtcp-rsize
a=recvonly
a=rtpmap:111 OPUS/48000/2
a=rtcp-fb:111 transport-cc
a=mid:audio1
a=fingerprint:sha-256 C6:70:07:F3:B1:54:E7:8B:B7:0F:A8:26:FA:95:64:4E:EB:C1:76:84:58:FE:2D:34:DA:78:20:57:8A:39:09:21
a=rtcp-mux-only

)SDP";
}  // namespace sg::webrtc::test
