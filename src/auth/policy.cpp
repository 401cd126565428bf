#include "auth/policy.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/bytes.hpp"

namespace sg::auth {

namespace {

constexpr std::string_view kSha256Prefix = "sha256:";
constexpr std::string_view kPbkdf2Prefix = "pbkdf2-sha256:";
// Bounds a config (or a fuzzer) cannot exceed: a regex is compiled once but matched per request, and PBKDF2 runs
// per login.
constexpr size_t kMaxRegexLength = 512;
constexpr size_t kMaxRegexSubject = 1024;
constexpr int kMaxPbkdf2Iterations = 10'000'000;

constexpr long kMaxRegexRepetition = 1000;

// libstdc++'s polynomial mode matches breadth-first (no catastrophic backtracking on a client's path) and refuses
// back-references, which need backtracking.
#ifdef __GLIBCXX__
constexpr auto kRegexSyntax = std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
constexpr auto kRegexSyntax = std::regex::ECMAScript;
#endif

// Counted repetitions ({n}, {n,m}) unroll into states: "(a?){30000}" would compile to a chain deep enough to
// overflow the stack when matched. Their bounds, multiplied (nested or not, to keep this simple), stay small.
bool repetition_within_budget(std::string_view pattern) {
  long product = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != '{') continue;
    long bound = 0;
    for (size_t j = i + 1; j < pattern.size() && j < i + 16; ++j) {
      const char c = pattern[j];
      if (c >= '0' && c <= '9') {
        long n = 0;
        while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9' && n <= kMaxRegexRepetition)
          n = n * 10 + (pattern[j++] - '0');
        bound = std::max(bound, n);
        --j;
      } else if (c != ',') {
        break;
      }
    }
    product *= std::max(bound, 1L);
    if (product > kMaxRegexRepetition) return false;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(std::string_view s) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

struct Pbkdf2Form {
  int iterations = 0;
  ByteVector salt, key;
};

Result<Pbkdf2Form> parse_pbkdf2(std::string_view text) {
  // pbkdf2-sha256:<iterations>:<base64 salt>:<base64 key>
  auto rest = text.substr(kPbkdf2Prefix.size());
  auto c1 = rest.find(':');
  if (c1 == std::string_view::npos) return make_error("auth: pbkdf2-sha256 password lacks ':<salt>:<key>'");
  auto c2 = rest.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return make_error("auth: pbkdf2-sha256 password lacks ':<key>'");
  Pbkdf2Form form;
  auto iter_text = rest.substr(0, c1);
  auto [end, ec] = std::from_chars(iter_text.data(), iter_text.data() + iter_text.size(), form.iterations);
  if (ec != std::errc() || end != iter_text.data() + iter_text.size() || form.iterations < 1 ||
      form.iterations > kMaxPbkdf2Iterations)
    return make_error("auth: pbkdf2-sha256 iteration count " + quoted(iter_text) + " is not in 1.." +
                      std::to_string(kMaxPbkdf2Iterations));
  if (!base64_decode(rest.substr(c1 + 1, c2 - c1 - 1), form.salt) || form.salt.empty())
    return make_error("auth: pbkdf2-sha256 password has a bad base64 salt");
  if (!base64_decode(rest.substr(c2 + 1), form.key) || form.key.size() < 16 || form.key.size() > 64)
    return make_error("auth: pbkdf2-sha256 password has a bad base64 key (16 to 64 bytes)");
  return form;
}

ByteVector pbkdf2(std::string_view password, Bytes salt, int iterations, size_t key_size) {
  ByteVector key(key_size);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), static_cast<int>(key.size()), reinterpret_cast<unsigned char*>(key.data())) != 1)
    return {};
  return key;
}

bool equal_constant_time(Bytes a, Bytes b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool in_ranges(const std::vector<IpRange>& ranges, const IpAddress& ip) {
  if (ranges.empty()) return true;
  for (const auto& r : ranges)
    if (r.contains(ip)) return true;
  return false;
}

bool any_covers(const std::vector<Permission>& permissions, Action action, std::string_view path) {
  for (const auto& p : permissions)
    if (p.covers(action, path)) return true;
  return false;
}

std::string what_on(Action action, std::string_view path) {
  std::string s = quoted(to_string(action));
  if (!path.empty()) s += " on " + quoted(path);
  return s;
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::Publish:
      return "publish";
    case Action::Read:
      return "read";
    case Action::Playback:
      return "playback";
    case Action::ApiRead:
      return "api_read";
    case Action::ApiWrite:
      return "api_write";
    case Action::Metrics:
      return "metrics";
  }
  return "?";
}

// --- addresses ---

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    unsigned char v4[4];
    if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
    address.bytes[10] = 0xff;
    address.bytes[11] = 0xff;
    std::memcpy(address.bytes.data() + 12, v4, 4);
    return address;
  }
  if (inet_pton(AF_INET6, buf, address.bytes.data()) != 1) return std::nullopt;
  return address;
}

std::string IpAddress::to_string() const {
  static constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (std::equal(kMapped.begin(), kMapped.end(), bytes.begin())) {
    if (inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf)) return buf;
  } else if (inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf)) {
    return buf;
  }
  return "?";
}

Result<IpRange> IpRange::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address_text = text.substr(0, slash);
  auto address = IpAddress::parse(address_text);
  if (!address) return make_error("auth: bad IP address " + quoted(address_text) + " in range " + quoted(text));
  const bool v4 = address_text.find(':') == std::string_view::npos;
  IpRange range{*address, 128};
  if (slash != std::string_view::npos) {
    auto prefix_text = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
    const int max = v4 ? 32 : 128;
    if (prefix_text.empty() || ec != std::errc() || end != prefix_text.data() + prefix_text.size() || prefix < 0 ||
        prefix > max)
      return make_error("auth: bad prefix length " + quoted(prefix_text) + " in range " + quoted(text) + " (0.." +
                        std::to_string(max) + ")");
    range.prefix = v4 ? prefix + 96 : prefix;
  }
  // Keep the network part only, so that "10.1.2.3/8" is 10.0.0.0/8 (as Go's net.ParseCIDR reads it).
  for (int bit = range.prefix; bit < 128; ++bit)
    range.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return range;
}

bool IpRange::contains(const IpAddress& address) const {
  const int full = prefix / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full, address.bytes.begin())) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (base.bytes[full] & mask) == (address.bytes[full] & mask);
}

// --- permissions ---

Result<Permission> Permission::make(std::string_view action, std::string_view path) {
  Permission p;
  if (action == "publish") {
    p.actions = {Action::Publish};
  } else if (action == "read") {
    p.actions = {Action::Read};
  } else if (action == "playback") {
    p.actions = {Action::Playback};
  } else if (action == "api") {
    p.actions = {Action::ApiRead, Action::ApiWrite};
  } else if (action == "api_read") {
    p.actions = {Action::ApiRead};
  } else if (action == "api_write") {
    p.actions = {Action::ApiWrite};
  } else if (action == "metrics") {
    p.actions = {Action::Metrics};
  } else {
    return make_error("auth: unknown action " + quoted(action) +
                      " (publish, read, playback, api, api_read, api_write, metrics)");
  }
  p.path = std::string(path);
  if (!path.empty() && path.front() == '~') {
    auto pattern = path.substr(1);
    if (pattern.size() > kMaxRegexLength)
      return make_error("auth: path regex is longer than " + std::to_string(kMaxRegexLength) + " characters");
    if (!repetition_within_budget(pattern))
      return make_error("auth: path regex " + quoted(pattern) +
                        " repeats too much (counted repetitions multiply to over " +
                        std::to_string(kMaxRegexRepetition) + ")");
    try {
      // From the NUL-terminated copy: GCC 12's regex scanner reads one character past a trailing '(' (found by
      // fuzz_auth_credentials), which must not run off a caller's buffer.
      const char* begin = p.path.c_str() + 1;
      p.regex.emplace(begin, begin + pattern.size(), kRegexSyntax);
    } catch (const std::regex_error& e) {
      return make_error("auth: bad path regex " + quoted(pattern) + ": " + e.what());
    }
  }
  return p;
}

bool Permission::covers(Action action, std::string_view request_path) const {
  if (std::find(actions.begin(), actions.end(), action) == actions.end()) return false;
  // The API and metrics have no path: their permissions cover them whatever path they name (as in MediaMTX).
  if (action == Action::ApiRead || action == Action::ApiWrite || action == Action::Metrics) return true;
  if (path.empty()) return true;
  if (!regex) return request_path == path;
  // Matching costs path length x pattern states: an absurdly long path is denied.
  if (request_path.size() > kMaxRegexSubject) return false;
  try {
    return std::regex_match(request_path.begin(), request_path.end(), *regex);
  } catch (const std::regex_error&) {
    return false;  // error_complexity / error_stack: deny
  }
}

// --- passwords ---

Result<StoredPassword> StoredPassword::make(std::string_view text) {
  if (starts_with(text, kSha256Prefix)) {
    ByteVector digest;
    if (!base64_decode(text.substr(kSha256Prefix.size()), digest) || digest.size() != SHA256_DIGEST_LENGTH)
      return make_error("auth: sha256 password is not the base64 of a 32-byte SHA-256 digest");
  } else if (starts_with(text, kPbkdf2Prefix)) {
    auto form = parse_pbkdf2(text);
    if (!form) return make_error(form.error());
  } else if (starts_with(text, "argon2:")) {
    // Taking it as a plain password would let anyone who knows the hash log in with it.
    return make_error("auth: argon2 passwords are not supported (OpenSSL 3.0); use sha256: or pbkdf2-sha256:");
  }
  return StoredPassword{std::string(text)};
}

bool StoredPassword::is_plain() const { return !starts_with(text, kSha256Prefix) && !starts_with(text, kPbkdf2Prefix); }

bool StoredPassword::verify(std::string_view presented) const {
  if (starts_with(text, kSha256Prefix)) {
    ByteVector stored;
    if (!base64_decode(std::string_view(text).substr(kSha256Prefix.size()), stored)) return false;
    auto digest = sha256(presented);
    return equal_constant_time(stored, std::as_bytes(std::span(digest)));
  }
  if (starts_with(text, kPbkdf2Prefix)) {
    auto form = parse_pbkdf2(text);
    if (!form) return false;
    auto key = pbkdf2(presented, form->salt, form->iterations, form->key.size());
    return !key.empty() && equal_constant_time(key, form->key);
  }
  // Compare digests so that neither the content nor the length of the stored password leaks through timing.
  auto a = sha256(text), b = sha256(presented);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hash_password(std::string_view password, int iterations) {
  std::array<unsigned char, 16> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return {};
  auto salt_bytes = std::as_bytes(std::span(salt));
  auto key = pbkdf2(password, salt_bytes, iterations, 32);
  if (key.empty()) return {};
  return std::string(kPbkdf2Prefix) + std::to_string(iterations) + ":" + base64_encode(salt_bytes) + ":" +
         base64_encode(key);
}

// --- the policy ---

Decision InternalPolicy::evaluate(const AccessRequest& request) const {
  const auto& cred = request.credentials;
  const auto action = request.action;
  const std::string_view path = request.path;

  // Named entries first: who the client is decides the reason of a refusal and the user of an allowance, whichever
  // entry allows (the verdict itself does not depend on the order).
  bool name_known = false, digest_vs_hash = false;
  bool verified = false, allowed = false, covered_elsewhere = false;
  if (!cred.user.empty()) {
    for (const auto& entry : users_) {
      if (entry.user == "any" || entry.user != cred.user) continue;
      name_known = true;
      bool ok = false;
      if (cred.digest) {
        // RTSP Digest proves knowledge of the plain password only; a hash cannot produce the response.
        if (entry.pass.is_plain()) {
          ok = cred.digest(entry.pass.text);
        } else {
          digest_vs_hash = true;
        }
      } else {
        ok = entry.pass.verify(cred.password);
      }
      if (!ok) continue;
      verified = true;
      if (!any_covers(entry.permissions, action, path)) continue;
      if (!in_ranges(entry.ips, request.ip)) {
        covered_elsewhere = true;
        continue;
      }
      allowed = true;
      break;
    }
  }
  const std::string user = verified ? cred.user : std::string();
  if (allowed) return {Verdict::Allow, user, "allowed " + what_on(action, path) + " for user " + quoted(user)};

  for (const auto& entry : users_) {
    if (entry.user != "any") continue;
    if (in_ranges(entry.ips, request.ip) && any_covers(entry.permissions, action, path))
      return {Verdict::Allow, user, "allowed " + what_on(action, path) + " for anyone"};
  }

  if (verified) {
    if (covered_elsewhere)
      return {Verdict::Forbidden, user,
              "user " + quoted(user) + " may not " + what_on(action, path) + " from " + request.ip.to_string()};
    return {Verdict::Forbidden, user, "no permission " + what_on(action, path) + " for user " + quoted(user)};
  }
  if (cred.empty()) return {Verdict::Unauthenticated, {}, "no credentials"};
  if (cred.user.empty()) return {Verdict::Unauthenticated, {}, "no user name presented"};
  if (!name_known) return {Verdict::Unauthenticated, {}, "unknown user"};
  if (digest_vs_hash)
    return {Verdict::Unauthenticated,
            {},
            "user " + quoted(cred.user) + " has a hashed password, which Digest authentication cannot verify"};
  return {Verdict::Unauthenticated, {}, "wrong password for user " + quoted(cred.user)};
}

bool InternalPolicy::allows_anonymous(Action action, std::string_view path, const IpAddress& ip) const {
  for (const auto& entry : users_)
    if (entry.user == "any" && in_ranges(entry.ips, ip) && any_covers(entry.permissions, action, path)) return true;
  return false;
}

std::vector<UserEntry> default_users() {
  std::vector<UserEntry> users(2);
  users[0].user = "any";
  for (auto action : {"publish", "read", "playback"}) users[0].permissions.push_back(*Permission::make(action, ""));
  users[1].user = "any";
  users[1].ips = {*IpRange::parse("127.0.0.0/8"), *IpRange::parse("::1")};
  for (auto action : {"api", "metrics"}) users[1].permissions.push_back(*Permission::make(action, ""));
  return users;
}

}  // namespace sg::auth
