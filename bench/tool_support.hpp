#pragma once
// Small pieces every load tool in bench/ needs: order statistics, JSON string escaping for the --json summary, and
// a file-descriptor limit high enough for thousands of sockets.
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace sg::bench {

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

}  // namespace sg::bench
