#pragma once
// Pacing of the GOP cache replay a new UDP reader gets at PLAY. Sent at once, the replay (hundreds of KB to a few MB:
// everything since the last keyframe) reaches the reader's socket in a millisecond and overflows common receive
// buffers (openRTSP lost up to 22 % of its first second). So the replay, and whatever queues behind it until the
// reader has caught up, goes out through a token bucket at `speed` times the replay's own bitrate; after that,
// units go out as they come. Pure: the caller passes the clock.
#include <cstddef>
#include <cstdint>

namespace sg::rtsp_session {

class BurstPacer {
 public:
  struct Options {
    double speed = 4.0;                         // times the backlog's bitrate: catches up with live soon
    int64_t min_bytes_per_second = 256 * 1024;  // 2 Mb/s at least, whatever the estimate
    int64_t bucket_bytes = 16 * 1024;           // the largest burst while pacing (about a dozen packets)
    int64_t min_span_ns = 1'000'000'000;        // a backlog that arrived faster counts as arrived over this long
  };

  BurstPacer() = default;
  explicit BurstPacer(Options options) : opt_(options) {}

  // Starts pacing a backlog of `bytes` that arrived over `span_ns` (its first unit until now), with a full bucket.
  void start(uint64_t bytes, int64_t span_ns, int64_t now_ns);
  // Caught up (or given up): no more pacing.
  void stop() { active_ = false; }
  bool active() const { return active_; }
  int64_t bytes_per_second() const { return rate_; }

  // Bytes that may go out at now_ns; the packet that crosses the allowance may still go (the debt is paid by
  // waiting). Only while active.
  int64_t allowance(int64_t now_ns);
  void consume(size_t bytes) { tokens_ -= static_cast<double>(bytes); }
  // After allowance() ran out: how long until a quarter bucket is allowed (at least 0.5 ms, so timers batch).
  int64_t wait_ns() const;

 private:
  Options opt_;
  bool active_ = false;
  int64_t rate_ = 0;  // bytes per second
  double tokens_ = 0;
  int64_t refilled_ns_ = 0;
};

}  // namespace sg::rtsp_session
