#pragma once
// The receive side of one WHIP session (RFC 9725) on the worker that owns it. Decrypted RTP goes to the stream the
// way an RTSP publisher's does (rtsp_session::Ingest: reorder, H.264 / Opus depacketization, units published with
// their packets); the RTCP a browser needs from its receiver comes back from here: receiver reports with SDES,
// generic NACK for lost video packets (RFC 4585 6.2.1; no RTX is negotiated, so retransmissions come on the media
// SSRC), PLI (RFC 4585 6.3.1) at the start, when the stream asks for a keyframe and after loss NACK did not repair
// (rate-limited), and REMB (draft-alvestrand-rmcat-remb) with a fixed estimate so that the browser's encoder is
// not held at its start bitrate. Not TWCC: REMB needs no per-packet feedback. One thread; no sockets, no clocks
// (every time is passed in), so that the shard only decrypts, calls and sends.
#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.hpp"
#include "media/stream.hpp"
#include "rtp/nack_list.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/receiver_report.hpp"
#include "webrtc/answer.hpp"

namespace sg::rtsp_session {
class Ingest;
}

namespace sg::webrtc {

struct PublisherOptions {
  uint64_t remb_bitrate = 2'500'000;       // bit/s announced to the browser (WebRtcOptions::whip_bitrate; no config key yet)
  int64_t report_interval_ns = 1'000'000'000;
  int64_t pli_interval_ns = 500'000'000;   // at most one PLI per this
  // A gap in the video waits this long for its retransmission before the packets behind it go on without it.
  int64_t max_hold_ns = 400'000'000;
  rtp::NackList::Options nack{.max_missing = 512,
                              .max_retries = 10,
                              .min_retry_ns = 30'000'000,  // we know no RTT as a pure receiver: ask every 30 ms
                              .max_age_ns = 350'000'000,
                              .max_gap = 1000};
};

struct PublisherCounters {
  uint64_t packets = 0, bytes = 0, bad_packets = 0;  // RTP received (bad: unknown payload type, malformed)
  uint64_t nacks_sent = 0;                            // sequence numbers asked for again
  uint64_t plis_sent = 0;
  uint64_t recovered = 0, unrecovered = 0;  // missing video packets that came with a retransmission / never did
};

class Publisher {
 public:
  // `tracks` as the answer accepted them, in the order set on the stream.
  Publisher(std::shared_ptr<media::Stream> stream, std::vector<ReceivedTrack> tracks, PublisherOptions options,
            uint32_t own_ssrc);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // DTLS is done: the stream gets its source session and becomes ready; a PLI goes out with the first tick.
  void start();
  bool started() const { return ingest_ != nullptr; }
  // One decrypted RTP packet; RTCP to send now (NACKs, a PLI) is appended to `rtcp`.
  void on_rtp(Bytes packet, int64_t now_ns, ByteVector& rtcp);
  void on_rtcp(const rtp::RtcpMessage& message, int64_t now_ns);
  // Every ~100 ms: NACK retries, a reorder gap waited on long enough, a PLI when one is wanted, and about once per
  // report_interval RR + SDES + REMB.
  void tick(int64_t now_ns, ByteVector& rtcp);
  // The stream asks for a keyframe (a reader needs one and the GOP cache cannot serve): a PLI at the next chance.
  void request_keyframe() { keyframe_wanted_ = true; }

  const PublisherCounters& counters() const { return counters_; }
  uint32_t ssrc() const { return own_ssrc_; }

 private:
  struct Track {
    ReceivedTrack info;
    rtp::ReceiverReporter reporter;
    std::unique_ptr<rtp::NackList> nack;  // video only
    int64_t held_since_ns = -1;           // since when the reorder buffer holds packets behind a gap
  };
  void send_nacks(Track& t, int64_t now_ns, ByteVector& rtcp);
  void maybe_pli(int64_t now_ns, ByteVector& rtcp);

  std::shared_ptr<media::Stream> stream_;
  PublisherOptions options_;
  uint32_t own_ssrc_;
  std::vector<Track> tracks_;
  std::unique_ptr<rtsp_session::Ingest> ingest_;
  bool keyframe_wanted_ = true;  // the first keyframe
  int64_t last_pli_ns_ = -1;
  int64_t next_report_ns_ = 0;
  std::vector<uint16_t> lost_;  // scratch
  PublisherCounters counters_;
};

}  // namespace sg::webrtc
