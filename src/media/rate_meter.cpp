#include "media/rate_meter.hpp"

namespace sg::media {

double RateMeter::sample(Clock::time_point now, uint64_t total) {
  if (!started_ || now - at_ > kMaxWindow || total < total_) {
    // First sample, a stale one, or a counter that went back (a new stream under the same meter): start over.
    started_ = true;
    at_ = now;
    total_ = total;
    bits_per_second_ = 0;
    return 0;
  }
  const auto window = now - at_;
  if (window < kMinWindow) return bits_per_second_;
  bits_per_second_ = static_cast<double>(total - total_) * 8.0 / std::chrono::duration<double>(window).count();
  at_ = now;
  total_ = total;
  return bits_per_second_;
}

}  // namespace sg::media
