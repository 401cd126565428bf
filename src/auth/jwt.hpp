#pragma once
// JSON Web Tokens as bearer credentials: a JWS (RFC 7515) in compact form, signed RS256 or ES256 (RFC 7518 3.3,
// 3.4) by one of the keys of a JWK Set (RFC 7517), carrying a list of permissions in a claim. Pure code: the JWKS
// is downloaded and refreshed by src/auth_session; the time is passed in.
#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/policy.hpp"
#include "base/result.hpp"

namespace sg::auth {

inline constexpr std::string_view kDefaultPermissionsClaim = "streamgate_permissions";
inline constexpr int64_t kJwtLeewaySeconds = 30;  // clock skew tolerated on exp and nbf
inline constexpr size_t kMaxJwtSize = 16 * 1024;
inline constexpr size_t kMaxJwksSize = 256 * 1024;

// The signature keys of a JWK Set. Copies are cheap and share the (immutable) OpenSSL keys; a Jwks may be used
// from several threads at once.
class Jwks {
 public:
  enum class KeyType { Rsa, Ec };  // Ec = P-256
  struct Key {
    std::string kid;  // may be empty
    KeyType type = KeyType::Rsa;
    std::shared_ptr<EVP_PKEY> pkey;
  };

  // {"keys": [...]}: RSA keys (n, e; 2048 to 8192 bits) and EC P-256 keys (x, y) are kept; keys of other types or
  // curves, or marked for encryption ("use": "enc") or another algorithm ("alg"), are skipped with a note. Bad
  // JSON, bad base64url or an invalid key is an error with a reason.
  static Result<Jwks> parse(std::string_view json);

  size_t size() const { return keys_.size(); }
  const std::vector<Key>& keys() const { return keys_; }
  // Why keys were skipped, for the log: "key 'k1' skipped: kty 'oct' is not supported".
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::vector<Key> keys_;
  std::vector<std::string> notes_;
};

struct JwtClaims {
  std::string subject;                  // "sub", may be empty
  std::vector<Permission> permissions;  // from the claim named by claim_key
  std::optional<int64_t> exp, nbf;      // as in the token (seconds since the epoch)
  std::string issuer;                   // "iss", may be empty (not checked here)
  std::vector<std::string> audience;    // "aud" (a string or an array of strings; not checked here)
};

// Verifies a compact JWS: alg RS256 or ES256 only (never "none" nor HMAC: a public key must not become an HMAC
// secret), the header's kid selects the key (without a kid every key of the algorithm's type is tried), exp and
// nbf hold at now_unix within kJwtLeewaySeconds, and the claim `claim_key` is an array of
// {"action": "...", "path": "..."} (path optional = every path). Errors never quote the token.
Result<JwtClaims> verify_jwt(std::string_view token, const Jwks& keys, std::string_view claim_key, int64_t now_unix);

// base64url without padding (RFC 7515 2, RFC 4648 5); decoding is strict: no padding, no other characters, no
// non-zero bits after the last byte. Shared with the test-side token maker.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace sg::auth
