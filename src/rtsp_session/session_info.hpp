#pragma once
// What the API shows of one RTSP connection (GET /api/v1/rtsp/sessions): a snapshot taken under the session's own
// lock, turned into JSON here without sockets or clocks.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::rtsp_session {

struct SessionInfo {
  std::string id;
  std::string stream;               // the path of DESCRIBE/SETUP (reader) or ANNOUNCE (publisher); "" before
  std::string remote;               // "address:port"
  std::string role = "none";        // "read" | "publish" | "none" (still asking questions)
  std::string transport = "tcp";    // "tcp" | "udp" (media over UDP after SETUP) | "tls" (RTSPS)
  std::string state = "connected";  // the last request answered 2xx: options, described, announced, setup, playing,
                                    // recording
  int64_t created_unix_ns = 0;
  uint64_t bytes_sent = 0;  // media (RTP and RTCP) to a reader
  uint64_t packets_sent = 0;
  uint64_t bytes_received = 0;    // everything read from the connection, and a publisher's UDP packets
  uint64_t packets_received = 0;  // a publisher's RTP/RTCP (interleaved or UDP), a UDP reader's RTCP
};

// "2026-12-02T00:48:45.123Z" (RFC 3339, UTC, milliseconds).
std::string format_created(int64_t unix_ns);
boost::json::object session_json(const SessionInfo& s);
// The sessions of `stream` ("" = all), in the order given.
boost::json::array sessions_json(const std::vector<SessionInfo>& sessions, std::string_view stream);

}  // namespace sg::rtsp_session
