// A track's RTP timeline stays continuous across source sessions, keeping the real gap.
#include <gtest/gtest.h>

#include "media/timestamp_rebaser.hpp"

namespace sg::media {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(TimestampRebaser, FirstSessionPassesThrough) {
  TimestampRebaser r(90000);
  EXPECT_EQ(r.rebase(1, 123456, 0), 123456u);
  EXPECT_EQ(r.rebase(1, 123456 + 3600, 40 * kMs), 123456u + 3600u);
}

TEST(TimestampRebaser, NewSessionContinuesAfterTheRealGap) {
  TimestampRebaser r(90000);
  r.rebase(1, 1000, 0);
  r.rebase(1, 1000 + 450000, 5000 * kMs);  // 5 s into the first session
  // The camera restarts with a random base; its first frame arrives 2 s after the last one.
  EXPECT_EQ(r.rebase(2, 0x9abcdef0u, 7000 * kMs), 1000u + 450000u + 180000u);
  EXPECT_EQ(r.rebase(2, 0x9abcdef0u + 3000, 7033 * kMs), 1000u + 450000u + 180000u + 3000u);
}

TEST(TimestampRebaser, SimultaneousSessionsStillAdvanceOneTick) {
  TimestampRebaser r(48000);
  r.rebase(1, 500, 10 * kMs);
  EXPECT_EQ(r.rebase(2, 77, 10 * kMs), 501u);
}

TEST(TimestampRebaser, ContinuesAcrossTheWrap) {
  TimestampRebaser r(90000);
  r.rebase(1, 0xfffffff0u, 0);
  EXPECT_EQ(r.rebase(2, 5, 1000 * kMs), 0xfffffff0u + 90000u);
}

TEST(TimestampRebaser, NewSessionFollowsTheHighestTimestampNotTheLastReordered) {
  TimestampRebaser r(90000);
  r.rebase(1, 9000, 0);  // P frame
  r.rebase(1, 6000, 0);  // B frame shown before it, decoded after
  EXPECT_EQ(r.rebase(2, 42, 1 * kMs), 9000u + 90u);
}

TEST(TimestampRebaser, RemembersTheTrackClockReadersSee) {
  TimestampRebaser r(8000);
  EXPECT_FALSE(r.started());
  r.rebase(1, 10, 0);
  r.rebase(2, 99999, 1000 * kMs);
  EXPECT_TRUE(r.started());
  EXPECT_EQ(r.last_timestamp(), 8010u);
  EXPECT_EQ(r.last_arrival_ns(), 1000 * kMs);
}

}  // namespace
}  // namespace sg::media
