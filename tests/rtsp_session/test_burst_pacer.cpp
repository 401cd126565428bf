// The token bucket that spreads a UDP reader's GOP cache replay: its rate, its bursts and its waits.
#include <gtest/gtest.h>

#include "rtsp_session/burst_pacer.hpp"

namespace sg::rtsp_session {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

TEST(BurstPacer, RateIsSpeedTimesTheBacklogBitrate) {
  BurstPacer p;
  p.start(2'000'000, 4 * kSecond, 0);  // 4 Mb/s for 4 s
  EXPECT_TRUE(p.active());
  EXPECT_EQ(p.bytes_per_second(), 2'000'000);  // 4 x 500 KB/s
}

TEST(BurstPacer, BacklogShorterThanASecondCountsAsOneSecond) {
  BurstPacer p;
  p.start(200'000, 40 * kMs, 0);  // a keyframe alone: not 5 MB/s x 4
  EXPECT_EQ(p.bytes_per_second(), 800'000);
}

TEST(BurstPacer, SmallBacklogGetsTheFloorRate) {
  BurstPacer p;
  p.start(10'000, 5 * kSecond, 0);
  EXPECT_EQ(p.bytes_per_second(), BurstPacer::Options{}.min_bytes_per_second);
}

TEST(BurstPacer, StartsWithAFullBucketThenRefillsAtTheRateUpToTheBucket) {
  BurstPacer p;
  p.start(2'000'000, 4 * kSecond, 0);  // 2 MB/s = 2000 bytes per ms
  EXPECT_EQ(p.allowance(0), 16 * 1024);
  p.consume(16 * 1024 + 1000);  // the packet crossing the allowance went too: a debt
  EXPECT_EQ(p.allowance(0), 0);
  EXPECT_EQ(p.allowance(kMs), 1000);
  EXPECT_EQ(p.allowance(kSecond), 16 * 1024);  // no more than a bucket after idling
}

TEST(BurstPacer, BytesOverASecondMatchTheRate) {
  BurstPacer p;
  p.start(2'000'000, 4 * kSecond, 0);
  int64_t sent = 0;
  for (int64_t now = 0; now <= kSecond; now += kMs) {
    int64_t allowed = p.allowance(now);
    while (allowed > 0) {  // 1200-byte packets, the last one crossing the allowance
      p.consume(1200);
      sent += 1200;
      allowed -= 1200;
    }
  }
  EXPECT_GE(sent, 2'000'000);
  EXPECT_LE(sent, 2'000'000 + 16 * 1024 + 2 * 1200);
}

TEST(BurstPacer, WaitIsUntilAQuarterBucketIsAllowed) {
  BurstPacer p;
  p.start(2'000'000, 4 * kSecond, 0);
  p.consume(16 * 1024);
  EXPECT_EQ(p.wait_ns(), 2'048'000);  // 4096 bytes at 2 bytes per us
  p.consume(4096);
  EXPECT_EQ(p.wait_ns(), 4'096'000);
}

TEST(BurstPacer, WaitIsNeverShorterThanHalfAMillisecond) {
  BurstPacer p;
  p.start(100'000'000, kSecond, 0);
  p.consume(16 * 1024);
  EXPECT_EQ(p.wait_ns(), 500'000);
}

TEST(BurstPacer, StopEndsPacing) {
  BurstPacer p;
  p.start(1, kSecond, 0);
  p.stop();
  EXPECT_FALSE(p.active());
}

}  // namespace
}  // namespace sg::rtsp_session
