#pragma once
// Prometheus text exposition format 0.0.4: the HELP and TYPE lines that open a metric family, and one-sample families.
// One writer for every part of the server that adds metrics (API, RTSP, HLS, WebRTC), so the format is written in one
// place.
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sg {

inline void write_metric_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// A metric family of one unlabelled sample: the header, then `name value`.
inline void write_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                         uint64_t value) {
  write_metric_header(out, name, type, help);
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}
// A sample's value that is not a count: fixed-point, six decimals (seconds to the microsecond).
inline void append_metric_value(std::string& out, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", value);
  out += buf;
}
template <std::floating_point F>
void write_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, F value) {
  write_metric_header(out, name, type, help);
  out.append(name).append(" ");
  append_metric_value(out, static_cast<double>(value));
  out.append("\n");
}

}  // namespace sg
