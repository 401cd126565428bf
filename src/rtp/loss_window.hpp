#pragma once
// Packet loss over a sliding time window, and episodes of it: an episode begins when the loss over the last
// `window` reaches `threshold`, and ends when it falls below. Pure: the caller passes the time of each sample.
#include <chrono>
#include <cstdint>
#include <deque>

namespace sg::rtp {

class LossWindow {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    double threshold = 0.10;  // fraction of expected packets lost; <= 0 = episodes never begin
    std::chrono::milliseconds window{10000};
    uint64_t min_expected = 20;  // fewer packets expected in the window: no verdict (too few to tell)
  };
  enum class Change { None, Began, Ended };

  explicit LossWindow(Options options) : options_(options) {}

  // Feeds cumulative counts (e.g. LossCounts summed over tracks) at `now`; samples must come in time order. Returns
  // whether an episode began or ended with this sample. Counts that go back (a new counter) restart the window.
  Change sample(Clock::time_point now, uint64_t expected, uint64_t received);

  bool in_episode() const { return in_episode_; }
  // Loss over the last full window at the latest sample, 0..1; 0 until a window has passed.
  double loss() const { return loss_; }
  const Options& options() const { return options_; }

 private:
  struct Point {
    Clock::time_point at;
    uint64_t expected;
    uint64_t received;
  };
  Options options_;
  std::deque<Point> points_;
  bool in_episode_ = false;
  double loss_ = 0;
};

}  // namespace sg::rtp
