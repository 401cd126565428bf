#pragma once
// REST API (/api/v1/streams...), Prometheus /metrics, /healthz and /readyz, registered on the HTTP router.
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>

#include "auth/policy.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"

namespace sg::api {

struct ApiContext {
  explicit ApiContext(media::StreamRegistry& r) : registry(r) {}
  media::StreamRegistry& registry;
  size_t reader_queue = 512;
  size_t worker_threads = 1;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::atomic<bool> ready{false};  // listeners bound, config loaded
  std::atomic<bool> draining{false};  // SIGTERM with a grace period: /readyz says 503 while sessions finish
  // Sources the API may create: exec: only when the config allows it; others must match one pattern when any are
  // given (auth::Permission path syntax: exact or "~regex").
  bool allow_exec = false;
  std::vector<auth::Permission> allowed_sources;
  // GET /api/v1/server: open sessions by protocol ({"rtsp": n, ...}), filled by the app; the config file shown
  // (redacted) on the console's server page, "" when the server runs without one.
  std::function<boost::json::object()> session_counts;
  std::function<boost::json::object()> ports;  // listening ports by protocol ({"http": 8080, "rtsp": 8554, ...})
  std::string config_file;
  // GET /api/v1/events (the console's live stream list): clients connected now, and the most allowed at once.
  std::atomic<size_t> event_clients{0};
  size_t max_event_clients = 32;
  // Extra fields of a stream's JSON from other parts (e.g. "recording"), added to every stream object.
  std::vector<std::function<void(const media::Stream&, boost::json::object&)>> stream_fields;
  // Cluster (src/cluster_session): streams created and deleted through the API are shared with the other nodes;
  // /readyz shows the cluster's state. Unset without a cluster.
  std::function<void(const std::string&, const media::StreamOptions&)> on_stream_created;
  std::function<void(const std::string&)> on_stream_deleted;
  std::function<boost::json::object()> readiness_detail;
  // Extra metric lines from other parts (RTSP sessions, WebRTC peers...), already in exposition format.
  std::vector<std::function<void(std::string&)>> metric_writers;

  // GET /api/v1/streams is the hot monitoring call: its body is built at most every kListTtl (or when a stream is
  // created, removed, started or stopped) and shared by the requests in between.
  static constexpr std::chrono::milliseconds kListTtl{50};
  struct ListCache {
    std::mutex mu;
    std::string body;
    uint64_t generation = ~0ull;
    std::chrono::steady_clock::time_point built{};
  } list_cache;
  void invalidate_list() {
    std::lock_guard lk(list_cache.mu);
    list_cache.generation = ~0ull;
  }
};

void add_api_routes(http::Router& router, ApiContext& ctx);
// GET /api/v1/events (api/events.cpp): Server-Sent Events of the stream list, see api/stream_events.hpp.
void add_event_routes(http::Router& router, ApiContext& ctx);

// One stream as the API shows it (GET /api/v1/streams/{id}).
boost::json::object stream_json(const ApiContext& ctx, const media::Stream& s);
// GET /api/v1/server: version, uptime, CPU, memory, sessions by protocol and the redacted config text.
boost::json::object server_json(ApiContext& ctx);

// A source URL with its password hidden: rtsp://user:***@host/path.
std::string redact_source(std::string_view source);

// Prometheus text exposition (format 0.0.4) of the server and its streams.
std::string render_metrics(ApiContext& ctx);

}  // namespace sg::api
