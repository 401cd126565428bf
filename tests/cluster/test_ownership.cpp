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
