#pragma once
// Recording of streams to disk: which streams record (config `record`, per stream over `stream_defaults`, and the
// API's start/stop), one Recorder per recording stream on a worker, one DiskWriter thread for all of them,
// retention, the stream JSON's "recording" field and the metrics.
//
// Routes: POST /api/v1/streams/{id}/record/start | stop (the API's choice holds until the other call or a restart;
// a config reload does not undo it).
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/config.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "record_session/disk_writer.hpp"
#include "record_session/recorder.hpp"

namespace sg::net {
class WorkerPool;
}

namespace sg::record_session {

class RecordManager {
 public:
  RecordManager(net::WorkerPool& pool, media::StreamRegistry& registry);
  ~RecordManager();
  RecordManager(const RecordManager&) = delete;
  RecordManager& operator=(const RecordManager&) = delete;

  // Any thread (start-up, reload): the settings in force from now on.
  void configure(const app::RecordSettings& defaults, const std::map<std::string, app::RecordOverrides>& streams);
  // Starts checking, every second, which streams must record (after the pool started).
  void start();
  void stop();

  void add_routes(http::Router& router);
  // {"state": "on" | "off" | "error", "error": text or null, "file": the file being written or null}
  boost::json::object describe(const std::string& stream) const;
  void write_metrics(std::string& out) const;

 private:
  struct Entry {
    app::RecordSettings settings;
    std::shared_ptr<RecordingSink> sink;
    std::shared_ptr<Recorder> recorder;
    std::shared_ptr<const std::vector<media::Track>> recorder_tracks;  // the stream's tracks when it started
  };
  app::RecordSettings settings_for(const std::string& id) const;  // under mu_
  void scan();
  void schedule();
  void end(Entry& e);
  void apply_retention();  // under mu_

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  std::unique_ptr<DiskWriter> writer_;
  std::unique_ptr<boost::asio::steady_timer> timer_;

  mutable std::mutex mu_;
  app::RecordSettings defaults_;
  std::map<std::string, app::RecordOverrides> streams_;
  std::map<std::string, bool> api_choice_;  // POST record/start | stop
  std::map<std::string, Entry> entries_;
  bool stopped_ = false;
  std::atomic<bool> started_{false};  // the scan timer runs
};

}  // namespace sg::record_session
