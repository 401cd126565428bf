#include <gtest/gtest.h>

#include "rtp/loss_window.hpp"

namespace sg::rtp {
namespace {

using namespace std::chrono_literals;
using Change = LossWindow::Change;

LossWindow::Options options(double threshold, std::chrono::milliseconds window) {
  LossWindow::Options o;
  o.threshold = threshold;
  o.window = window;
  o.min_expected = 20;
  return o;
}

// Feeds `seconds` of a source sending `rate` packets per second of which `loss` are lost, one sample every 250 ms;
// returns the changes seen.
struct Feed {
  LossWindow& w;
  LossWindow::Clock::time_point t{};
  uint64_t expected = 0, received = 0;
  std::vector<Change> run(double seconds, uint64_t per_tick, uint64_t lost_per_tick) {
    std::vector<Change> changes;
    for (int i = 0; i < static_cast<int>(seconds * 4); ++i) {
      t += 250ms;
      expected += per_tick;
      received += per_tick - lost_per_tick;
      if (auto c = w.sample(t, expected, received); c != Change::None) changes.push_back(c);
    }
    return changes;
  }
};

TEST(LossWindow, NoVerdictBeforeAWholeWindow) {
  LossWindow w(options(0.1, 2000ms));
  Feed f{w};
  // 50 % loss, but the first sample (at 250 ms) is not yet a whole window before the last.
  EXPECT_TRUE(f.run(2.0, 10, 5).empty());
  EXPECT_FALSE(w.in_episode());
  EXPECT_EQ(f.run(0.25, 10, 5), std::vector<Change>{Change::Began});
  EXPECT_NEAR(w.loss(), 0.5, 1e-9);
}

TEST(LossWindow, LossBelowThresholdIsNoEpisode) {
  LossWindow w(options(0.1, 2000ms));
  Feed f{w};
  EXPECT_TRUE(f.run(10, 20, 1).empty());  // 5 %
  EXPECT_NEAR(w.loss(), 0.05, 1e-9);
}

TEST(LossWindow, EpisodeBeginsOnceAndEndsWhenLossFalls) {
  LossWindow w(options(0.1, 2000ms));
  Feed f{w};
  EXPECT_TRUE(f.run(3, 20, 0).empty());
  EXPECT_EQ(f.run(10, 20, 6), std::vector<Change>{Change::Began});  // 30 % for 10 s: one episode
  EXPECT_TRUE(w.in_episode());
  EXPECT_EQ(f.run(5, 20, 0), std::vector<Change>{Change::Ended});
  EXPECT_FALSE(w.in_episode());
  EXPECT_EQ(w.loss(), 0.0);
}

TEST(LossWindow, ShortBurstIsDilutedByTheWindow) {
  LossWindow w(options(0.1, 4000ms));
  Feed f{w};
  f.run(5, 20, 0);
  EXPECT_TRUE(f.run(0.25, 20, 20).empty());  // one tick of total loss: 20 of 320 in the window (6 %)
  EXPECT_TRUE(f.run(5, 20, 0).empty());
}

TEST(LossWindow, TooFewPacketsGiveNoVerdict) {
  LossWindow w(options(0.1, 2000ms));
  Feed f{w};
  EXPECT_TRUE(f.run(10, 2, 1).empty());  // 50 % of 16 packets per window: below min_expected
  EXPECT_FALSE(w.in_episode());
}

TEST(LossWindow, ZeroThresholdNeverBegins) {
  LossWindow w(options(0, 2000ms));
  Feed f{w};
  EXPECT_TRUE(f.run(10, 20, 19).empty());
  EXPECT_NEAR(w.loss(), 0.95, 1e-9);  // still measured
}

TEST(LossWindow, CountsGoingBackRestartTheWindow) {
  LossWindow w(options(0.1, 2000ms));
  Feed f{w};
  f.run(3, 20, 0);
  f.expected = 0;  // a new counter (a reconnected source)
  f.received = 0;
  EXPECT_TRUE(f.run(2.0, 20, 10).empty());  // less than a window between the samples since the restart
  EXPECT_EQ(f.run(0.25, 20, 10), std::vector<Change>{Change::Began});
}

}  // namespace
}  // namespace sg::rtp
