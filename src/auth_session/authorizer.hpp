#pragma once
// The authorization service every protocol asks: the pure policy of src/auth/ (internal users, JWT) plus the parts
// that need I/O or time: the HTTP callout (with a short cache and a timeout), the JWKS download (refreshed
// periodically), and failed-login limiting per address with one log line per episode.
//
// Order of evaluation: the internal users first (the defaults let anyone read/publish and localhost use the API);
// when they do not allow the request, `method: http` asks the callout service and `method: jwt` checks the bearer
// token. A failure of the callout or the JWKS download denies.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "auth/policy.hpp"

namespace sg::auth_session {

// Decision::reason of a refusal because the address has too many recent failed logins (HTTP 429).
inline constexpr std::string_view kBlockedReason = "too many failed logins from this address";

struct AuthOptions {
  std::string method = "internal";  // internal | http | jwt
  std::vector<auth::UserEntry> users = auth::default_users();
  std::string http_address;  // method http: POST the request as JSON here; 2xx allows
  std::chrono::milliseconds http_timeout{2000};
  std::chrono::milliseconds http_cache{5000};  // callout answers are cached this long (0 = no cache)
  std::string jwt_jwks;                        // method jwt: the JWKS URL
  std::string jwt_claim_key = "streamgate_permissions";
  std::chrono::milliseconds jwt_refresh{300000};
  // Failed-login limiting per address.
  int max_failures = 10;
  std::chrono::seconds failure_window{60};
  std::chrono::seconds block_time{60};
};

class Authorizer {
 public:
  Authorizer(boost::asio::io_context& context, AuthOptions options);
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // Starts the JWKS refresh (method jwt). Idempotent.
  void start();
  void stop();

  // Decides, on the caller's executor. Never throws; a blocked address gets Forbidden with reason "blocked".
  boost::asio::awaitable<auth::Decision> check(auth::AccessRequest request);

  // True when the request would be allowed without credentials by the internal users (callers use it to skip a
  // challenge round trip, e.g. RTSP Digest nonces). Pure and cheap.
  bool allows_anonymous(auth::Action action, std::string_view path, const auth::IpAddress& ip) const;
  // Whether a protocol with a choice (RTSP) must accept Basic credentials: the callout and JWT need the password or
  // token itself, and hashed internal passwords cannot verify a Digest.
  bool needs_plain_credentials() const { return settings()->needs_plain; }
  std::string method() const { return settings()->options.method; }

  // Replaces users, method, callout and JWT settings (config reload). Decisions under way finish with the old ones;
  // cached callout answers and the downloaded JWKS are dropped. Failed-login limits keep their settings and state.
  // Any thread.
  void update(AuthOptions options);

  struct Counters;

 private:
  struct State;
  struct Settings {
    explicit Settings(AuthOptions o);
    AuthOptions options;
    auth::InternalPolicy policy;
    bool needs_plain = false;
  };
  std::shared_ptr<const Settings> settings() const;

  std::shared_ptr<State> state_;
  mutable std::mutex settings_mu_;
  std::shared_ptr<const Settings> settings_;  // replaced whole by update(); readers keep the one they took
};

}  // namespace sg::auth_session
