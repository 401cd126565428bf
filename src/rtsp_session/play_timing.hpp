#pragma once
// Timing information an RTSP server gives its readers so that they can sync tracks and map RTP time to wall time:
// - the RTP time of each track at the start of play, for the PLAY response's RTP-Info (RFC 2326 12.33);
// - RTCP sender reports per track (RFC 3550 6.4.1), each an SR + SDES CNAME compound packet, every ~2 s.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "media/reader.hpp"
#include "media/stream.hpp"
#include "media/unit.hpp"
#include "rtp/sender_report.hpp"

namespace sg::rtsp_session {

// Per track, its RTP timestamp at the instant play starts: the arrival of the first unit queued for the reader
// (the GOP cache replay starts on a keyframe), or `now_ns` when nothing is queued yet. The track of that first
// unit gets exactly its timestamp; the others are extrapolated to the same instant from their own first queued
// unit, else from the stream's latest unit. Nothing for a track without any unit yet.
std::vector<std::optional<uint32_t>> play_start_timestamps(const media::Reader& reader,
                                                           const std::vector<media::Stream::TrackClock>& clocks,
                                                           int64_t now_ns);

// The sender reports of one play session. The sender calls on_packet per packet sent (cheap) and due() per batch;
// build() lays out one compound packet per track that sent media, each with 4 bytes free in front (room for an
// RTSP interleaved frame header).
class PlayReports {
 public:
  static constexpr int64_t kIntervalNs = 2'000'000'000;  // RFC 3550 6.2 allows a fixed interval for few members

  struct Track {
    bool active = false;
    uint32_t ssrc = 0;
    uint32_t clock_rate = 90000;
    rtp::SenderReporter reporter;
  };
  struct Report {
    size_t track = 0;
    MutableBytes framed;  // 4 free bytes, then the compound packet
    Bytes compound() const { return Bytes(framed).subspan(4); }
  };

  // cname: the session's canonical name, the same for all its tracks (receivers lip-sync tracks with one CNAME).
  void configure(size_t tracks, std::string cname);
  void set_track(size_t track, uint32_t ssrc, uint32_t clock_rate);
  void on_packet(size_t track, uint32_t timestamp, int64_t timestamp_ns, size_t payload_bytes) {
    if (track >= tracks_.size()) return;
    auto& r = tracks_[track].reporter;
    if (!r.sent_any()) first_media_ = true;
    r.on_packet(timestamp, timestamp_ns, payload_bytes, tracks_[track].clock_rate);
  }
  // True when reports are due at now_ns: as soon as a track sent its first packet (receivers can sync at once),
  // then every kIntervalNs.
  bool due(int64_t now_ns) const { return first_media_ || now_ns >= next_ns_; }
  // Builds the reports for now (monotonic and Unix time) and schedules the next ones. The spans stay valid until
  // the next build().
  const std::vector<Report>& build(int64_t now_ns, int64_t now_unix_ns);

 private:
  std::vector<Track> tracks_;
  std::string cname_;
  int64_t next_ns_ = 0;
  bool first_media_ = false;  // a track sent its first packet since the last build()
  ByteVector buffer_;
  std::vector<Report> reports_;
};

}  // namespace sg::rtsp_session
