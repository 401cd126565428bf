#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rtp/loss_counter.hpp"

namespace sg::rtp {
namespace {

using Arrival = LossCounter::Arrival;

LossCounts feed(LossCounter& c, const std::vector<uint16_t>& seqs) {
  for (auto s : seqs) c.update(s);
  return c.counts();
}

TEST(LossCounter, NothingExpectedBeforeTheFirstPacket) {
  LossCounter c;
  EXPECT_EQ(c.counts().expected, 0u);
  EXPECT_EQ(c.counts().lost(), 0u);
  EXPECT_EQ(c.update(4000), Arrival::First);
  EXPECT_EQ(c.counts().expected, 1u);
  EXPECT_EQ(c.counts().received, 1u);
}

TEST(LossCounter, InOrderPacketsLoseNothing) {
  LossCounter c;
  for (uint16_t s = 100; s < 200; ++s) c.update(s);
  auto n = c.counts();
  EXPECT_EQ(n.expected, 100u);
  EXPECT_EQ(n.received, 100u);
  EXPECT_EQ(n.lost(), 0u);
}

TEST(LossCounter, GapsAreLost) {
  LossCounter c;
  // 1000 packets, every third one missing (as at 33 % loss).
  for (uint16_t s = 0; s < 1000; ++s)
    if (s % 3 != 1) c.update(s);
  auto n = c.counts();
  EXPECT_EQ(n.expected, 1000u);
  EXPECT_EQ(n.lost(), 333u);
  EXPECT_EQ(n.received, 667u);
}

TEST(LossCounter, CountsAcrossSequenceWrapAround) {
  LossCounter c;
  std::vector<uint16_t> seqs;
  for (uint32_t i = 65500; i < 65536 + 50; ++i)
    if (i != 65535 && i != 65536) seqs.push_back(static_cast<uint16_t>(i));  // 65535 and 0 lost at the wrap
  auto n = feed(c, seqs);
  EXPECT_EQ(n.expected, 86u);
  EXPECT_EQ(n.lost(), 2u);
}

TEST(LossCounter, CountsOverManyWraps) {
  LossCounter c;
  uint16_t s = 65000;
  for (uint32_t i = 0; i < 300000; ++i, ++s)
    if (i % 100 != 0) c.update(s);
  auto n = c.counts();
  EXPECT_EQ(n.expected, 300000u - 1);  // the first (i == 0) was never seen, so counting starts at the second
  EXPECT_EQ(n.lost(), 2999u);
}

TEST(LossCounter, ReorderedPacketFillsItsGap) {
  LossCounter c;
  EXPECT_EQ(c.update(10), Arrival::First);
  EXPECT_EQ(c.update(12), Arrival::InOrder);
  EXPECT_EQ(c.counts().lost(), 1u);
  EXPECT_EQ(c.update(11), Arrival::Reordered);
  EXPECT_EQ(c.counts().lost(), 0u);
  EXPECT_EQ(c.counts().expected, 3u);
}

TEST(LossCounter, ReorderedAcrossTheWrapFillsItsGap) {
  LossCounter c;
  auto n = feed(c, {65533, 65534, 0, 1, 65535, 2});
  EXPECT_EQ(n.expected, 6u);
  EXPECT_EQ(n.received, 6u);
  EXPECT_EQ(n.duplicates, 0u);
}

TEST(LossCounter, DuplicatesDoNotHideLoss) {
  LossCounter c;
  // 20 and 21 lost; 22 and 19 arrive twice. RFC 3550 A.3 would report 4 expected - 6 received = -2 + ... here: 2.
  auto n = feed(c, {18, 19, 19, 22, 22, 23});
  EXPECT_EQ(n.expected, 6u);
  EXPECT_EQ(n.received, 4u);
  EXPECT_EQ(n.lost(), 2u);
  EXPECT_EQ(n.duplicates, 2u);
}

TEST(LossCounter, DuplicateOfAReorderedPacketIsCountedOnce) {
  LossCounter c;
  EXPECT_EQ(feed(c, {1, 2, 5, 3, 3, 4, 4}).lost(), 0u);
  EXPECT_EQ(c.counts().duplicates, 2u);
  EXPECT_EQ(c.counts().received, 5u);
}

TEST(LossCounter, PacketBeforeTheFirstOneExtendsTheRun) {
  LossCounter c;
  auto n = feed(c, {502, 500, 503});
  EXPECT_EQ(n.expected, 4u);  // 500..503, 501 missing
  EXPECT_EQ(n.lost(), 1u);
  c.update(501);
  EXPECT_EQ(c.counts().lost(), 0u);
}

TEST(LossCounter, LargeGapWithinDropoutIsLoss) {
  LossCounter c;
  auto n = feed(c, {1000, 1000 + LossCounter::kMaxDropout - 1});
  EXPECT_EQ(n.expected, LossCounter::kMaxDropout);
  EXPECT_EQ(n.lost(), LossCounter::kMaxDropout - 2);
  // Packets from the gap arriving very late (behind by more than kMaxMisorder) are far-off, not received.
  EXPECT_EQ(c.update(1001), Arrival::Ignored);
  EXPECT_EQ(c.counts().lost(), LossCounter::kMaxDropout - 2);
}

TEST(LossCounter, GapsOlderThanTheWindowStayLost) {
  LossCounter c;
  c.update(0);
  c.update(2);  // 1 missing
  for (uint16_t s = 3; s < 300; ++s) c.update(s);
  EXPECT_EQ(c.update(1), Arrival::Ignored);  // 299 behind: beyond kMaxMisorder
  EXPECT_EQ(c.counts().lost(), 1u);
}

TEST(LossCounter, LossSettlesOnceTooFarBehindToBeFilled) {
  LossCounter c;
  c.update(0);
  c.update(2);  // 1 missing, may still arrive
  EXPECT_EQ(c.counts().lost(), 1u);
  EXPECT_EQ(c.counts().settled_lost, 0u);
  for (uint16_t s = 3; s < 200; ++s) c.update(s);
  EXPECT_EQ(c.counts().settled_lost, 1u);
  EXPECT_EQ(c.counts().lost(), 1u);
}

TEST(LossCounter, SettledLossCountsBigGapsOnce) {
  LossCounter c;
  c.update(10);
  c.update(12);         // 11 missing
  c.update(12 + 1000);  // 1012: 999 more missing (13..1011)
  auto n = c.counts();
  EXPECT_EQ(n.lost(), 1000u);
  EXPECT_EQ(n.settled_lost, 1000u - 127);  // those of 11..1011 more than 127 behind 1012
  for (uint16_t s = 1013; s < 1200; ++s) c.update(s);
  EXPECT_EQ(c.counts().settled_lost, 1000u);
}

TEST(LossCounter, SettledLossIsMonotonicAndCatchesUpAtARestart) {
  LossCounter c;
  feed(c, {1, 3, 2, 5});  // 4 missing, within reach
  EXPECT_EQ(c.counts().settled_lost, 0u);
  c.update(50000);
  c.update(50001);  // restart: what the old run missed is final
  EXPECT_EQ(c.counts().settled_lost, 1u);
  EXPECT_EQ(c.counts().lost(), 1u);
}

TEST(LossCounter, SingleFarPacketIsIgnored) {
  LossCounter c;
  feed(c, {1, 2, 3});
  EXPECT_EQ(c.update(40000), Arrival::Ignored);
  EXPECT_EQ(c.update(4), Arrival::InOrder);
  auto n = c.counts();
  EXPECT_EQ(n.expected, 4u);
  EXPECT_EQ(n.lost(), 0u);
  EXPECT_EQ(n.ignored, 1u);
}

TEST(LossCounter, SenderRestartIsConfirmedByTheNextPacket) {
  LossCounter c;
  feed(c, {1, 2, 4});  // 3 lost
  EXPECT_EQ(c.update(40000), Arrival::Ignored);
  EXPECT_EQ(c.update(40001), Arrival::Restart);
  EXPECT_EQ(c.update(40003), Arrival::InOrder);  // 40002 lost
  auto n = c.counts();
  EXPECT_EQ(n.expected, 4u + 4u);
  EXPECT_EQ(n.received, 3u + 3u);
  EXPECT_EQ(n.lost(), 2u);
  EXPECT_EQ(n.restarts, 1u);
  EXPECT_EQ(n.ignored, 0u);
}

TEST(LossCounter, RestartBackwardsIsConfirmedToo) {
  LossCounter c;
  feed(c, {30000, 30001});
  c.update(5);
  EXPECT_EQ(c.update(6), Arrival::Restart);
  EXPECT_EQ(c.update(7), Arrival::InOrder);
  EXPECT_EQ(c.counts().expected, 5u);
  EXPECT_EQ(c.counts().lost(), 0u);
}

TEST(LossCounter, ExactUnderShuffledDroppedAndDuplicatedArrival) {
  // 30 % of 200000 packets dropped, the rest shuffled within blocks of 16 and 5 % of them sent twice, across three
  // wraps. A fixed LCG: the same arrival order on every run.
  uint32_t x = 12345;
  auto next = [&x] {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  LossCounter c;
  const uint32_t first = 65000;
  uint32_t lowest = UINT32_MAX, highest = 0;
  uint64_t kept = 0, duplicates = 0, settled = 0;
  for (uint32_t block = 0; block < 200000; block += 16) {
    std::vector<uint32_t> seqs;
    for (uint32_t i = block; i < block + 16; ++i)
      if (next() % 10 >= 3) seqs.push_back(first + i);
    for (size_t i = seqs.size(); i > 1; --i) std::swap(seqs[i - 1], seqs[next() % i]);
    for (auto s : seqs) {
      c.update(static_cast<uint16_t>(s));
      lowest = std::min(lowest, s);
      highest = std::max(highest, s);
      ++kept;
      if (next() % 100 < 5) {
        c.update(static_cast<uint16_t>(s));
        ++duplicates;
      }
      auto n = c.counts();
      ASSERT_LE(n.received, n.expected);
      ASSERT_LE(n.settled_lost, n.lost());
      ASSERT_GE(n.settled_lost, settled);
      settled = n.settled_lost;
    }
  }
  auto n = c.counts();
  EXPECT_EQ(n.expected, highest - lowest + 1);
  EXPECT_EQ(n.received, kept);
  EXPECT_EQ(n.duplicates, duplicates);
  EXPECT_EQ(n.restarts, 0u);
  const double loss = static_cast<double>(n.lost()) / static_cast<double>(n.expected);
  EXPECT_NEAR(loss, 0.30, 0.01);
}

}  // namespace
}  // namespace sg::rtp
