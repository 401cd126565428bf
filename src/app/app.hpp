#pragma once
// The server: worker pool, stream registry, listeners (HTTP, RTSP), and orderly shutdown.
#include <functional>
#include <memory>

#include "api/api.hpp"
#include "app/config.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

namespace sg::app {

class App {
 public:
  explicit App(Config config);
  ~App();

  // Binds every listener and starts the configured streams; an error names what could not be bound.
  Status start();
  // Stops accepting, stops sources and sessions, joins the workers. Idempotent.
  void stop();

  const Config& config() const { return config_; }
  media::StreamRegistry& registry() { return *registry_; }
  uint16_t http_port() const { return http_ ? http_->port() : 0; }

 private:
  Config config_;
  std::unique_ptr<net::WorkerPool> pool_;
  std::unique_ptr<media::StreamRegistry> registry_;
  std::unique_ptr<api::ApiContext> api_;
  std::unique_ptr<auth_session::Authorizer> authorizer_;  // asked by every protocol before it serves or accepts
  http::Router router_;
  std::unique_ptr<http::HttpServer> http_;
  struct Extensions;
  std::unique_ptr<Extensions> ext_;  // protocol servers (RTSP, WebRTC...) added by later layers
  bool stopped_ = false;
};

// Makes the source for a stream from its `source` setting: rtsp:// -> RTSP pull client, exec: -> child process
// publishing into our RTSP server. Each source runs on pool.next(). `rtsp_port` tells the exec source which port
// to substitute for $RTSP_PORT (called when the source starts, so it may report the port actually bound).
media::SourceFactory make_source_factory(const Config& config, net::WorkerPool& pool,
                                         std::function<uint16_t()> rtsp_port);

}  // namespace sg::app
