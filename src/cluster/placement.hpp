#pragma once
// Which node should pull a stream: rendezvous (highest random weight) hashing over the live nodes. Every node
// computes the same answer from the same node set, and a node joining or leaving moves only the streams whose best
// node it is (about 1/N of them), not a reshuffle of all.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::cluster {

// The weight of `node` for `stream`: a 64-bit hash of both (FNV-1a, then a finalizer that spreads the bits).
uint64_t placement_weight(std::string_view node, std::string_view stream);
// The node with the highest weight (ties: the smaller name); "" when `nodes` is empty.
std::string pick_owner(std::string_view stream, const std::vector<std::string>& nodes);

}  // namespace sg::cluster
