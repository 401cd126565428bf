// Fuzzes SDP offer/answer: any offer that parses is answered for a stream with H.264, H.265, AAC, Opus and PCMU
// tracks, without crashing; an answer that is produced must itself parse as SDP, carry ICE-lite and passive DTLS,
// and name only payload types the offer had.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sdp/sdp.hpp"
#include "webrtc/answer.hpp"

using namespace sg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool aac_to_opus = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto offer = sdp::parse(text);
  if (!offer) return 0;
  static const std::vector<media::Track> tracks = [] {
    std::vector<media::Track> t(5);
    t[0].kind = media::MediaKind::Video, t[0].codec = media::CodecId::H264, t[0].clock_rate = 90000;
    t[0].sps = from_hex("42c01e");
    t[1].kind = media::MediaKind::Video, t[1].codec = media::CodecId::H265, t[1].clock_rate = 90000;
    t[2].kind = media::MediaKind::Audio, t[2].codec = media::CodecId::AAC, t[2].clock_rate = 44100, t[2].channels = 2;
    t[3].kind = media::MediaKind::Audio, t[3].codec = media::CodecId::Opus, t[3].clock_rate = 48000, t[3].channels = 2;
    t[4].kind = media::MediaKind::Audio, t[4].codec = media::CodecId::PCMU, t[4].clock_rate = 8000, t[4].channels = 1;
    return t;
  }();
  webrtc::AnswerParams params;
  params.ufrag = "ufrag";
  params.pwd = "0123456789abcdefghijkl";
  params.fingerprint = "AA:BB";
  params.candidates = {{"127.0.0.1", 8189}};
  params.aac_to_opus = aac_to_opus;
  auto answer = webrtc::build_answer(*offer, tracks, params, 42);
  if (!answer) return 0;
  auto parsed = sdp::parse(answer->sdp);
  if (!parsed || !parsed->attributes.has("ice-lite")) __builtin_trap();
  for (const auto& sent : answer->tracks) {
    if (sent.track >= tracks.size()) __builtin_trap();
    bool offered = false;
    for (const auto& m : offer->media)
      for (uint8_t pt : m.payload_types()) offered |= pt == sent.payload_type;
    if (!offered) __builtin_trap();
  }
  return 0;
}
