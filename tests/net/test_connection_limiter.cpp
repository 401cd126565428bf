// ConnectionLimiter: totals, per-address counts, exempt ranges, slots given back, refusals counted and episodes.
#include "net/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace sg::net {
namespace {

using Refusal = ConnectionLimiter::Refusal;

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

ConnectionLimits limits(size_t total, size_t per_address, std::vector<const char*> exempt = {}) {
  ConnectionLimits l;
  l.total = total;
  l.per_address = per_address;
  for (auto e : exempt) l.per_address_exempt.push_back(*auth::IpRange::parse(e));
  return l;
}

TEST(ConnectionLimiter, RefusesTheConnectionBeyondTheTotalFromAnyAddress) {
  auto l = ConnectionLimiter::make("http", limits(3, 100));
  std::vector<ConnectionLimiter::Slot> held;
  for (auto a : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    auto admission = l->admit(ip(a));
    ASSERT_TRUE(admission.slot) << a;
    held.push_back(std::move(admission.slot));
  }
  auto refused = l->admit(ip("10.0.0.4"));
  EXPECT_FALSE(refused.slot);
  EXPECT_EQ(refused.refusal, Refusal::Total);
  EXPECT_EQ(l->refused(Refusal::Total), 1u);
  EXPECT_EQ(l->open(), 3u);
}

TEST(ConnectionLimiter, RefusesTheConnectionBeyondThePerAddressLimitButNotOtherAddresses) {
  auto l = ConnectionLimiter::make("rtsp", limits(100, 2));
  auto a1 = l->admit(ip("192.0.2.7"));
  auto a2 = l->admit(ip("192.0.2.7"));
  ASSERT_TRUE(a1.slot && a2.slot);
  auto a3 = l->admit(ip("192.0.2.7"));
  EXPECT_FALSE(a3.slot);
  EXPECT_EQ(a3.refusal, Refusal::PerAddress);
  auto other = l->admit(ip("192.0.2.8"));
  EXPECT_TRUE(other.slot);
  EXPECT_EQ(l->open_from(ip("192.0.2.7")), 2u);
  EXPECT_EQ(l->refused(Refusal::PerAddress), 1u);
  EXPECT_EQ(l->refused(Refusal::Total), 0u);
}

TEST(ConnectionLimiter, ASlotGoneGivesItsPlaceBack) {
  auto l = ConnectionLimiter::make("http", limits(1, 1));
  {
    auto a = l->admit(ip("10.1.1.1"));
    ASSERT_TRUE(a.slot);
    EXPECT_FALSE(l->admit(ip("10.1.1.1")).slot);
  }
  EXPECT_EQ(l->open(), 0u);
  EXPECT_EQ(l->open_from(ip("10.1.1.1")), 0u);
  auto again = l->admit(ip("10.1.1.1"));
  EXPECT_TRUE(again.slot);
  again.slot.reset();
  EXPECT_EQ(l->open(), 0u);
}

TEST(ConnectionLimiter, AMovedSlotIsGivenBackOnce) {
  auto l = ConnectionLimiter::make("http", limits(5, 5));
  auto a = l->admit(ip("10.1.1.1"));
  ConnectionLimiter::Slot moved(std::move(a.slot));
  ConnectionLimiter::Slot assigned;
  assigned = std::move(moved);
  EXPECT_EQ(l->open(), 1u);
  assigned.reset();
  EXPECT_EQ(l->open(), 0u);
  EXPECT_EQ(l->open_from(ip("10.1.1.1")), 0u);
}

TEST(ConnectionLimiter, ExemptAddressesCountInTheTotalOnly) {
  auto l = ConnectionLimiter::make("http", limits(4, 1, {"127.0.0.0/8", "::1"}));
  std::vector<ConnectionLimiter::Slot> held;
  for (auto a : {"127.0.0.1", "127.0.0.1", "::1"}) {
    auto admission = l->admit(ip(a));
    ASSERT_TRUE(admission.slot) << a;
    held.push_back(std::move(admission.slot));
  }
  EXPECT_EQ(l->open(), 3u);
  EXPECT_EQ(l->open_from(ip("127.0.0.1")), 0u);  // not counted per address
  auto last = l->admit(ip("127.0.0.1"));
  EXPECT_TRUE(last.slot);
  EXPECT_EQ(l->admit(ip("127.0.0.1")).refusal, Refusal::Total);
}

TEST(ConnectionLimiter, IPv4MappedAddressesAreTheSameClientForExemptRanges) {
  auto l = ConnectionLimiter::make("http", limits(10, 1, {"127.0.0.0/8"}));
  auto a = l->admit(ip("::ffff:127.0.0.1"));
  auto b = l->admit(ip("::ffff:127.0.0.1"));
  EXPECT_TRUE(a.slot && b.slot);
}

TEST(ConnectionLimiter, AFloodHeldAtTheLimitIsOneEpisode) {
  auto l = ConnectionLimiter::make("http", limits(100, 10));
  std::vector<ConnectionLimiter::Slot> held;
  for (int i = 0; i < 10; ++i) held.push_back(std::move(l->admit(ip("10.0.0.1")).slot));
  // Connections close one at a time and the flood takes each place again at once: still one episode.
  for (int round = 0; round < 50; ++round) {
    EXPECT_FALSE(l->admit(ip("10.0.0.1")).slot);
    held[round % 10].reset();
    held[round % 10] = std::move(l->admit(ip("10.0.0.1")).slot);
    ASSERT_TRUE(held[round % 10]);
  }
  EXPECT_EQ(l->episodes(), 1u);
  EXPECT_EQ(l->refused(Refusal::PerAddress), 50u);
  // Well below the limit, a new refusal starts a new episode.
  for (auto& s : held) s.reset();
  for (int i = 0; i < 10; ++i) held[static_cast<size_t>(i)] = std::move(l->admit(ip("10.0.0.1")).slot);
  EXPECT_FALSE(l->admit(ip("10.0.0.1")).slot);
  EXPECT_EQ(l->episodes(), 2u);
}

TEST(ConnectionLimiter, CountsStayExactUnderConcurrentAdmitsAndReleases) {
  auto l = ConnectionLimiter::make("rtsp", limits(1000000, 1000000));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto address = ip(t % 2 ? "10.0.0.1" : "10.0.0.2");
      for (int i = 0; i < 5000; ++i) {
        auto a = l->admit(address);
        EXPECT_TRUE(a.slot);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(l->open(), 0u);
  EXPECT_EQ(l->open_from(ip("10.0.0.1")), 0u);
}

TEST(ConnectionLimiter, MetricsNameTheProtocolAndTheReason) {
  auto h = ConnectionLimiter::make("http", limits(1, 1));
  auto r = ConnectionLimiter::make("rtsp", limits(5, 1));
  auto held = h->admit(ip("10.0.0.1"));
  h->admit(ip("10.0.0.2"));  // total
  auto held_r = r->admit(ip("10.0.0.1"));
  r->admit(ip("10.0.0.1"));  // per address
  std::string out;
  ConnectionLimiter::write_metrics(out, {h.get(), r.get()});
  EXPECT_NE(out.find("streamgate_connections{protocol=\"http\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("streamgate_connections_refused_total{protocol=\"http\",reason=\"total\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("streamgate_connections_refused_total{protocol=\"rtsp\",reason=\"per_address\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("streamgate_connections_refused_total{protocol=\"rtsp\",reason=\"total\"} 0\n"), std::string::npos);
  EXPECT_EQ(out.find("# TYPE streamgate_connections gauge"), out.rfind("# TYPE streamgate_connections gauge"));
}

}  // namespace
}  // namespace sg::net
