#pragma once
// Small pieces every load tool in bench/ needs: the command line, order statistics, JSON string escaping for the
// --json summary, a file-descriptor limit high enough for thousands of sockets, and a receive that keeps one
// control message (a receive timestamp, a GRO segment size); a latency histogram.
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::bench {

// One command-line flag: `set` takes its value (converting with std::stoul, std::stod... and throwing on a bad one);
// a switch (takes_value false) gets an empty string.
struct Flag {
  std::string_view name;
  std::function<void(const std::string&)> set;
  bool takes_value = true;
};

// Applies argv to the flags in order. Returns -1 to go on; 0 after --help/-h (usage printed); 2 after an unknown
// flag, a missing value or a value `set` rejected (usage or the reason printed).
inline int parse_args(int argc, char** argv, std::initializer_list<Flag> flags, void (*usage)()) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    const Flag* flag = nullptr;
    for (const auto& f : flags)
      if (f.name == a) flag = &f;
    if (!flag || (flag->takes_value && i + 1 >= argc)) {
      usage();
      return 2;
    }
    try {
      flag->set(flag->takes_value ? std::string(argv[++i]) : std::string());
    } catch (const std::exception&) {
      std::fprintf(stderr, "bad value for %s\n", a.c_str());
      return 2;
    }
  }
  return -1;
}

// The q-quantile (0 = min, 0.5 = median, 1 = max) by nearest rank; T{} for no samples.
template <class T>
T percentile(std::vector<T> v, double q) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// For a JSON string literal: quotes and backslashes escaped, control characters turned into spaces.
inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

// Raises the soft RLIMIT_NOFILE to the hard limit.
inline void raise_file_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// recvmsg(MSG_DONTWAIT) into [data, data + size) with room for one control message; `value` gets the payload of
// the (level, type) message when the kernel attached one, and is empty otherwise. Returns what recvmsg returned
// (-1 with errno set: EAGAIN when nothing is queued).
template <class T>
ssize_t recv_with_control(int fd, void* data, size_t size, int level, int type, std::optional<T>& value) {
  iovec iov{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(T))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  value.reset();
  const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == level && c->cmsg_type == type && c->cmsg_len >= CMSG_LEN(sizeof(T))) {
      T v{};
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      value = v;
    }
  }
  return n;
}

// Latency samples: 10 us buckets up to 1 s, the last one for >= 1 s (rtsp_readers per thread, kernel_floor's
// sends).
struct LatencyHistogram {
  static constexpr int64_t kBucketNs = 10'000;
  static constexpr size_t kBuckets = 100'000;
  std::vector<uint64_t> counts = std::vector<uint64_t>(kBuckets + 1, 0);
  uint64_t samples = 0;

  void add(int64_t ns) {
    auto b = static_cast<size_t>(std::max<int64_t>(0, ns) / kBucketNs);
    ++counts[std::min(b, kBuckets)];
    ++samples;
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i <= kBuckets; ++i) counts[i] += o.counts[i];
    samples += o.samples;
  }
  // The q-quantile in microseconds (the middle of its bucket; 1 s for the overflow bucket).
  double quantile_us(double q) const {
    if (samples == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(samples - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i <= kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) {
        if (i == kBuckets) return 1e6;
        return (static_cast<double>(i) + 0.5) * static_cast<double>(kBucketNs) / 1000;
      }
    }
    return 1e6;
  }
};

}  // namespace sg::bench
