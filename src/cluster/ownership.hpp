#pragma once
// What a node does about one stream on a heartbeat, decided from what it read from Redis: pure, so every rule is
// unit-tested without Redis or sockets (src/cluster_session/coordinator.cpp carries the decisions out).
//
// The lease sg:own:{stream} names the stream's owner. Rules:
//  - A stream with a pull source (camera, exec, RTMP/SRT pull) belongs on the node rendezvous hashing picks among
//    the live nodes (placement.hpp). That node takes a free lease; the holder renews it while it is still the pick,
//    and releases it when another live node is (a node joined), which then takes it. Right after Redis came back
//    (empty, if it restarted) a node only takes the streams it was serving until every node had a heartbeat to
//    re-register (`settled`), so the owner before the outage keeps its streams.
//  - A publisher's stream (RTSP, RTMP, SRT, WHIP) belongs to the node its publisher is connected to: that node
//    takes and renews the lease and releases it when the publisher leaves. A publisher elsewhere is refused while
//    the lease is held (the publish gate); if two got in before either node saw the other's lease, the one whose
//    node lost the race is kicked.
//  - Every other node relays the stream from the holder (when it has readers); with no live holder, nobody serves
//    it until a node takes the lease. Except right after Redis came back (not `settled`): a relay whose owner is
//    live keeps relaying from it while the lease is free, since that owner takes it back within a heartbeat
//    (dropping the relay and starting it again cost its readers a keyframe wait: 1.4 s measured). "Live" there is
//    a heartbeat in Redis or, since a Redis that restarted empty has no heartbeat of a node that has not
//    reconnected yet, a relay still receiving media from it.
#include <string>
#include <string_view>
#include <vector>

namespace sg::cluster {

enum class Role { None, Owner, Relay };
std::string_view to_string(Role role);

enum class LeaseAction { None, Acquire, Renew, Release };

struct StreamFacts {
  std::string id;
  bool pull = false;             // has a pull source of its own (config or API); false: fed by a publisher
  bool local_publisher = false;  // a publisher on this node feeds it
  bool serving = false;          // this node is the owner now (pulls the source or has the publisher)
  std::string relaying_from;     // the node this node relays the stream from now; "" = not relaying
  bool ready = false;            // the stream has media now (from this node's relay, when relaying_from is set)
  std::string holder;            // the lease holder read from Redis; "" = free
};

struct Decision {
  LeaseAction lease = LeaseAction::None;
  Role role = Role::None;       // the role once the lease action succeeded
  std::string owner;            // the node to relay from (Role::Relay) or this node (Role::Owner)
  bool kick_publisher = false;  // another node's publisher holds the stream: drop ours
};

// `live` are the nodes with a heartbeat (this one included); `settled` is false during the first lease after a
// reconnection to Redis.
Decision decide(const StreamFacts& facts, std::string_view self, const std::vector<std::string>& live, bool settled);

}  // namespace sg::cluster
