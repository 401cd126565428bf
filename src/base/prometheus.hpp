#pragma once
// Prometheus text exposition format 0.0.4: the HELP and TYPE lines that open a metric family. One writer for every
// part of the server that adds metrics (API, RTSP, HLS, WebRTC), so the format is written in one place.
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

}  // namespace sg
