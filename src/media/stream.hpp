#pragma once
// One stream per path: its tracks, its source, a cache of the last GOP, and fan-out to readers.
//
// Fan-out: publish() posts each unit once per worker thread that has readers of this stream (not once per
// reader); on that thread the unit is pushed into each local reader's queue. Reader lists are per worker and only
// touched on their own thread, so no lock is taken per reader per unit. Each pass starts one reader further on, so no
// reader is always served last; a reader with a sink (RTSP over plain TCP) has the unit written during the pass.
#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "media/rate_meter.hpp"
#include "media/reader.hpp"
#include "media/timestamp_rebaser.hpp"
#include "media/track.hpp"
#include "media/unit.hpp"

namespace sg::net {
class WorkerPool;
}

namespace sg::media {

enum class StreamState { Idle, Connecting, Ready, Error };
std::string_view to_string(StreamState state);

class Stream;

// What feeds a stream: an RTSP pull client, an exec child process. A publisher (RTSP RECORD) is not a Source: it
// attaches with acquire_publisher().
class Source {
 public:
  virtual ~Source() = default;
  // Stops the source; callable from any thread, idempotent. The stream no longer receives units afterwards.
  virtual void stop() = 0;
};
using SourceFactory = std::function<std::unique_ptr<Source>(const std::shared_ptr<Stream>&)>;

struct StreamOptions {
  std::string source;  // "rtsp://...", "exec:...", or "publisher"
  bool on_demand = false;
  size_t reader_queue = 512;
  std::string rtsp_transport = "auto";  // pull: auto (UDP then TCP), udp, tcp
  std::chrono::milliseconds on_demand_close_after{10000};
  // A publisher that sends no packet for this long while the stream is ready is gone (it may have vanished
  // without FIN): see acquire_publisher. Set for every stream by StreamRegistry::set_publisher_timeout; 0 = never.
  std::chrono::milliseconds publisher_timeout{10000};
  // Cluster (src/cluster_session), set for every stream by StreamRegistry::set_cluster_hooks: a publisher stream
  // gets a Source from the factory too (its relay from the node the publisher is connected to), and publish_gate is
  // asked before a publisher takes the stream (false: another node owns it; the publisher is refused as if the
  // stream were busy). The gate must not block: it answers from what the cluster last read.
  bool publisher_source = false;
  std::function<bool(const std::string& stream)> publish_gate{};
};

// RTP packets of one track from the source, counted from sequence numbers (rtp::LossCounter) and summed over the
// source's connections: received = distinct packets, lost = sequence numbers that never arrived.
struct TrackReception {
  uint64_t received = 0;
  uint64_t lost = 0;
};

// What became of a viewer's keyframe request (RTCP PLI/FIR) passed to the stream (Stream::request_keyframe).
enum class KeyframeRequest { Sent, RateLimited, Unsupported };
std::string_view to_string(KeyframeRequest result);

struct KeyframeRequestCounts {
  uint64_t sent = 0;          // handed to the source (which may still ignore it)
  uint64_t rate_limited = 0;  // within kKeyframeRequestInterval of the previous one sent
  uint64_t unsupported = 0;   // the source takes no keyframe requests (none registered a handler)
};

// How long fan-out takes: per unit and worker with readers, from Stream::publish to the end of that worker's pass
// over its readers (each has the unit written to its socket or queued). Cumulative Prometheus-style buckets.
struct FanoutHistogram {
  static constexpr double kBounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25};  // seconds
  static constexpr size_t kBuckets = std::size(kBounds) + 1;  // the last one is +Inf
  std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
  uint64_t count = 0;
  double sum_seconds = 0;
  static size_t bucket(int64_t ns);
};

struct StreamStats {
  StreamState state = StreamState::Idle;
  std::string last_error;
  std::shared_ptr<const std::vector<Track>> tracks;
  size_t readers = 0;
  uint64_t bytes_in = 0, packets_in = 0, units_in = 0;
  uint64_t bytes_out = 0, packets_out = 0, units_dropped = 0;
  uint64_t reconnects = 0;
  uint64_t publisher_timeouts = 0;  // publishers dropped for sending nothing for options().publisher_timeout
  std::vector<TrackReception> reception;  // per track, in the order of `tracks`
  std::string source_transport;           // the pull source's current RTP transport ("udp", "tcp"); "" if none
  KeyframeRequestCounts keyframe_requests;
  FanoutHistogram fanout;
  bool has_publisher = false;
  std::string publisher_protocol;  // "rtsp", "rtsps", "rtmp", "srt" (set by the publisher's session); "" if none
  std::string publisher_remote;    // the publisher's address:port
  double uptime_seconds = 0;  // since the stream last became ready; 0 when not ready
  // `readers` by protocol: RTSP sessions, WebRTC viewers, HLS muxers (one reader per stream while HLS is served,
  // whatever the number of HLS viewers).
  size_t readers_rtsp = 0, readers_webrtc = 0, readers_hls = 0, readers_rtmp = 0, readers_srt = 0;
  double bitrate_in = 0;  // bits per second received from the source, measured between stats() calls (RateMeter)
};

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::string id, StreamOptions options, net::WorkerPool& pool, SourceFactory factory);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const std::string& id() const { return id_; }
  const StreamOptions& options() const { return options_; }
  // Whether the source runs only while there are readers. Starts as options().on_demand; the cluster makes a stream
  // on demand on the nodes that relay it and always-on on its owner (set_on_demand). Any thread.
  bool on_demand() const { return on_demand_.load(std::memory_order_acquire); }
  // Turning it on with no reader stops the source after options().on_demand_close_after (unless a reader comes).
  void set_on_demand(bool on);

  // ---- source side, any thread
  // Sets the track list (on connect / ANNOUNCE). If it differs from the current one, readers are closed (they
  // negotiated the old tracks) and the GOP cache is cleared.
  void set_tracks(std::vector<Track> tracks);
  std::shared_ptr<const std::vector<Track>> tracks() const;
  // Replaces one track's parameters learned in-band (SPS -> width/height) without closing readers: the codec and
  // payload format are unchanged, so what readers negotiated still holds.
  void update_track(size_t index, Track track);
  // A new source session (a source's connection, a publisher's RECORD) begins: returns the id to stamp on its
  // units (Unit::source). Its RTP timestamps are re-based to continue each track's timeline after the real gap, and
  // units of earlier sessions (a replaced publisher still sending) are dropped from now on.
  uint32_t begin_source();
  // Assigns the unit's seq, re-bases its RTP timestamps (unit and packets), updates the GOP cache and fans it out
  // to every reader.
  void publish(std::shared_ptr<Unit> unit);
  // Per track, the latest RTP timestamp readers got and when it arrived (steady clock ns); valid once a unit of
  // that track was published. Lets a reader tell the RTP time of an instant (RTSP RTP-Info).
  struct TrackClock {
    bool valid = false;
    uint32_t clock_rate = 90000;
    uint32_t rtp_timestamp = 0;
    int64_t ingest_ns = 0;
  };
  std::vector<TrackClock> track_clocks() const;
  void set_state(StreamState state, std::string error = {});
  void add_received(uint64_t bytes, uint64_t packets);
  void count_reconnect();
  // Adds to the reception counts of `track` (a source connection's counts since its previous call). Kept while the
  // tracks stay the same; set_tracks() with other tracks resets them.
  void add_reception(size_t track, uint64_t received, uint64_t lost);
  void set_source_transport(std::string transport);
  // A source that can ask its sender for a keyframe (RTCP PLI to an RTSP server or publisher) registers how; the
  // handler runs on the thread of request_keyframe() with no lock held, so it must only post to the source's own
  // executor. Returns an id for clear_keyframe_handler, which removes the handler only if it is still that one (a
  // newer connection or publisher may have replaced it).
  uint64_t set_keyframe_handler(std::function<void()> handler);
  void clear_keyframe_handler(uint64_t id);

  // ---- keyframe requests, any thread
  // A reader lost a keyframe (a WebRTC viewer's PLI/FIR) and the GOP cache cannot give it one: ask the source,
  // at most once per kKeyframeRequestInterval per stream (viewers often ask in bursts, and many viewers at once).
  static constexpr std::chrono::milliseconds kKeyframeRequestInterval{1000};
  KeyframeRequest request_keyframe(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // A publisher (RTSP RECORD session; any ingest protocol) claims the stream. With replace, a current publisher is
  // kicked (its kick callback runs) and the new one takes over; otherwise a busy stream is refused (false).
  // Once the publisher made the stream ready (set_state(Ready)), it must keep sending: with no packet
  // (add_received) for options().publisher_timeout, the publisher is taken for gone (a peer that vanished without
  // FIN looks exactly like this to its TCP connection): the stream leaves ready (idle, last_error says why), its
  // GOP cache is dropped, the publisher is kicked and every reader is closed, so players learn the stream ended.
  bool acquire_publisher(const std::string& session, bool replace, std::function<void()> kick);
  void release_publisher(const std::string& session);
  // What the API shows of the current publisher (if it is still `session`): protocol and remote address.
  void describe_publisher(const std::string& session, std::string protocol, std::string remote);

  // ---- reader side: call on worker thread `worker`; the Reader must be destroyed on that thread too.
  std::unique_ptr<Reader> attach(size_t worker, std::string session);
  size_t readers() const;
  // Viewers served through one shared reader (WebRTC: one reader per stream feeds every peer) are counted here so
  // that readers() and the API show viewers, not internal readers. Any thread.
  void add_external_readers(int64_t delta) { external_readers_.fetch_add(delta, std::memory_order_relaxed); }
  // The GOP cache (units from the latest keyframe on, in order); empty without video or before a keyframe.
  std::vector<UnitPtr> gop_snapshot() const;

  // ---- control
  // Starts the configured source (no-op for publisher streams or when already started).
  void start();
  // Stops the source, kicks the publisher and closes every reader.
  void stop();
  bool started() const;

  StreamStats stats() const;

 private:
  friend class Reader;
  struct alignas(64) WorkerSlot {
    std::vector<Reader*> readers;  // touched only on the slot's own worker thread
    std::atomic<size_t> count{0};
    std::atomic<uint64_t> bytes_out{0}, packets_out{0}, drops{0};
    size_t rotation = 0;  // where the next pass over readers starts (own thread only)
    std::array<std::atomic<uint64_t>, FanoutHistogram::kBuckets> fanout{};  // written by the slot's thread only
    std::atomic<uint64_t> fanout_ns{0};
  };

  void detach(Reader* reader);  // on the reader's thread
  void deliver(size_t worker, const UnitPtr& unit, int64_t published_ns);
  void close_readers();
  void schedule_on_demand_stop();
  // Samples packets_in_ while the publisher of `epoch` holds the stream (on worker 0; holds no reference between
  // samples).
  static boost::asio::awaitable<void> watch_publisher(std::weak_ptr<Stream> weak, uint64_t epoch,
                                                      std::chrono::milliseconds timeout);
  // Drops a publisher that has sent nothing (see acquire_publisher).
  void publisher_timed_out(uint64_t epoch);

  const std::string id_;
  const StreamOptions options_;
  net::WorkerPool& pool_;
  SourceFactory factory_;
  std::unique_ptr<WorkerSlot[]> slots_;

  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<Track>> tracks_;
  bool has_video_ = false;
  std::vector<UnitPtr> gop_;
  size_t gop_bytes_ = 0;
  std::vector<TimestampRebaser> rebasers_;  // one per track
  uint32_t source_session_ = 0;             // the current source session (begin_source)
  bool stale_logged_ = false;               // a stale unit was logged since the session began
  uint64_t seq_ = 0;
  StreamState state_ = StreamState::Idle;
  std::string last_error_;
  std::vector<TrackReception> reception_;  // per track
  std::string source_transport_;
  std::chrono::steady_clock::time_point ready_since_{};
  std::unique_ptr<Source> source_;
  std::function<void()> keyframe_handler_;
  uint64_t keyframe_handler_id_ = 0;
  std::optional<std::chrono::steady_clock::time_point> keyframe_requested_at_;  // the last request sent
  KeyframeRequestCounts keyframe_requests_;
  bool started_ = false;
  std::string publisher_;
  std::function<void()> kick_publisher_;
  std::string publisher_protocol_, publisher_remote_;
  uint64_t publisher_epoch_ = 0;  // +1 per acquire_publisher: a watch ends when its publisher's epoch is over
  uint64_t watched_epoch_ = 0;    // the epoch whose data watch runs (started at set_state(Ready))
  std::unique_ptr<boost::asio::steady_timer> on_demand_timer_;

  std::atomic<uint64_t> bytes_in_{0}, packets_in_{0}, units_in_{0}, reconnects_{0}, publisher_timeouts_{0};
  std::atomic<int64_t> external_readers_{0};
  std::atomic<bool> on_demand_{false};
  // Readers attached by the HLS muxer ("hls") and the WebRTC feeds ("webrtc"); the others are RTSP sessions.
  std::atomic<int64_t> hls_readers_{0}, webrtc_feed_readers_{0}, rtmp_readers_{0}, srt_readers_{0};  // sessions "rtmp-N", "srt-N"
  mutable RateMeter ingest_rate_;  // under mu_
};

}  // namespace sg::media
