#pragma once
// Bytes captured from real peers (see the comments), shared by the RTSP tests.
#include <string_view>

namespace sg::rtsp::captures {

// ffmpeg 5.1.9 (Lavf59.27.100) publishing H.264 + AAC:
// `ffmpeg -re -f lavfi -i testsrc2 -f lavfi -i sine -c:v libx264 -c:a aac -rtsp_transport tcp -f rtsp
//  rtsp://127.0.0.1:18554/test`, captured with a Python socket listener answering 200 OK.
inline constexpr std::string_view kFfmpegOptions =
    "OPTIONS rtsp://127.0.0.1:18554/test RTSP/1.0\r\n"
    "CSeq: 1\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "\r\n";

inline constexpr std::string_view kFfmpegAnnounceSdp =
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=No Name\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QACqzZQo35MBEAAAMAAQAAAwAUDxIllg==,aOvjyyLA; "
    "profile-level-id=64000A\r\n"
    "a=control:streamid=0\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "b=AS:48\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/8000/1\r\n"
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=158856E500\r\n"
    "a=control:streamid=1\r\n";

inline constexpr std::string_view kFfmpegAnnounceHead =
    "ANNOUNCE rtsp://127.0.0.1:18554/test RTSP/1.0\r\n"
    "Content-Type: application/sdp\r\n"
    "CSeq: 2\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "Content-Length: 498\r\n"
    "\r\n";

inline constexpr std::string_view kFfmpegSetupVideo =
    "SETUP rtsp://127.0.0.1:18554/test/streamid=0 RTSP/1.0\r\n"
    "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n"
    "CSeq: 3\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "\r\n";

inline constexpr std::string_view kFfmpegSetupAudio =
    "SETUP rtsp://127.0.0.1:18554/test/streamid=1 RTSP/1.0\r\n"
    "Transport: RTP/AVP/TCP;unicast;interleaved=2-3;mode=record\r\n"
    "CSeq: 4\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "Session: 12345678\r\n"
    "\r\n";

inline constexpr std::string_view kFfmpegRecord =
    "RECORD rtsp://127.0.0.1:18554/test RTSP/1.0\r\n"
    "Range: npt=0.000-\r\n"
    "CSeq: 5\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "Session: 12345678\r\n"
    "\r\n";

// The first two interleaved frames ffmpeg sent after RECORD: RTCP sender reports on channels 1 and 3.
inline constexpr std::string_view kFfmpegRtcpSrChannel1Hex =
    "2401001c80c80006687816e8eeb0c5c57d70a3d7b624804c0000000000000000";
inline constexpr std::string_view kFfmpegRtcpSrChannel3Hex =
    "2403001c80c80006d3b40261eeb0c5c57eb851eb1f86c44a0000000000000000";

inline constexpr std::string_view kFfmpegTeardown =
    "TEARDOWN rtsp://127.0.0.1:18554/test RTSP/1.0\r\n"
    "CSeq: 6\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "Session: 12345678\r\n"
    "\r\n";

// ffmpeg publishing over UDP (default transport) asks for client ports.
inline constexpr std::string_view kFfmpegUdpTransport = "RTP/AVP/UDP;unicast;client_port=14770-14771;mode=record";

// ffmpeg 5.1.9 pulling rtsp://admin:s%40cret@127.0.0.1:1855x/cam1 after a 401 with the challenge shown.
inline constexpr std::string_view kFfmpegDigestChallenge = R"x(Digest realm="streamgate", nonce="0a4f113b9c2d4e5f")x";
inline constexpr std::string_view kFfmpegDigestAuthorization =
    R"x(Digest username="admin", realm="streamgate", nonce="0a4f113b9c2d4e5f", uri="rtsp://127.0.0.1:18556/cam1", )x"
    R"x(response="656e5c9f6a30da6bad7664b4cacb5b2f")x";
inline constexpr std::string_view kFfmpegDigestQopChallenge =
    R"x(Digest realm="IP Camera(23456)", nonce="d41d8cd98f00b204e9800998ecf8427e", qop="auth", algorithm="MD5")x";
inline constexpr std::string_view kFfmpegDigestQopAuthorization =
    R"x(Digest username="admin", realm="IP Camera(23456)", nonce="d41d8cd98f00b204e9800998ecf8427e", )x"
    R"x(uri="rtsp://127.0.0.1:18557/cam1", response="fc64324f84e639c416ccec80e337d7c5", algorithm="MD5", )x"
    R"x(qop="auth", cnonce="94cd87fded350a25", nc=00000001)x";
inline constexpr std::string_view kFfmpegBasicAuthorization = "Basic YWRtaW46c0BjcmV0";

}  // namespace sg::rtsp::captures
