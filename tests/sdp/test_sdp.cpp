#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sdp/sdp.hpp"

namespace sg::sdp {
namespace {

// ffmpeg 5.1 ANNOUNCE body: testsrc2 -> libx264, sine -> aac, -f rtsp
constexpr std::string_view kFfmpegAnnounceH264Aac =
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=No Name\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAPA8WLZY=,aOvjyyLA; profile-level-id=64001E\r\n"
    "a=control:streamid=0\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "b=AS:69\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/44100/1\r\n"
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=120856E500\r\n"
    "a=control:streamid=1\r\n";

// ffmpeg 5.1 ANNOUNCE body: libx265 + libopus
constexpr std::string_view kFfmpegAnnounceH265Opus =
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=No Name\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H265/90000\r\n"
    "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA/lZgJ; sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA/oAUCAWlllZpJMrwFoCAAAAMAIAAAAwPB; sprop-pps=RAHBcrRiQA==\r\n"
    "a=control:streamid=0\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:97 opus/48000/2\r\n"
    "a=control:streamid=1\r\n";

// gst-rtsp-server (GStreamer 1.22) DESCRIBE answer for /h264
constexpr std::string_view kGstDescribeH264Aac =
    "v=0\r\n"
    "o=- 2964860208115686446 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=control:*\r\n"
    "a=range:npt=now-\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:1024\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=framerate:25\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtoCgL/lwFqDAwNSgAAAAwCAAAAZR4sXUA==,aM48gA==;profile-level-id=42c01e;level-asymmetry-allowed=1\r\n"
    "a=control:stream=0\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:2880025225 cname:user200439719@host-3649a95c\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/44100/1\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=120856e500;sizelength=13;indexlength=3;indexdeltalength=3\r\n"
    "a=control:stream=1\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:2490959152 cname:user200439719@host-3649a95c\r\n";

// gst-rtsp-server (GStreamer 1.22) DESCRIBE answer for /h265
constexpr std::string_view kGstDescribeH265Opus =
    "v=0\r\n"
    "o=- 13694458986428829281 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=control:*\r\n"
    "a=range:npt=now-\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H265/90000\r\n"
    "a=framerate:25\r\n"
    "a=fmtp:96 sprop-vps=QAEMAf//BAgAAAMAmAgAAAMAAD+6AkA=;sprop-sps=QgEBBAgAAAMAmAgAAAMAAD+QAKBALj4kpS3SUmF/+AAIAAtQYGBgQAAAAwBAAAAGQg==;sprop-pps=RAHAcDBgMSA=\r\n"
    "a=control:stream=0\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:437718164 cname:user943126582@host-99b9515b\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:97 OPUS/48000/2\r\n"
    "a=fmtp:97 sprop-stereo=0;sprop-maxcapturerate=48000\r\n"
    "a=control:stream=1\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:945383297 cname:user943126582@host-99b9515b\r\n";

// A Chrome recvonly offer (video + audio, BUNDLE), written after what Chrome 120 produces for
// addTransceiver('video'/'audio', {direction: 'recvonly'}); LF line endings as some signalling layers deliver it.
constexpr std::string_view kChromeRecvonlyOffer =
    "v=0\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=group:BUNDLE 0 1\n"
    "a=extmap-allow-mixed\n"
    "a=msid-semantic: WMS\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=ice-ufrag:EsAw\n"
    "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\n"
    "a=ice-options:trickle\n"
    "a=fingerprint:sha-256 DA:7B:57:DC:28:CE:04:4F:31:79:85:C4:31:67:EB:27:58:29:ED:77:2A:0D:24:AE:ED:AD:30:BC:BD:F1:9C:02\n"
    "a=setup:actpass\n"
    "a=mid:0\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\n"
    "a=extmap:3 urn:3gpp:video-orientation\n"
    "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\n"
    "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\n"
    "a=recvonly\n"
    "a=rtcp-mux\n"
    "a=rtcp-rsize\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=rtcp-fb:96 goog-remb\n"
    "a=rtcp-fb:96 transport-cc\n"
    "a=rtcp-fb:96 ccm fir\n"
    "a=rtcp-fb:96 nack\n"
    "a=rtcp-fb:96 nack pli\n"
    "a=rtpmap:97 rtx/90000\n"
    "a=fmtp:97 apt=96\n"
    "a=rtpmap:102 H264/90000\n"
    "a=rtcp-fb:102 goog-remb\n"
    "a=rtcp-fb:102 transport-cc\n"
    "a=rtcp-fb:102 ccm fir\n"
    "a=rtcp-fb:102 nack\n"
    "a=rtcp-fb:102 nack pli\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\n"
    "a=rtpmap:103 rtx/90000\n"
    "a=fmtp:103 apt=102\n"
    "a=rtpmap:104 H264/90000\n"
    "a=rtcp-fb:104 goog-remb\n"
    "a=rtcp-fb:104 transport-cc\n"
    "a=rtcp-fb:104 ccm fir\n"
    "a=rtcp-fb:104 nack\n"
    "a=rtcp-fb:104 nack pli\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\n"
    "a=rtpmap:105 rtx/90000\n"
    "a=fmtp:105 apt=104\n"
    "a=rtpmap:106 H264/90000\n"
    "a=rtcp-fb:106 goog-remb\n"
    "a=rtcp-fb:106 transport-cc\n"
    "a=rtcp-fb:106 ccm fir\n"
    "a=rtcp-fb:106 nack\n"
    "a=rtcp-fb:106 nack pli\n"
    "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\n"
    "a=rtpmap:107 rtx/90000\n"
    "a=fmtp:107 apt=106\n"
    "a=rtpmap:108 H264/90000\n"
    "a=rtcp-fb:108 goog-remb\n"
    "a=rtcp-fb:108 transport-cc\n"
    "a=rtcp-fb:108 ccm fir\n"
    "a=rtcp-fb:108 nack\n"
    "a=rtcp-fb:108 nack pli\n"
    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\n"
    "a=rtpmap:109 rtx/90000\n"
    "a=fmtp:109 apt=108\n"
    "a=rtpmap:127 H264/90000\n"
    "a=rtcp-fb:127 goog-remb\n"
    "a=rtcp-fb:127 transport-cc\n"
    "a=rtcp-fb:127 ccm fir\n"
    "a=rtcp-fb:127 nack\n"
    "a=rtcp-fb:127 nack pli\n"
    "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\n"
    "a=rtpmap:125 rtx/90000\n"
    "a=fmtp:125 apt=127\n"
    "a=rtpmap:39 H264/90000\n"
    "a=rtcp-fb:39 goog-remb\n"
    "a=rtcp-fb:39 transport-cc\n"
    "a=rtcp-fb:39 ccm fir\n"
    "a=rtcp-fb:39 nack\n"
    "a=rtcp-fb:39 nack pli\n"
    "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\n"
    "a=rtpmap:40 rtx/90000\n"
    "a=fmtp:40 apt=39\n"
    "a=rtpmap:45 AV1/90000\n"
    "a=rtcp-fb:45 goog-remb\n"
    "a=rtcp-fb:45 transport-cc\n"
    "a=rtcp-fb:45 ccm fir\n"
    "a=rtcp-fb:45 nack\n"
    "a=rtcp-fb:45 nack pli\n"
    "a=fmtp:45 level-idx=5;profile=0;tier=0\n"
    "a=rtpmap:46 rtx/90000\n"
    "a=fmtp:46 apt=45\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=ice-ufrag:EsAw\n"
    "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\n"
    "a=ice-options:trickle\n"
    "a=fingerprint:sha-256 DA:7B:57:DC:28:CE:04:4F:31:79:85:C4:31:67:EB:27:58:29:ED:77:2A:0D:24:AE:ED:AD:30:BC:BD:F1:9C:02\n"
    "a=setup:actpass\n"
    "a=mid:1\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\n"
    "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\n"
    "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\n"
    "a=recvonly\n"
    "a=rtcp-mux\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=rtcp-fb:111 transport-cc\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n"
    "a=rtpmap:63 red/48000/2\n"
    "a=fmtp:63 111/111\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:13 CN/8000\n"
    "a=rtpmap:110 telephone-event/48000\n"
    "a=rtpmap:126 telephone-event/8000\n";

const Media& only_media(const SessionDescription& sd, std::string_view type) {
  for (const auto& m : sd.media)
    if (m.type == type) return m;
  static const Media kNone;
  ADD_FAILURE() << "no " << type << " section";
  return kNone;
}

void expect_round_trip(std::string_view text) {
  auto first = parse(text);
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = parse(first->serialize());
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(first->serialize(), second->serialize());
}

TEST(SdpParse, FfmpegAnnounceH264AacGivesTwoRtpMediaWithControls) {
  auto sd = parse(kFfmpegAnnounceH264Aac);
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->session_name, "No Name");
  ASSERT_TRUE(sd->connection.has_value());
  EXPECT_EQ(sd->connection->address, "127.0.0.1");
  ASSERT_EQ(sd->media.size(), 2u);
  const Media& video = sd->media[0];
  EXPECT_EQ(video.type, "video");
  EXPECT_EQ(video.port, 0);
  EXPECT_EQ(video.proto, "RTP/AVP");
  EXPECT_EQ(video.payload_types(), std::vector<uint8_t>{96});
  auto map = video.rtpmap(96);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(*map, (RtpMap{"H264", 90000, 1}));
  auto fmtp = video.fmtp(96);
  ASSERT_TRUE(fmtp.has_value());
  EXPECT_EQ(fmtp->get("packetization-mode"), "1");
  EXPECT_EQ(fmtp->get("sprop-parameter-sets"), "Z2QAHqzZQKAv+XARAAADAAEAAAMAPA8WLZY=,aOvjyyLA");
  EXPECT_EQ(fmtp->get("Profile-Level-ID"), "64001E");  // keys match case-insensitively
  EXPECT_EQ(video.control(), "streamid=0");
  const Media& audio = sd->media[1];
  EXPECT_EQ(audio.rtpmap(97), (RtpMap{"MPEG4-GENERIC", 44100, 1}));
  ASSERT_EQ(audio.bandwidths.size(), 1u);
  EXPECT_EQ(audio.bandwidths[0], (Bandwidth{"AS", 69}));
  EXPECT_EQ(audio.fmtp(97)->get("config"), "120856E500");
  EXPECT_EQ(audio.fmtp(97)->get("sizelength"), "13");
  EXPECT_EQ(audio.control(), "streamid=1");
}

TEST(SdpParse, FfmpegAnnounceH265OpusExposesSpropSetsAndOpusChannels) {
  auto sd = parse(kFfmpegAnnounceH265Opus);
  ASSERT_TRUE(sd.ok()) << sd.error();
  const Media& video = only_media(*sd, "video");
  EXPECT_EQ(video.rtpmap(96)->encoding, "H265");
  auto fmtp = video.fmtp(96);
  ASSERT_TRUE(fmtp.has_value());
  ASSERT_EQ(fmtp->entries().size(), 3u);
  EXPECT_EQ(fmtp->entries()[0].first, "sprop-vps");
  EXPECT_EQ(fmtp->get("sprop-pps"), "RAHBcrRiQA==");
  const Media& audio = only_media(*sd, "audio");
  EXPECT_EQ(audio.rtpmap(97), (RtpMap{"opus", 48000, 2}));
  EXPECT_FALSE(audio.fmtp(97).has_value());
}

TEST(SdpParse, GstreamerDescribeKeepsSessionAndMediaAttributesInOrder) {
  auto sd = parse(kGstDescribeH264Aac);
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->origin.session_id, "2964860208115686446");
  EXPECT_EQ(sd->origin.session_version, "1");
  EXPECT_EQ(sd->information, "rtsp-server");
  EXPECT_EQ(sd->control(), "*");
  ASSERT_EQ(sd->attributes.size(), 4u);
  EXPECT_EQ(sd->attributes.list()[3], (Attribute{"range", "npt=now-"}));
  const Media& video = sd->media.at(0);
  EXPECT_EQ(video.connection, (Connection{"IN", "IP4", "0.0.0.0"}));
  EXPECT_EQ(video.bandwidths.at(0).value, 1024u);
  EXPECT_EQ(video.fmtp(96)->get("profile-level-id"), "42c01e");
  EXPECT_EQ(video.control(), "stream=0");
  ASSERT_NE(video.attributes.first("ssrc"), nullptr);
  EXPECT_EQ(video.attributes.first("ssrc")->value, "2880025225 cname:user200439719@host-3649a95c");
  EXPECT_EQ(video.attributes.list().front().name, "rtpmap");
  EXPECT_EQ(sd->media.at(1).fmtp(97)->get("streamtype"), "5");
}

TEST(SdpParse, GstreamerDescribeH265OpusOriginIdBeyond63Bits) {
  auto sd = parse(kGstDescribeH265Opus);
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->origin.session_id, "13694458986428829281");
  EXPECT_EQ(sd->media.at(1).rtpmap(97), (RtpMap{"OPUS", 48000, 2}));
  EXPECT_EQ(sd->media.at(1).fmtp(97)->get("sprop-stereo"), "0");
}

TEST(SdpParse, ChromeOfferExposesBundleIceDtlsAndH264Variants) {
  auto sd = parse(kChromeRecvonlyOffer);
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->attributes.first("group")->value, "BUNDLE 0 1");
  ASSERT_EQ(sd->media.size(), 2u);
  const Media& video = sd->media[0];
  EXPECT_EQ(video.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(video.port, 9);
  EXPECT_EQ(video.mid(), "0");
  EXPECT_EQ(video.direction(), Direction::kRecvOnly);
  EXPECT_EQ(effective_direction(*sd, video), Direction::kRecvOnly);
  EXPECT_EQ(video.attributes.first("ice-ufrag")->value, "EsAw");
  EXPECT_EQ(video.attributes.first("ice-pwd")->value, "bP+XJMM09aR8AiX1jdukzR6Y");
  EXPECT_TRUE(video.attributes.first("fingerprint")->value.starts_with("sha-256 DA:7B:57"));
  EXPECT_TRUE(video.attributes.has("rtcp-mux"));
  EXPECT_EQ(video.attributes.all("extmap").size(), 5u);
  EXPECT_EQ(video.attributes.all("rtcp-fb").size(), 40u);
  EXPECT_EQ(video.payload_types().size(), 16u);
  // Pick the H.264 payload type a server would answer with: constrained baseline, packetization-mode=1.
  std::vector<uint8_t> h264_mode1;
  for (uint8_t pt : video.payload_types()) {
    auto map = video.rtpmap(pt);
    auto fmtp = video.fmtp(pt);
    if (map && map->encoding == "H264" && fmtp && fmtp->get("packetization-mode") == "1") h264_mode1.push_back(pt);
  }
  EXPECT_EQ(h264_mode1, (std::vector<uint8_t>{102, 106, 127, 39}));
  EXPECT_EQ(video.fmtp(106)->get("profile-level-id"), "42e01f");
  EXPECT_EQ(video.fmtp(103)->get("apt"), "102");
  const Media& audio = sd->media[1];
  EXPECT_EQ(audio.mid(), "1");
  EXPECT_EQ(audio.rtpmap(111), (RtpMap{"opus", 48000, 2}));
  EXPECT_EQ(audio.fmtp(111)->get("useinbandfec"), "1");
  EXPECT_EQ(audio.rtpmap(9), (RtpMap{"G722", 8000, 1}));
}

TEST(SdpParse, StaticPayloadTypeWithoutRtpmapUsesRfc3551Table) {
  auto sd = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=cam\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->media[0].rtpmap(0), (RtpMap{"PCMU", 8000, 1}));
  EXPECT_FALSE(sd->media[0].rtpmap(96).has_value());
}

TEST(SdpParse, MissingTimingIsNormalisedToZeroZero) {
  auto sd = parse("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=cam\nm=video 0 RTP/AVP 96\n");
  ASSERT_TRUE(sd.ok()) << sd.error();
  ASSERT_EQ(sd->timings.size(), 1u);
  EXPECT_EQ(sd->timings[0], Timing{});
}

TEST(SdpParse, ToleratesTrailingSpacesBlankLinesAndPortCount) {
  auto sd = parse("v=0  \r\n\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 49170/2 RTP/AVP 31\r\n\r\n");
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_EQ(sd->media[0].port, 49170);
  EXPECT_EQ(sd->media[0].port_count, 2u);
  EXPECT_EQ(sd->media[0].formats, std::vector<std::string>{"31"});
}

// Found by fuzz_sdp: "a=name :" kept the blank in the name, was written back as "a=name " and re-read as "name".
TEST(SdpParse, AttributeNameEndsBeforeBlanksAndRoundTrips) {
  auto sd = parse("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\nt=0 0\nm=video 0 RTP/AVP 96\na=recvonly :\na=tool :x\n");
  ASSERT_TRUE(sd.ok()) << sd.error();
  ASSERT_TRUE(sd->media[0].attributes.has("recvonly"));
  EXPECT_EQ(sd->media[0].attributes.first("recvonly")->value, "");
  ASSERT_TRUE(sd->media[0].attributes.has("tool"));
  EXPECT_EQ(sd->media[0].attributes.first("tool")->value, "x");
  auto again = parse(sd->serialize());
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *sd);
}

TEST(SdpParse, FmtpSplitsOnSemicolonsAndTrimsSpaces) {
  auto p = parse_format_parameters(" a=1 ;  B = two;;flag; c=x=y ;");
  ASSERT_EQ(p.entries().size(), 4u);
  EXPECT_EQ(p.get("b"), "two");
  EXPECT_EQ(p.get("flag"), "");
  EXPECT_EQ(p.get("c"), "x=y");
  EXPECT_EQ(p.entries()[1].first, "B");
  EXPECT_FALSE(p.get("d").has_value());
}

TEST(SdpParse, SessionDirectionIsTheDefaultForMediaWithoutOne) {
  auto sd = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\na=sendonly\r\nm=audio 9 RTP/AVP 0\r\n"
                  "m=video 9 RTP/AVP 96\r\na=inactive\r\n");
  ASSERT_TRUE(sd.ok()) << sd.error();
  EXPECT_FALSE(sd->media[0].direction().has_value());
  EXPECT_EQ(effective_direction(*sd, sd->media[0]), Direction::kSendOnly);
  EXPECT_EQ(effective_direction(*sd, sd->media[1]), Direction::kInactive);
}

TEST(SdpParse, RejectsBadMediaLineWithLineNumber) {
  auto sd = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=xyz\r\n");
  ASSERT_FALSE(sd.ok());
  EXPECT_EQ(sd.error(), "SDP line 4: bad m= line 'm=xyz'");
}

TEST(SdpParse, RejectsInputThatDoesNotStartWithVersion) {
  auto sd = parse("RTSP/1.0 200 OK\r\n");
  ASSERT_FALSE(sd.ok());
  EXPECT_NE(sd.error().find("SDP line 1"), std::string::npos) << sd.error();
  EXPECT_FALSE(parse("v=1\r\n").ok());
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("\r\n\r\n").ok());
}

TEST(SdpParse, RejectsMalformedFieldLines) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n";
  EXPECT_FALSE(parse("v=0\r\no=- 1 IN IP4 1.2.3.4\r\n").ok());
  EXPECT_FALSE(parse(head + "c=IN IP4\r\n").ok());
  EXPECT_FALSE(parse(head + "b=AS\r\n").ok());
  EXPECT_FALSE(parse(head + "b=AS:-5\r\n").ok());
  EXPECT_FALSE(parse(head + "t=0\r\n").ok());
  EXPECT_FALSE(parse(head + "r=7d 1h 0 25h\r\n").ok());
  EXPECT_FALSE(parse(head + "m=video 70000 RTP/AVP 96\r\n").ok());
  EXPECT_FALSE(parse(head + "a=\r\n").ok());
  EXPECT_FALSE(parse(head + "a=:x\r\n").ok());
  EXPECT_FALSE(parse(head + "hello\r\n").ok());
  EXPECT_FALSE(parse(head + std::string("a=x\0y\r\n", 7)).ok());
  EXPECT_FALSE(parse(head + "s=again\r\n").ok());
  EXPECT_FALSE(parse(head + "m=video 0 RTP/AVP 96\r\nt=0 0\r\n").ok());
  auto sd = parse(head + "t=0 0\r\nm=audio 0 RTP/AVP 0\r\nc=IN IP4\r\n");
  ASSERT_FALSE(sd.ok());
  EXPECT_EQ(sd.error(), "SDP line 6: bad c= line 'c=IN IP4'");
}

TEST(SdpParse, EnforcesSizeLimits) {
  ParseLimits limits;
  limits.max_lines = 5;
  EXPECT_FALSE(parse(kFfmpegAnnounceH264Aac, limits).ok());
  limits = {};
  limits.max_line_length = 40;
  auto sd = parse(kFfmpegAnnounceH264Aac, limits);
  ASSERT_FALSE(sd.ok());
  EXPECT_NE(sd.error().find("SDP line 9"), std::string::npos) << sd.error();
  limits = {};
  limits.max_media = 1;
  EXPECT_FALSE(parse(kFfmpegAnnounceH264Aac, limits).ok());
  limits = {};
  limits.max_bytes = 100;
  EXPECT_FALSE(parse(kFfmpegAnnounceH264Aac, limits).ok());
}

TEST(SdpSerialize, RealDescriptionsRoundTrip) {
  expect_round_trip(kFfmpegAnnounceH264Aac);
  expect_round_trip(kFfmpegAnnounceH265Opus);
  expect_round_trip(kGstDescribeH264Aac);
  expect_round_trip(kGstDescribeH265Opus);
  expect_round_trip(kChromeRecvonlyOffer);
}

TEST(SdpSerialize, CrlfInputIsReproducedByteForByte) {
  auto sd = parse(kGstDescribeH264Aac);
  ASSERT_TRUE(sd.ok());
  EXPECT_EQ(sd->serialize(), kGstDescribeH264Aac);
  auto ff = parse(kFfmpegAnnounceH265Opus);
  ASSERT_TRUE(ff.ok());
  EXPECT_EQ(ff->serialize(), kFfmpegAnnounceH265Opus);
}

TEST(SdpSerialize, LfInputComesOutWithCrlf) {
  auto sd = parse(kChromeRecvonlyOffer);
  ASSERT_TRUE(sd.ok());
  std::string expected;
  for (char c : kChromeRecvonlyOffer) {
    if (c == '\n') expected += '\r';
    expected += c;
  }
  EXPECT_EQ(sd->serialize(), expected);
}

TEST(SdpSerialize, BuiltDescriptionUsesRfcOrder) {
  SessionDescription sd;
  sd.session_name = "streamgate";
  sd.connection = Connection{"IN", "IP4", "0.0.0.0"};
  sd.attributes.add("control", "*");
  Media m;
  m.type = "video";
  m.proto = "RTP/AVP";
  m.formats = {"96"};
  m.bandwidths.push_back({"AS", 2000});
  m.attributes.add("rtpmap", "96 H264/90000");
  m.attributes.add("recvonly");
  sd.media.push_back(m);
  EXPECT_EQ(sd.serialize(),
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=streamgate\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"
            "m=video 0 RTP/AVP 96\r\nb=AS:2000\r\na=rtpmap:96 H264/90000\r\na=recvonly\r\n");
  auto back = parse(sd.serialize());
  ASSERT_TRUE(back.ok()) << back.error();
  sd.timings.push_back(Timing{});
  EXPECT_EQ(*back, sd);
}

}  // namespace
}  // namespace sg::sdp
