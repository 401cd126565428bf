#pragma once
// The one authorization point: "may identity X do action A on path P from address R". Pure code: no sockets, no
// clocks (time is passed in), no globals. Every protocol (RTSP, HLS, WHEP, /ws, API, metrics, later RTMP/SRT/WHIP)
// builds an AccessRequest from what it received and asks. The async parts (HTTP callout, JWKS download, caching,
// failed-login limiting, logging) live in src/auth_session/ on top of this.
//
// Model (the same as MediaMTX's, so users can carry their configs over):
// - internal users: a list of entries {user, pass, ips, permissions}; user "any" matches every request, with or
//   without credentials (its pass is ignored); an entry allows a request when the user matches (name and password),
//   the address is in one of its ips (none = any) and one of its permissions covers the action and path.
// - JWT: a bearer token signed RS256/ES256 by a key of a JWKS; its claim (default "streamgate_permissions") holds
//   a list of permissions in the same {action, path} form.
// - HTTP callout: decided by an external service (src/auth_session).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sg::auth {

enum class Action { Publish, Read, Playback, ApiRead, ApiWrite, Metrics };
// "publish", "read", "playback", "api_read", "api_write", "metrics".
std::string_view to_string(Action action);

// An IPv4 or IPv6 address; IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that ranges of either family
// match both forms.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(std::string_view text);  // "10.0.0.1", "::1", "::ffff:10.0.0.1"
  bool operator==(const IpAddress&) const = default;
  std::string to_string() const;
};

// "10.0.0.0/8", "192.168.1.7" (a /32), "::1", "fd00::/8".
struct IpRange {
  IpAddress base;
  int prefix = 128;  // in IPv6 bits (an IPv4 /8 is stored as /104)
  static Result<IpRange> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
};

// One permission: an action and the paths it covers: "" = every path, "~regex" = paths matching the regex
// (ECMAScript, whole-path match), anything else = that exact path. Config and JWT claims use the action names
// "publish", "read", "playback", "api" (= api_read + api_write), "api_read", "api_write", "metrics".
// The api and metrics actions have no path: their permissions cover them whatever path is named (as in MediaMTX).
// Regexes are matched in polynomial time, so back-references are refused, and counted repetitions ({n}) whose
// bounds multiply to over 1000 are refused too.
struct Permission {
  std::vector<Action> actions;  // "api" expands to two
  std::string path;
  std::optional<std::regex> regex;  // compiled from path when it starts with '~'
  // Error names the bad action or regex.
  static Result<Permission> make(std::string_view action, std::string_view path);
  bool covers(Action action, std::string_view request_path) const;
};

// A stored password: plain text, "sha256:<base64 of SHA-256>" (MediaMTX's form), or
// "pbkdf2-sha256:<iterations>:<base64 salt>:<base64 key>" (OpenSSL PKCS5_PBKDF2_HMAC). Argon2 is not available in
// Debian 12's OpenSSL 3.0 (it arrived in 3.2).
struct StoredPassword {
  std::string text;
  // Validates the hashed forms; refuses "argon2:..." (MediaMTX's third form) rather than take it as plain text.
  static Result<StoredPassword> make(std::string_view text);
  bool is_plain() const;
  // Constant-time comparison for plain passwords.
  bool verify(std::string_view presented) const;
};
// "pbkdf2-sha256:..." for a password (random salt from OpenSSL RAND_bytes), for `streamgate --hash-password`.
std::string hash_password(std::string_view password, int iterations = 100000);

struct UserEntry {
  std::string user;  // "any" = anyone
  StoredPassword pass;
  std::vector<IpRange> ips;  // empty = any address
  std::vector<Permission> permissions;
};

// What a client presented. Any field may be empty.
struct Credentials {
  std::string user;
  std::string password;  // Basic auth, ?user=&pass= query, RTSP Basic
  std::string token;     // a bearer token (Authorization: Bearer, ?jwt=, or a JWT given as the password)
  // RTSP Digest: the password is never sent; this answers "does this candidate plain password produce the
  // client's digest response?". Set only for Digest requests (then `password` is empty).
  std::function<bool(std::string_view candidate)> digest;
  bool empty() const { return user.empty() && password.empty() && token.empty() && !digest; }
};

struct AccessRequest {
  Credentials credentials;
  IpAddress ip;
  Action action = Action::Read;
  std::string path;      // stream id; empty for api and metrics
  std::string protocol;  // "rtsp", "rtsps", "hls", "webrtc", "api", "metrics", ...
  std::string id;        // session or request id, for the callout
  std::string query;     // the raw query string, for the callout
};

enum class Verdict {
  Allow,
  Unauthenticated,  // no credentials, or wrong ones: ask for credentials (HTTP/RTSP 401 with a challenge)
  Forbidden,        // the credentials are right but do not grant this action/path/address (403)
};

struct Decision {
  Verdict verdict = Verdict::Unauthenticated;
  std::string user;    // who was recognised (empty when anonymous); never a password
  std::string reason;  // for logs: "no permission 'publish' on 'cam1' for user 'viewer'"; never a secret
  bool allowed() const { return verdict == Verdict::Allow; }
};

// Internal users.
class InternalPolicy {
 public:
  InternalPolicy() = default;
  explicit InternalPolicy(std::vector<UserEntry> users) : users_(std::move(users)) {}
  Decision evaluate(const AccessRequest& request) const;
  const std::vector<UserEntry>& users() const { return users_; }
  // True when some entry with user "any" allows this without credentials (callers skip the challenge).
  bool allows_anonymous(Action action, std::string_view path, const IpAddress& ip) const;

 private:
  std::vector<UserEntry> users_;
};

// The default users of a first run: anyone may publish, read and play back from anywhere; the API and metrics
// only from localhost (127.0.0.1/8 and ::1).
std::vector<UserEntry> default_users();

}  // namespace sg::auth
