#include "cluster/ownership.hpp"

#include <algorithm>

#include "cluster/placement.hpp"

namespace sg::cluster {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::Owner: return "owner";
    case Role::Relay: return "relay";
    case Role::None: break;
  }
  return "none";
}

Decision decide(const StreamFacts& f, std::string_view self, const std::vector<std::string>& live, bool settled) {
  Decision d;
  const std::string me(self);
  auto is_live = [&](const std::string& n) { return std::find(live.begin(), live.end(), n) != live.end(); };
  auto relay_from_holder = [&] {
    // A holder whose heartbeat expired is dead or cut off: its lease ends within one lease too. Until then (or a
    // new holder) there is nobody to relay from.
    if (is_live(f.holder)) {
      d.role = Role::Relay;
      d.owner = f.holder;
    }
  };
  // A free lease right after Redis came back (restarted empty): the owner before the outage takes it back within a
  // heartbeat; a relay of it goes on meanwhile instead of stopping and starting again. The owner may not have
  // reconnected yet (no heartbeat in the empty Redis): media still arriving from it says it is there.
  auto keep_relay = [&] {
    if (!settled && f.holder.empty() && !f.relaying_from.empty() && f.relaying_from != me &&
        (is_live(f.relaying_from) || f.ready)) {
      d.role = Role::Relay;
      d.owner = f.relaying_from;
    }
  };
  auto own = [&](LeaseAction a) {
    d.lease = a;
    d.role = Role::Owner;
    d.owner = me;
  };

  if (!f.pull) {
    if (f.local_publisher) {
      if (f.holder.empty()) own(LeaseAction::Acquire);
      else if (f.holder == me) own(LeaseAction::Renew);
      else {
        d.kick_publisher = true;
        relay_from_holder();
      }
    } else if (f.holder == me) {
      d.lease = LeaseAction::Release;
    } else if (!f.holder.empty()) {
      relay_from_holder();
    } else {
      keep_relay();
    }
    return d;
  }

  const std::string pick = pick_owner(f.id, live);
  if (f.holder == me) {
    if (pick == me || pick.empty() || !settled) own(LeaseAction::Renew);
    else d.lease = LeaseAction::Release;  // `pick` takes it on its next heartbeat
  } else if (f.holder.empty()) {
    if (settled ? pick == me : f.serving) own(LeaseAction::Acquire);
    else keep_relay();
  } else {
    relay_from_holder();
  }
  return d;
}

}  // namespace sg::cluster
