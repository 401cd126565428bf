#pragma once
// Reading a stream's state from the REST API in e2e tests.
#include <boost/json.hpp>
#include <string>

#include "process.hpp"

namespace sg::test {

// The stream's uptime in seconds once it is ready (GET /api/v1/streams/{id}), else 0.
inline double ready_uptime(const Server& server, const std::string& id) {
  auto r = http_request(server.http_port, "GET", "/api/v1/streams/" + id);
  if (r.status != 200) return 0;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return 0;
  auto* state = v.as_object().if_contains("state");
  auto* up = v.as_object().if_contains("uptime_seconds");
  if (!state || *state != "ready" || !up || !up->is_number()) return 0;
  return up->to_number<double>();
}

}  // namespace sg::test
