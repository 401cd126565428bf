#include <gtest/gtest.h>

#include "auth/login_limiter.hpp"

namespace sg::auth {
namespace {

IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }

FailedLoginLimiter::Config small() {
  return {.max_failures = 3, .window_ms = 1000, .block_ms = 5000, .max_tracked = 100};
}

TEST(AuthLoginLimiter, BlocksAfterMaxFailuresWithinTheWindow) {
  FailedLoginLimiter limiter(small());
  const auto a = ip("10.0.0.1");
  EXPECT_FALSE(limiter.record_failure(a, 0));
  EXPECT_FALSE(limiter.record_failure(a, 100));
  EXPECT_FALSE(limiter.blocked(a, 100));
  EXPECT_TRUE(limiter.record_failure(a, 200));
  EXPECT_TRUE(limiter.blocked(a, 200));
  EXPECT_TRUE(limiter.blocked(a, 5199));
  EXPECT_FALSE(limiter.blocked(a, 5200));
  EXPECT_FALSE(limiter.blocked(ip("10.0.0.2"), 200));
}

TEST(AuthLoginLimiter, FailuresSpreadBeyondTheWindowDoNotBlock) {
  FailedLoginLimiter limiter(small());
  const auto a = ip("10.0.0.1");
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.record_failure(a, i * 600)) << i;
  EXPECT_FALSE(limiter.blocked(a, 6000));
}

TEST(AuthLoginLimiter, NewEpisodeIsReportedOncePerBlock) {
  FailedLoginLimiter limiter(small());
  const auto a = ip("::1");
  int episodes = 0;
  for (int64_t t = 0; t < 5000; t += 10) episodes += limiter.record_failure(a, t);
  EXPECT_EQ(episodes, 1);
  // After the block ends, a fresh run of failures starts a second episode.
  for (int64_t t = 5020; t < 5100; t += 10) episodes += limiter.record_failure(a, t);
  EXPECT_EQ(episodes, 2);
}

TEST(AuthLoginLimiter, SuccessClearsFailures) {
  FailedLoginLimiter limiter(small());
  const auto a = ip("10.0.0.1");
  limiter.record_failure(a, 0);
  limiter.record_failure(a, 1);
  limiter.record_success(a);
  EXPECT_EQ(limiter.tracked(), 0u);
  EXPECT_FALSE(limiter.record_failure(a, 2));
  EXPECT_FALSE(limiter.record_failure(a, 3));
  EXPECT_TRUE(limiter.record_failure(a, 4));
}

TEST(AuthLoginLimiter, MemoryIsBoundedByForgettingTheLeastRecentlyFailed) {
  auto config = small();
  config.max_tracked = 4;
  FailedLoginLimiter limiter(config);
  const auto old = ip("10.0.0.1");
  limiter.record_failure(old, 0);
  limiter.record_failure(old, 1);
  for (int i = 2; i < 6; ++i) limiter.record_failure(ip("10.0.1." + std::to_string(i)), i);
  EXPECT_EQ(limiter.tracked(), 4u);
  // The old address was forgotten: it needs three fresh failures again.
  EXPECT_FALSE(limiter.record_failure(old, 10));
  EXPECT_FALSE(limiter.record_failure(old, 11));
  EXPECT_TRUE(limiter.record_failure(old, 12));
  EXPECT_EQ(limiter.tracked(), 4u);
}

TEST(AuthLoginLimiter, DefaultsAreTenFailuresPerMinute) {
  FailedLoginLimiter limiter;
  const auto a = ip("192.0.2.1");
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(limiter.record_failure(a, i * 1000));
  EXPECT_TRUE(limiter.record_failure(a, 9000));
  EXPECT_TRUE(limiter.blocked(a, 68'999));
  EXPECT_FALSE(limiter.blocked(a, 69'000));
}

}  // namespace
}  // namespace sg::auth
