// Fuzzes the WHIP answer: any publisher offer that parses is refused or answered without crashing; an answer that
// is produced must itself parse as SDP, carry ICE-lite, answer every section recvonly (or reject it), and take only
// H.264 and Opus payload types the offer had.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sdp/sdp.hpp"
#include "webrtc/answer.hpp"

using namespace sg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = sdp::parse(text);
  if (!offer) return 0;
  webrtc::AnswerParams params;
  params.ufrag = "ufrag";
  params.pwd = "0123456789abcdefghijkl";
  params.fingerprint = "AA:BB";
  params.candidates = {{"127.0.0.1", 8189}};
  auto answer = webrtc::build_whip_answer(*offer, params);
  if (!answer) return 0;
  auto parsed = sdp::parse(answer->sdp);
  if (!parsed || !parsed->attributes.has("ice-lite")) __builtin_trap();
  if (answer->tracks.empty() || answer->tracks.size() > 2) __builtin_trap();
  for (const auto& m : parsed->media)
    if (m.port != 0 && m.direction() != sdp::Direction::kRecvOnly) __builtin_trap();
  for (const auto& t : answer->tracks) {
    if (t.track.codec != media::CodecId::H264 && t.track.codec != media::CodecId::Opus) __builtin_trap();
    bool offered = false;
    for (const auto& m : offer->media)
      for (uint8_t pt : m.payload_types()) offered |= pt == t.track.payload_type;
    if (!offered) __builtin_trap();
  }
  return 0;
}
