#pragma once
// The body of an HTTP authentication callout: the same JSON MediaMTX POSTs to its authHTTPAddress, so existing
// auth services work unchanged. The request itself (POST, timeout, caching) is made by src/auth_session.
#include <string>

#include "auth/policy.hpp"

namespace sg::auth {

// {"user","password","token","ip","action","path","protocol","id","query"}; api_read / api_write are sent as
// action "api" with "api_access": "read" | "write".
std::string callout_body(const AccessRequest& request);

}  // namespace sg::auth
