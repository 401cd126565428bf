#include "api/stream_events.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace sg::api {

StreamDiff diff_streams(const StreamSnapshot& before, const StreamSnapshot& after) {
  StreamDiff d;
  // Both maps are ordered by id: one merge pass.
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      d.removed.push_back(b->first);
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      d.changed.push_back(a->second);
      ++a;
    } else {
      if (a->second != b->second) d.changed.push_back(a->second);
      ++a;
      ++b;
    }
  }
  return d;
}

std::string sse_event(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(name.size() + data.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string snapshot_event(const StreamSnapshot& snapshot) {
  std::string data = "{\"items\":[";
  bool first = true;
  for (const auto& [id, text] : snapshot) {
    if (!first) data += ',';
    first = false;
    data += text;
  }
  data += "]}";
  return sse_event("streams", data);
}

std::string diff_event(const StreamDiff& diff) {
  if (diff.empty()) return {};
  std::string data = "{\"changed\":[";
  for (size_t i = 0; i < diff.changed.size(); ++i) {
    if (i) data += ',';
    data += diff.changed[i];
  }
  data += "],\"removed\":[";
  for (size_t i = 0; i < diff.removed.size(); ++i) {
    if (i) data += ',';
    data += boost::json::serialize(boost::json::string(diff.removed[i]));
  }
  data += "]}";
  return sse_event("update", data);
}

}  // namespace sg::api
