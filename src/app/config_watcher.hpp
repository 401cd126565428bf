#pragma once
// Notices when the config file changes: inotify on its directory, so both an edit in place and a replacement are
// seen, including Kubernetes' ConfigMap update (a new timestamped directory, then the `..data` symlink renamed over
// the old one: the file's own path never gets an event of its own).
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace sg::app {

class ConfigWatcher {
 public:
  // `changed` runs on `context` once the directory has been quiet for `settle` after an event that concerns the
  // file (its name, or a `..`-prefixed Kubernetes entry), so a burst of writes gives one call.
  ConfigWatcher(boost::asio::io_context& context, std::string file, std::function<void()> changed,
                std::chrono::milliseconds settle = std::chrono::milliseconds(100));
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  Status start();
  // Stops watching; call on the context's thread. Idempotent.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace sg::app
