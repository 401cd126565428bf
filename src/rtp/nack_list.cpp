#include "rtp/nack_list.hpp"

#include <algorithm>

namespace sg::rtp {

void NackList::on_packet(uint16_t seq, int64_t now_ns) {
  if (!started_) {
    started_ = true;
    highest_ = int64_t{1} << 32 | seq;  // room below for wrap-around arithmetic
    return;
  }
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(highest_)));
  const int64_t ext = highest_ + delta;
  if (delta <= 0) {
    if (missing_.erase(ext)) ++recovered_;
    return;
  }
  if (delta > options_.max_gap) {
    // A restart (or a burst lost beyond repair): nothing before it is worth asking for.
    given_up_ += missing_.size();
    missing_.clear();
    highest_ = ext;
    return;
  }
  for (int64_t s = highest_ + 1; s < ext; ++s) missing_[s] = Entry{now_ns, -1, 0};
  highest_ = ext;
  while (missing_.size() > options_.max_missing) {
    missing_.erase(missing_.begin());
    ++given_up_;
  }
}

void NackList::due(int64_t now_ns, int64_t rtt_ns, std::vector<uint16_t>& out) {
  const int64_t interval = std::max(options_.min_retry_ns, rtt_ns);
  for (auto it = missing_.begin(); it != missing_.end();) {
    auto& e = it->second;
    if (e.retries >= options_.max_retries || now_ns - e.first_ns >= options_.max_age_ns) {
      it = missing_.erase(it);
      ++given_up_;
      continue;
    }
    if (e.sent_ns < 0 || now_ns - e.sent_ns >= interval) {
      out.push_back(static_cast<uint16_t>(it->first));
      e.sent_ns = now_ns;
      ++e.retries;
      ++requested_;
    }
    ++it;
  }
}

}  // namespace sg::rtp
