#pragma once
// The server: worker pool, stream registry, listeners (HTTP, RTSP), live config reload, draining and orderly
// shutdown.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "api/api.hpp"
#include "app/config.hpp"
#include "app/reload.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

namespace sg::cluster_session {
class Coordinator;
}

namespace sg::app {

class App {
 public:
  explicit App(Config config);
  ~App();

  // Binds every listener and starts the configured streams; an error names what could not be bound.
  Status start();
  // Stops accepting, stops sources and sessions, joins the workers. Idempotent.
  void stop();

  // Re-reads the config file and applies it (src/app/reload.hpp). The file is read and the changes applied on the
  // control thread, never on a worker; this only posts there. Any thread.
  void reload(std::string trigger);
  // SIGTERM with a grace period: /readyz turns 503, new RTSP connections and new WebRTC sessions are refused;
  // sessions already open keep being served until stop(). Any thread.
  void drain();
  // shutdown_grace of the config in force (a reload may change it).
  std::chrono::milliseconds shutdown_grace() const;

  // Gives back memory held outside malloc for bursts (the accept hand-over slab, net/handoff.hpp). Any thread,
  // between start() and destruction.
  void release_memory();

  const Config& config() const { return config_; }
  media::StreamRegistry& registry() { return *registry_; }
  uint16_t http_port() const { return http_ ? http_->port() : 0; }

 private:
  Config config_;
  std::unique_ptr<net::WorkerPool> pool_;
  std::unique_ptr<media::StreamRegistry> registry_;
  std::unique_ptr<api::ApiContext> api_;
  // cluster: the coordinator, and the source factory it wraps around the local one (null without a cluster).
  std::unique_ptr<cluster_session::Coordinator> cluster_;
  media::SourceFactory cluster_sources_;
  std::unique_ptr<auth_session::Authorizer> authorizer_;  // asked by every protocol before it serves or accepts
  http::Router router_;
  std::unique_ptr<http::HttpServer> http_;
  struct Extensions;
  std::unique_ptr<Extensions> ext_;  // protocol servers (RTSP, WebRTC...) added by later layers
  struct Control;
  std::unique_ptr<Control> control_;  // the control thread: config watcher and reloads
  // On the control thread: reads, parses and applies the config file. With `only_if_changed`, a file whose text
  // is the one seen last time is ignored (inotify also reports writes that change nothing).
  struct ReloadOutcome {
    bool ok = false;
    bool skipped = false;
    std::string error;
    ConfigChanges changes;
    std::vector<std::string> stream_errors;
  };
  ReloadOutcome reload_now(const std::string& trigger, bool only_if_changed);
  boost::asio::awaitable<ReloadOutcome> reload_on_control(std::string trigger);
  boost::asio::awaitable<http::Response> reload_request(const http::Request& req);
  bool stopped_ = false;
};

// Makes the source for a stream from its `source` setting: rtsp:// -> RTSP pull client, exec: -> child process
// publishing into our RTSP server. Each source runs on pool.next(). `rtsp_port` tells the exec source which port
// to substitute for $RTSP_PORT (called when the source starts, so it may report the port actually bound).
media::SourceFactory make_source_factory(const Config& config, net::WorkerPool& pool,
                                         std::function<uint16_t()> rtsp_port);

}  // namespace sg::app
