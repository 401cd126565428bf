#include "auth/callout.hpp"

#include <boost/json.hpp>

namespace sg::auth {

std::string callout_body(const AccessRequest& request) {
  const auto& c = request.credentials;
  const bool api = request.action == Action::ApiRead || request.action == Action::ApiWrite;
  boost::json::object body;
  body["user"] = c.user;
  body["password"] = c.password;
  body["token"] = c.token;
  body["ip"] = request.ip.to_string();
  body["action"] = api ? std::string_view("api") : to_string(request.action);
  if (api) body["api_access"] = request.action == Action::ApiRead ? "read" : "write";
  body["path"] = request.path;
  body["protocol"] = request.protocol;
  body["id"] = request.id;
  body["query"] = request.query;
  return boost::json::serialize(body);
}

}  // namespace sg::auth
