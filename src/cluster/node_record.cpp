#include "cluster/node_record.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace sg::cluster {

std::string join_ids(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += id;
  }
  return out;
}

std::vector<std::string> split_ids(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    if (!item.empty() && item.size() <= 128) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Fields encode_node(const NodeInfo& node) {
  char load[32];
  std::snprintf(load, sizeof load, "%.3f", node.load);
  return {{"advertise", node.advertise},
          {"rtsp_port", std::to_string(node.rtsp_port)},
          {"http_port", std::to_string(node.http_port)},
          {"owned", join_ids(node.owned)},
          {"relays", join_ids(node.relays)},
          {"readers", std::to_string(node.readers)},
          {"load", load}};
}

namespace {
template <class T>
bool number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}
}  // namespace

Result<NodeInfo> decode_node(std::string name, const Fields& fields) {
  NodeInfo n;
  n.name = std::move(name);
  bool advertise = false, rtsp = false;
  for (const auto& [k, v] : fields) {
    if (k == "advertise") {
      if (v.empty() || v.size() > 255) return Error{"node " + n.name + ": bad advertise address"};
      n.advertise = v;
      advertise = true;
    } else if (k == "rtsp_port") {
      if (!number(v, n.rtsp_port) || n.rtsp_port == 0) return Error{"node " + n.name + ": bad rtsp_port"};
      rtsp = true;
    } else if (k == "http_port") {
      if (!number(v, n.http_port)) return Error{"node " + n.name + ": bad http_port"};
    } else if (k == "owned") {
      n.owned = split_ids(v);
    } else if (k == "relays") {
      n.relays = split_ids(v);
    } else if (k == "readers") {
      if (!number(v, n.readers)) return Error{"node " + n.name + ": bad readers"};
    } else if (k == "load") {
      char* end = nullptr;
      std::string copy(v);
      n.load = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size() || !(n.load >= 0 && n.load < 1e6))
        return Error{"node " + n.name + ": bad load"};
    }
  }
  if (!advertise || !rtsp) return Error{"node " + n.name + ": advertise or rtsp_port missing"};
  return n;
}

}  // namespace sg::cluster
