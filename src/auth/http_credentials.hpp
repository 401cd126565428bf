#pragma once
// Credentials of an HTTP request (HLS, WHEP/WHIP, /ws, API, metrics): the Authorization header (RFC 7617 Basic,
// RFC 6750 Bearer) or, for players that cannot set headers, the query parameters jwt=, user= and pass=.
#include <string>
#include <string_view>

#include "auth/policy.hpp"

namespace sg::auth {

// `authorization_header` is the value of the Authorization header (empty when absent); `target` is the request
// target ("/cam1/index.m3u8?jwt=..."). Basic gives user and password (split at the first ':'), Bearer gives the
// token; otherwise the query gives them (percent-decoded, '+' = space). A usable header wins over the query.
// Malformed input gives empty fields, never an exception.
Credentials credentials_from_http(std::string_view authorization_header, std::string_view target);

// The credentials a request carried in its query ("jwt=...&user=...&pass=...", percent-encoded again; empty when
// none), for URIs the response hands back to the same client: a player that could only put its token in the
// playlist's URL must find it on the segments' URLs too.
std::string credential_query(std::string_view target);

}  // namespace sg::auth
