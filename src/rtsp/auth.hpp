#pragma once
// RTSP authentication: Basic (RFC 2617 2) and Digest with MD5 (RFC 2617 3), qop=auth and the legacy RFC 2069
// form without qop, for both the client and the server side.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sg::rtsp {

enum class AuthScheme { Basic, Digest };

// One challenge of a WWW-Authenticate header.
struct Challenge {
  AuthScheme scheme = AuthScheme::Digest;
  std::string realm;
  std::string nonce;      // Digest only
  std::string opaque;     // Digest only; echoed back
  std::string algorithm;  // as written ("MD5", "MD5-sess", "SHA-256"); empty when absent
  std::string qop;        // as offered, e.g. "auth" or "auth,auth-int"; empty when absent
  bool qop_auth = false;  // the server offered qop "auth"
  bool stale = false;
};

// Every challenge in one WWW-Authenticate value (a value may hold several: `Digest realm=.., Basic realm=..`).
// Challenges of unknown schemes are skipped; a malformed value is an error.
Result<std::vector<Challenge>> parse_challenges(std::string_view www_authenticate);

// The challenge a client should answer among all WWW-Authenticate values of a 401: Digest with MD5 (or no
// algorithm) first, then Basic. Error if none is usable.
Result<Challenge> select_challenge(std::span<const std::string_view> www_authenticate_values);

// hex(MD5(data)) in lower case.
std::string md5_hex(std::string_view data);

// Client side: answers one challenge, request after request, counting nonces (RFC 2617 3.2.2 nonce-count).
class ClientAuth {
 public:
  ClientAuth(Challenge challenge, std::string user, std::string password);

  // Authorization header value for the request `method` `uri` (the exact Request-URI of the request).
  // `cnonce`: client nonce for qop=auth; empty derives one from the nonce and nonce-count (pure code has no
  // randomness; the server only needs it to be fresh per nc).
  std::string authorization(std::string_view method, std::string_view uri, std::string_view cnonce = {});

  const Challenge& challenge() const { return challenge_; }
  uint32_t nonce_count() const { return nc_; }

 private:
  Challenge challenge_;
  std::string user_;
  std::string password_;
  uint32_t nc_ = 0;
};

// Parsed Authorization header value.
struct Authorization {
  AuthScheme scheme = AuthScheme::Digest;
  std::string username;  // Basic: decoded user; Digest: username parameter
  std::string password;  // Basic only
  std::string realm, nonce, uri, response, qop, nc, cnonce, opaque, algorithm;  // Digest only
};
Result<Authorization> parse_authorization(std::string_view value);

// Server side.
struct ServerAuth {
  std::string realm;
  std::string nonce;         // the nonce the server issued (the caller makes it random and keeps it)
  bool allow_basic = false;  // accept Basic credentials (sent in clear: only over TLS or trusted networks)
  bool offer_qop = false;    // add qop="auth" to the Digest challenge (off: the RFC 2069 form every client speaks)

  // WWW-Authenticate values to send with a 401, Digest first (and Basic when allowed).
  std::vector<std::string> challenges() const;

  // Checks an Authorization header value of a request `method` against the expected credentials.
  // Ok, or a reason ("RTSP auth: wrong response for user 'x'", "...: nonce mismatch", ...).
  // The digest is computed over the uri parameter the client sent (clients disagree on which URL they sign).
  Status verify(std::string_view authorization, std::string_view method, std::string_view user,
                std::string_view password) const;
};

}  // namespace sg::rtsp
