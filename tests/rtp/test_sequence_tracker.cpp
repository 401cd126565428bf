#include <gtest/gtest.h>

#include "rtp/sequence_tracker.hpp"

namespace sg::rtp {
namespace {

TEST(SequenceTracker, CountsInOrderPacketsWithoutLoss) {
  SequenceTracker t;
  for (uint16_t s = 100; s < 110; ++s) EXPECT_TRUE(t.update(s, s * 3000u, s * 3000u));
  auto r = t.interval_report();
  EXPECT_EQ(r.extended_highest, 109u);
  EXPECT_EQ(r.expected, 10u);
  EXPECT_EQ(r.received, 10u);
  EXPECT_EQ(r.cumulative_lost, 0);
  EXPECT_EQ(r.fraction_lost, 0);
  EXPECT_EQ(r.jitter, 0u);  // perfectly regular arrival
}

TEST(SequenceTracker, CountsCyclesAcrossWrapAround) {
  SequenceTracker t;
  for (uint32_t i = 0; i < 10; ++i) t.update(static_cast<uint16_t>(65530 + i), 0, 0);
  EXPECT_EQ(t.cycles(), 1u);
  EXPECT_EQ(t.extended_highest(), 65536u + 3);
  EXPECT_EQ(t.expected(), 10u);
  EXPECT_EQ(t.lost(), 0);
}

TEST(SequenceTracker, FractionLostCoversOnlyTheLastInterval) {
  SequenceTracker t;
  for (uint16_t s = 0; s < 100; ++s)
    if (s % 4 != 3) t.update(s, 0, 0);  // lose one in four
  auto first = t.interval_report();
  EXPECT_EQ(first.expected, 99u);  // highest received is 98
  EXPECT_EQ(first.cumulative_lost, 24);
  EXPECT_EQ(first.fraction_lost, (24 << 8) / 99);
  for (uint16_t s = 100; s < 200; ++s) t.update(s, 0, 0);
  auto second = t.interval_report();
  // Only 99 (lost before the first report but above its highest) is missing from 99..199.
  EXPECT_EQ(second.expected - first.expected, 101u);
  EXPECT_EQ(second.fraction_lost, 256 / 101);
  EXPECT_EQ(second.cumulative_lost, 25);
}

TEST(SequenceTracker, ReorderedAndDuplicatePacketsCountAsReceived) {
  SequenceTracker t;
  t.update(10, 0, 0);
  t.update(12, 0, 0);
  EXPECT_TRUE(t.update(11, 0, 0));
  EXPECT_TRUE(t.update(11, 0, 0));
  EXPECT_EQ(t.extended_highest(), 12u);
  EXPECT_EQ(t.received(), 4u);
  EXPECT_EQ(t.lost(), -1);  // RFC 3550 6.4.1: duplicates can make it negative
}

TEST(SequenceTracker, LargeJumpNeedsASecondPacketToResync) {
  SequenceTracker t;
  for (uint16_t s = 0; s < 5; ++s) t.update(s, 0, 0);
  EXPECT_FALSE(t.update(40000, 0, 0));
  EXPECT_EQ(t.extended_highest(), 4u);
  EXPECT_TRUE(t.update(40001, 0, 0));
  EXPECT_EQ(t.extended_highest(), 40001u);
  EXPECT_EQ(t.expected(), 1u);
  EXPECT_EQ(t.received(), 1u);
}

TEST(SequenceTracker, SingleStrayJumpIsIgnored) {
  SequenceTracker t;
  for (uint16_t s = 0; s < 5; ++s) t.update(s, 0, 0);
  EXPECT_FALSE(t.update(30000, 0, 0));
  EXPECT_TRUE(t.update(5, 0, 0));
  EXPECT_EQ(t.extended_highest(), 5u);
  EXPECT_EQ(t.received(), 6u);
}

TEST(SequenceTracker, ProbationRequiresSequentialPackets) {
  SequenceTracker t(2);
  EXPECT_FALSE(t.update(50, 0, 0));
  EXPECT_FALSE(t.update(60, 0, 0));  // not sequential: probation restarts
  EXPECT_TRUE(t.update(61, 0, 0));
  EXPECT_EQ(t.received(), 1u);
  EXPECT_EQ(t.expected(), 1u);
}

TEST(SequenceTracker, JitterFollowsRfc3550A8) {
  SequenceTracker t;
  // 90 kHz video at 30 fps (3000 ticks per frame); the second packet arrives 160 ticks late.
  t.update(0, 0, 1000);
  t.update(1, 3000, 4160);
  // D = 160: J = 160/16 = 10
  EXPECT_EQ(t.jitter(), 10u);
  t.update(2, 6000, 7000);  // D = -160 relative to the previous transit
  // J += (160 - J)/16 -> 10 + 150/16 = 19.375, integer form gives 19
  EXPECT_EQ(t.jitter(), 19u);
}

}  // namespace
}  // namespace sg::rtp
