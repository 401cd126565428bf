#include "app/app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/config_watcher.hpp"
#include "app/log.hpp"
#include "base/redact.hpp"
#include "cluster/redis_url.hpp"
#include "cluster_session/coordinator.hpp"
#include "base/prometheus.hpp"
#include "hls_session/hls_manager.hpp"
#include "playback/playback_server.hpp"
#include "media/stream_registry.hpp"
#include "net/tls_context.hpp"
#include "record_session/record_manager.hpp"
#include "rtsp_session/client_source.hpp"
#include "rtsp_session/exec_source.hpp"
#include "rtmp_session/client_source.hpp"
#include "rtmp_session/server.hpp"
#include "srt_session/client_source.hpp"
#include "srt_session/server.hpp"
#include "rtsp_session/server.hpp"
#include "webrtc/server.hpp"

namespace sg::app {

struct App::Extensions {
  std::unique_ptr<net::TlsContext> tls;  // HTTPS and RTSPS certificate (declared first: outlives the servers)
  std::unique_ptr<rtsp_session::RtspServer> rtsp;
  std::unique_ptr<rtmp_session::RtmpServer> rtmp;  // when rtmp.enabled
  std::unique_ptr<srt_session::SrtServer> srt;     // when srt.enabled
  std::unique_ptr<hls_session::HlsManager> hls;
  std::unique_ptr<playback::PlaybackServer> playback;
  std::unique_ptr<webrtc::WebRtcServer> webrtc;
  std::unique_ptr<record_session::RecordManager> record;
  // limits.* (held by connections too); RTMP connections count against limits like RTSP's, separately.
  std::shared_ptr<net::ConnectionLimiter> http_limiter, rtsp_limiter, rtmp_limiter;
};

// The control thread: config file watching and reloads run here, so file I/O and YAML parsing never hold up a
// worker thread's sessions.
struct App::Control {
  boost::asio::io_context context{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{context.get_executor()};
  std::thread thread;
  std::unique_ptr<ConfigWatcher> watcher;
  Config running;         // the config in force (control thread only)
  std::string last_text;  // the file's text when last read (control thread only)
  std::atomic<int64_t> grace_ms{0};
  std::atomic<uint64_t> reloads_ok{0}, reloads_failed{0};
  std::atomic<bool> last_ok{true};
};

namespace {
// Where playback looks for recordings: the default record_path and every stream's own.
std::vector<std::string> record_patterns(const Config& c) {
  std::vector<std::string> out{c.record_path, c.record_defaults.path};
  for (const auto& [id, o] : c.stream_record)
    if (o.path) out.push_back(*o.path);
  return out;
}
}  // namespace

App::App(Config config) : config_(std::move(config)) {
  pool_ = std::make_unique<net::WorkerPool>(config_.workers);
  auto local_sources =
      make_source_factory(config_, *pool_, [this] { return ext_ && ext_->rtsp ? ext_->rtsp->port() : config_.rtsp.port; });
  // In a cluster every stream's source is the coordinator's (made once the coordinator exists, below).
  registry_ = std::make_unique<media::StreamRegistry>(
      *pool_, [this, local_sources](const std::shared_ptr<media::Stream>& s) {
        return cluster_sources_ ? cluster_sources_(s) : local_sources(s);
      });
  registry_->set_max_streams(config_.max_streams);
  registry_->set_publisher_timeout(std::chrono::milliseconds(config_.publisher_timeout_ms));
  api_ = std::make_unique<api::ApiContext>(*registry_);
  api_->reader_queue = config_.reader_queue;
  api_->allow_exec = config_.api.allow_exec;
  for (const auto& pattern : config_.api.allowed_sources) api_->allowed_sources.push_back(*auth::Permission::make("read", pattern));
  authorizer_ = std::make_unique<auth_session::Authorizer>(pool_->context(0), config_.auth);
  api_->worker_threads = pool_->size();
  api_->metric_writers.push_back([pool = pool_.get()](std::string& out) {
    write_metric(out, "streamgate_worker_stalls_total", "counter",
                 "Times a worker's event loop was blocked or starved for more than 250 ms.", pool->stalls());
    write_metric(out, "streamgate_worker_longest_stall_seconds", "gauge",
                 "The longest time a worker's event loop was blocked or starved.", pool->longest_stall_seconds());
  });
  ext_ = std::make_unique<Extensions>();
  ext_->rtsp = std::make_unique<rtsp_session::RtspServer>(*pool_, *registry_, config_.rtsp_options, config_.reader_queue,
                                                          *authorizer_);
  api_->metric_writers.push_back([rtsp = ext_->rtsp.get()](std::string& out) { rtsp->write_metrics(out); });
  ext_->rtsp->add_routes(router_);  // /api/v1/rtsp/sessions
  const auto& lim = config_.limits;
  ext_->http_limiter = net::ConnectionLimiter::make(
      "http", {lim.http_connections, lim.http_connections_per_address, lim.per_address_exempt});
  ext_->rtsp_limiter = net::ConnectionLimiter::make(
      "rtsp", {lim.rtsp_connections, lim.rtsp_connections_per_address, lim.per_address_exempt});
  ext_->rtsp->set_connection_limiter(ext_->rtsp_limiter);
  if (config_.rtmp.enabled) {
    rtmp_session::RtmpOptions ro;
    ro.publish_conflict = config_.rtsp_options.publish_conflict;
    ro.allow_any_publish = config_.rtsp_options.allow_any_publish;
    ro.reader_queue = config_.reader_queue;
    ro.setup_timeout = std::chrono::milliseconds(config_.request_timeout_ms);
    ro.reader_timeout = std::chrono::milliseconds(config_.reader_timeout_ms);
    ext_->rtmp = std::make_unique<rtmp_session::RtmpServer>(*pool_, *registry_, ro, *authorizer_);
    ext_->rtmp_limiter = net::ConnectionLimiter::make(
        "rtmp", {lim.rtsp_connections, lim.rtsp_connections_per_address, lim.per_address_exempt});
    ext_->rtmp->set_connection_limiter(ext_->rtmp_limiter);
    api_->metric_writers.push_back([rtmp = ext_->rtmp.get()](std::string& out) { rtmp->write_metrics(out); });
  }
  if (config_.srt.enabled) {
    srt_session::SrtOptions so;
    so.passphrase = config_.srt.passphrase;
    so.latency_ms = config_.srt.latency_ms;
    so.publish_conflict = config_.rtsp_options.publish_conflict;
    so.allow_any_publish = config_.rtsp_options.allow_any_publish;
    so.reader_queue = config_.reader_queue;
    ext_->srt = std::make_unique<srt_session::SrtServer>(*pool_, *registry_, so, *authorizer_);
    api_->metric_writers.push_back([srt = ext_->srt.get()](std::string& out) { srt->write_metrics(out); });
  }
  api_->metric_writers.push_back(
      [h = ext_->http_limiter, r = ext_->rtsp_limiter, m = ext_->rtmp_limiter](std::string& out) {
        std::vector<const net::ConnectionLimiter*> list{h.get(), r.get()};
        if (m) list.push_back(m.get());
        net::ConnectionLimiter::write_metrics(out, list);
      });
  if (config_.cluster.enabled) {
    cluster_session::CoordinatorOptions co;
    co.redis = *cluster::parse_redis_url(config_.cluster.redis);  // checked when the config was parsed
    co.redis_text = redact_secrets(config_.cluster.redis);
    co.node = config_.cluster.node;
    co.advertise = config_.cluster.advertise;
    co.lease = std::chrono::milliseconds(config_.cluster.lease_ms);
    co.rtsp_port = [this] { return ext_->rtsp->port(); };
    co.http_port = [this] { return http_ ? http_->port() : uint16_t{0}; };
    co.reader_queue = config_.reader_queue;
    co.admit = [allow_exec = config_.api.allow_exec, allowed = api_->allowed_sources](const media::StreamOptions& o) -> Status {
      if (o.source.starts_with("exec:") && !allow_exec) return make_error("exec sources are not allowed (api.allow_exec)");
      if (!allowed.empty() && o.source != "publisher") {
        bool ok = false;
        for (const auto& p : allowed) ok |= p.covers(auth::Action::Read, o.source);
        if (!ok) return make_error("source not allowed by api.allowed_sources");
      }
      return Ok{};
    };
    cluster_ = std::make_unique<cluster_session::Coordinator>(*pool_, *registry_, std::move(co));
    cluster_sources_ = cluster_->wrap(local_sources);
    registry_->set_cluster_hooks([c = cluster_.get()](const std::string& id) { return c->may_publish(id); });
    cluster_->add_routes(router_);
    api_->stream_fields.push_back(
        [c = cluster_.get()](const media::Stream& s, boost::json::object& o) { c->describe(s, o); });
    api_->metric_writers.push_back([c = cluster_.get()](std::string& out) { c->write_metrics(out); });
    api_->readiness_detail = [c = cluster_.get()] { return c->readiness(); };
    api_->on_stream_created = [c = cluster_.get()](const std::string& id, const media::StreamOptions& o) {
      c->stream_created(id, o);
    };
    api_->on_stream_deleted = [c = cluster_.get()](const std::string& id) { c->stream_deleted(id); };
  }
  api::add_api_routes(router_, *api_);
  control_ = std::make_unique<Control>();
  control_->running = config_;
  control_->grace_ms = config_.shutdown_grace_ms;
  router_.add(boost::beast::http::verb::post, "/api/v1/config/reload", http::Access::api(),
              [this](const http::Request& req, const http::Params&) { return reload_request(req); });
  api_->metric_writers.push_back([c = control_.get()](std::string& out) {
    write_metric_header(out, "streamgate_config_reloads_total", "counter", "Config reloads by result");
    out += "streamgate_config_reloads_total{result=\"success\"} " + std::to_string(c->reloads_ok.load()) + "\n";
    out += "streamgate_config_reloads_total{result=\"failure\"} " + std::to_string(c->reloads_failed.load()) + "\n";
    write_metric_header(out, "streamgate_config_last_reload_successful", "gauge",
                        "1 when the last config reload was applied, 0 when it was refused");
    out += std::string("streamgate_config_last_reload_successful ") + (c->last_ok.load() ? "1" : "0") + "\n";
  });
  auto webrtc_options =
      webrtc::make_options(config_.reader_queue, config_.webrtc.additional_hosts, config_.webrtc.interface_discovery);
  webrtc_options.consent_timeout = std::chrono::milliseconds(config_.webrtc.consent_timeout_ms);
  webrtc_options.max_sessions = config_.webrtc.max_sessions;
  webrtc_options.setup_timeout = std::chrono::milliseconds(config_.webrtc.setup_timeout_ms);
  webrtc_options.max_pending_per_address = config_.webrtc.max_pending_per_address;
  webrtc_options.per_address_exempt = config_.limits.per_address_exempt;
  // WHIP publishers follow the RTSP publishing rules (rtsp.allow_any_publish, rtsp.publish_conflict).
  webrtc_options.allow_any_publish = config_.rtsp_options.allow_any_publish;
  webrtc_options.publish_conflict = config_.rtsp_options.publish_conflict;
  ext_->webrtc = std::make_unique<webrtc::WebRtcServer>(*pool_, *registry_, webrtc_options);
  ext_->webrtc->add_routes(router_);
  api_->metric_writers.push_back([w = ext_->webrtc.get()](std::string& out) { w->write_metrics(out); });
  ext_->record = std::make_unique<record_session::RecordManager>(*pool_, *registry_);
  ext_->record->configure(config_.record_defaults, config_.stream_record);
  ext_->record->add_routes(router_);
  api_->metric_writers.push_back([r = ext_->record.get()](std::string& out) { r->write_metrics(out); });
  api_->stream_fields.push_back([r = ext_->record.get()](const media::Stream& s, boost::json::object& o) {
    o["recording"] = r->describe(s.id());
  });
  ext_->playback = std::make_unique<playback::PlaybackServer>(record_patterns(config_));
  ext_->playback->add_routes(router_);  // before HLS's catch-all GET /{stream}/{file}
  ext_->hls = std::make_unique<hls_session::HlsManager>(*pool_, *registry_, hls_session::make_hls_options(config_.hls));
  ext_->hls->add_routes(router_);  // registers a catch-all GET /{stream}/{file}: add other GET routes before it
  api_->metric_writers.push_back([hls = ext_->hls.get()](std::string& out) { hls->write_metrics(out); });
  // A stream named like a top-level route would be shadowed by it: every such name must be a reserved id.
  for (const auto& name : router_.top_level_names())
    if (media::valid_stream_id(name))
      throw std::logic_error("route /" + name + "/ is not in media::kReservedStreamIds");
  api_->config_file = config_.file;
  api_->ports = [this] {
    boost::json::object o{{"http", http_->port()}, {"rtsp", ext_->rtsp->port()}};
    if (ext_->rtmp) o["rtmp"] = ext_->rtmp->port();
    if (ext_->srt) o["srt"] = ext_->srt->port();
    if (ext_->tls) {
      o["https"] = http_->tls_port();
      o["rtsps"] = ext_->rtsp->tls_port();
    }
    return o;
  };
  api_->session_counts = [e = ext_.get()] {
    return boost::json::object{{"rtsp", e->rtsp->sessions()}, {"webrtc", e->webrtc->sessions()},
                               {"rtmp", e->rtmp ? e->rtmp->sessions() : 0}, {"srt", e->srt ? e->srt->sessions() : 0}, {"hls_muxers", e->hls->muxers()}};
  };
  http_ = std::make_unique<http::HttpServer>(*pool_, router_, authorizer_.get(), config_.http_policy);
  http_->set_request_timeout(std::chrono::milliseconds(config_.request_timeout_ms));
  http_->set_connection_limiter(ext_->http_limiter);
}

App::~App() { stop(); }

Status App::start() {
  if (auto s = http_->listen(config_.http.host, config_.http.port); !s) return s;
  if (auto s = ext_->rtsp->listen(config_.rtsp.host, config_.rtsp.port); !s) return s;
  if (auto s = ext_->webrtc->listen(config_.webrtc_udp.host, config_.webrtc_udp.port); !s) return s;
  if (ext_->rtmp)
    if (auto s = ext_->rtmp->listen(config_.rtmp.address.host, config_.rtmp.address.port); !s) return s;
  if (ext_->srt)
    if (auto s = ext_->srt->listen(config_.srt.address.host, config_.srt.address.port); !s) return s;
  if (config_.tls.enabled()) {
    auto tls = net::TlsContext::load(config_.tls.cert, config_.tls.key);
    if (!tls) return make_error(tls.error());
    ext_->tls = std::move(*tls);
    if (auto s = http_->listen_tls(config_.https.host, config_.https.port, *ext_->tls); !s) return s;
    if (auto s = ext_->rtsp->listen_tls(config_.rtsps.host, config_.rtsps.port, *ext_->tls); !s) return s;
  }
  for (const auto& sc : config_.streams) {
    auto created = registry_->create(sc.id, stream_options(sc, config_.reader_queue));
    if (!created) return make_error(created.error());
  }
  pool_->start();
  http_->start();
  ext_->rtsp->start();
  if (ext_->rtmp) ext_->rtmp->start();
  if (ext_->srt) ext_->srt->start();
  ext_->webrtc->start();
  ext_->record->start();
  if (ext_->tls) ext_->tls->watch(std::chrono::milliseconds(config_.tls.reload_interval_ms));
  if (cluster_) {
    cluster_->start();  // it starts the streams this node owns
  } else {
    for (const auto& s : registry_->list()) {
      if (!s->options().on_demand) s->start();
    }
  }
  control_->thread = std::thread([c = control_.get()] { c->context.run(); });
  if (!config_.file.empty()) {
    boost::asio::post(control_->context, [this] {
      control_->watcher = std::make_unique<ConfigWatcher>(control_->context, config_.file,
                                                          [this] { reload_now("file change", true); });
      if (auto s = control_->watcher->start(); !s)
        log::warn("config file changes are not watched (SIGHUP and the API still reload)", {{"error", s.error()}});
    });
  }
  api_->ready = true;
  log::info("streamgate ready",
            {{"http", config_.http.to_string()},
             {"rtsp", config_.rtsp.host + ":" + std::to_string(ext_->rtsp->port())},
             {"https", ext_->tls ? config_.https.host + ":" + std::to_string(http_->tls_port()) : "off"},
             {"rtsps", ext_->tls ? config_.rtsps.host + ":" + std::to_string(ext_->rtsp->tls_port()) : "off"},
             {"rtmp", ext_->rtmp ? config_.rtmp.address.host + ":" + std::to_string(ext_->rtmp->port()) : "off"},
             {"srt", ext_->srt ? config_.srt.address.host + ":" + std::to_string(ext_->srt->port()) : "off"},
             {"workers", pool_->size()},
             {"streams", registry_->size()},
             {"config", config_.file.empty() ? std::string("(defaults)") : config_.file}});
  return Ok{};
}

void App::release_memory() {
  if (pool_) pool_->handoff().release();
}

void App::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (control_->thread.joinable()) {
    boost::asio::post(control_->context, [c = control_.get()] {
      if (c->watcher) c->watcher->stop();
      c->guard.reset();
    });
    control_->thread.join();  // a reload under way finishes first
  }
  api_->ready = false;
  if (cluster_) cluster_->stop();  // hands this node's streams over before they stop
  http_->stop();
  ext_->rtsp->stop();
  if (ext_->rtmp) ext_->rtmp->stop();
  if (ext_->srt) ext_->srt->stop();
  if (ext_->tls) ext_->tls->stop();
  ext_->webrtc->stop();
  ext_->record->stop();  // what the recorders queued is written, then the writer thread ends
  registry_->stop_all();
  pool_->stop();
  // With every worker joined, the servers' sockets and timers can go while their contexts still exist; the pool
  // then destroys the contexts (and suspended coroutines) when the App goes.
  ext_.reset();
  http_.reset();
}

void App::reload(std::string trigger) {
  boost::asio::post(control_->context, [this, trigger = std::move(trigger)] { reload_now(trigger, false); });
}

std::chrono::milliseconds App::shutdown_grace() const { return std::chrono::milliseconds(control_->grace_ms.load()); }

void App::drain() {
  api_->draining = true;
  http_->drain();
  ext_->rtsp->stop_accepting();
  if (ext_->rtmp) ext_->rtmp->stop_accepting();
  if (ext_->srt) ext_->srt->stop_accepting();
  log::info("draining: /readyz is 503, new sessions are refused, open ones are served until the grace period ends",
            {{"grace_ms", static_cast<int64_t>(control_->grace_ms.load())},
             {"rtsp_sessions", ext_->rtsp->sessions()},
             {"rtmp_sessions", ext_->rtmp ? ext_->rtmp->sessions() : 0},
             {"srt_sessions", ext_->srt ? ext_->srt->sessions() : 0},
             {"webrtc_sessions", ext_->webrtc->sessions()}});
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::vector<std::string> ids(const std::vector<StreamConfig>& streams) {
  std::vector<std::string> out;
  for (const auto& s : streams) out.push_back(s.id);
  return out;
}

boost::json::array json_list(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& i : items) a.emplace_back(i);
  return a;
}

}  // namespace

App::ReloadOutcome App::reload_now(const std::string& trigger, bool only_if_changed) {
  auto& c = *control_;
  ReloadOutcome out;
  std::ifstream in(config_.file);
  std::string text;
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  if (only_if_changed && in && text == c.last_text) {
    out.ok = out.skipped = true;
    return out;
  }
  c.last_text = text;
  auto next = in ? parse_config(text, config_.file, process_environment()) : Result<Config>(make_error(config_.file + ": cannot open config file"));
  if (!next) {
    out.error = next.error();
    c.reloads_failed.fetch_add(1);
    c.last_ok = false;
    log::error("config reload refused: the running config stays", {{"trigger", trigger}, {"error", out.error}});
    return out;
  }
  out.ok = true;
  out.changes = diff_config(c.running, *next);
  out.stream_errors = apply_stream_changes(*registry_, out.changes, config_.reader_queue, cluster_ == nullptr);
  c.running.streams = next->streams;
  ext_->record->configure(next->record_defaults, next->stream_record);
  ext_->playback->set_patterns(record_patterns(*next));
  bool auth_changed = false;
  for (const auto& key : out.changes.applied) {
    if (auto it = next->setting_texts.find(key); it != next->setting_texts.end())
      c.running.setting_texts[key] = it->second;
    else
      c.running.setting_texts.erase(key);
    if (key == "log.level") {
      log::Level level;
      if (log::parse_level(next->log_level, level)) log::set_level(level);
    }
    if (key == "shutdown_grace") c.grace_ms = next->shutdown_grace_ms;
    auth_changed |= is_auth_setting(key);
  }
  if (auth_changed) authorizer_->update(next->auth);
  api_->invalidate_list();
  c.reloads_ok.fetch_add(1);
  c.last_ok = true;
  const auto& ch = out.changes;
  log::info("config reloaded", {{"trigger", trigger},
                                {"added", join(ids(ch.added))},
                                {"removed", join(ch.removed)},
                                {"restarted", join(ids(ch.changed))},
                                {"unchanged", join(ch.unchanged)},
                                {"applied", join(ch.applied)}});
  for (const auto& e : out.stream_errors) log::error("config reload: stream not created", {{"error", e}});
  if (!ch.restart_required.empty())
    log::warn("config changes that need a restart (the running values stay until then)",
              {{"settings", join(ch.restart_required)}});
  return out;
}

boost::asio::awaitable<App::ReloadOutcome> App::reload_on_control(std::string trigger) {
  ReloadOutcome out = reload_now(trigger, false);
  co_return out;
}

boost::asio::awaitable<http::Response> App::reload_request(const http::Request& req) {
  namespace bhttp = boost::beast::http;
  if (config_.file.empty()) {
    http::Response res = http::error_response(bhttp::status::conflict, "started without --config: no file to reload", req);
    co_return res;
  }
  ReloadOutcome out =
      co_await boost::asio::co_spawn(control_->context, reload_on_control("api"), boost::asio::use_awaitable);
  if (!out.ok) {
    http::Response res = http::error_response(bhttp::status::bad_request, out.error, req);
    co_return res;
  }
  const auto& ch = out.changes;
  boost::json::object body{{"added", json_list(ids(ch.added))},
                           {"removed", json_list(ch.removed)},
                           {"restarted", json_list(ids(ch.changed))},
                           {"unchanged", json_list(ch.unchanged)},
                           {"applied", json_list(ch.applied)},
                           {"restart_required", json_list(ch.restart_required)},
                           {"stream_errors", json_list(out.stream_errors)}};
  http::Response res = http::json_response(bhttp::status::ok, body, req);
  co_return res;
}

media::SourceFactory make_source_factory(const Config& config, net::WorkerPool& pool,
                                         std::function<uint16_t()> rtsp_port) {
  const auto source_timeout = std::chrono::seconds(std::max(1, config.rtsp_options.source_timeout_s));
  const double loss_threshold = config.rtsp_options.loss_threshold_percent / 100.0;
  const auto loss_window = std::chrono::milliseconds(config.rtsp_options.loss_window_ms);
  const int srt_latency_ms = config.srt.latency_ms;
  return [&pool, source_timeout, loss_threshold, loss_window, srt_latency_ms, rtsp_port = std::move(rtsp_port)](
             const std::shared_ptr<media::Stream>& stream) -> std::unique_ptr<media::Source> {
    const auto& source = stream->options().source;
    auto& context = pool.context(pool.next());
    if (source.starts_with("rtsp://")) {
      rtsp_session::ClientOptions o;
      o.url = source;
      o.transport = stream->options().rtsp_transport;
      o.source_timeout = source_timeout;
      o.loss_threshold = loss_threshold;
      o.loss_window = loss_window;
      return std::make_unique<rtsp_session::ClientSource>(context, stream, std::move(o));
    }
    if (source.starts_with("rtmp://")) {
      rtmp_session::RtmpClientOptions o;
      o.url = source;
      o.source_timeout = source_timeout;
      return std::make_unique<rtmp_session::RtmpClientSource>(context, stream, std::move(o));
    }
    if (source.starts_with("srt://")) {
      srt_session::SrtClientOptions o;
      o.url = source;
      o.source_timeout = source_timeout;
      o.default_latency_ms = srt_latency_ms;
      return std::make_unique<srt_session::SrtClientSource>(context, stream, std::move(o));
    }
    if (source.starts_with("exec:")) {
      rtsp_session::ExecOptions o;
      o.command = source.substr(5);
      o.rtsp_port = rtsp_port ? rtsp_port() : 8554;
      return std::make_unique<rtsp_session::ExecSource>(context, stream, std::move(o));
    }
    stream->set_state(media::StreamState::Error, "source type not available in this build: " + source);
    return nullptr;
  };
}

}  // namespace sg::app
