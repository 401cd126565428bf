#pragma once
// From RTP to media units, shared by every RTP source (RTSP pull client, RTSP RECORD publisher):
// - SDP media sections <-> media::Track (codec, clock rate, parameter sets from fmtp, width/height from the SPS);
// - per track, RTP packets in -> media::Unit out: the packets of one access unit (video) or one packet (audio) are
//   kept as received, together with the depacketized frames, and published to the stream.
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "codec/rtp_payload.hpp"
#include "media/stream.hpp"
#include "rtp/loss_counter.hpp"
#include "rtp/reorder_buffer.hpp"
#include "sdp/sdp.hpp"

namespace sg::rtsp_session {

struct SdpTrack {
  media::Track track;
  std::string control;  // a=control as written (resolve it against the base URL for SETUP)
};

// What to do with a media section the server cannot carry: an unknown codec, or a mode of a known one that its
// depacketizer does not support (H.264 interleaved, LATM with cpresent=1, ...).
enum class UnsupportedMedia {
  Skip,    // RTSP pull: take what the camera offers; each skipped section is logged with its reason
  Refuse,  // ANNOUNCE: fail naming the section, so a publisher never believes a track is published when it is not
};
// The tracks of an SDP (ANNOUNCE body or DESCRIBE answer). No usable track at all is an error.
Result<std::vector<SdpTrack>> tracks_from_sdp(const sdp::SessionDescription& sdp, const std::string& stream_id,
                                              UnsupportedMedia unsupported = UnsupportedMedia::Skip);
// The SDP we answer DESCRIBE with: one media section per track, control "trackID=<index>".
std::string sdp_from_tracks(const std::vector<media::Track>& tracks, const std::string& session_name,
                            const std::string& server_address = "127.0.0.1");

// Turns RTP packets of a stream's tracks into published units. One per source connection; not thread-safe (the
// source's session calls it from its own thread).
class Ingest {
 public:
  // The tracks must already be set on the stream (Stream::set_tracks) in this order. reorder_capacity: sequence
  // numbers the reorder buffer of an over_udp track holds ahead of a gap (a receiver that asks for lost packets
  // again, WHIP with NACK, needs room for a round trip's worth of packets and calls skip_gap() when it gives up).
  Ingest(std::shared_ptr<media::Stream> stream, const std::vector<media::Track>& tracks,
         size_t reorder_capacity = kDefaultReorderCapacity);
  static constexpr size_t kDefaultReorderCapacity = 32;
  ~Ingest();

  // One whole RTP packet (header + payload) received on track `track`, in arrival order. Malformed packets are
  // counted and dropped. over_udp: packets pass a small reorder buffer first (loss is counted).
  void on_rtp(size_t track, Bytes packet, bool over_udp = false);

  // Packets of `track` held behind a gap in its reorder buffer.
  size_t held(size_t track) const;
  // Gives up on the oldest gap of `track` (counted as lost) and releases the packets behind it.
  void skip_gap(size_t track);

  uint64_t packets() const { return packets_; }
  uint64_t bad_packets() const { return bad_packets_; }
  uint64_t lost_packets() const;
  // Sequence-number counts of this connection (every transport), summed over its tracks. The stream's per-track
  // counts (Stream::add_reception) follow them within kReceptionInterval.
  rtp::LossCounts reception() const;
  static constexpr int64_t kReceptionInterval_ns = 200'000'000;

 private:
  struct TrackState;
  void process(size_t track, Bytes packet);
  // Adds the counts since the previous report to the stream: lost as settled (so the stream's count only grows),
  // or, at the end of the connection, all of it.
  void report_reception(int64_t now, bool final);
  void publish(size_t track, TrackState& t, codec::AccessUnit* au, ByteVector&& packets,
               std::vector<media::Slice>&& slices, uint32_t timestamp);

  std::shared_ptr<media::Stream> stream_;
  uint32_t source_ = 0;  // this source session (Stream::begin_source): its timestamps are re-based as one
  std::vector<std::unique_ptr<TrackState>> tracks_;
  uint64_t packets_ = 0;
  uint64_t bad_packets_ = 0;
  int64_t reported_ns_ = 0;  // when reception was last added to the stream
};

}  // namespace sg::rtsp_session
