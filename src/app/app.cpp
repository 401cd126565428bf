#include "app/app.hpp"

#include "app/log.hpp"
#include "hls_session/hls_manager.hpp"
#include "net/tls_context.hpp"
#include "rtsp_session/client_source.hpp"
#include "rtsp_session/exec_source.hpp"
#include "rtsp_session/server.hpp"
#include "webrtc/server.hpp"

namespace sg::app {

struct App::Extensions {
  std::unique_ptr<net::TlsContext> tls;  // HTTPS and RTSPS certificate (declared first: outlives the servers)
  std::unique_ptr<rtsp_session::RtspServer> rtsp;
  std::unique_ptr<hls_session::HlsManager> hls;
  std::unique_ptr<webrtc::WebRtcServer> webrtc;
};

App::App(Config config) : config_(std::move(config)) {
  pool_ = std::make_unique<net::WorkerPool>(config_.workers);
  registry_ = std::make_unique<media::StreamRegistry>(
      *pool_, make_source_factory(config_, *pool_, [this] { return ext_ && ext_->rtsp ? ext_->rtsp->port() : config_.rtsp.port; }));
  registry_->set_max_streams(config_.max_streams);
  api_ = std::make_unique<api::ApiContext>(*registry_);
  api_->reader_queue = config_.reader_queue;
  api_->allow_exec = config_.api.allow_exec;
  for (const auto& pattern : config_.api.allowed_sources) api_->allowed_sources.push_back(*auth::Permission::make("read", pattern));
  authorizer_ = std::make_unique<auth_session::Authorizer>(pool_->context(0), config_.auth);
  api_->worker_threads = pool_->size();
  ext_ = std::make_unique<Extensions>();
  ext_->rtsp = std::make_unique<rtsp_session::RtspServer>(*pool_, *registry_, config_.rtsp_options, config_.reader_queue,
                                                          *authorizer_);
  api_->metric_writers.push_back([rtsp = ext_->rtsp.get()](std::string& out) { rtsp->write_metrics(out); });
  api::add_api_routes(router_, *api_);
  auto webrtc_options =
      webrtc::make_options(config_.reader_queue, config_.webrtc.additional_hosts, config_.webrtc.interface_discovery);
  webrtc_options.consent_timeout = std::chrono::milliseconds(config_.webrtc.consent_timeout_ms);
  webrtc_options.max_sessions = config_.webrtc.max_sessions;
  ext_->webrtc = std::make_unique<webrtc::WebRtcServer>(*pool_, *registry_, webrtc_options);
  ext_->webrtc->add_routes(router_);
  api_->metric_writers.push_back([w = ext_->webrtc.get()](std::string& out) { w->write_metrics(out); });
  ext_->hls = std::make_unique<hls_session::HlsManager>(*pool_, *registry_, hls_session::make_hls_options(config_.hls));
  ext_->hls->add_routes(router_);  // registers a catch-all GET /{stream}/{file}: add other GET routes before it
  api_->metric_writers.push_back([hls = ext_->hls.get()](std::string& out) { hls->write_metrics(out); });
  http_ = std::make_unique<http::HttpServer>(*pool_, router_, authorizer_.get(), config_.http_policy);
  http_->set_request_timeout(std::chrono::milliseconds(config_.request_timeout_ms));
}

App::~App() { stop(); }

Status App::start() {
  if (auto s = http_->listen(config_.http.host, config_.http.port); !s) return s;
  if (auto s = ext_->rtsp->listen(config_.rtsp.host, config_.rtsp.port); !s) return s;
  if (auto s = ext_->webrtc->listen(config_.webrtc_udp.host, config_.webrtc_udp.port); !s) return s;
  if (config_.tls.enabled()) {
    auto tls = net::TlsContext::load(config_.tls.cert, config_.tls.key);
    if (!tls) return make_error(tls.error());
    ext_->tls = std::move(*tls);
    if (auto s = http_->listen_tls(config_.https.host, config_.https.port, *ext_->tls); !s) return s;
    if (auto s = ext_->rtsp->listen_tls(config_.rtsps.host, config_.rtsps.port, *ext_->tls); !s) return s;
  }
  for (const auto& sc : config_.streams) {
    media::StreamOptions opts;
    opts.source = sc.source;
    opts.on_demand = sc.on_demand;
    opts.reader_queue = config_.reader_queue;
    opts.rtsp_transport = sc.rtsp_transport;
    auto created = registry_->create(sc.id, std::move(opts));
    if (!created) return make_error(created.error());
  }
  pool_->start();
  http_->start();
  ext_->rtsp->start();
  ext_->webrtc->start();
  if (ext_->tls) ext_->tls->watch(std::chrono::milliseconds(config_.tls.reload_interval_ms));
  for (const auto& s : registry_->list()) {
    if (!s->options().on_demand) s->start();
  }
  api_->ready = true;
  log::info("streamgate ready",
            {{"http", config_.http.to_string()},
             {"rtsp", config_.rtsp.host + ":" + std::to_string(ext_->rtsp->port())},
             {"https", ext_->tls ? config_.https.host + ":" + std::to_string(http_->tls_port()) : "off"},
             {"rtsps", ext_->tls ? config_.rtsps.host + ":" + std::to_string(ext_->rtsp->tls_port()) : "off"},
             {"workers", pool_->size()},
             {"streams", registry_->size()},
             {"config", config_.file.empty() ? std::string("(defaults)") : config_.file}});
  return Ok{};
}

void App::stop() {
  if (stopped_) return;
  stopped_ = true;
  api_->ready = false;
  http_->stop();
  ext_->rtsp->stop();
  if (ext_->tls) ext_->tls->stop();
  ext_->webrtc->stop();
  registry_->stop_all();
  pool_->stop();
  // With every worker joined, the servers' sockets and timers can go while their contexts still exist; the pool
  // then destroys the contexts (and suspended coroutines) when the App goes.
  ext_.reset();
  http_.reset();
}

media::SourceFactory make_source_factory(const Config& config, net::WorkerPool& pool,
                                         std::function<uint16_t()> rtsp_port) {
  const auto source_timeout = std::chrono::seconds(std::max(1, config.rtsp_options.source_timeout_s));
  return [&pool, source_timeout, rtsp_port = std::move(rtsp_port)](
             const std::shared_ptr<media::Stream>& stream) -> std::unique_ptr<media::Source> {
    const auto& source = stream->options().source;
    auto& context = pool.context(pool.next());
    if (source.starts_with("rtsp://")) {
      rtsp_session::ClientOptions o;
      o.url = source;
      o.transport = stream->options().rtsp_transport;
      o.source_timeout = source_timeout;
      return std::make_unique<rtsp_session::ClientSource>(context, stream, std::move(o));
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
