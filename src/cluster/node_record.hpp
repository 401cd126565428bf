#pragma once
// A node as the cluster sees it: the hash each node writes to Redis under sg:node:{name} on every heartbeat (with
// the lease as its TTL), read back by every node. Field values are text; lists of stream ids are comma-separated
// (stream ids contain no comma).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace sg::cluster {

struct NodeInfo {
  std::string name;
  std::string advertise;  // the address other nodes reach this node's RTSP port on
  uint16_t rtsp_port = 0;
  uint16_t http_port = 0;
  std::vector<std::string> owned;   // streams whose lease this node holds
  std::vector<std::string> relays;  // streams this node relays from their owner now
  uint64_t readers = 0;             // readers of all its streams
  double load = 0;                  // CPU used by the process since the previous heartbeat, in cores
  bool operator==(const NodeInfo&) const = default;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

// The hash fields of a node (without its name, which is in the key).
Fields encode_node(const NodeInfo& node);
// A node from the fields HGETALL returned; an error when a field is missing or malformed. Unknown fields are
// ignored (a newer node may add some).
Result<NodeInfo> decode_node(std::string name, const Fields& fields);

std::string join_ids(const std::vector<std::string>& ids);
// Splits a comma-separated list; empty items and items longer than a stream id may be (128) are dropped.
std::vector<std::string> split_ids(std::string_view text);

}  // namespace sg::cluster
