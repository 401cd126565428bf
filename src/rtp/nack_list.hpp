#pragma once
// The receiver side of generic NACK (RFC 4585 6.2.1): which sequence numbers of one RTP stream are missing and
// when to ask for each again. Bounded: at most Options::max_missing numbers are tracked, each asked for at most
// max_retries times and for at most max_age; then it is given up (counted: the caller asks for a keyframe). Pure:
// every time is passed in.
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace sg::rtp {

class NackList {
 public:
  struct Options {
    size_t max_missing = 512;              // numbers tracked at once; the oldest are given up beyond that
    int max_retries = 10;                  // NACKs per missing number
    int64_t min_retry_ns = 10'000'000;     // between two NACKs of one number, at least this (and at least the RTT)
    int64_t max_age_ns = 1'000'000'000;    // a packet missing this long is no use any more (and given up)
    uint16_t max_gap = 1000;               // a jump larger than this is a restart of the sender, not loss
  };

  NackList() = default;
  explicit NackList(Options options) : options_(options) {}

  // A packet arrived at now_ns: a number past the highest one seen makes the ones between it missing; an older one
  // fills its gap (a retransmission or a reordered packet).
  void on_packet(uint16_t seq, int64_t now_ns);
  // Appends the numbers to NACK now (each not asked for within max(min_retry, rtt)) and gives up those past
  // max_retries or max_age.
  void due(int64_t now_ns, int64_t rtt_ns, std::vector<uint16_t>& out);

  size_t missing() const { return missing_.size(); }
  uint64_t recovered() const { return recovered_; }  // missing numbers that arrived later
  uint64_t given_up() const { return given_up_; }    // missing numbers abandoned
  uint64_t requested() const { return requested_; }  // NACK entries produced by due()
  // Numbers given up since the previous call: loss that NACK did not repair.
  uint64_t take_given_up() {
    uint64_t n = given_up_ - reported_given_up_;
    reported_given_up_ = given_up_;
    return n;
  }

 private:
  struct Entry {
    int64_t first_ns = 0;
    int64_t sent_ns = -1;
    int retries = 0;
  };
  Options options_;
  bool started_ = false;
  int64_t highest_ = 0;                 // extended (wrap-counted) highest sequence number
  std::map<int64_t, Entry> missing_;    // by extended sequence number
  uint64_t recovered_ = 0, given_up_ = 0, requested_ = 0, reported_given_up_ = 0;
};

}  // namespace sg::rtp
