#include <gtest/gtest.h>

#include "media/rate_meter.hpp"

namespace sg::media {
namespace {

using namespace std::chrono_literals;

TEST(RateMeter, MeasuresBitsPerSecondOverAtLeastOneSecond) {
  RateMeter m;
  auto t0 = RateMeter::Clock::time_point{} + 100s;
  EXPECT_EQ(m.sample(t0, 1000), 0);
  EXPECT_EQ(m.sample(t0 + 500ms, 60000), 0);  // window too short: still no measurement
  EXPECT_DOUBLE_EQ(m.sample(t0 + 2s, 251000), 1'000'000);  // 250 000 bytes in 2 s
  EXPECT_DOUBLE_EQ(m.sample(t0 + 2500ms, 900000), 1'000'000);  // kept until the next full window
  EXPECT_DOUBLE_EQ(m.sample(t0 + 3s, 251000 + 125000), 1'000'000);
}

TEST(RateMeter, StaleSampleOrCounterResetStartsOver) {
  RateMeter m;
  auto t0 = RateMeter::Clock::time_point{} + 100s;
  m.sample(t0, 0);
  EXPECT_GT(m.sample(t0 + 1s, 1000), 0);
  EXPECT_EQ(m.sample(t0 + 60s, 5000), 0);  // a minute without a look: the old sample says nothing about now
  EXPECT_EQ(m.sample(t0 + 62s, 10), 0);    // the counter went back
  EXPECT_DOUBLE_EQ(m.sample(t0 + 63s, 1010), 8000);
}

}  // namespace
}  // namespace sg::media
