#include "record/path_pattern.hpp"

#include <array>
#include <vector>

namespace sg::record {
namespace {

enum class Field { Literal, Stream, Year, Month, Day, Hour, Minute, Second, Micro, Unix };

struct Token {
  Field field = Field::Literal;
  std::string text;  // Literal only
};

constexpr size_t kMaxStreamId = 128;
constexpr size_t kMaxPath = 4096;

// nullopt on an unknown field or a lone '%' at the end.
std::optional<std::vector<Token>> tokenize(std::string_view p) {
  std::vector<Token> out;
  auto literal = [&](char c) {
    if (out.empty() || out.back().field != Field::Literal) out.push_back({Field::Literal, {}});
    out.back().text += c;
  };
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      literal(p[i]);
      continue;
    }
    if (i + 1 >= p.size()) return std::nullopt;
    if (p.substr(i + 1).starts_with("stream")) {
      out.push_back({Field::Stream, {}});
      i += 6;
      continue;
    }
    Field f;
    switch (p[i + 1]) {
      case '%':
        literal('%');
        ++i;
        continue;
      case 'Y':
        f = Field::Year;
        break;
      case 'm':
        f = Field::Month;
        break;
      case 'd':
        f = Field::Day;
        break;
      case 'H':
        f = Field::Hour;
        break;
      case 'M':
        f = Field::Minute;
        break;
      case 'S':
        f = Field::Second;
        break;
      case 'f':
        f = Field::Micro;
        break;
      case 's':
        f = Field::Unix;
        break;
      default:
        return std::nullopt;
    }
    out.push_back({f, {}});
    ++i;
  }
  return out;
}

size_t width(Field f) {
  switch (f) {
    case Field::Year:
      return 4;
    case Field::Micro:
      return 6;
    case Field::Month:
    case Field::Day:
    case Field::Hour:
    case Field::Minute:
    case Field::Second:
      return 2;
    default:
      return 0;
  }
}

bool stream_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

// What the fields of a path said so far (-1 = not seen).
struct Captured {
  std::array<int64_t, 10> value{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  std::string_view stream;
  bool has_stream = false;
};

bool set(Captured& c, Field f, int64_t v) {
  auto& slot = c.value[static_cast<size_t>(f)];
  if (slot >= 0 && slot != v) return false;
  slot = v;
  return true;
}

bool digits(std::string_view s, int64_t& v) {
  if (s.empty() || s.size() > 18) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return true;
}

bool match(const std::vector<Token>& tokens, size_t ti, std::string_view rest, Captured c, Captured& out) {
  if (ti == tokens.size()) {
    if (!rest.empty()) return false;
    out = c;
    return true;
  }
  const Token& t = tokens[ti];
  switch (t.field) {
    case Field::Literal:
      if (!rest.starts_with(t.text)) return false;
      return match(tokens, ti + 1, rest.substr(t.text.size()), c, out);
    case Field::Stream: {
      if (c.has_stream) {
        if (!rest.starts_with(c.stream)) return false;
        return match(tokens, ti + 1, rest.substr(c.stream.size()), c, out);
      }
      size_t n = 0;
      while (n < rest.size() && n < kMaxStreamId && stream_char(rest[n])) ++n;
      for (size_t len = n; len >= 1; --len) {  // longest first; backtrack when what follows does not match
        Captured next = c;
        next.stream = rest.substr(0, len);
        next.has_stream = true;
        if (match(tokens, ti + 1, rest.substr(len), next, out)) return true;
      }
      return false;
    }
    case Field::Unix: {
      size_t n = 0;
      while (n < rest.size() && n < 12 && rest[n] >= '0' && rest[n] <= '9') ++n;
      for (size_t len = n; len >= 1; --len) {
        Captured next = c;
        int64_t v = 0;
        if (!digits(rest.substr(0, len), v) || !set(next, Field::Unix, v)) continue;
        if (match(tokens, ti + 1, rest.substr(len), next, out)) return true;
      }
      return false;
    }
    default: {
      const size_t w = width(t.field);
      int64_t v = 0;
      if (rest.size() < w || !digits(rest.substr(0, w), v) || !set(c, t.field, v)) return false;
      return match(tokens, ti + 1, rest.substr(w), c, out);
    }
  }
}

bool has(const std::vector<Token>& tokens, Field f) {
  for (const auto& t : tokens)
    if (t.field == f) return true;
  return false;
}

void pad(std::string& out, int64_t v, size_t w) {
  std::string s = std::to_string(v);
  if (s.size() < w) out.append(w - s.size(), '0');
  out += s;
}

}  // namespace

std::string_view extension(RecordFormat format) { return format == RecordFormat::Fmp4 ? ".mp4" : ".ts"; }

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

Status check_record_path(std::string_view pattern) {
  if (pattern.empty()) return make_error("record_path is empty");
  if (pattern.size() > kMaxPath) return make_error("record_path is longer than 4096 characters");
  auto tokens = tokenize(pattern);
  if (!tokens)
    return make_error("record_path '" + std::string(pattern) +
                      "': unknown field (use %stream, %Y %m %d %H %M %S %f, %s or %%)");
  if (!has(*tokens, Field::Stream)) return make_error("record_path '" + std::string(pattern) + "' needs %stream");
  const bool civil = has(*tokens, Field::Year) && has(*tokens, Field::Month) && has(*tokens, Field::Day) &&
                     has(*tokens, Field::Hour) && has(*tokens, Field::Minute) && has(*tokens, Field::Second);
  if (!civil && !has(*tokens, Field::Unix))
    return make_error("record_path '" + std::string(pattern) +
                      "' needs the start time to the second: %Y %m %d %H %M %S (and %f), or %s");
  if (pattern.back() == '/')
    return make_error("record_path '" + std::string(pattern) + "' must name a file, not a folder");
  return Ok{};
}

std::string expand_record_path(std::string_view pattern, std::string_view stream, int64_t start_us) {
  auto tokens = tokenize(pattern);
  if (!tokens) return std::string(pattern);
  if (start_us < 0) start_us = 0;
  const int64_t secs = start_us / 1000000;
  const int64_t micros = start_us % 1000000;
  int64_t days = secs / 86400;
  const int64_t sod = secs % 86400;
  int64_t y = 0;
  unsigned mo = 0, d = 0;
  civil_from_days(days, y, mo, d);
  std::string out;
  for (const auto& t : *tokens) {
    switch (t.field) {
      case Field::Literal:
        out += t.text;
        break;
      case Field::Stream:
        out += stream;
        break;
      case Field::Year:
        pad(out, y, 4);
        break;
      case Field::Month:
        pad(out, mo, 2);
        break;
      case Field::Day:
        pad(out, d, 2);
        break;
      case Field::Hour:
        pad(out, sod / 3600, 2);
        break;
      case Field::Minute:
        pad(out, sod / 60 % 60, 2);
        break;
      case Field::Second:
        pad(out, sod % 60, 2);
        break;
      case Field::Micro:
        pad(out, micros, 6);
        break;
      case Field::Unix:
        out += std::to_string(secs);
        break;
    }
  }
  return out;
}

std::optional<RecordPath> parse_record_path(std::string_view pattern, std::string_view path) {
  if (path.size() > kMaxPath) return std::nullopt;
  RecordPath r;
  if (path.ends_with(".mp4")) {
    r.format = RecordFormat::Fmp4;
    path.remove_suffix(4);
  } else if (path.ends_with(".ts")) {
    r.format = RecordFormat::MpegTs;
    path.remove_suffix(3);
  } else {
    return std::nullopt;
  }
  auto tokens = tokenize(pattern);
  if (!tokens || !has(*tokens, Field::Stream)) return std::nullopt;
  Captured c;
  if (!match(*tokens, 0, path, Captured{}, c)) return std::nullopt;
  auto v = [&](Field f) { return c.value[static_cast<size_t>(f)]; };
  r.stream = std::string(c.stream);
  if (r.stream.empty() || r.stream.front() == '.' || r.stream.front() == '-') return std::nullopt;
  std::optional<int64_t> secs;
  if (v(Field::Year) >= 0 && v(Field::Month) >= 0 && v(Field::Day) >= 0 && v(Field::Hour) >= 0 &&
      v(Field::Minute) >= 0 && v(Field::Second) >= 0) {
    const int64_t y = v(Field::Year);
    const auto mo = static_cast<unsigned>(v(Field::Month)), d = static_cast<unsigned>(v(Field::Day));
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
    const int64_t days = days_from_civil(y, mo, d);
    int64_t yy = 0;
    unsigned mm = 0, dd = 0;
    civil_from_days(days, yy, mm, dd);
    if (mm != mo || dd != d) return std::nullopt;  // 31 February
    if (v(Field::Hour) > 23 || v(Field::Minute) > 59 || v(Field::Second) > 59) return std::nullopt;
    secs = days * 86400 + v(Field::Hour) * 3600 + v(Field::Minute) * 60 + v(Field::Second);
  }
  if (v(Field::Unix) >= 0) {
    if (v(Field::Unix) > 253402300799) return std::nullopt;  // 9999-12-31T23:59:59Z
    if (secs && *secs != v(Field::Unix)) return std::nullopt;
    secs = v(Field::Unix);
  }
  if (!secs) return std::nullopt;
  r.start_us = *secs * 1000000 + std::max<int64_t>(v(Field::Micro), 0);
  return r;
}

std::string record_root(std::string_view pattern) {
  const size_t pct = pattern.find('%');
  const std::string_view head = pattern.substr(0, pct);
  const size_t slash = head.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(head.substr(0, slash + 1));
}

}  // namespace sg::record
