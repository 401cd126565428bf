#pragma once
// The SDP answer to a browser's offer (JSEP, RFC 8829): BUNDLE, rtcp-mux, ICE-lite, DTLS passive, and for each
// offered m= section the stream track it carries (with the codec the browser offered) or a rejection (port 0).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "media/track.hpp"
#include "sdp/sdp.hpp"

namespace sg::webrtc {

struct Candidate {
  std::string ip;
  uint16_t port = 0;
};

struct AnswerParams {
  std::string ufrag, pwd;
  std::string fingerprint;  // sha-256, "AB:CD:..."
  std::vector<Candidate> candidates;
  std::string cname = "streamgate";
  // Browsers cannot decode AAC: when set, an AAC track is offered as Opus (transcoded once per stream).
  bool aac_to_opus = false;
};

// A stream track sent on one m= section.
struct SentTrack {
  size_t track = 0;  // index into the stream's tracks
  std::string mid;
  uint8_t payload_type = 0;
  uint32_t ssrc = 0;
  uint32_t clock_rate = 0;
  bool video = false;
  bool transcoded = false;  // AAC sent as Opus (48 kHz clock)
};

struct Answer {
  std::string sdp;
  std::vector<SentTrack> tracks;
  std::vector<std::string> skipped;  // why tracks or sections were left out (for logs)
  std::vector<std::string> notes;    // what is sent differently from what the offer asked (for logs)
  std::string remote_ufrag, remote_pwd;
  std::string remote_fingerprint;  // sha-256 from the offer, uppercase
};

// The payload type of the offer's section that can carry `track`, or -1.
// With aac_to_opus, an AAC track matches the offer's Opus payload type.
int match_payload_type(const sdp::Media& offer, const media::Track& track, bool aac_to_opus = false);

// Why this offer cannot carry the stream's video, or nothing: the stream has video, the offer has a video section,
// and none of its formats can carry the stream's codec (an H.265 stream and an offer without H.265, RFC 7798, or
// with H.265 only in profiles that do not decode it). Such an offer is refused as a whole rather than answered
// without video (as RFC 9725, "No Partially Successful Answers", asks of WHIP endpoints). An offer without any
// video section (an audio-only viewer) is answered with the audio.
std::optional<std::string> unsupported_video(const sdp::SessionDescription& offer,
                                             const std::vector<media::Track>& tracks);

// ssrc_seed makes SSRCs (distinct per track). Errors: not a WebRTC offer (no ICE credentials, no fingerprint,
// no BUNDLE-able section), unsupported_video(), or nothing we can send.
Result<Answer> build_answer(const sdp::SessionDescription& offer, const std::vector<media::Track>& tracks,
                            const AnswerParams& params, uint32_t ssrc_seed);

// ---- WHIP (RFC 9725): a publisher's offer, answered recvonly.

// A track the publisher sends on one m= section, as the answer accepted it.
struct ReceivedTrack {
  media::Track track;  // codec, clock rate, the offer's payload type and fmtp
  std::string mid;
  bool video = false;
};

struct WhipAnswer {
  std::string sdp;
  std::vector<ReceivedTrack> tracks;  // at most one video (H.264) and one audio (Opus) track, in offer order
  std::string remote_ufrag, remote_pwd;
  std::string remote_fingerprint;  // sha-256 from the offer, uppercase
};

// What we take from a publisher: H.264 in packetization-mode 1 (RFC 6184; constrained baseline preferred, as
// browsers decode it everywhere) and Opus (RFC 7587), one video and one audio section at most, each sending.
// Why the offer cannot be taken as a whole, or nothing: a sending section without any of those formats (VP8-only,
// VP9, AV1, H.264 only in packetization-mode 0, G.711 ...), a second video or audio section, a section that does
// not send, or no audio/video section at all. RFC 9725 ("No Partially Successful Answers") asks WHIP endpoints to
// refuse such an offer instead of answering part of it: the server answers 422 with this text.
std::optional<std::string> unsupported_publish(const sdp::SessionDescription& offer);

// The recvonly answer (BUNDLE, rtcp-mux, reduced-size RTCP, ICE-lite, DTLS passive) with the feedback we give:
// generic NACK, PLI, FIR and REMB (goog-remb) for the video, when the offer lists them. No header extensions, no
// RTX (retransmissions come on the media SSRC), no transport-cc. Errors: unsupported_publish(), or not a WebRTC
// offer (no ICE credentials, no sha-256 fingerprint).
Result<WhipAnswer> build_whip_answer(const sdp::SessionDescription& offer, const AnswerParams& params);

}  // namespace sg::webrtc
