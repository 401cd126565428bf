#include "app/reload.hpp"

#include <map>

namespace sg::app {

bool is_live_setting(std::string_view key) {
  return key == "log.level" || key == "shutdown_grace" || key.starts_with("stream_defaults.") || is_auth_setting(key);
}

bool is_auth_setting(std::string_view key) {
  // The failed-login limiter keeps its settings (and who is blocked) until a restart.
  if (key == "auth.max_failures" || key == "auth.block_time") return false;
  // rtsp.publish_auth / read_auth are the older spelling of internal users.
  return key.starts_with("auth.") || key == "rtsp.publish_auth" || key == "rtsp.read_auth";
}

ConfigChanges diff_config(const Config& running, const Config& next) {
  ConfigChanges c;
  std::map<std::string_view, const StreamConfig*> old_streams;
  for (const auto& s : running.streams) old_streams.emplace(s.id, &s);
  for (const auto& s : next.streams) {
    auto it = old_streams.find(s.id);
    if (it == old_streams.end()) {
      c.added.push_back(s);
    } else {
      if (*it->second == s)
        c.unchanged.push_back(s.id);
      else
        c.changed.push_back(s);
      old_streams.erase(it);
    }
  }
  for (const auto& [id, s] : old_streams) c.removed.emplace_back(id);

  const auto& a = running.setting_texts;
  const auto& b = next.setting_texts;
  auto differs = [&](const std::string& key) {
    auto x = a.find(key), y = b.find(key);
    if (x == a.end() || y == b.end()) return true;
    return x->second != y->second;
  };
  std::map<std::string, bool> keys;
  for (const auto& [k, v] : a) keys[k] = true;
  for (const auto& [k, v] : b) keys[k] = true;
  for (const auto& [key, unused] : keys) {
    if (!differs(key)) continue;
    (is_live_setting(key) ? c.applied : c.restart_required).push_back(key);
  }
  return c;
}

media::StreamOptions stream_options(const StreamConfig& stream, size_t reader_queue) {
  media::StreamOptions o;
  o.source = stream.source;
  o.on_demand = stream.on_demand;
  o.reader_queue = reader_queue;
  o.rtsp_transport = stream.rtsp_transport;
  return o;
}

namespace {

bool same_options(const media::StreamOptions& a, const media::StreamOptions& b) {
  return a.source == b.source && a.on_demand == b.on_demand && a.rtsp_transport == b.rtsp_transport &&
         a.reader_queue == b.reader_queue;
}

}  // namespace

std::vector<std::string> apply_stream_changes(media::StreamRegistry& registry, const ConfigChanges& changes,
                                              size_t reader_queue, bool start_streams) {
  std::vector<std::string> errors;
  for (const auto& id : changes.removed) registry.remove(id);
  auto start = [&](const StreamConfig& sc, bool replace) {
    auto opts = stream_options(sc, reader_queue);
    if (auto existing = registry.find(sc.id)) {
      if (!replace && same_options(existing->options(), opts)) {
        if (!opts.on_demand && start_streams) existing->start();
        return;
      }
      registry.remove(sc.id);
    }
    auto created = registry.create(sc.id, std::move(opts));
    if (!created) {
      errors.push_back(sc.id + ": " + created.error());
      return;
    }
    if (!sc.on_demand && start_streams) (*created)->start();
  };
  for (const auto& sc : changes.changed) start(sc, true);
  for (const auto& sc : changes.added) start(sc, false);
  return errors;
}

}  // namespace sg::app
