#pragma once
// The console's live stream list as Server-Sent Events (GET /api/v1/events): the whole list once ("streams"), then
// only what changed since the last event ("update": streams whose JSON differs, ids that are gone). Pure: the
// snapshots are taken and the events written by api/events.cpp.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sg::api {

// Each stream's JSON text (as in GET /api/v1/streams), by id, in id order.
using StreamSnapshot = std::map<std::string, std::string, std::less<>>;

struct StreamDiff {
  std::vector<std::string_view> changed;  // JSON texts of new or changed streams (views into the `after` snapshot)
  std::vector<std::string_view> removed;  // ids (views into the `before` snapshot)
  bool empty() const { return changed.empty() && removed.empty(); }
};

StreamDiff diff_streams(const StreamSnapshot& before, const StreamSnapshot& after);

// One event in the text/event-stream format (HTML Living Standard 9.2): "event: <name>\ndata: <data>\n\n". `data`
// must be one line (JSON without newlines is).
std::string sse_event(std::string_view name, std::string_view data);
// event "streams", data {"items":[...]}.
std::string snapshot_event(const StreamSnapshot& snapshot);
// event "update", data {"changed":[...],"removed":["id",...]}; empty when nothing changed.
std::string diff_event(const StreamDiff& diff);

}  // namespace sg::api
