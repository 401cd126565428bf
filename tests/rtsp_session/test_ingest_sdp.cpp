// SDP -> tracks for RTP sources: what an ANNOUNCE (UnsupportedMedia::Refuse) or a DESCRIBE answer
// (UnsupportedMedia::Skip) turns into, for the SDPs real publishers send.
#include <gtest/gtest.h>

#include "rtsp_session/ingest.hpp"

namespace sg::rtsp_session {
namespace {

// The ANNOUNCE body of GStreamer 1.22 rtspclientsink publishing x264enc + avenc_aac (rtpmp4apay: MP4A-LATM).
constexpr std::string_view kGstAnnounce =
    "v=0\r\n"
    "o=- 328500146 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtspclientsink\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "m=audio 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 MP4A-LATM/44100\r\n"
    "a=fmtp:96 cpresent=0;config=40002410adca00\r\n"
    "a=control:stream=1\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:665744762 cname:user3084278171@host-c7b3134\r\n"
    "m=video 0 RTP/AVP 99\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:2097\r\n"
    "a=rtpmap:99 H264/90000\r\n"
    "a=framerate:30\r\n"
    "a=fmtp:99 packetization-mode=1;sprop-parameter-sets=Z/QADZGWQFB+wFqDAwMgAAADACAAAAeR4oVJ,aOvMRIRA\r\n"
    "a=control:stream=0\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n"
    "a=ssrc:409726987 cname:user3084278171@host-c7b3134\r\n";

Result<std::vector<SdpTrack>> tracks(std::string_view text, UnsupportedMedia unsupported) {
  auto sdp = sdp::parse(text);
  EXPECT_TRUE(sdp.ok()) << sdp.error();
  if (!sdp) return make_error(sdp.error());
  return tracks_from_sdp(*sdp, "test", unsupported);
}

std::string with_audio(std::string_view audio_lines) {
  std::string s(kGstAnnounce);
  const auto begin = s.find("m=audio");
  const auto end = s.find("m=video");
  s.replace(begin, end - begin, audio_lines);
  return s;
}

TEST(IngestSdp, GStreamerLatmAudioBecomesAnAacTrackWithItsAudioSpecificConfig) {
  auto t = tracks(kGstAnnounce, UnsupportedMedia::Refuse);
  ASSERT_TRUE(t.ok()) << t.error();
  ASSERT_EQ(t->size(), 2u);
  const media::Track& audio = (*t)[0].track;
  EXPECT_EQ(audio.kind, media::MediaKind::Audio);
  EXPECT_EQ(audio.codec, media::CodecId::AAC);
  EXPECT_EQ(audio.encoding_name, "MP4A-LATM");
  EXPECT_EQ(audio.clock_rate, 44100u);
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(to_hex(audio.audio_config), "120856e500");        // the AudioSpecificConfig inside the StreamMuxConfig
  EXPECT_EQ(audio.fmtp, "cpresent=0;config=40002410adca00");  // RTSP readers get the LATM stream as published
  EXPECT_EQ((*t)[0].control, "stream=1");
  EXPECT_EQ((*t)[1].track.codec, media::CodecId::H264);
}

TEST(IngestSdp, AnnounceWithATrackThatCannotBeCarriedIsRefusedNamingIt) {
  const std::string unknown =
      with_audio("m=audio 0 RTP/AVP 97\r\na=rtpmap:97 X-UNKNOWN/8000\r\na=control:stream=1\r\n");
  auto refused = tracks(unknown, UnsupportedMedia::Refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("audio X-UNKNOWN"), std::string::npos) << refused.error();
  // A pulled camera's extra section is skipped: the rest is still carried.
  auto skipped = tracks(unknown, UnsupportedMedia::Skip);
  ASSERT_TRUE(skipped.ok()) << skipped.error();
  ASSERT_EQ(skipped->size(), 1u);
  EXPECT_EQ((*skipped)[0].track.codec, media::CodecId::H264);
}

TEST(IngestSdp, LatmWithInBandConfigIsRefusedWithTheReason) {
  const std::string in_band = with_audio(
      "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/44100\r\na=fmtp:96 cpresent=1\r\na=control:stream=1\r\n");
  auto refused = tracks(in_band, UnsupportedMedia::Refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("MP4A-LATM"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("cpresent=1"), std::string::npos) << refused.error();
}

TEST(IngestSdp, UnsupportedModeOfAKnownCodecIsRefused) {
  const std::string lbr_without_sizes = with_audio(
      "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MPEG4-GENERIC/48000/2\r\na=fmtp:96 mode=CELP-cbr;config=1190\r\n"
      "a=control:stream=1\r\n");
  auto refused = tracks(lbr_without_sizes, UnsupportedMedia::Refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("mode"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace sg::rtsp_session
