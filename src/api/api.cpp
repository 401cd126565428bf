#include "api/api.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/log.hpp"
#include "base/process.hpp"
#include "base/prometheus.hpp"
#include "base/redact.hpp"

namespace sg::api {

namespace json = boost::json;
using http::Request;
using http::Response;
using bhttp = boost::beast::http::status;
using boost::asio::awaitable;
namespace verb_ns = boost::beast::http;

std::string redact_source(std::string_view source) { return redact_secrets(source); }

json::object stream_json(const ApiContext& ctx, const media::Stream& s) {
  auto st = s.stats();
  json::array tracks;
  for (size_t i = 0; i < st.tracks->size(); ++i) {
    const auto& t = (*st.tracks)[i];
    json::object o{{"kind", media::to_string(t.kind)}, {"codec", media::to_string(t.codec)}, {"clock_rate", t.clock_rate}};
    if (t.kind == media::MediaKind::Video && t.width > 0) {
      o["width"] = t.width;
      o["height"] = t.height;
    }
    if (t.kind == media::MediaKind::Audio && t.channels > 0) o["channels"] = t.channels;
    const media::TrackReception r = i < st.reception.size() ? st.reception[i] : media::TrackReception{};
    o["rtp_packets_received"] = r.received;
    o["rtp_packets_lost"] = r.lost;
    tracks.push_back(std::move(o));
  }
  json::object o{
      {"id", s.id()},
      {"source", redact_source(s.options().source)},
      {"on_demand", s.options().on_demand},
      {"state", media::to_string(st.state)},
      {"tracks", std::move(tracks)},
      {"readers", st.readers},
      {"bytes_received", st.bytes_in},
      {"packets_received", st.packets_in},
      {"bytes_sent", st.bytes_out},
      {"packets_sent", st.packets_out},
      {"units_dropped", st.units_dropped},
      {"reconnects", st.reconnects},
      {"uptime_seconds", static_cast<uint64_t>(st.uptime_seconds)},
  };
  o["last_error"] = st.last_error.empty() ? json::value(nullptr) : json::value(st.last_error);
  o["source_transport"] = st.source_transport.empty() ? json::value(nullptr) : json::value(st.source_transport);
  o["readers_by_protocol"] = json::object{{"rtsp", st.readers_rtsp}, {"webrtc", st.readers_webrtc}, {"hls", st.readers_hls}, {"rtmp", st.readers_rtmp}, {"srt", st.readers_srt}};
  o["bitrate_in"] = static_cast<uint64_t>(st.bitrate_in);
  if (st.has_publisher)
    o["publisher"] = json::object{{"protocol", st.publisher_protocol.empty() ? json::value(nullptr) : json::value(st.publisher_protocol)},
                                  {"remote", st.publisher_remote.empty() ? json::value(nullptr) : json::value(st.publisher_remote)}};
  else
    o["publisher"] = nullptr;
  for (const auto& f : ctx.stream_fields) f(s, o);
  return o;
}

json::object server_json(ApiContext& ctx) {
  json::object o;
#ifdef SG_VERSION
  o["version"] = SG_VERSION;
#else
  o["version"] = "unknown";
#endif
  o["uptime_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started_at).count();
  o["cpu_seconds"] = process_cpu_seconds();
  o["memory_rss_bytes"] = process_rss_bytes();
  o["worker_threads"] = ctx.worker_threads;
  o["streams"] = ctx.registry.list().size();
  o["sessions"] = ctx.session_counts ? ctx.session_counts() : json::object{};
  o["ports"] = ctx.ports ? ctx.ports() : json::object{};
  o["event_clients"] = ctx.event_clients.load();
  json::object config;
  if (ctx.config_file.empty()) {
    config["file"] = nullptr;
    config["text"] = nullptr;
  } else {
    config["file"] = ctx.config_file;
    std::ifstream f(ctx.config_file, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    config["text"] = f ? json::value(redact_config_text(ss.str())) : json::value(nullptr);
  }
  o["config"] = std::move(config);
  return o;
}

namespace {

// Reads {"id": "...", "source": "...", "on_demand": bool} strictly: unknown fields and wrong types are errors.
Result<std::pair<std::string, media::StreamOptions>> parse_create(std::string_view body, size_t queue) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_error("malformed JSON: " + ec.message());
  if (!v.is_object()) return make_error("body must be a JSON object");
  const auto& obj = v.as_object();
  for (const auto& [k, val] : obj) {
    if (k != "id" && k != "source" && k != "on_demand" && k != "rtsp_transport")
      return make_error("unknown field '" + std::string(k) + "'");
  }
  auto id = obj.if_contains("id");
  if (!id || !id->is_string()) return make_error("field 'id' is required and must be a string");
  auto source = obj.if_contains("source");
  if (!source || !source->is_string()) return make_error("field 'source' is required and must be a string");
  media::StreamOptions opts;
  opts.source = std::string(source->as_string());
  opts.reader_queue = queue;
  if (auto od = obj.if_contains("on_demand")) {
    if (!od->is_bool()) return make_error("field 'on_demand' must be a boolean");
    opts.on_demand = od->as_bool();
  }
  if (auto tr = obj.if_contains("rtsp_transport")) {
    if (!tr->is_string() || (tr->as_string() != "auto" && tr->as_string() != "udp" && tr->as_string() != "tcp"))
      return make_error("field 'rtsp_transport' must be one of: auto, udp, tcp");
    opts.rtsp_transport = std::string(tr->as_string());
  }
  std::string sid(id->as_string());
  if (auto ok = media::check_stream_id(sid); !ok) return make_error("field 'id': " + ok.error());
  if (auto s = media::validate_source(opts.source); !s) return make_error("field 'source': " + s.error());
  return std::pair{std::move(sid), std::move(opts)};
}

void label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

template <class T>
void sample(std::string& out, std::string_view name, std::string_view stream, T value) {
  out += name;
  if (!stream.empty()) {
    out += "{stream=\"";
    label_value(out, stream);
    out += "\"}";
  }
  out += ' ';
  if constexpr (std::is_floating_point_v<T>) {
    append_metric_value(out, value);
  } else {
    out += std::to_string(value);
  }
  out += '\n';
}

void track_sample(std::string& out, std::string_view name, std::string_view stream, size_t track, uint64_t value) {
  out += name;
  out += "{stream=\"";
  label_value(out, stream);
  out += "\",track=\"";
  out += std::to_string(track);
  out += "\"} ";
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

std::string render_metrics(ApiContext& ctx) {
  std::string out;
  out.reserve(4096);
  auto streams = ctx.registry.list();
  write_metric_header(out, "streamgate_uptime_seconds", "gauge", "Seconds since the server started.");
  sample(out, "streamgate_uptime_seconds", "",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started_at).count());
  write_metric_header(out, "streamgate_process_resident_memory_bytes", "gauge", "Resident set size of the process.");
  sample(out, "streamgate_process_resident_memory_bytes", "", process_rss_bytes());
  write_metric_header(out, "streamgate_process_cpu_seconds_total", "counter", "User and system CPU time used.");
  sample(out, "streamgate_process_cpu_seconds_total", "", process_cpu_seconds());
  write_metric_header(out, "streamgate_worker_threads", "gauge", "Worker threads, each with its own event loop.");
  sample(out, "streamgate_worker_threads", "", ctx.worker_threads);
  write_metric_header(out, "streamgate_streams", "gauge", "Configured streams.");
  sample(out, "streamgate_streams", "", streams.size());
  write_metric_header(out, "streamgate_stream_limit_refusals_total", "counter",
                      "Streams not created because limits.max_streams were there.");
  sample(out, "streamgate_stream_limit_refusals_total", "", ctx.registry.limit_refusals());

  std::vector<media::StreamStats> stats;
  stats.reserve(streams.size());
  for (const auto& s : streams) stats.push_back(s->stats());
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*get)(const media::StreamStats&);
  };
  static constexpr Family kFamilies[] = {
      {"streamgate_stream_ready", "gauge", "1 when the stream is ready (has a live source).",
       [](const media::StreamStats& s) -> uint64_t { return s.state == media::StreamState::Ready; }},
      {"streamgate_stream_readers", "gauge", "Readers of the stream (all protocols).",
       [](const media::StreamStats& s) -> uint64_t { return s.readers; }},
      {"streamgate_stream_bytes_received_total", "counter", "Bytes received from the source.",
       [](const media::StreamStats& s) { return s.bytes_in; }},
      {"streamgate_stream_packets_received_total", "counter", "Packets received from the source.",
       [](const media::StreamStats& s) { return s.packets_in; }},
      {"streamgate_stream_bytes_sent_total", "counter", "Bytes sent to readers.",
       [](const media::StreamStats& s) { return s.bytes_out; }},
      {"streamgate_stream_packets_sent_total", "counter", "Packets sent to readers.",
       [](const media::StreamStats& s) { return s.packets_out; }},
      {"streamgate_stream_units_dropped_total", "counter", "Units dropped from full reader queues.",
       [](const media::StreamStats& s) { return s.units_dropped; }},
      {"streamgate_stream_source_reconnects_total", "counter", "Times the source was reconnected.",
       [](const media::StreamStats& s) { return s.reconnects; }},
      {"streamgate_stream_publisher_timeouts_total", "counter",
       "Publishers dropped for sending no packet for publisher_timeout.",
       [](const media::StreamStats& s) { return s.publisher_timeouts; }},
  };
  for (const auto& f : kFamilies) {
    write_metric_header(out, f.name, f.type, f.help);
    for (size_t i = 0; i < streams.size(); ++i) sample(out, f.name, streams[i]->id(), f.get(stats[i]));
  }
  // Per source track, from RTP sequence numbers (label `track`: its index in the stream's track list).
  write_metric_header(out, "streamgate_stream_rtp_packets_received_total", "counter",
                      "Distinct RTP packets received from the source, per track.");
  for (size_t i = 0; i < streams.size(); ++i)
    for (size_t t = 0; t < stats[i].reception.size(); ++t)
      track_sample(out, "streamgate_stream_rtp_packets_received_total", streams[i]->id(), t,
                   stats[i].reception[t].received);
  write_metric_header(out, "streamgate_stream_rtp_packets_lost_total", "counter",
                      "RTP packets of the source that never arrived (sequence-number gaps), per track.");
  for (size_t i = 0; i < streams.size(); ++i)
    for (size_t t = 0; t < stats[i].reception.size(); ++t)
      track_sample(out, "streamgate_stream_rtp_packets_lost_total", streams[i]->id(), t, stats[i].reception[t].lost);
  // Fan-out time per unit and worker: from the unit's publish to the end of the worker's pass over its readers.
  write_metric_header(out, "streamgate_stream_fanout_seconds", "histogram",
                      "Time from a unit's arrival to its last local reader's send (or queue), per worker pass.");
  for (size_t i = 0; i < streams.size(); ++i) {
    const auto& h = stats[i].fanout;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < media::FanoutHistogram::kBuckets; ++b) {
      cumulative += h.counts[b];
      char le[32];
      if (b < std::size(media::FanoutHistogram::kBounds))
        std::snprintf(le, sizeof le, "%g", media::FanoutHistogram::kBounds[b]);
      else
        std::snprintf(le, sizeof le, "+Inf");
      out += "streamgate_stream_fanout_seconds_bucket{stream=\"";
      label_value(out, streams[i]->id());
      out += "\",le=\"";
      out += le;
      out += "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    sample(out, "streamgate_stream_fanout_seconds_sum", streams[i]->id(), h.sum_seconds);
    sample(out, "streamgate_stream_fanout_seconds_count", streams[i]->id(), h.count);
  }
  // Viewers' keyframe requests (PLI/FIR) passed to the stream's source; label `result`: sent, rate_limited (within
  // a second of the previous one), unsupported (the source takes no requests).
  write_metric_header(out, "streamgate_keyframe_requests_total", "counter",
                      "Keyframe requests from readers passed to the stream's source, by result.");
  for (size_t i = 0; i < streams.size(); ++i) {
    const auto& k = stats[i].keyframe_requests;
    for (auto [result, n] : {std::pair{media::KeyframeRequest::Sent, k.sent},
                             std::pair{media::KeyframeRequest::RateLimited, k.rate_limited},
                             std::pair{media::KeyframeRequest::Unsupported, k.unsupported}}) {
      out += "streamgate_keyframe_requests_total{stream=\"";
      label_value(out, streams[i]->id());
      out += "\",result=\"";
      out += media::to_string(result);
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  }
  for (const auto& w : ctx.metric_writers) w(out);
  return out;
}

void add_api_routes(http::Router& router, ApiContext& ctx) {
  using verb = verb_ns::verb;

  router.add(verb::get, "/api/v1/streams", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params&) -> Response {
    auto& cache = ctx.list_cache;
    std::string body;
    {
      std::lock_guard lk(cache.mu);
      auto now = std::chrono::steady_clock::now();
      uint64_t generation = ctx.registry.generation();
      if (cache.generation != generation || now - cache.built >= ApiContext::kListTtl) {
        json::array list;
        for (const auto& s : ctx.registry.list()) list.push_back(stream_json(ctx, *s));
        cache.body = http::serialize_json(json::object{{"items", std::move(list)}});
        cache.body += '\n';
        cache.generation = generation;
        cache.built = now;
      }
      body = cache.body;
    }
    return http::text_response(bhttp::ok, std::move(body), "application/json", req);
  }));

  router.add(verb::post, "/api/v1/streams", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params&) -> Response {
    auto parsed = parse_create(req.body(), ctx.reader_queue);
    if (!parsed) return http::error_response(bhttp::bad_request, parsed.error(), req);
    auto& [id, opts] = *parsed;
    // exec: runs a command as the server's user: the operator's config file may define one, a request may not.
    if (opts.source.starts_with("exec:") && !ctx.allow_exec) {
      log::warn("API refused an exec source", {{"stream", id}});
      return http::error_response(bhttp::forbidden,
                                  "exec sources can only be defined in the config file (api.allow_exec is false)", req);
    }
    if (!ctx.allowed_sources.empty() && opts.source != "publisher") {
      bool ok = false;
      for (const auto& p : ctx.allowed_sources) ok |= p.covers(auth::Action::Read, opts.source);
      if (!ok)
        return http::error_response(bhttp::forbidden, "source not allowed by api.allowed_sources: " +
                                                          redact_secrets(opts.source), req);
    }
    if (ctx.registry.find(id)) return http::error_response(bhttp::conflict, "stream '" + id + "' already exists", req);
    auto created = ctx.registry.create(id, std::move(opts));
    if (!created)
      return http::error_response(ctx.registry.full() ? bhttp::too_many_requests : bhttp::conflict, created.error(), req);
    if (ctx.on_stream_created) ctx.on_stream_created(id, (*created)->options());
    else (*created)->start();  // in a cluster, the stream's owner starts it
    log::info("stream created", {{"stream", id}, {"source", redact_source((*created)->options().source)}});
    auto res = http::json_response(bhttp::created, stream_json(ctx, **created), req);
    res.set(verb_ns::field::location, "/api/v1/streams/" + id);
    return res;
  }));

  router.add(verb::get, "/api/v1/streams/{id}", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params& p) -> Response {
    auto s = ctx.registry.find(p.get("id"));
    if (!s) return http::error_response(bhttp::not_found, "stream '" + p.get("id") + "' not found", req);
    return http::json_response(bhttp::ok, stream_json(ctx, *s), req);
  }));

  router.add(verb::delete_, "/api/v1/streams/{id}", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params& p) -> Response {
    if (!ctx.registry.remove(p.get("id")))
      return http::error_response(bhttp::not_found, "stream '" + p.get("id") + "' not found", req);
    if (ctx.on_stream_deleted) ctx.on_stream_deleted(p.get("id"));
    log::info("stream deleted", {{"stream", p.get("id")}});
    Response res{bhttp::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
  }));

  router.add(verb::post, "/api/v1/streams/{id}/start", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params& p) -> Response {
    auto s = ctx.registry.find(p.get("id"));
    if (!s) return http::error_response(bhttp::not_found, "stream '" + p.get("id") + "' not found", req);
    s->start();
    ctx.invalidate_list();
    log::info("stream started", {{"stream", s->id()}});
    return http::json_response(bhttp::ok, stream_json(ctx, *s), req);
  }));

  router.add(verb::post, "/api/v1/streams/{id}/stop", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params& p) -> Response {
    auto s = ctx.registry.find(p.get("id"));
    if (!s) return http::error_response(bhttp::not_found, "stream '" + p.get("id") + "' not found", req);
    s->stop();
    ctx.invalidate_list();
    log::info("stream stopped", {{"stream", s->id()}});
    return http::json_response(bhttp::ok, stream_json(ctx, *s), req);
  }));

  router.add(verb::get, "/api/v1/server", http::Access::api(), http::sync_handler([&ctx](const Request& req, const http::Params&) -> Response {
    return http::json_response(bhttp::ok, server_json(ctx), req);
  }));

  add_event_routes(router, ctx);

  router.add(verb::get, "/metrics", http::Access::metrics(), http::sync_handler([&ctx](const Request& req, const http::Params&) -> Response {
    return http::text_response(bhttp::ok, render_metrics(ctx), "text/plain; version=0.0.4; charset=utf-8", req);
  }));

  router.add(verb::get, "/healthz", http::Access::open(), http::sync_handler([](const Request& req, const http::Params&) -> Response {
    return http::json_response(bhttp::ok, json::object{{"status", "ok"}}, req);
  }));

  router.add(verb::get, "/readyz", http::Access::open(), http::sync_handler([&ctx](const Request& req, const http::Params&) -> Response {
    if (ctx.draining.load()) return http::json_response(bhttp::service_unavailable, json::object{{"status", "draining"}}, req);
    if (!ctx.ready.load()) return http::json_response(bhttp::service_unavailable, json::object{{"status", "starting"}}, req);
    json::object body{{"status", "ready"}};
    if (ctx.readiness_detail) body["cluster"] = ctx.readiness_detail();
    return http::json_response(bhttp::ok, body, req);
  }));
}

}  // namespace sg::api
