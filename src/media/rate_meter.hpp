#pragma once
// Bit rate of a byte counter, from samples taken when someone asks (the API, the console's event stream): no timer,
// no work while nobody looks. A rate is the average over the window between two samples at least kMinWindow apart;
// after a gap longer than kMaxWindow the old sample is too stale to say what the rate is now, so the meter restarts.
#include <chrono>
#include <cstdint>

namespace sg::media {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMinWindow{1000};
  static constexpr std::chrono::milliseconds kMaxWindow{10000};

  // The counter's value `total` at `now`; returns the rate in bits per second as last measured (0 until a window
  // has been measured).
  double sample(Clock::time_point now, uint64_t total);

 private:
  bool started_ = false;
  Clock::time_point at_{};
  uint64_t total_ = 0;
  double bits_per_second_ = 0;
};

}  // namespace sg::media
