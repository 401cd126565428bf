#include "rtp/loss_window.hpp"

namespace sg::rtp {

LossWindow::Change LossWindow::sample(Clock::time_point now, uint64_t expected, uint64_t received) {
  if (!points_.empty() && (expected < points_.back().expected || received < points_.back().received)) points_.clear();
  points_.push_back({now, expected, received});
  const auto start = now - options_.window;
  // Keep one point at or before the window's start: the window is measured from it.
  while (points_.size() > 1 && points_[1].at <= start) points_.pop_front();
  const Point& from = points_.front();
  if (from.at > start) return Change::None;  // less than a window of history
  const uint64_t exp = expected - from.expected;
  const uint64_t got = received - from.received;
  if (exp < options_.min_expected) return Change::None;
  loss_ = got >= exp ? 0.0 : static_cast<double>(exp - got) / static_cast<double>(exp);
  if (options_.threshold <= 0) return Change::None;
  if (!in_episode_ && loss_ >= options_.threshold) {
    in_episode_ = true;
    return Change::Began;
  }
  if (in_episode_ && loss_ < options_.threshold) {
    in_episode_ = false;
    return Change::Ended;
  }
  return Change::None;
}

}  // namespace sg::rtp
