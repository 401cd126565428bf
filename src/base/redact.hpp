#pragma once
// Secrets never reach the API, metrics or logs: these hide the passwords in URLs and in command lines or messages
// that contain URLs, and the values of query parameters that carry credentials.
#include <string>
#include <string_view>

namespace sg {

// "rtsp://admin:p@ss@host/x" -> "rtsp://admin:***@host/x": the user info ends at the last '@' of the authority (a
// password may contain '@'; RFC 3986 wants it percent-encoded, but cameras' documentation often does not).
// Query parameters pass, password, jwt, token, key, secret get "***" as their value.
// Works on any text: every "scheme://" in it is treated as the start of a URL, so a whole command line or an
// error message from a child process can be given.
std::string redact_secrets(std::string_view text);

}  // namespace sg

namespace sg {

// A YAML config file's text for display (the console's server page): the value of every key named like a secret
// (pass, password, secret, token, key, jwt, ... or ending in _pass/_password/_secret/_token) becomes "***", and
// URLs in it are redacted as by redact_secrets. Line structure and comments are kept.
std::string redact_config_text(std::string_view yaml);

}  // namespace sg
