#include "playback/path_pattern.hpp"

#include <cstdint>

namespace sg::playback {

namespace {

struct Fields {
  std::string stream;
  bool has_stream = false;
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, micros = 0;
  std::optional<int64_t> unix_seconds;
};

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int64_t& out) {
  if (s.size() - pos < n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// Backtracking match: %stream is the only variable-width field (besides %s, which takes all digits).
bool match(std::string_view pat, size_t pi, std::string_view path, size_t si, Fields& f) {
  while (pi < pat.size()) {
    if (pat[pi] != '%') {
      if (si >= path.size() || path[si] != pat[pi]) return false;
      ++pi, ++si;
      continue;
    }
    if (pi + 1 >= pat.size()) return false;
    if (pat.substr(pi, 7) == "%stream") {
      // One or more characters without '/': try every length, longest last to prefer the first literal match.
      for (size_t end = si + 1; end <= path.size() && path[end - 1] != '/'; ++end) {
        Fields attempt = f;
        if (attempt.has_stream && attempt.stream != path.substr(si, end - si)) continue;
        attempt.stream = std::string(path.substr(si, end - si));
        attempt.has_stream = true;
        if (match(pat, pi + 7, path, end, attempt)) {
          f = std::move(attempt);
          return true;
        }
      }
      return false;
    }
    const char field = pat[pi + 1];
    pi += 2;
    int64_t v = 0;
    switch (field) {
      case '%':
        if (si >= path.size() || path[si] != '%') return false;
        ++si;
        break;
      case 'Y':
        if (!digits(path, si, 4, v)) return false;
        f.year = v;
        break;
      case 'm':
        if (!digits(path, si, 2, v)) return false;
        f.month = v;
        break;
      case 'd':
        if (!digits(path, si, 2, v)) return false;
        f.day = v;
        break;
      case 'H':
        if (!digits(path, si, 2, v)) return false;
        f.hour = v;
        break;
      case 'M':
        if (!digits(path, si, 2, v)) return false;
        f.minute = v;
        break;
      case 'S':
        if (!digits(path, si, 2, v)) return false;
        f.second = v;
        break;
      case 'f':
        if (!digits(path, si, 6, v)) return false;
        f.micros = v;
        break;
      case 's': {
        size_t n = 0;
        while (si + n < path.size() && n < 12 && path[si + n] >= '0' && path[si + n] <= '9') ++n;
        if (n == 0 || !digits(path, si, n, v)) return false;
        f.unix_seconds = v;
        break;
      }
      default:
        return false;
    }
  }
  return si == path.size();
}

}  // namespace

std::optional<SegmentName> parse_segment_path(std::string_view pattern, std::string_view path) {
  Fields f;
  if (!match(pattern, 0, path, 0, f)) return std::nullopt;
  using namespace std::chrono;
  sys_seconds seconds;
  if (f.unix_seconds) {
    seconds = sys_seconds{std::chrono::seconds{*f.unix_seconds}};
  } else {
    const year_month_day ymd{year{static_cast<int>(f.year)}, month{static_cast<unsigned>(f.month)},
                             day{static_cast<unsigned>(f.day)}};
    if (!ymd.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
    seconds = sys_days{ymd} + hours{f.hour} + minutes{f.minute} + std::chrono::seconds{f.second};
  }
  return SegmentName{std::move(f.stream), SysMicros{seconds} + microseconds{f.micros}};
}

std::string pattern_root(std::string_view pattern) {
  const size_t field = pattern.find('%');
  const std::string_view literal = pattern.substr(0, field);
  const size_t slash = literal.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(literal.substr(0, slash));
}

std::string pattern_for_stream(std::string_view pattern, std::string_view stream) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i, 7) == "%stream") {
      // A '%' in the name would be read as a field: write it as "%%".
      for (char c : stream) out += c == '%' ? std::string("%%") : std::string(1, c);
      i += 7;
    } else if (pattern[i] == '%' && i + 1 < pattern.size()) {
      out.append(pattern.substr(i, 2));
      i += 2;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

}  // namespace sg::playback
