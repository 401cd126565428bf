#include "app/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace sg::log {

namespace {
Format g_format = Format::Json;

std::shared_ptr<spdlog::logger> make_logger(Format format) {
  auto logger = std::make_shared<spdlog::logger>("streamgate", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == Format::Json) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %v", spdlog::pattern_time_type::utc);
  }
  logger->flush_on(spdlog::level::trace);
  return logger;
}

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::Trace: return spdlog::level::trace;
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
    case Level::Off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_logger(Format::Json);
  return *instance;
}
std::shared_ptr<spdlog::logger>* g_logger = nullptr;
spdlog::logger& current() { return g_logger ? **g_logger : logger(); }
}  // namespace

Field::Field(std::string_view k, double v) : key(k), quoted(false) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

bool parse_level(std::string_view name, Level& out) {
  if (name == "trace") out = Level::Trace;
  else if (name == "debug") out = Level::Debug;
  else if (name == "info") out = Level::Info;
  else if (name == "warn" || name == "warning") out = Level::Warn;
  else if (name == "error") out = Level::Error;
  else if (name == "off") out = Level::Off;
  else return false;
  return true;
}

void init(Level level, Format format) {
  static std::shared_ptr<spdlog::logger> configured;
  configured = make_logger(format);
  configured->set_level(to_spd(level));
  g_format = format;
  g_logger = &configured;
}

void set_level(Level level) { current().set_level(to_spd(level)); }
bool enabled(Level level) { return current().should_log(to_spd(level)); }

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

void write(Level level, std::string_view msg, Fields fields) {
  auto& lg = current();
  auto spd = to_spd(level);
  if (!lg.should_log(spd)) return;
  std::string line;
  line.reserve(64 + msg.size());
  if (g_format == Format::Json) {
    line += "\"msg\":\"";
    append_json_escaped(line, msg);
    line += '"';
    for (const auto& f : fields) {
      line += ",\"";
      append_json_escaped(line, f.key);
      line += "\":";
      if (f.quoted) {
        line += '"';
        append_json_escaped(line, f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
  } else {
    line += msg;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += f.value;
    }
  }
  lg.log(spd, "{}", line);
}

bool RateLimit::allow(std::chrono::steady_clock::time_point now) {
  if (first_ || now - last_ >= interval_) {
    first_ = false;
    last_ = now;
    suppressed_ = held_;
    held_ = 0;
    return true;
  }
  ++held_;
  return false;
}

}  // namespace sg::log
