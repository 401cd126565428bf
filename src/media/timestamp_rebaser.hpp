#pragma once
// Keeps a track's RTP timeline continuous across source sessions. Every source session (a pulled camera after a
// reconnect, a new or replacing publisher) starts its RTP timestamps at a random base (RFC 3550 5.1); passed
// through, a reader that stays connected would see its timestamps jump by hours. The first session passes through
// unchanged; each later one is shifted so that its first unit follows the last one sent by the real (arrival-time)
// gap between them. Pure: arrival times are passed in.
#include <cstdint>

namespace sg::media {

class TimestampRebaser {
 public:
  explicit TimestampRebaser(uint32_t clock_rate) : clock_rate_(clock_rate == 0 ? 90000 : clock_rate) {}

  // The outgoing timestamp of a unit of source session `source` (increasing per new session) with RTP timestamp
  // `timestamp`, that arrived at `arrival_ns` (monotonic clock).
  uint32_t rebase(uint32_t source, uint32_t timestamp, int64_t arrival_ns);

  bool started() const { return started_; }
  // The latest outgoing timestamp and its arrival time: the track's RTP clock as readers see it.
  uint32_t last_timestamp() const { return last_out_; }
  int64_t last_arrival_ns() const { return last_arrival_ns_; }
  uint32_t clock_rate() const { return clock_rate_; }

 private:
  uint32_t clock_rate_;
  bool started_ = false;
  uint32_t source_ = 0;
  uint32_t offset_ = 0;    // added to the current session's timestamps (mod 2^32)
  uint32_t last_out_ = 0;  // latest outgoing timestamp
  uint32_t max_out_ = 0;   // highest outgoing timestamp (B-frames arrive below it in decode order)
  int64_t last_arrival_ns_ = 0;
};

}  // namespace sg::media
