// SDP answers to real Chromium and GStreamer webrtcbin offers: BUNDLE/ICE-lite/DTLS attributes, codec choice,
// rejected and bundle-only sections.
#include <gtest/gtest.h>

#include "chrome_offer.hpp"
#include "webrtc/answer.hpp"
#include "webrtcbin_offer.hpp"

namespace sg::webrtc {
namespace {

media::Track h264_track() {
  media::Track t;
  t.kind = media::MediaKind::Video;
  t.codec = media::CodecId::H264;
  t.clock_rate = 90000;
  // SPS start (NAL header, profile_idc 66, constraint_set0+1, level 3.0): Constrained Baseline, as x264 -preset
  // ultrafast writes for 640x360.
  t.sps = from_hex("6742c01e");
  return t;
}

media::Track audio_track(media::CodecId codec, uint32_t rate) {
  media::Track t;
  t.kind = media::MediaKind::Audio;
  t.codec = codec;
  t.clock_rate = rate;
  t.channels = 2;
  return t;
}

AnswerParams params() {
  AnswerParams p;
  p.ufrag = "abcd";
  p.pwd = "0123456789abcdefghijkl";
  p.fingerprint = "AA:BB";
  p.candidates = {{"127.0.0.1", 8189}};
  return p;
}

sdp::SessionDescription offer() {
  auto o = sdp::parse(test::kChromeOffer);
  EXPECT_TRUE(o) << o.error();
  return *o;
}

sdp::SessionDescription webrtcbin_offer() {
  auto o = sdp::parse(test::kWebrtcbinMaxBundleOffer);
  EXPECT_TRUE(o) << o.error();
  return *o;
}

media::Track h265_track() {
  media::Track t = h264_track();
  t.codec = media::CodecId::H265;
  return t;
}

TEST(Answer, PicksChromesH264PacketizationMode1WithSameProfileAndOpus) {
  auto a = build_answer(offer(), {h264_track(), audio_track(media::CodecId::Opus, 48000)}, params(), 1234);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 2u);
  EXPECT_EQ(a->tracks[0].payload_type, 108);  // H264 packetization-mode=1 profile-level-id=42e01f (the same profile)
  EXPECT_EQ(a->tracks[0].mid, "0");
  EXPECT_TRUE(a->tracks[0].video);
  EXPECT_EQ(a->tracks[1].payload_type, 111);  // opus/48000/2
  EXPECT_EQ(a->tracks[1].mid, "1");
  EXPECT_NE(a->tracks[0].ssrc, a->tracks[1].ssrc);
  EXPECT_EQ(a->remote_ufrag, "etl/");
  EXPECT_EQ(a->remote_pwd, "Ic4Tzh78EmH/37sJfAcS+1Pe");
  EXPECT_TRUE(a->remote_fingerprint.starts_with("D8:33:79"));
}

TEST(Answer, IsAnSdpWithBundleIceLiteAndPassiveDtls) {
  auto a = build_answer(offer(), {h264_track(), audio_track(media::CodecId::Opus, 48000)}, params(), 1234);
  ASSERT_TRUE(a) << a.error();
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE 0 1");
  EXPECT_TRUE(parsed->attributes.has("ice-lite"));
  ASSERT_EQ(parsed->media.size(), 2u);
  const auto& v = parsed->media[0];
  EXPECT_EQ(v.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(v.formats, std::vector<std::string>{"108"});
  EXPECT_EQ(v.direction(), sdp::Direction::kSendOnly);
  EXPECT_EQ(v.attributes.first("setup")->value, "passive");
  EXPECT_EQ(v.attributes.first("ice-ufrag")->value, "abcd");
  EXPECT_EQ(v.attributes.first("fingerprint")->value, "sha-256 AA:BB");
  EXPECT_TRUE(v.attributes.has("rtcp-mux"));
  EXPECT_EQ(v.rtpmap(108)->encoding, "H264");
  EXPECT_EQ(v.fmtp(108)->get("packetization-mode"), "1");
  EXPECT_EQ(v.attributes.first("candidate")->value.find("127.0.0.1 8189 typ host") != std::string::npos, true);
  EXPECT_EQ(parsed->media[1].rtpmap(111)->channels, 2u);
}

TEST(Answer, RejectsAudioSectionWhenTrackIsAac) {
  auto a = build_answer(offer(), {h264_track(), audio_track(media::CodecId::AAC, 44100)}, params(), 7);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 1u);
  EXPECT_FALSE(a->skipped.empty());
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->media[1].port, 0);
  EXPECT_EQ(parsed->media[1].mid(), "1");
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE 0");
}

// webrtcbin refuses a whole answer when any section, a rejected one too, lacks ICE credentials or a fingerprint.
TEST(Answer, RejectedSectionKeepsIceAndDtlsAttributes) {
  auto a = build_answer(webrtcbin_offer(), {h265_track()}, params(), 5);
  ASSERT_TRUE(a) << a.error();
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed) << parsed.error();
  ASSERT_EQ(parsed->media.size(), 2u);
  const auto& audio = parsed->media[1];
  EXPECT_EQ(audio.port, 0);
  EXPECT_EQ(audio.mid(), "audio1");
  EXPECT_EQ(audio.direction(), sdp::Direction::kInactive);
  ASSERT_TRUE(audio.attributes.has("ice-ufrag"));
  EXPECT_EQ(audio.attributes.first("ice-ufrag")->value, "abcd");
  EXPECT_TRUE(audio.attributes.has("ice-pwd"));
  ASSERT_TRUE(audio.attributes.has("fingerprint"));
  EXPECT_EQ(audio.attributes.first("fingerprint")->value, "sha-256 AA:BB");
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE video0");
}

TEST(Answer, OffersAacAsTranscodedOpusWhenAllowed) {
  auto p = params();
  p.aac_to_opus = true;
  auto a = build_answer(offer(), {h264_track(), audio_track(media::CodecId::AAC, 44100)}, p, 7);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 2u);
  EXPECT_FALSE(a->tracks[0].transcoded);
  EXPECT_TRUE(a->tracks[1].transcoded);
  EXPECT_EQ(a->tracks[1].payload_type, 111);
  EXPECT_EQ(a->tracks[1].clock_rate, 48000u);
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->media[1].rtpmap(111)->encoding, "opus");
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE 0 1");
}

TEST(Answer, MatchesPcmuAndPcmaStaticPayloadTypes) {
  auto o = offer();
  EXPECT_EQ(match_payload_type(o.media[1], audio_track(media::CodecId::PCMU, 8000)), 0);
  EXPECT_EQ(match_payload_type(o.media[1], audio_track(media::CodecId::PCMA, 8000)), 8);
}

TEST(Answer, H265IsNotOfferedByThisChromium) {
  media::Track t = h264_track();
  t.codec = media::CodecId::H265;
  auto a = build_answer(offer(), {t}, params(), 1);
  EXPECT_FALSE(a);
}

media::Track h264_with_sps(std::string_view sps_hex) {
  media::Track t = h264_track();
  t.sps = from_hex(sps_hex);
  return t;
}

// A recvonly video offer with these H.264 formats (payload type, fmtp), as a browser sends it.
sdp::SessionDescription video_offer(const std::vector<std::pair<int, std::string>>& formats) {
  std::string pts, lines;
  for (const auto& [pt, fmtp] : formats) {
    pts += " " + std::to_string(pt);
    lines += "a=rtpmap:" + std::to_string(pt) + " H264/90000\r\na=fmtp:" + std::to_string(pt) + " " + fmtp + "\r\n";
  }
  auto o = sdp::parse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF" +
                      pts + "\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
                      "a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n" +
                      lines);
  EXPECT_TRUE(o) << o.error();
  return *o;
}

// The answer's fmtp for the video section, parsed back.
sdp::FormatParameters answered_fmtp(const Answer& a) {
  auto parsed = sdp::parse(a.sdp);
  EXPECT_TRUE(parsed) << parsed.error();
  if (!parsed || a.tracks.empty()) return {};
  return parsed->media[0].fmtp(a.tracks[0].payload_type).value_or(sdp::FormatParameters{});
}

// RFC 6184 8.2.2: the level part is not negotiated symmetrically under level-asymmetry-allowed; the answer says the
// level of the stream actually sent (High 4.0 here), not the offer's (High 3.1), and keeps the offer's other
// parameters.
TEST(Answer, H264ProfileLevelIdIsTheStreamsWithLevelAsymmetry) {
  auto o = video_offer({{96, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
                        {98, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"}});
  auto a = build_answer(o, {h264_with_sps("67640028")}, params(), 1);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->tracks[0].payload_type, 98);  // the offered High format
  auto f = answered_fmtp(*a);
  EXPECT_EQ(f.get("profile-level-id"), "640028") << a->sdp;
  EXPECT_EQ(f.get("packetization-mode"), "1");
  EXPECT_EQ(f.get("level-asymmetry-allowed"), "1");
  EXPECT_TRUE(a->notes.empty());
}

// Chromium's real offer: a Constrained Baseline stream goes on the Constrained Baseline format (42e01f, not the
// Baseline 42001f listed first) and the answer names the stream's own profile-level-id.
TEST(Answer, ChromeOfferGetsTheStreamsConstrainedBaselineProfileLevelId) {
  auto a = build_answer(offer(), {h264_track()}, params(), 1);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->tracks[0].payload_type, 108);
  EXPECT_EQ(answered_fmtp(*a).get("profile-level-id"), "42c01e") << a->sdp;
}

// Without level-asymmetry-allowed the answer's level may not exceed the offer's (RFC 6184 8.2.2): a lower stream
// level is answered as is, a higher one is capped at the offer's and noted for the log.
TEST(Answer, H264LevelWithoutAsymmetryIsAtMostTheOffers) {
  auto o = video_offer({{96, "packetization-mode=1;profile-level-id=64001f"}});
  auto low = build_answer(o, {h264_with_sps("6764001e")}, params(), 1);
  ASSERT_TRUE(low) << low.error();
  EXPECT_EQ(answered_fmtp(*low).get("profile-level-id"), "64001e") << low->sdp;
  EXPECT_FALSE(answered_fmtp(*low).has("level-asymmetry-allowed"));
  EXPECT_TRUE(low->notes.empty());
  auto high = build_answer(o, {h264_with_sps("67640028")}, params(), 1);
  ASSERT_TRUE(high) << high.error();
  EXPECT_EQ(answered_fmtp(*high).get("profile-level-id"), "64001f") << high->sdp;
  EXPECT_FALSE(high->notes.empty());
}

// A stream whose profile is a subset of the only offered one (Constrained Baseline in Main) keeps the offered
// profile, so the format stays the same (8.2.2), with the stream's level.
TEST(Answer, SubsetProfileKeepsTheOfferedProfileWithTheStreamsLevel) {
  auto o = video_offer({{96, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"}});
  auto a = build_answer(o, {h264_with_sps("6742c016")}, params(), 1);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(answered_fmtp(*a).get("profile-level-id"), "4d0016") << a->sdp;
  EXPECT_TRUE(a->notes.empty());
}

// An offer with no profile that decodes the stream (Chrome's 42e01f against a High 64001f stream): the stream is
// still sent (browsers decode High), and the answer says what is sent rather than echoing 42e01f; noted for the log.
TEST(Answer, UnofferedProfileIsAnsweredAsWhatIsSent) {
  auto o = video_offer({{102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}});
  auto a = build_answer(o, {h264_with_sps("6764001f")}, params(), 1);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->tracks[0].payload_type, 102);
  EXPECT_EQ(answered_fmtp(*a).get("profile-level-id"), "64001f") << a->sdp;
  EXPECT_FALSE(a->notes.empty());
}

// Without an SPS the profile-level-id the source announced is used.
TEST(Answer, TrackWithoutSpsUsesItsFmtpProfileLevelId) {
  media::Track t = h264_track();
  t.sps.clear();
  t.fmtp = "packetization-mode=1;profile-level-id=640029";
  auto o = video_offer({{98, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"}});
  auto a = build_answer(o, {t}, params(), 1);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(answered_fmtp(*a).get("profile-level-id"), "640029") << a->sdp;
}

TEST(Answer, FailsWithoutIceCredentials) {
  auto o = sdp::parse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                      "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=mid:0\r\n");
  ASSERT_TRUE(o) << o.error();
  auto a = build_answer(*o, {h264_track()}, params(), 1);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("ICE"), std::string::npos);
}

TEST(Answer, AcceptsWebrtcbinsBundleOnlyAudioSectionAsBundled) {
  auto a = build_answer(webrtcbin_offer(), {h265_track(), audio_track(media::CodecId::Opus, 48000)}, params(), 5);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 2u);
  EXPECT_EQ(a->tracks[0].mid, "video0");
  EXPECT_EQ(a->tracks[0].payload_type, 98);
  EXPECT_EQ(a->tracks[1].mid, "audio1");
  EXPECT_EQ(a->tracks[1].payload_type, 111);
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE video0 audio1");
  ASSERT_EQ(parsed->media.size(), 2u);
  const auto& audio = parsed->media[1];
  EXPECT_EQ(audio.port, 9);
  EXPECT_FALSE(audio.attributes.has("bundle-only"));
  EXPECT_EQ(audio.direction(), sdp::Direction::kSendOnly);
  EXPECT_EQ(audio.attributes.first("fingerprint")->value, "sha-256 AA:BB");
  EXPECT_EQ(audio.rtpmap(111)->encoding, "OPUS");
}

TEST(Answer, BundleOnlySectionOutsideTheBundleGroupIsRejected) {
  std::string text(test::kWebrtcbinMaxBundleOffer);
  text.replace(text.find("a=group:BUNDLE video0 audio1"), 28, "a=group:BUNDLE video0");
  auto o = sdp::parse(text);
  ASSERT_TRUE(o) << o.error();
  auto a = build_answer(*o, {h265_track(), audio_track(media::CodecId::Opus, 48000)}, params(), 5);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 1u);
  auto parsed = sdp::parse(a->sdp);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->media[1].port, 0);
  EXPECT_EQ(parsed->attributes.first("group")->value, "BUNDLE video0");
}

}  // namespace
}  // namespace sg::webrtc
