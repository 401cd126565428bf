#pragma once
// Structured logs: one JSON object per line (ts, level, msg, then fields such as stream, session, remote), or
// plain text with --log-format text. Backed by spdlog (thread-safe sink, level filtering).
#include <chrono>
#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sg::log {

enum class Level { Trace, Debug, Info, Warn, Error, Off };
enum class Format { Json, Text };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, double v);
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;
};
using Fields = std::initializer_list<Field>;

// Returns false (and changes nothing) for an unknown level name.
bool parse_level(std::string_view name, Level& out);
void init(Level level, Format format);
void set_level(Level level);
bool enabled(Level level);

void write(Level level, std::string_view msg, Fields fields);
inline void trace(std::string_view msg, Fields f = {}) { write(Level::Trace, msg, f); }
inline void debug(std::string_view msg, Fields f = {}) { write(Level::Debug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { write(Level::Info, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { write(Level::Warn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { write(Level::Error, msg, f); }

// Escapes a string for inclusion in a JSON string literal.
void append_json_escaped(std::string& out, std::string_view s);

// Lets one message through per interval and counts the ones it held back, so a flood of bad packets is logged
// once per episode, never per packet. Not thread-safe: one per session or per socket.
class RateLimit {
 public:
  explicit RateLimit(std::chrono::steady_clock::duration interval = std::chrono::seconds(5)) : interval_(interval) {}
  // True when a message may be logged now; suppressed() then tells how many were held back since the last one.
  bool allow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  uint64_t suppressed() const { return suppressed_; }

 private:
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t held_ = 0;
  uint64_t suppressed_ = 0;
  bool first_ = true;
};

}  // namespace sg::log
