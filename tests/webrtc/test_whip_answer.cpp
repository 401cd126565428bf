// WHIP (RFC 9725) answers to publishers' offers: a real Chromium offer is answered recvonly with H.264 + Opus and
// the feedback we act on; offers we cannot take as a whole are refused with the reason.
#include <gtest/gtest.h>

#include <regex>

#include "chrome_publish_offer.hpp"
#include "webrtc/answer.hpp"

namespace sg::webrtc {
namespace {

AnswerParams params() {
  AnswerParams p;
  p.ufrag = "srvufrag";
  p.pwd = "0123456789abcdefghijklmn";
  p.fingerprint = "AA:BB:CC";
  p.candidates = {{"127.0.0.1", 8189}};
  return p;
}

sdp::SessionDescription parse(std::string_view text) {
  auto s = sdp::parse(text);
  EXPECT_TRUE(s.ok()) << s.error();
  return s.ok() ? *s : sdp::SessionDescription{};
}

// A minimal publisher offer with the given m= sections (each a full block of lines).
std::string offer_with(const std::string& sections) {
  return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
         "a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n" +
         sections;
}

const std::string kOpus =
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n";

TEST(WhipAnswer, ChromeOfferIsAnsweredRecvonlyWithConstrainedBaselineH264AndOpus) {
  auto offer = parse(test::kChromePublishOffer);
  EXPECT_EQ(unsupported_publish(offer), std::nullopt);
  auto answer = build_whip_answer(offer, params());
  ASSERT_TRUE(answer.ok()) << answer.error();
  ASSERT_EQ(answer->tracks.size(), 2u);
  // Chromium lists the microphone first.
  EXPECT_FALSE(answer->tracks[0].video);
  EXPECT_EQ(answer->tracks[0].track.codec, media::CodecId::Opus);
  EXPECT_EQ(answer->tracks[0].track.payload_type, 111);
  EXPECT_EQ(answer->tracks[0].track.clock_rate, 48000u);
  EXPECT_EQ(answer->tracks[0].track.channels, 2);
  EXPECT_EQ(answer->tracks[0].track.fmtp, "minptime=10;useinbandfec=1");
  EXPECT_TRUE(answer->tracks[1].video);
  EXPECT_EQ(answer->tracks[1].track.codec, media::CodecId::H264);
  // 102 (42001f, Baseline) comes first in the offer; 108 (42e01f) is constrained baseline.
  EXPECT_EQ(answer->tracks[1].track.payload_type, 108);
  EXPECT_EQ(answer->tracks[1].track.fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  EXPECT_EQ(answer->remote_ufrag, "sasT");
  EXPECT_FALSE(answer->remote_fingerprint.empty());

  auto parsed = parse(answer->sdp);
  EXPECT_TRUE(parsed.attributes.has("ice-lite"));
  ASSERT_EQ(parsed.media.size(), 2u);
  for (const auto& m : parsed.media) {
    EXPECT_EQ(m.direction(), sdp::Direction::kRecvOnly);
    EXPECT_EQ(m.payload_types().size(), 1u);
    EXPECT_TRUE(m.attributes.has("rtcp-mux"));
    EXPECT_FALSE(m.attributes.has("extmap"));
  }
  const std::string& s = answer->sdp;
  for (const char* fb : {"a=rtcp-fb:108 nack\r\n", "a=rtcp-fb:108 nack pli\r\n", "a=rtcp-fb:108 ccm fir\r\n",
                         "a=rtcp-fb:108 goog-remb\r\n"})
    EXPECT_NE(s.find(fb), std::string::npos) << fb;
  EXPECT_EQ(s.find("transport-cc"), std::string::npos);
  EXPECT_EQ(s.find("rtx"), std::string::npos);
  EXPECT_NE(s.find("a=candidate:1 1 udp"), std::string::npos);
  EXPECT_NE(s.find("a=setup:passive"), std::string::npos);
}

TEST(WhipAnswer, Vp8OnlyVideoIsRefusedNamingWhatWasOffered) {
  auto offer = parse(offer_with(kOpus +
                                "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
                                "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
  auto why = unsupported_publish(offer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("H.264"), std::string::npos) << *why;
  EXPECT_NE(why->find("VP8, rtx"), std::string::npos) << *why;
  EXPECT_FALSE(build_whip_answer(offer, params()).ok());
}

TEST(WhipAnswer, H264InPacketizationModeZeroOnlyIsRefused) {
  auto offer = parse(offer_with(
      "m=video 9 UDP/TLS/RTP/SAVPF 104\r\na=mid:0\r\na=sendonly\r\na=rtpmap:104 H264/90000\r\n"
      "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\n"));
  auto why = unsupported_publish(offer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("packetization-mode=1"), std::string::npos) << *why;
}

TEST(WhipAnswer, AudioOtherThanOpusIsRefused) {
  auto offer = parse(offer_with("m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=mid:0\r\na=sendonly\r\n"
                                "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"));
  auto why = unsupported_publish(offer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("Opus"), std::string::npos) << *why;
}

TEST(WhipAnswer, ASectionThatDoesNotSendIsRefused) {
  auto offer = parse(offer_with(std::regex_replace(kOpus, std::regex("sendonly"), "recvonly")));
  auto why = unsupported_publish(offer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("must send"), std::string::npos) << *why;
}

TEST(WhipAnswer, TwoAudioSectionsAreRefused) {
  auto second = std::regex_replace(kOpus, std::regex("a=mid:0"), "a=mid:1");
  auto why = unsupported_publish(parse(offer_with(kOpus + second)));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("more than one audio"), std::string::npos) << *why;
}

TEST(WhipAnswer, AnOfferWithoutMediaIsRefused) {
  auto why = unsupported_publish(parse(offer_with("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n")));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("no audio or video"), std::string::npos) << *why;
}

TEST(WhipAnswer, ADataChannelBesideAudioIsRejectedAndTheAudioAnswered) {
  auto answer = build_whip_answer(
      parse(offer_with(kOpus + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n")), params());
  ASSERT_TRUE(answer.ok()) << answer.error();
  ASSERT_EQ(answer->tracks.size(), 1u);
  EXPECT_NE(answer->sdp.find("m=application 0 UDP/DTLS/SCTP webrtc-datachannel"), std::string::npos);
  EXPECT_NE(answer->sdp.find("a=group:BUNDLE 0\r\n"), std::string::npos);
}

TEST(WhipAnswer, AnOfferWithoutFingerprintIsNotAWebRtcOffer) {
  auto text = std::regex_replace(offer_with(kOpus), std::regex("a=fingerprint:[^\r]*\r\n"), "");
  auto answer = build_whip_answer(parse(text), params());
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().find("fingerprint"), std::string::npos);
}

}  // namespace
}  // namespace sg::webrtc
