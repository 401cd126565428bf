#include "rtsp/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>

#include "base/bytes.hpp"
#include "rtsp/text.hpp"

namespace sg::rtsp {

namespace {

struct AuthParam {
  std::string name;
  std::string value;
};

struct RawChallenge {
  std::string scheme;
  std::vector<AuthParam> params;
};

// Linear whitespace; folded lines may reach us unjoined when a caller passes raw text.
bool is_lws(char c) { return is_space(c) || c == '\r' || c == '\n'; }

void skip_ws(std::string_view s, size_t& pos) {
  while (pos < s.size() && is_lws(s[pos])) ++pos;
}

std::string_view read_token(std::string_view s, size_t& pos) {
  size_t start = pos;
  while (pos < s.size() && is_token_char(s[pos])) ++pos;
  return s.substr(start, pos - start);
}

// quoted-string (RFC 2616 2.2) starting at s[pos] == '"'.
std::optional<std::string> read_quoted(std::string_view s, size_t& pos) {
  std::string out;
  ++pos;
  while (pos < s.size()) {
    char c = s[pos++];
    if (c == '"') return out;
    if (c == '\\') {
      if (pos >= s.size()) return std::nullopt;
      c = s[pos++];
    }
    out += c;
  }
  return std::nullopt;
}

// Parses `scheme param=value, param="value", ... [, scheme ...]` (RFC 2617 1.2).
Result<std::vector<RawChallenge>> parse_auth_list(std::string_view s) {
  std::vector<RawChallenge> out;
  size_t pos = 0;
  for (;;) {
    while (pos < s.size() && (is_lws(s[pos]) || s[pos] == ',')) ++pos;
    if (pos >= s.size()) break;
    auto token = read_token(s, pos);
    if (token.empty()) return make_error("RTSP auth: unexpected " + quote_for_error(s.substr(pos, 1)) + " in " + quote_for_error(s));
    skip_ws(s, pos);
    if (pos < s.size() && s[pos] == '=') {
      ++pos;
      skip_ws(s, pos);
      std::string value;
      if (pos < s.size() && s[pos] == '"') {
        auto q = read_quoted(s, pos);
        if (!q) return make_error("RTSP auth: unterminated quoted string in " + quote_for_error(s));
        value = std::move(*q);
      } else {
        value = std::string(read_token(s, pos));
      }
      if (out.empty()) return make_error("RTSP auth: parameter before scheme in " + quote_for_error(s));
      out.back().params.push_back({std::string(token), std::move(value)});
      skip_ws(s, pos);
      if (pos < s.size() && s[pos] != ',') return make_error("RTSP auth: expected ',' in " + quote_for_error(s));
    } else {
      out.push_back({std::string(token), {}});
    }
  }
  return out;
}

const std::string* find_param(const std::vector<AuthParam>& params, std::string_view name) {
  for (const auto& p : params) {
    if (iequals(p.name, name)) return &p.value;
  }
  return nullptr;
}

std::string param_or_empty(const std::vector<AuthParam>& params, std::string_view name) {
  const auto* v = find_param(params, name);
  return v ? *v : std::string();
}

void append_quoted(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

bool digest_usable(const Challenge& c) {
  return c.scheme == AuthScheme::Digest && (c.algorithm.empty() || iequals(c.algorithm, "MD5")) &&
         (c.qop.empty() || c.qop_auth);
}

std::string digest_response(std::string_view ha1, std::string_view nonce, std::string_view nc,
                            std::string_view cnonce, std::string_view qop, std::string_view ha2) {
  std::string s(ha1);
  s += ':';
  s += nonce;
  s += ':';
  if (!qop.empty()) {
    s += nc;
    s += ':';
    s += cnonce;
    s += ':';
    s += qop;
    s += ':';
  }
  s += ha2;
  return md5_hex(s);
}

std::string ha1_of(std::string_view user, std::string_view realm, std::string_view password) {
  std::string s(user);
  s += ':';
  s += realm;
  s += ':';
  s += password;
  return md5_hex(s);
}

std::string ha2_of(std::string_view method, std::string_view uri) {
  std::string s(method);
  s += ':';
  s += uri;
  return md5_hex(s);
}

bool constant_time_equal_digest(std::string_view a, std::string_view b) {
  // Hash both so the comparison is over equal lengths whatever the inputs.
  auto ha = md5_hex(a);
  auto hb = md5_hex(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

Result<std::vector<Challenge>> parse_challenges(std::string_view value) {
  auto raw = parse_auth_list(value);
  if (!raw) return make_error(raw.error());
  std::vector<Challenge> out;
  for (const auto& r : *raw) {
    Challenge c;
    c.realm = param_or_empty(r.params, "realm");
    if (iequals(r.scheme, "Basic")) {
      c.scheme = AuthScheme::Basic;
    } else if (iequals(r.scheme, "Digest")) {
      c.scheme = AuthScheme::Digest;
      c.nonce = param_or_empty(r.params, "nonce");
      if (c.nonce.empty()) return make_error("RTSP auth: Digest challenge without nonce in " + quote_for_error(value));
      c.opaque = param_or_empty(r.params, "opaque");
      c.algorithm = param_or_empty(r.params, "algorithm");
      c.qop = param_or_empty(r.params, "qop");
      c.stale = iequals(param_or_empty(r.params, "stale"), "true");
      std::string_view q = c.qop;
      while (!q.empty()) {
        auto comma = q.find(',');
        if (iequals(trim(q.substr(0, comma)), "auth")) c.qop_auth = true;
        if (comma == std::string_view::npos) break;
        q.remove_prefix(comma + 1);
      }
    } else {
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<Challenge> select_challenge(std::span<const std::string_view> values) {
  std::optional<Challenge> basic;
  std::string last_error = "RTSP auth: no WWW-Authenticate challenge";
  for (auto v : values) {
    auto cs = parse_challenges(v);
    if (!cs) {
      last_error = cs.error();
      continue;
    }
    for (auto& c : *cs) {
      if (digest_usable(c)) return std::move(c);
      if (c.scheme == AuthScheme::Basic && !basic) basic = std::move(c);
      if (c.scheme == AuthScheme::Digest) {
        last_error = "RTSP auth: unsupported Digest algorithm " + quote_for_error(c.algorithm) + " / qop " +
                     quote_for_error(c.qop);
      }
    }
  }
  if (basic) return std::move(*basic);
  return make_error(last_error);
}

ClientAuth::ClientAuth(Challenge challenge, std::string user, std::string password)
    : challenge_(std::move(challenge)), user_(std::move(user)), password_(std::move(password)) {}

std::string ClientAuth::authorization(std::string_view method, std::string_view uri, std::string_view cnonce) {
  if (challenge_.scheme == AuthScheme::Basic) {
    return "Basic " + base64_encode(as_bytes(user_ + ":" + password_));
  }
  const auto ha1 = ha1_of(user_, challenge_.realm, password_);
  const auto ha2 = ha2_of(method, uri);
  std::string out = "Digest ";
  append_quoted(out, "username", user_);
  out += ", ";
  append_quoted(out, "realm", challenge_.realm);
  out += ", ";
  append_quoted(out, "nonce", challenge_.nonce);
  out += ", ";
  append_quoted(out, "uri", uri);
  out += ", ";
  if (challenge_.qop_auth) {
    ++nc_;
    char nc[9];
    std::snprintf(nc, sizeof nc, "%08x", nc_);
    std::string derived;
    if (cnonce.empty()) {
      derived = md5_hex(challenge_.nonce + ":" + nc + ":" + user_).substr(0, 16);
      cnonce = derived;
    }
    append_quoted(out, "response", digest_response(ha1, challenge_.nonce, nc, cnonce, "auth", ha2));
    out += ", qop=auth, nc=";
    out += nc;
    out += ", ";
    append_quoted(out, "cnonce", cnonce);
  } else {
    append_quoted(out, "response", digest_response(ha1, challenge_.nonce, {}, {}, {}, ha2));
  }
  if (!challenge_.opaque.empty()) {
    out += ", ";
    append_quoted(out, "opaque", challenge_.opaque);
  }
  if (!challenge_.algorithm.empty()) {
    out += ", ";
    out += "algorithm=" + challenge_.algorithm;
  }
  return out;
}

Result<Authorization> parse_authorization(std::string_view value) {
  value = trim(value);
  size_t pos = 0;
  auto scheme = read_token(value, pos);
  Authorization a;
  if (iequals(scheme, "Basic")) {
    a.scheme = AuthScheme::Basic;
    auto cred = trim(value.substr(pos));
    ByteVector decoded;
    if (cred.empty() || !base64_decode(cred, decoded)) {
      return make_error("RTSP auth: bad Basic credentials " + quote_for_error(cred));
    }
    auto text = as_string_view(decoded);
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return make_error("RTSP auth: Basic credentials without ':'");
    a.username = std::string(text.substr(0, colon));
    a.password = std::string(text.substr(colon + 1));
    return a;
  }
  if (!iequals(scheme, "Digest")) return make_error("RTSP auth: unsupported scheme " + quote_for_error(scheme));
  auto raw = parse_auth_list(value);
  if (!raw) return make_error(raw.error());
  if (raw->size() != 1) return make_error("RTSP auth: bad Digest credentials " + quote_for_error(value));
  const auto& p = raw->front().params;
  a.scheme = AuthScheme::Digest;
  a.username = param_or_empty(p, "username");
  a.realm = param_or_empty(p, "realm");
  a.nonce = param_or_empty(p, "nonce");
  a.uri = param_or_empty(p, "uri");
  a.response = param_or_empty(p, "response");
  a.qop = param_or_empty(p, "qop");
  a.nc = param_or_empty(p, "nc");
  a.cnonce = param_or_empty(p, "cnonce");
  a.opaque = param_or_empty(p, "opaque");
  a.algorithm = param_or_empty(p, "algorithm");
  if (!find_param(p, "username") || a.nonce.empty() || a.uri.empty() || a.response.empty()) {
    return make_error("RTSP auth: Digest credentials lack username, nonce, uri or response");
  }
  return a;
}

std::vector<std::string> ServerAuth::challenges() const {
  std::vector<std::string> out;
  std::string digest = "Digest ";
  append_quoted(digest, "realm", realm);
  digest += ", ";
  append_quoted(digest, "nonce", nonce);
  if (offer_qop) digest += ", qop=\"auth\"";
  out.push_back(std::move(digest));
  if (allow_basic) {
    std::string basic = "Basic ";
    append_quoted(basic, "realm", realm);
    out.push_back(std::move(basic));
  }
  return out;
}

Status ServerAuth::verify(std::string_view authorization, std::string_view method, std::string_view user,
                          std::string_view password) const {
  auto a = parse_authorization(authorization);
  if (!a) return make_error(a.error());
  if (a->scheme == AuthScheme::Basic) {
    if (!allow_basic) return make_error("RTSP auth: Basic credentials not accepted");
    bool user_ok = constant_time_equal_digest(a->username, user);
    bool pass_ok = constant_time_equal_digest(a->password, password);
    if (!(user_ok & pass_ok)) return make_error("RTSP auth: wrong Basic credentials for user " + quote_for_error(a->username));
    return Ok{};
  }
  if (a->username != user) return make_error("RTSP auth: unknown user " + quote_for_error(a->username));
  if (a->realm != realm) return make_error("RTSP auth: realm mismatch " + quote_for_error(a->realm));
  if (a->nonce != nonce) return make_error("RTSP auth: nonce mismatch (stale or forged)");
  if (!a->algorithm.empty() && !iequals(a->algorithm, "MD5")) {
    return make_error("RTSP auth: unsupported algorithm " + quote_for_error(a->algorithm));
  }
  if (!a->qop.empty()) {
    if (!iequals(a->qop, "auth")) return make_error("RTSP auth: unsupported qop " + quote_for_error(a->qop));
    if (a->nc.size() != 8 || !parse_hex32(a->nc) || a->cnonce.empty()) {
      return make_error("RTSP auth: qop=auth without valid nc and cnonce");
    }
  }
  std::string got = a->response;
  for (auto& c : got) c = ascii_lower(c);
  const auto expected = digest_response(ha1_of(user, realm, password), nonce, a->nc, a->cnonce,
                                        a->qop.empty() ? std::string_view{} : "auth", ha2_of(method, a->uri));
  if (got.size() != expected.size() || CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return make_error("RTSP auth: wrong response for user " + quote_for_error(a->username));
  }
  return Ok{};
}

}  // namespace sg::rtsp
