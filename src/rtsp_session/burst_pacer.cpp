#include "rtsp_session/burst_pacer.hpp"

#include <algorithm>
#include <cmath>

namespace sg::rtsp_session {

namespace {
constexpr double kNsPerSecond = 1e9;
constexpr int64_t kMinWaitNs = 500'000;
}  // namespace

void BurstPacer::start(uint64_t bytes, int64_t span_ns, int64_t now_ns) {
  const double span = static_cast<double>(std::max(span_ns, opt_.min_span_ns)) / kNsPerSecond;
  const double estimate = opt_.speed * static_cast<double>(bytes) / span;
  rate_ = std::max(opt_.min_bytes_per_second, static_cast<int64_t>(estimate));
  tokens_ = static_cast<double>(opt_.bucket_bytes);
  refilled_ns_ = now_ns;
  active_ = true;
}

int64_t BurstPacer::allowance(int64_t now_ns) {
  if (now_ns > refilled_ns_) {
    tokens_ += static_cast<double>(rate_) * static_cast<double>(now_ns - refilled_ns_) / kNsPerSecond;
    tokens_ = std::min(tokens_, static_cast<double>(opt_.bucket_bytes));
    refilled_ns_ = now_ns;
  }
  return tokens_ > 0 ? static_cast<int64_t>(tokens_) : 0;
}

int64_t BurstPacer::wait_ns() const {
  const double missing = static_cast<double>(opt_.bucket_bytes) / 4 - tokens_;
  if (missing <= 0 || rate_ <= 0) return kMinWaitNs;
  return std::max(kMinWaitNs, static_cast<int64_t>(std::ceil(missing * kNsPerSecond / static_cast<double>(rate_))));
}

}  // namespace sg::rtsp_session
