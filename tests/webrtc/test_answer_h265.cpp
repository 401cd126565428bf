// H.265 over WebRTC negotiated from the offer (RFC 7798 7.2.2): the offered format that decodes the stream (its
// profile, tier and level), the answer's fmtp and RTCP feedback, and the refusal of an offer without H.265 for an
// H.265 stream. Offers from browsers that list H.265 (tests/fixtures/webrtc/h265_offers.hpp), from this machine's
// Chromium without H.265 (chrome_offer.hpp) and from GStreamer's webrtcbin.
#include <gtest/gtest.h>

#include "../fixtures/webrtc/h265_offers.hpp"
#include "chrome_offer.hpp"
#include "webrtc/answer.hpp"
#include "webrtcbin_offer.hpp"

namespace sg::webrtc {
namespace {

// SPS NAL units of ffmpeg -c:v libx265 at 640x360 (level 2.1, level-id 63): Main (yuv420p; compatibility flags
// Main and Main 10) and Main 10 (yuv420p10le; compatibility flag Main 10 only).
constexpr std::string_view kMainSps =
    "42010101600000030090000003000003003fa00502016965959a4932bc05a020000003002000000303c1";
constexpr std::string_view kMain10Sps =
    "42010102200000030090000003000003003fa005020169365959a4932bc05a020000030002000003003c10";

media::Track h265(std::string_view sps_hex) {
  media::Track t;
  t.kind = media::MediaKind::Video;
  t.codec = media::CodecId::H265;
  t.sps = from_hex(sps_hex);
  return t;
}

media::Track opus() {
  media::Track t;
  t.kind = media::MediaKind::Audio;
  t.codec = media::CodecId::Opus;
  t.clock_rate = 48000;
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

sdp::SessionDescription parse(std::string_view text) {
  auto o = sdp::parse(text);
  EXPECT_TRUE(o) << o.error();
  return o ? *o : sdp::SessionDescription{};
}

// `text` without the lines of payload type `pt` and without `pt` in the m= lines.
std::string without_format(std::string_view text, int pt) {
  std::string out, p = std::to_string(pt);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.starts_with("a=rtpmap:" + p + " ") || line.starts_with("a=fmtp:" + p + " ") ||
        line.starts_with("a=rtcp-fb:" + p + " "))
      continue;
    if (line.starts_with("m=")) {
      auto at = line.find(" " + p + " ");
      if (at != std::string::npos) line.erase(at, p.size() + 1);
      else if (line.ends_with(" " + p)) line.erase(line.size() - p.size() - 1);
    }
    out += line + "\n";
  }
  return out;
}

struct Answered {
  Answer answer;
  sdp::Media video;
};

Answered answer(std::string_view offer, const std::vector<media::Track>& tracks) {
  auto a = build_answer(parse(offer), tracks, params(), 9);
  EXPECT_TRUE(a) << a.error();
  if (!a) return {};
  auto parsed = sdp::parse(a->sdp);
  EXPECT_TRUE(parsed) << parsed.error();
  for (const auto& m : parsed->media)
    if (m.type == "video" && m.port != 0) return {*a, m};
  ADD_FAILURE() << "no video section in " << a->sdp;
  return {*a, {}};
}

std::vector<std::string> rtcp_fb(const sdp::Media& m) {
  std::vector<std::string> out;
  for (auto* a : m.attributes.all("rtcp-fb")) out.push_back(a->value);
  return out;
}

TEST(AnswerH265, Chrome144MainStreamGoesOnTheMainFormatWithTheStreamsLevel) {
  auto [a, video] = answer(test::kChrome144H265Offer, {h265(kMainSps), opus()});
  ASSERT_EQ(a.tracks.size(), 2u);
  EXPECT_EQ(a.tracks[0].payload_type, 49);
  EXPECT_EQ(video.formats, std::vector<std::string>{"49"});
  EXPECT_EQ(video.rtpmap(49)->encoding, "H265");
  auto f = video.fmtp(49);
  ASSERT_TRUE(f) << a.sdp;
  EXPECT_EQ(f->get("profile-id"), "1");
  EXPECT_EQ(f->get("tier-flag"), "0");
  EXPECT_EQ(f->get("level-id"), "63") << "the level sent (2.1), not the offered 6";
  EXPECT_EQ(f->get("tx-mode"), "SRST");
  EXPECT_EQ(a.tracks[1].payload_type, 111);
  EXPECT_TRUE(a.notes.empty());
}

// RFC 4585 4.2: feedback the offer lists for the format and that we act on; not transport-cc (no transport-wide
// sequence numbers are sent) nor goog-remb.
TEST(AnswerH265, Chrome144FormatGetsNackPliAndFirButNotTransportCc) {
  auto [a, video] = answer(test::kChrome144H265Offer, {h265(kMainSps), opus()});
  EXPECT_EQ(rtcp_fb(video), (std::vector<std::string>{"49 nack", "49 nack pli", "49 ccm fir"})) << a.sdp;
}

TEST(AnswerH265, Chrome144Main10StreamGoesOnTheMain10Format) {
  auto [a, video] = answer(test::kChrome144H265Offer, {h265(kMain10Sps), opus()});
  ASSERT_FALSE(a.tracks.empty());
  EXPECT_EQ(a.tracks[0].payload_type, 51);
  EXPECT_EQ(video.fmtp(51)->get("profile-id"), "2") << a.sdp;
  EXPECT_EQ(video.fmtp(51)->get("level-id"), "63");
}

// H.265 A.3.3: a Main 10 decoder decodes Main (the stream's compatibility flags say so); the answer keeps the
// offered format's profile-id (RFC 7798 7.2.2: symmetric).
TEST(AnswerH265, MainStreamGoesOnAnOfferedMain10FormatWhenMainIsNotOffered) {
  auto offer = without_format(test::kChrome144H265Offer, 49);
  auto [a, video] = answer(offer, {h265(kMainSps), opus()});
  ASSERT_FALSE(a.tracks.empty());
  EXPECT_EQ(a.tracks[0].payload_type, 51);
  EXPECT_EQ(video.fmtp(51)->get("profile-id"), "2") << a.sdp;
}

TEST(AnswerH265, Main10StreamAndAnOfferWithMainOnlyIsRefusedWithTheReason) {
  auto offer = parse(without_format(test::kChrome144H265Offer, 51));
  auto why = unsupported_video(offer, {h265(kMain10Sps), opus()});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("Main 10"), std::string::npos) << *why;
  auto a = build_answer(offer, {h265(kMain10Sps), opus()}, params(), 9);
  EXPECT_FALSE(a);
}

// Safari lists H265/90000 without fmtp: RFC 7798 7.1's defaults (Main, Main tier, level 3.1, SRST).
TEST(AnswerH265, SafariFormatWithoutFmtpIsAnsweredWithTheDefaultsAndTheStreamsLevel) {
  auto [a, video] = answer(test::kSafariH265Offer, {h265(kMainSps), opus()});
  ASSERT_EQ(a.tracks.size(), 2u);
  EXPECT_EQ(a.tracks[1].payload_type, 104);
  EXPECT_EQ(a.tracks[1].mid, "1");
  EXPECT_EQ(a.tracks[0].payload_type, 111);
  auto f = video.fmtp(104);
  ASSERT_TRUE(f) << a.sdp;
  EXPECT_EQ(f->get("profile-id"), "1");
  EXPECT_EQ(f->get("tier-flag"), "0");
  EXPECT_EQ(f->get("level-id"), "63");
  EXPECT_EQ(f->get("tx-mode"), "SRST");
  EXPECT_TRUE(rtcp_fb(video).empty()) << "Safari's pasted section lists no feedback for 104: " << a.sdp;
  EXPECT_TRUE(a.notes.empty());
}

// Without level asymmetry the level answered may not exceed the offered one (3.1 by default): capped, and noted.
TEST(AnswerH265, StreamAboveTheOfferedLevelIsAnsweredAtTheOfferedLevelWithANote) {
  media::Track t = h265("");
  t.fmtp = "profile-id=1;level-id=120";  // level 4, as an RTSP camera announces it; no SPS yet
  auto [a, video] = answer(test::kSafariH265Offer, {t, opus()});
  EXPECT_EQ(video.fmtp(104)->get("level-id"), "93") << a.sdp;
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("level 4"), std::string::npos) << a.notes[0];
}

// The real webrtcbin offer: H265 at 98 with nack pli, ccm fir and transport-cc, no plain nack.
TEST(AnswerH265, WebrtcbinFeedbackIsWhatItOffered) {
  auto [a, video] = answer(test::kWebrtcbinMaxBundleOffer, {h265(kMainSps), opus()});
  EXPECT_EQ(a.tracks[0].payload_type, 98);
  EXPECT_EQ(rtcp_fb(video), (std::vector<std::string>{"98 nack pli", "98 ccm fir"})) << a.sdp;
}

TEST(AnswerH265, MultiStreamTransmissionFormatsAreNotTaken) {
  std::string offer(test::kSafariH265Offer);
  offer.replace(offer.find("a=rtpmap:104 H265/90000\n"), 24, "a=rtpmap:104 H265/90000\na=fmtp:104 tx-mode=MRST\n");
  EXPECT_TRUE(unsupported_video(parse(offer), {h265(kMainSps), opus()}));
}

// This machine's headless Chromium offers no H.265: the stream's video cannot be sent, and the offer is refused
// with the reason instead of a session without video (a black player).
TEST(AnswerH265, ChromiumWithoutH265IsRefusedWithTheReasonForAnH265Stream) {
  auto offer = parse(test::kChromeOffer);
  auto why = unsupported_video(offer, {h265(kMainSps), opus()});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("H.265 Main"), std::string::npos) << *why;
  EXPECT_NE(why->find("no H.265 (RFC 7798) payload type"), std::string::npos) << *why;
  auto a = build_answer(offer, {h265(kMainSps), opus()}, params(), 9);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), *why);
}

// A viewer that asks for audio only gets the audio of an H.265 stream.
TEST(AnswerH265, AudioOnlyOfferGetsTheAudioOfAnH265Stream) {
  std::string text(test::kChromeOffer);
  auto video = text.find("m=video"), audio = text.find("m=audio");
  text.erase(video, audio - video);
  text.replace(text.find("a=group:BUNDLE 0 1"), 18, "a=group:BUNDLE 1");
  auto offer = parse(text);
  EXPECT_FALSE(unsupported_video(offer, {h265(kMainSps), opus()}));
  auto a = build_answer(offer, {h265(kMainSps), opus()}, params(), 9);
  ASSERT_TRUE(a) << a.error();
  ASSERT_EQ(a->tracks.size(), 1u);
  EXPECT_FALSE(a->tracks[0].video);
  EXPECT_EQ(a->sdp.find("H265"), std::string::npos);
}

TEST(AnswerH265, H264StreamsAreNotRefusedByBrowsersThatOfferH265) {
  media::Track h264;
  h264.kind = media::MediaKind::Video;
  h264.codec = media::CodecId::H264;
  h264.sps = from_hex("6742c01e");
  auto [a, video] = answer(test::kChrome144H265Offer, {h264, opus()});
  EXPECT_EQ(a.tracks[0].payload_type, 102);
  EXPECT_EQ(a.sdp.find("H265"), std::string::npos) << a.sdp;
}

}  // namespace
}  // namespace sg::webrtc
