#pragma once
// streamgate.yaml -> typed, validated Config. Every error names the file, the line and what is wrong, e.g.
// "streamgate.yaml:4: unknown key 'htp' in 'server' (expected one of: http, rtsp, webrtc_udp, allowed_hosts, cors_origins, request_timeout)".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config_env.hpp"
#include "auth_session/authorizer.hpp"
#include "base/result.hpp"
#include "http/http_server.hpp"

namespace sg::app {

struct Endpoint {
  std::string host = "0.0.0.0";
  uint16_t port = 0;
  std::string to_string() const;
};
// "host:port", ":port" (all interfaces) or "[v6]:port".
Result<Endpoint> parse_endpoint(std::string_view text);

struct Credentials {
  std::string user;
  std::string pass;
  bool empty() const { return user.empty(); }
};

struct StreamConfig {
  std::string id;
  std::string source;
  bool on_demand = false;
  std::string rtsp_transport = "auto";  // auto | udp | tcp
  bool operator==(const StreamConfig&) const = default;
};

// Recording (src/record_session): `stream_defaults.record*` for every stream, `streams.<id>.record*` per stream.
// Durations in milliseconds.
struct RecordSettings {
  bool record = false;
  std::string path = "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f";  // record/path_pattern.hpp
  std::string format = "fmp4";                                     // fmp4 | mpegts
  int64_t segment_ms = 3600000;
  int64_t part_ms = 1000;
  int64_t delete_after_ms = 7LL * 86400000;  // 0 = keep forever
  bool operator==(const RecordSettings&) const = default;
};

// A stream's own record* keys; unset ones follow stream_defaults (also after a reload changes them).
struct RecordOverrides {
  std::optional<bool> record;
  std::optional<std::string> path, format;
  std::optional<int64_t> segment_ms, part_ms, delete_after_ms;
  RecordSettings over(const RecordSettings& defaults) const;
  bool operator==(const RecordOverrides&) const = default;
};

struct RtspConfig {
  std::string publish_conflict = "refuse";  // refuse | replace: a second publisher to a busy path
  Credentials publish_auth;
  Credentials read_auth;
  std::string auth_method = "digest";  // digest | basic
  int session_timeout_s = 60;
  int source_timeout_s = 10;  // pull: no data for this long = dead source
  // pull: RTP loss (by sequence number) over loss_window_ms at or above loss_threshold_percent is an episode
  // (logged once; an `auto` pull over UDP reconnects over TCP). 0 = no episodes.
  int loss_threshold_percent = 10;
  int loss_window_ms = 10000;
  bool allow_any_publish = true;  // publishing to an unconfigured path creates it
  int request_timeout_ms = 10000;  // copied from Config::request_timeout_ms
  int reader_timeout_ms = 10000;   // copied from Config::reader_timeout_ms
};

// HLS egress (src/hls_session). Durations in milliseconds.
struct HlsConfig {
  std::string variant = "lowLatency";  // mpegts | fmp4 | lowLatency
  int segment_duration_ms = 2000;
  int part_duration_ms = 200;
  size_t segment_count = 7;
  std::string directory;  // optional: also write playlists and segments here
};

// WebRTC egress (src/webrtc): which host candidates the SDP answers carry.
struct WebRtcConfig {
  std::vector<std::string> additional_hosts;  // IP addresses, e.g. a public address in front of NAT
  bool interface_discovery = true;            // server.webrtc_udp on 0.0.0.0: one candidate per interface
  int64_t consent_timeout_ms = 30000;         // RFC 7675: a session without ICE checks for this long ends
  size_t max_sessions = 2000;
  int64_t setup_timeout_ms = 10000;   // webrtc.setup_timeout: ICE + DTLS not done by then = the session ends
  size_t max_pending_per_address = 16;  // webrtc.max_pending_per_address: sessions setting up per client address
};

// limits.*: open connections per protocol (HTTPS counts as HTTP, RTSPS as RTSP) and per client address.
struct ConnectionLimitsConfig {
  size_t http_connections = 10000;
  size_t http_connections_per_address = 500;
  size_t rtsp_connections = 10000;
  size_t rtsp_connections_per_address = 500;
  // Client addresses the per-address limits (connections, WebRTC pending sessions) do not apply to: the machine
  // itself by default (a reverse proxy in front, health checks). The totals still apply.
  std::vector<auth::IpRange> per_address_exempt = {*auth::IpRange::parse("127.0.0.0/8"), *auth::IpRange::parse("::1")};
};

// rtmp: the RTMP listener (src/rtmp_session). Off unless configured, so an upgrade opens no new port:
// `rtmp: { address: ":1935" }` (or an empty `rtmp: {}`) turns it on, `enabled: false` turns it off again.
struct RtmpConfig {
  bool enabled = false;
  Endpoint address{"0.0.0.0", 1935};
};

// srt: the SRT listener (src/srt_session), UDP. Off unless configured, like rtmp: `srt: { address: ":8890" }` (or
// `srt: {}`) turns it on. passphrase: AES encryption for every connection (10..79 characters; callers must use the
// same one); latency: SRTO_LATENCY (receiver buffer and peer latency).
struct SrtConfig {
  bool enabled = false;
  Endpoint address{"0.0.0.0", 8890};
  std::string passphrase;
  int latency_ms = 120;
};

// TLS for HTTPS and RTSPS: PEM files (cert: leaf first, then the chain). Both set = the TLS listeners run.
struct TlsConfig {
  std::string cert;
  std::string key;
  int reload_interval_ms = 10000;  // the files are re-read when they change; 0 = never
  bool enabled() const { return !cert.empty() && !key.empty(); }
};

// cluster: nodes sharing one Redis serve every stream; each source is pulled by one node (src/cluster_session).
// Off unless configured.
struct ClusterConfig {
  bool enabled = false;
  std::string redis;      // redis://[[user]:password@]host[:port][/db] (checked by cluster::parse_redis_url)
  std::string node;       // this node's name, unique in the cluster; default: the host name
  std::string advertise;  // the address the other nodes reach this node's RTSP port on (required)
  int lease_ms = 5000;    // ownership lease and heartbeat TTL: a dead node's streams move after about this long
};

// What the REST API may do beyond managing streams.
struct ApiConfig {
  // exec: sources run a command as the server's user: only the config file may define them, unless this is true.
  bool allow_exec = false;
  // Patterns a source created through the API must match ("" = exact text, "~regex" = full match); empty = any
  // rtsp:// URL (note: pull sources make the server connect wherever they point, internal addresses included).
  std::vector<std::string> allowed_sources;
};

struct Config {
  std::string file;  // where it came from ("" = built-in defaults)
  Endpoint http{"0.0.0.0", 8080};
  Endpoint rtsp{"0.0.0.0", 8554};
  Endpoint webrtc_udp{"0.0.0.0", 8189};
  Endpoint https{"0.0.0.0", 8443};  // served when tls.enabled()
  Endpoint rtsps{"0.0.0.0", 8322};  // likewise
  TlsConfig tls;
  int request_timeout_ms = 10000;  // server.request_timeout: a request's first byte to its last (HTTP and RTSP)
  size_t max_streams = 1000;       // limits.max_streams: API and RTSP publishers cannot create more
  ConnectionLimitsConfig limits;
  unsigned workers = 0;  // 0 = number of cores
  std::string log_level = "info";
  std::string log_format = "json";
  size_t reader_queue = 512;
  // reader_timeout: a TCP reader whose connection accepts no byte for this long (it stopped reading) is closed.
  int reader_timeout_ms = 10000;
  // publisher_timeout: a publisher that sends no packet for this long is gone (media::StreamOptions).
  int publisher_timeout_ms = 10000;
  RtspConfig rtsp_options;
  RtmpConfig rtmp;
  SrtConfig srt;
  HlsConfig hls;
  WebRtcConfig webrtc;
  ApiConfig api;
  ClusterConfig cluster;
  http::HttpPolicy http_policy;
  auth_session::AuthOptions auth;
  std::vector<StreamConfig> streams;
  RecordSettings record_defaults;                     // stream_defaults.record*
  std::map<std::string, RecordOverrides> stream_record;  // streams.<id>.record*, by stream id
  // SIGTERM: /readyz turns 503 and new sessions are refused at once; existing ones are served this long, then
  // closed. 0 = close at once.
  int shutdown_grace_ms = 0;
  // record_path: where recorded segments go and where playback finds them (src/playback): a pattern with %stream
  // and strftime fields plus %f (microseconds), expanded with the segment's start time in UTC; ".mp4" is appended.
  std::string record_path = "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f";
  // Every setting outside `streams` as written in the file ("server.http" -> its YAML text), so a reload can tell
  // which ones changed (src/app/reload.hpp).
  std::map<std::string, std::string> setting_texts;
};

// Parses YAML text; `file` is used in error messages. `env` feeds ${VAR} and the STREAMGATE_* key overrides
// (config_env.hpp): tests pass their own, the server its process environment.
Result<Config> parse_config(std::string_view yaml, const std::string& file, const Environment& env = {});
Result<Config> load_config(const std::string& path, const Environment& env = process_environment());

}  // namespace sg::app
