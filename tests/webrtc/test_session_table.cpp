// SessionTable: the state the workers sharing the WebRTC port agree on. The first worker to claim a session owns
// it, the others learn the owner; limits count sessions of every worker; closing frees the slot and the ufrag.
#include <gtest/gtest.h>

#include <thread>

#include "webrtc/session_table.hpp"

namespace sg::webrtc {
namespace {

using udp = boost::asio::ip::udp;

std::shared_ptr<Peer> make_peer(const std::string& id, const std::string& client = "192.0.2.1") {
  auto p = std::make_shared<Peer>();
  p->id = id;
  p->ufrag = "u" + id;
  p->client = boost::asio::ip::make_address(client);
  return p;
}

WebRtcOptions limits(size_t max_sessions, size_t per_address) {
  WebRtcOptions o;
  o.max_sessions = max_sessions;
  o.max_pending_per_address = per_address;
  return o;
}

TEST(SessionTable, FirstWorkerToClaimOwnsTheSessionAndOthersLearnTheOwner) {
  SessionTable t(limits(10, 10));
  auto p = make_peer("a");
  ASSERT_EQ(t.add(p, true).status, 0);
  auto first = t.claim("ua", 1);
  EXPECT_EQ(first.peer, p);
  EXPECT_EQ(p->worker, 1);
  auto second = t.claim("ua", 0);
  EXPECT_EQ(second.peer, nullptr);
  EXPECT_EQ(second.owner, 1);
  EXPECT_EQ(t.claim("unknown", 0).owner, -1);
}

TEST(SessionTable, ClaimsRacingFromManyThreadsGiveTheSessionToExactlyOne) {
  SessionTable t(limits(10, 10));
  ASSERT_EQ(t.add(make_peer("a"), true).status, 0);
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w)
    threads.emplace_back([&, w] {
      if (t.claim("ua", w).peer) ++won;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1);
}

TEST(SessionTable, MaxSessionsCountsClaimedAndUnclaimedSessions) {
  SessionTable t(limits(2, 10));
  auto a = make_peer("a"), b = make_peer("b");
  ASSERT_EQ(t.add(a, false).status, 0);
  ASSERT_EQ(t.add(b, false).status, 0);
  t.claim("ua", 0);
  t.claim("ub", 1);
  EXPECT_EQ(t.refusal(a->client, false).status, 503);
  EXPECT_EQ(t.add(make_peer("c"), false).status, 503);
  EXPECT_EQ(t.refused_full(), 2u);
  t.remove(*a);
  EXPECT_EQ(t.sessions(), 1u);
  EXPECT_EQ(t.add(make_peer("c"), false).status, 0);
}

TEST(SessionTable, PendingPerAddressEndsWhenConnectedOnAnyWorker) {
  SessionTable t(limits(10, 2));
  auto a = make_peer("a"), b = make_peer("b");
  ASSERT_EQ(t.add(a, true).status, 0);
  ASSERT_EQ(t.add(b, true).status, 0);
  EXPECT_EQ(t.add(make_peer("c"), true).status, 429);
  EXPECT_EQ(t.add(make_peer("d", "192.0.2.2"), true).status, 0);  // another address
  EXPECT_EQ(t.add(make_peer("e"), false).status, 0);              // exempt
  t.claim("ua", 1);
  t.end_pending(*a);  // connected on worker 1
  EXPECT_EQ(t.pending(), 3u);
  EXPECT_EQ(t.add(make_peer("c"), true).status, 0);
}

TEST(SessionTable, TakeClosesAnUnclaimedSessionOrNamesTheOwner) {
  SessionTable t(limits(10, 10));
  auto a = make_peer("a"), b = make_peer("b");
  ASSERT_EQ(t.add(a, true).status, 0);
  ASSERT_EQ(t.add(b, true).status, 0);
  t.claim("ub", 1);
  auto taken = t.take("a");
  EXPECT_EQ(taken.peer, a);
  EXPECT_TRUE(a->closed);
  EXPECT_EQ(t.claim("ua", 0).owner, -1);  // its ufrag is gone
  auto owned = t.take("b");
  EXPECT_EQ(owned.peer, nullptr);
  EXPECT_EQ(owned.owner, 1);
  EXPECT_EQ(t.take("nope").owner, -1);
  EXPECT_EQ(t.sessions(), 1u);
}

TEST(SessionTable, PathsNameTheirOwnerUntilTheSessionCloses) {
  SessionTable t(limits(10, 10));
  auto a = make_peer("a");
  ASSERT_EQ(t.add(a, true).status, 0);
  t.claim("ua", 1);
  udp::endpoint first(boost::asio::ip::make_address("127.0.0.1"), 5000), second(first.address(), 5001);
  t.set_path(std::nullopt, first, 1);
  a->remote = first;
  EXPECT_EQ(t.owner_of(first), 1);
  t.set_path(first, second, 1);
  a->remote = second;
  EXPECT_EQ(t.owner_of(first), -1);
  EXPECT_EQ(t.owner_of(second), 1);
  t.remove(*a);
  EXPECT_EQ(t.owner_of(second), -1);
}

TEST(SessionTable, UnclaimedSessionsExpireAfterTheSetupTimeoutClaimedOnesDoNot) {
  auto o = limits(10, 10);
  o.setup_timeout = std::chrono::milliseconds(1000);
  SessionTable t(o);
  auto a = make_peer("a"), b = make_peer("b");
  a->created = b->created = Clock::now() - std::chrono::seconds(2);
  ASSERT_EQ(t.add(a, true).status, 0);
  ASSERT_EQ(t.add(b, true).status, 0);
  t.claim("ub", 0);
  auto expired = t.take_expired(Clock::now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], a);
  EXPECT_EQ(t.sessions(), 1u);
  EXPECT_EQ(t.pending(), 1u);
}

// The sweep walks only the unclaimed sessions: a session closed through the API (take) or claimed and then removed
// must leave that set too (else the sweep would see a freed peer: ASan catches it).
TEST(SessionTable, SweepSeesOnlySessionsStillUnclaimedAfterTakesClaimsAndRemovals) {
  auto o = limits(10, 10);
  o.setup_timeout = std::chrono::milliseconds(1000);
  SessionTable t(o);
  auto a = make_peer("a"), b = make_peer("b"), c = make_peer("c");
  a->created = b->created = c->created = Clock::now() - std::chrono::seconds(2);
  for (auto& p : {a, b, c}) ASSERT_EQ(t.add(p, true).status, 0);
  ASSERT_TRUE(t.take("c").peer);
  c.reset();
  auto claimed = t.claim("ub", 1).peer;
  ASSERT_TRUE(claimed);
  t.remove(*claimed);
  claimed.reset();
  b.reset();
  auto expired = t.take_expired(Clock::now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], a);
  EXPECT_TRUE(t.take_expired(Clock::now()).empty());
  EXPECT_EQ(t.sessions(), 0u);
}

}  // namespace
}  // namespace sg::webrtc
