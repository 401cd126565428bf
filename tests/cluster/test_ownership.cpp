#include <gtest/gtest.h>

#include "cluster/ownership.hpp"
#include "cluster/placement.hpp"

namespace sg::cluster {
namespace {

const std::vector<std::string> kNodes{"n1", "n2", "n3"};

StreamFacts pull(std::string holder, bool serving = false) {
  StreamFacts f;
  f.id = "cam";
  f.pull = true;
  f.holder = std::move(holder);
  f.serving = serving;
  return f;
}

std::string other_than(const std::string& a) {
  for (const auto& n : kNodes)
    if (n != a) return n;
  return "";
}

TEST(Ownership, ThePickedNodeTakesAFreePullStreamAndTheOthersWait) {
  const auto pick = pick_owner("cam", kNodes);
  auto d = decide(pull(""), pick, kNodes, true);
  EXPECT_EQ(d.lease, LeaseAction::Acquire);
  EXPECT_EQ(d.role, Role::Owner);
  EXPECT_EQ(d.owner, pick);
  auto other = decide(pull(""), other_than(pick), kNodes, true);
  EXPECT_EQ(other.lease, LeaseAction::None);
  EXPECT_EQ(other.role, Role::None);
}

TEST(Ownership, TheHolderRenewsAndTheOthersRelayFromIt) {
  const auto pick = pick_owner("cam", kNodes);
  auto d = decide(pull(pick, true), pick, kNodes, true);
  EXPECT_EQ(d.lease, LeaseAction::Renew);
  EXPECT_EQ(d.role, Role::Owner);
  auto r = decide(pull(pick), other_than(pick), kNodes, true);
  EXPECT_EQ(r.lease, LeaseAction::None);
  EXPECT_EQ(r.role, Role::Relay);
  EXPECT_EQ(r.owner, pick);
}

TEST(Ownership, AHolderThatIsNoLongerThePickHandsTheStreamOver) {
  const auto pick = pick_owner("cam", kNodes);
  const auto holder = other_than(pick);
  auto d = decide(pull(holder, true), holder, kNodes, true);
  EXPECT_EQ(d.lease, LeaseAction::Release);
  EXPECT_EQ(d.role, Role::None);
  // ...but not while the cluster is re-forming after a Redis outage.
  auto unsettled = decide(pull(holder, true), holder, kNodes, false);
  EXPECT_EQ(unsettled.lease, LeaseAction::Renew);
  EXPECT_EQ(unsettled.role, Role::Owner);
}

TEST(Ownership, AfterRedisReturnsOnlyTheNodeStillServingRetakesAFreeStream) {
  const auto pick = pick_owner("cam", kNodes);
  const auto server = other_than(pick);
  EXPECT_EQ(decide(pull("", true), server, kNodes, false).lease, LeaseAction::Acquire);
  EXPECT_EQ(decide(pull("", false), pick, kNodes, false).lease, LeaseAction::None);
  EXPECT_EQ(decide(pull("", false), pick, kNodes, true).lease, LeaseAction::Acquire);
}

TEST(Ownership, AfterRedisReturnsEmptyARelayGoesOnUntilItsOwnerRetakesTheLease) {
  // Redis restarted empty: no lease for a moment. The relay keeps relaying from the owner it had (still live)
  // rather than stopping and starting again (its readers would wait for a keyframe).
  const auto pick = pick_owner("cam", kNodes);
  const auto owner = other_than(pick);  // the owner before the outage, serving
  auto relay_facts = pull("");
  relay_facts.relaying_from = owner;
  auto d = decide(relay_facts, pick, kNodes, false);
  EXPECT_EQ(d.lease, LeaseAction::None) << "the picked node must not take a stream another node still serves";
  EXPECT_EQ(d.role, Role::Relay);
  EXPECT_EQ(d.owner, owner);
  // Not once the cluster has settled (the owner had a heartbeat to take it back and did not: it is gone or
  // handed over), nor from an owner whose heartbeat expired.
  EXPECT_EQ(decide(relay_facts, pick, kNodes, true).role, Role::Owner);
  auto third = relay_facts;
  std::string relay_node;
  for (const auto& n : kNodes)
    if (n != pick && n != owner) relay_node = n;
  EXPECT_EQ(decide(third, relay_node, kNodes, true).role, Role::None);
  EXPECT_EQ(decide(third, relay_node, {pick, relay_node}, false).role, Role::None);
  // The owner has not reconnected yet (Redis restarted empty: no heartbeat of it) but media still arrives from it:
  // the relay goes on (CI saw a 1.4 s gap on the node that reconnected first).
  third.ready = true;
  auto early = decide(third, relay_node, {pick, relay_node}, false);
  EXPECT_EQ(early.role, Role::Relay);
  EXPECT_EQ(early.owner, owner);
  EXPECT_EQ(early.lease, LeaseAction::None);
  EXPECT_EQ(decide(third, relay_node, {pick, relay_node}, true).role, Role::None) << "only until settled";
  // A publisher's stream likewise.
  StreamFacts pub;
  pub.id = "live";
  pub.relaying_from = "n1";
  auto p = decide(pub, "n2", kNodes, false);
  EXPECT_EQ(p.role, Role::Relay);
  EXPECT_EQ(p.owner, "n1");
  EXPECT_EQ(decide(pub, "n2", kNodes, true).role, Role::None);
}

TEST(Ownership, NobodyRelaysFromAHolderWhoseHeartbeatExpired) {
  std::vector<std::string> live{"n2", "n3"};
  auto d = decide(pull("n1"), "n2", live, true);
  EXPECT_EQ(d.lease, LeaseAction::None);
  EXPECT_EQ(d.role, Role::None);
}

TEST(Ownership, APublishersNodeOwnsItsStreamAndReleasesItWhenThePublisherLeaves) {
  StreamFacts f;
  f.id = "live";
  f.local_publisher = true;
  EXPECT_EQ(decide(f, "n2", kNodes, true).lease, LeaseAction::Acquire);
  f.holder = "n2";
  EXPECT_EQ(decide(f, "n2", kNodes, true).lease, LeaseAction::Renew);
  f.holder = "n3";  // another node's publisher got there first
  auto lost = decide(f, "n2", kNodes, true);
  EXPECT_TRUE(lost.kick_publisher);
  EXPECT_EQ(lost.role, Role::Relay);
  EXPECT_EQ(lost.owner, "n3");
  f.local_publisher = false;
  f.holder = "n2";
  auto gone = decide(f, "n2", kNodes, true);
  EXPECT_EQ(gone.lease, LeaseAction::Release);
  EXPECT_EQ(gone.role, Role::None);
  f.holder = "n1";
  auto relay = decide(f, "n2", kNodes, true);
  EXPECT_EQ(relay.role, Role::Relay);
  EXPECT_EQ(relay.owner, "n1");
  EXPECT_FALSE(relay.kick_publisher);
}

}  // namespace
}  // namespace sg::cluster
