#include <gtest/gtest.h>

#include "rtp/nack_list.hpp"

namespace sg::rtp {
namespace {

constexpr int64_t kMs = 1'000'000;

std::vector<uint16_t> due(NackList& list, int64_t now, int64_t rtt = 0) {
  std::vector<uint16_t> out;
  list.due(now, rtt, out);
  return out;
}

TEST(NackList, AGapIsAskedForAtOnce) {
  NackList list;
  list.on_packet(100, 0);
  list.on_packet(101, 1 * kMs);
  list.on_packet(104, 2 * kMs);
  EXPECT_EQ(due(list, 2 * kMs), (std::vector<uint16_t>{102, 103}));
  EXPECT_EQ(list.missing(), 2u);
}

TEST(NackList, ARetransmissionFillsItsGap) {
  NackList list;
  list.on_packet(1, 0);
  list.on_packet(3, 0);
  list.on_packet(2, 5 * kMs);
  EXPECT_TRUE(due(list, 5 * kMs).empty());
  EXPECT_EQ(list.recovered(), 1u);
  EXPECT_EQ(list.missing(), 0u);
}

TEST(NackList, RetriesWaitForTheRttAndStopAtTheLimit) {
  NackList list({.max_missing = 512, .max_retries = 3, .min_retry_ns = 10 * kMs, .max_age_ns = 10'000 * kMs});
  list.on_packet(10, 0);
  list.on_packet(12, 0);
  EXPECT_EQ(due(list, 0, 50 * kMs), (std::vector<uint16_t>{11}));
  EXPECT_TRUE(due(list, 20 * kMs, 50 * kMs).empty());  // within one RTT of the first NACK
  EXPECT_EQ(due(list, 50 * kMs, 50 * kMs), (std::vector<uint16_t>{11}));
  EXPECT_EQ(due(list, 100 * kMs, 50 * kMs), (std::vector<uint16_t>{11}));
  EXPECT_TRUE(due(list, 150 * kMs, 50 * kMs).empty());  // three times asked: given up
  EXPECT_EQ(list.given_up(), 1u);
  EXPECT_EQ(list.take_given_up(), 1u);
  EXPECT_EQ(list.take_given_up(), 0u);
  EXPECT_EQ(list.requested(), 3u);
}

TEST(NackList, OldGapsAreGivenUp) {
  NackList list({.max_missing = 512, .max_retries = 100, .min_retry_ns = 10 * kMs, .max_age_ns = 200 * kMs});
  list.on_packet(1, 0);
  list.on_packet(3, 0);
  EXPECT_EQ(due(list, 0).size(), 1u);
  EXPECT_TRUE(due(list, 200 * kMs).empty());
  EXPECT_EQ(list.given_up(), 1u);
}

TEST(NackList, WrapsAroundSequenceZero) {
  NackList list;
  list.on_packet(65534, 0);
  list.on_packet(1, 0);
  EXPECT_EQ(due(list, 0), (std::vector<uint16_t>{65535, 0}));
}

TEST(NackList, TracksAtMostMaxMissing) {
  NackList list({.max_missing = 4, .max_retries = 10, .min_retry_ns = 10 * kMs, .max_age_ns = 1000 * kMs});
  list.on_packet(0, 0);
  list.on_packet(11, 0);  // 1..10 missing: the oldest 6 are given up
  EXPECT_EQ(list.missing(), 4u);
  EXPECT_EQ(list.given_up(), 6u);
  EXPECT_EQ(due(list, 0), (std::vector<uint16_t>{7, 8, 9, 10}));
}

TEST(NackList, AHugeJumpIsARestartNotLoss) {
  NackList list;
  list.on_packet(100, 0);
  list.on_packet(30000, 0);
  EXPECT_EQ(list.missing(), 0u);
  EXPECT_TRUE(due(list, 0).empty());
  list.on_packet(30002, 0);
  EXPECT_EQ(due(list, 0), (std::vector<uint16_t>{30001}));
}

TEST(NackList, DuplicatesAndOldPacketsChangeNothing) {
  NackList list;
  list.on_packet(5, 0);
  list.on_packet(6, 0);
  list.on_packet(6, 0);
  list.on_packet(2, 0);
  EXPECT_EQ(list.missing(), 0u);
  EXPECT_EQ(list.recovered(), 0u);
}

}  // namespace
}  // namespace sg::rtp
