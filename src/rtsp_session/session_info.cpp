#include "rtsp_session/session_info.hpp"

#include <chrono>
#include <cstdio>

namespace sg::rtsp_session {

std::string format_created(int64_t unix_ns) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{duration_cast<milliseconds>(nanoseconds(unix_ns))};
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss<milliseconds> tod{t - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
  return buf;
}

boost::json::object session_json(const SessionInfo& s) {
  boost::json::object o;
  o["id"] = s.id;
  o["stream"] = s.stream;
  o["remote"] = s.remote;
  o["role"] = s.role;
  o["transport"] = s.transport;
  o["state"] = s.state;
  o["created"] = format_created(s.created_unix_ns);
  o["bytes_sent"] = s.bytes_sent;
  o["packets_sent"] = s.packets_sent;
  o["bytes_received"] = s.bytes_received;
  o["packets_received"] = s.packets_received;
  return o;
}

boost::json::array sessions_json(const std::vector<SessionInfo>& sessions, std::string_view stream) {
  boost::json::array out;
  for (const auto& s : sessions)
    if (stream.empty() || s.stream == stream) out.push_back(session_json(s));
  return out;
}

}  // namespace sg::rtsp_session
