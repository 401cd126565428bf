#include "auth_session/authorizer.hpp"

#include <boost/asio/this_coro.hpp>
#include <mutex>
#include <unordered_map>

#include "app/log.hpp"
#include "auth/callout.hpp"
#include "auth/jwt.hpp"
#include "auth/login_limiter.hpp"
#include "http/http_client.hpp"

namespace sg::auth_session {

namespace asio = boost::asio;
using auth::Decision;
using auth::Verdict;

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr size_t kMaxCachedAnswers = 10000;
constexpr int64_t kAllowedTtlMs = 10000;

}  // namespace

struct Authorizer::State {
  std::mutex mu;
  auth::FailedLoginLimiter limiter;
  // JWKS, replaced whole on refresh; readers keep the one they took.
  std::shared_ptr<const auth::Jwks> jwks;
  int64_t jwks_fetched_ms = 0;
  int64_t jwks_attempt_ms = 0;
  std::string jwks_error = "not downloaded yet";
  // Callout answers: key -> (verdict, expiry).
  std::unordered_map<std::string, std::pair<Verdict, int64_t>> answers;
  // Recently allowed password logins: key -> (user, expiry).
  std::unordered_map<std::string, std::pair<std::string, int64_t>> allowed;
  log::RateLimit callout_log{std::chrono::seconds(10)};
  log::RateLimit jwks_log{std::chrono::seconds(10)};
};

Authorizer::Settings::Settings(AuthOptions o) : options(std::move(o)), policy(options.users) {
  needs_plain = options.method != "internal";
  for (const auto& u : options.users)
    if (u.user != "any" && !u.pass.is_plain()) needs_plain = true;
}

Authorizer::Authorizer(asio::io_context&, AuthOptions options)
    : state_(std::make_shared<State>()), settings_(std::make_shared<const Settings>(std::move(options))) {
  const auto& o = settings_->options;
  auth::FailedLoginLimiter::Config lo;
  lo.max_failures = o.max_failures;
  lo.window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.failure_window).count();
  lo.block_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.block_time).count();
  state_->limiter = auth::FailedLoginLimiter(lo);
}

std::shared_ptr<const Authorizer::Settings> Authorizer::settings() const {
  std::lock_guard lk(settings_mu_);
  return settings_;
}

void Authorizer::update(AuthOptions options) {
  auto fresh = std::make_shared<const Settings>(std::move(options));
  {
    std::lock_guard lk(settings_mu_);
    settings_ = std::move(fresh);
  }
  std::lock_guard lk(state_->mu);
  state_->answers.clear();
  state_->allowed.clear();
  state_->jwks.reset();
  state_->jwks_fetched_ms = state_->jwks_attempt_ms = 0;
  state_->jwks_error = "not downloaded yet";
}

Authorizer::~Authorizer() = default;

void Authorizer::start() {}
void Authorizer::stop() {}

bool Authorizer::allows_anonymous(auth::Action action, std::string_view path, const auth::IpAddress& ip) const {
  return settings()->policy.allows_anonymous(action, path, ip);
}

namespace {

std::string answer_key(const auth::AccessRequest& r) {
  std::string k;
  for (std::string_view part : {std::string_view(r.credentials.user), std::string_view(r.credentials.password),
                                std::string_view(r.credentials.token), std::string_view(r.path),
                                std::string_view(r.protocol), auth::to_string(r.action)}) {
    k.append(part);
    k.push_back('\0');
  }
  k += r.ip.to_string();
  return k;
}

}  // namespace

asio::awaitable<Decision> Authorizer::check(auth::AccessRequest request) {
  auto state = state_;
  const auto settings = this->settings();
  const AuthOptions& opts = settings->options;
  const int64_t now = steady_ms();
  {
    std::lock_guard lk(state->mu);
    if (state->limiter.blocked(request.ip, now))
      co_return Decision{Verdict::Forbidden, "", std::string(kBlockedReason)};
  }
  // A pbkdf2 password costs tens of milliseconds to verify: a player fetching HLS parts several times a second
  // would pay it per request. Allowed (user, password, address, action, path) tuples are remembered briefly.
  const bool cacheable = !request.credentials.password.empty() && !request.credentials.digest;
  const std::string key = cacheable || opts.method == "http" ? answer_key(request) : std::string();
  if (cacheable) {
    std::lock_guard lk(state->mu);
    if (auto it = state->allowed.find(key); it != state->allowed.end()) {
      if (it->second.second > now) co_return Decision{Verdict::Allow, it->second.first, ""};
      state->allowed.erase(it);
    }
  }
  Decision d = settings->policy.evaluate(request);
  const bool internal_allow = d.allowed();  // only these are remembered (the callout has its own cache setting)
  if (!d.allowed() && opts.method == "jwt") {
    std::string token = request.credentials.token;
    if (token.empty()) token = request.credentials.password;  // RTSP clients can only give a JWT as the password
    if (!token.empty()) {
      std::shared_ptr<const auth::Jwks> jwks;
      bool fetch = false;
      {
        std::lock_guard lk(state->mu);
        jwks = state->jwks;
        bool stale = !jwks || now - state->jwks_fetched_ms >= opts.jwt_refresh.count();
        if (stale && now - state->jwks_attempt_ms >= 1000) {
          state->jwks_attempt_ms = now;
          fetch = true;
        }
      }
      if (fetch) {
        auto reply = co_await http::fetch("GET", opts.jwt_jwks, "", "", std::chrono::milliseconds(3000));
        std::string error;
        if (!reply) {
          error = reply.error();
        } else if (reply->status / 100 != 2) {
          error = "JWKS URL answered " + std::to_string(reply->status);
        } else if (auto parsed = auth::Jwks::parse(reply->body); !parsed) {
          error = "bad JWKS: " + parsed.error();
        } else {
          auto fresh = std::make_shared<const auth::Jwks>(std::move(*parsed));
          std::lock_guard lk(state->mu);
          state->jwks = fresh;
          state->jwks_fetched_ms = now;
          state->jwks_error.clear();
          jwks = fresh;
        }
        if (!error.empty()) {
          std::lock_guard lk(state->mu);
          state->jwks_error = error;
          if (state->jwks_log.allow())
            log::warn("JWKS download failed (keeping the previous keys, if any)", {{"error", error}});
        }
      }
      if (!jwks) {
        std::lock_guard lk(state->mu);
        d = Decision{Verdict::Unauthenticated, "", "no JWKS: " + state->jwks_error};
      } else if (auto claims = auth::verify_jwt(token, *jwks, opts.jwt_claim_key, unix_seconds()); !claims) {
        d = Decision{Verdict::Unauthenticated, "", "invalid token: " + claims.error()};
      } else {
        bool ok = false;
        for (const auto& p : claims->permissions) ok |= p.covers(request.action, request.path);
        if (ok) {
          d = Decision{Verdict::Allow, claims->subject, ""};
        } else {
          d = Decision{Verdict::Forbidden, claims->subject,
                       "token grants no '" + std::string(auth::to_string(request.action)) + "' on '" + request.path + "'"};
        }
      }
    }
  } else if (!d.allowed() && opts.method == "http") {
    std::optional<Verdict> cached;
    {
      std::lock_guard lk(state->mu);
      if (auto it = state->answers.find(key); it != state->answers.end()) {
        if (it->second.second > now) cached = it->second.first;
        else state->answers.erase(it);
      }
    }
    if (cached) {
      d = Decision{*cached, request.credentials.user, *cached == Verdict::Allow ? "" : "refused by the auth service (cached)"};
    } else {
      auto reply = co_await http::fetch("POST", opts.http_address, auth::callout_body(request), "application/json",
                                        opts.http_timeout);
      if (!reply) {
        std::lock_guard lk(state->mu);
        if (state->callout_log.allow()) log::warn("auth service unreachable: denying", {{"error", reply.error()}});
        d = Decision{Verdict::Unauthenticated, "", "auth service unreachable"};
      } else {
        Verdict v = reply->status / 100 == 2 ? Verdict::Allow
                    : reply->status == 403   ? Verdict::Forbidden
                                             : Verdict::Unauthenticated;
        d = Decision{v, request.credentials.user,
                     v == Verdict::Allow ? "" : "refused by the auth service (" + std::to_string(reply->status) + ")"};
        if (opts.http_cache.count() > 0) {
          std::lock_guard lk(state->mu);
          if (state->answers.size() >= kMaxCachedAnswers) state->answers.clear();
          state->answers[key] = {v, now + opts.http_cache.count()};
        }
      }
    }
  }
  const bool presented = !request.credentials.empty();
  if (presented) {
    std::lock_guard lk(state->mu);
    if (d.verdict == Verdict::Unauthenticated) {
      if (state->limiter.record_failure(request.ip, now))
        log::warn("too many failed logins: address blocked (logged once per episode)",
                  {{"remote", request.ip.to_string()}, {"protocol", request.protocol},
                   {"action", auth::to_string(request.action)}, {"path", request.path}, {"reason", d.reason}});
    } else if (d.verdict == Verdict::Allow) {
      state->limiter.record_success(request.ip);
      if (cacheable && internal_allow) {
        if (state->allowed.size() >= kMaxCachedAnswers) state->allowed.clear();
        state->allowed[key] = {d.user, now + kAllowedTtlMs};
      }
    }
  }
  co_return d;
}

}  // namespace sg::auth_session
