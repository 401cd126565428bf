#pragma once
// Live config reload: what a new config file changes in the running server, and applying it to the streams.
//
// Streams are compared by id and settings: added ones start, removed ones stop (their readers and publisher are
// closed), changed ones restart, unchanged ones are not touched at all (their readers, publishers and sessions keep
// going). Other settings are compared by their text in the file: a few take effect at once (is_live_setting), the
// others are reported as needing a restart (listen addresses, workers, protocol options...).
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "media/stream_registry.hpp"

namespace sg::app {

struct ConfigChanges {
  std::vector<StreamConfig> added;
  std::vector<std::string> removed;
  std::vector<StreamConfig> changed;
  std::vector<std::string> unchanged;
  std::vector<std::string> applied;           // settings outside `streams` that took effect at once
  std::vector<std::string> restart_required;  // settings that differ but only take effect after a restart
};

// Settings ("section.key") that take effect without a restart: log.level, shutdown_grace, stream_defaults.* (recording)
// and the auth settings.
bool is_live_setting(std::string_view key);
// The settings that make up the authorizer's options (auth_session::Authorizer::update).
bool is_auth_setting(std::string_view key);

// `running` is the config in force, `next` the new file.
ConfigChanges diff_config(const Config& running, const Config& next);

media::StreamOptions stream_options(const StreamConfig& stream, size_t reader_queue);

// Applies the stream part of `changes` to the registry and starts the new streams (unless on demand). A stream the
// new config adds under an id that exists already (created through the API or by a publisher) is taken over: kept
// as it is when its settings match, restarted otherwise. Returns one error per stream that could not be created.
// With `start_streams` false (a cluster, where each stream's owner starts it), streams are only created.
std::vector<std::string> apply_stream_changes(media::StreamRegistry& registry, const ConfigChanges& changes,
                                              size_t reader_queue, bool start_streams = true);

}  // namespace sg::app
