#include "auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>

namespace sg::auth {

namespace json = boost::json;

namespace {

constexpr size_t kMaxKeys = 100;
constexpr size_t kMaxPermissions = 256;
constexpr size_t kMinRsaBytes = 256;   // RFC 7518 3.3: 2048 bits or larger
constexpr size_t kMaxRsaBytes = 1024;  // 8192 bits: bounds the cost of a verification

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BigNum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* pkey) { return {pkey, Deleter<EVP_PKEY_free>{}}; }

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A value from the outside in a reason: short, and printable.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return out + "'";
}

Result<json::object> parse_object(std::string_view text, std::string_view what) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return make_error("JWT: " + std::string(what) + " is not JSON (" + ec.message() + ")");
  if (!v.is_object()) return make_error("JWT: " + std::string(what) + " is not a JSON object");
  return std::move(v.as_object());
}

// The string member `name` of o: nullopt when absent, an error when not a string.
Result<std::optional<std::string>> string_member(const json::object& o, std::string_view name, std::string_view where) {
  auto it = o.find(name);
  if (it == o.end()) return std::optional<std::string>();
  if (!it->value().is_string())
    return make_error(std::string(where) + " \"" + std::string(name) + "\" is not a string");
  const auto& s = it->value().get_string();
  return std::optional<std::string>(std::string(s.data(), s.size()));
}

// RFC 7519 2: NumericDate, seconds since the epoch, possibly with a fraction.
Result<std::optional<int64_t>> date_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::optional<int64_t>();
  const auto& v = it->value();
  if (v.is_int64()) return std::optional<int64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return std::optional<int64_t>(static_cast<int64_t>(v.get_uint64()));
  if (v.is_double() && std::isfinite(v.get_double()) && std::fabs(v.get_double()) < 9e18)
    return std::optional<int64_t>(static_cast<int64_t>(std::floor(v.get_double())));
  return make_error("JWT: claim \"" + std::string(name) + "\" is not a NumericDate");
}

Result<std::string> field_bytes(const json::object& key, std::string_view name, std::string_view kid) {
  auto s = string_member(key, name, "JWKS: key " + quoted(kid));
  if (!s) return make_error(s.error());
  if (!*s) return make_error("JWKS: key " + quoted(kid) + " lacks \"" + std::string(name) + "\"");
  std::string_view text = **s;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // tolerated in JWKs, never in a JWS
  auto bytes = base64url_decode(text);
  if (!bytes || bytes->empty())
    return make_error("JWKS: key " + quoted(kid) + " has bad base64url in \"" + std::string(name) + "\"");
  return std::move(*bytes);
}

BigNum to_bn(const std::string& b) { return BigNum(BN_bin2bn(u8(b), static_cast<int>(b.size()), nullptr)); }

Result<std::shared_ptr<EVP_PKEY>> rsa_key(const std::string& n_bytes, const std::string& e_bytes,
                                          std::string_view kid) {
  auto n = to_bn(n_bytes), e = to_bn(e_bytes);
  if (!n || !e) return make_error("JWKS: out of memory");
  const auto bits = BN_num_bits(n.get());
  if (bits < static_cast<int>(kMinRsaBytes * 8) || bits > static_cast<int>(kMaxRsaBytes * 8))
    return make_error("JWKS: RSA key " + quoted(kid) + " has " + std::to_string(bits) + " bits (2048 to 8192)");
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 || BN_num_bits(e.get()) > 64)
    return make_error("JWKS: RSA key " + quoted(kid) + " has a bad exponent");
  ParamBuilder bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()))
    return make_error("JWKS: out of memory");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !pkey)
    return make_error("JWKS: RSA key " + quoted(kid) + " is invalid");
  return share(pkey);
}

Result<std::shared_ptr<EVP_PKEY>> ec_key(const std::string& x, const std::string& y, std::string_view kid) {
  // RFC 7518 6.2.1.2: x and y are the full 32-byte coordinates for P-256.
  if (x.size() != 32 || y.size() != 32)
    return make_error("JWKS: EC key " + quoted(kid) + " coordinates are not 32 bytes");
  std::array<unsigned char, 65> point{};
  point[0] = 0x04;  // SEC 1 2.3.3: uncompressed point
  std::memcpy(point.data() + 1, x.data(), 32);
  std::memcpy(point.data() + 33, y.data(), 32);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
                         OSSL_PARAM_construct_end()};
  PkeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  // Importing checks that the point is on the curve.
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || !pkey)
    return make_error("JWKS: EC key " + quoted(kid) + " is not a P-256 point");
  return share(pkey);
}

// RFC 7518 3.4: the JWS signature is r || s, each 32 bytes; OpenSSL verifies the DER form (SEC 1 C.5).
std::optional<std::string> ecdsa_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(u8(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(u8(raw) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool verify_signature(EVP_PKEY* pkey, std::string_view signing_input, std::string_view signature) {
  DigestContext ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1) return false;
  return EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(signing_input), signing_input.size()) == 1;
}

Result<std::vector<Permission>> permissions_claim(const json::object& payload, std::string_view claim_key) {
  auto it = payload.find(claim_key);
  if (it == payload.end()) return make_error("JWT: token has no " + quoted(claim_key) + " claim");
  const auto* list = it->value().if_array();
  if (!list) return make_error("JWT: claim " + quoted(claim_key) + " is not an array");
  if (list->size() > kMaxPermissions)
    return make_error("JWT: claim " + quoted(claim_key) + " has more than " + std::to_string(kMaxPermissions) +
                      " entries");
  std::vector<Permission> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = "JWT: " + quoted(claim_key) + "[" + std::to_string(i) + "]";
    const auto* o = (*list)[i].if_object();
    if (!o) return make_error(where + " is not an object");
    auto action = string_member(*o, "action", where);
    auto path = string_member(*o, "path", where);
    if (!action || !path || !*action)
      return make_error(where + " needs a string \"action\" and optional string \"path\"");
    auto p = Permission::make(**action, path->value_or(""));
    if (!p) return make_error(where + ": " + p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

// --- base64url ---

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so that each byte string has exactly one encoding.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// --- JWKS ---

Result<Jwks> Jwks::parse(std::string_view text) {
  if (text.size() > kMaxJwksSize) return make_error("JWKS: larger than " + std::to_string(kMaxJwksSize) + " bytes");
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return make_error("JWKS: not JSON (" + ec.message() + ")");
  const auto* root = doc.if_object();
  const json::array* list = root && root->contains("keys") ? root->at("keys").if_array() : nullptr;
  if (!list) return make_error("JWKS: no \"keys\" array");
  if (list->size() > kMaxKeys) return make_error("JWKS: more than " + std::to_string(kMaxKeys) + " keys");
  Jwks jwks;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto* key = (*list)[i].if_object();
    if (!key) return make_error("JWKS: keys[" + std::to_string(i) + "] is not an object");
    const std::string where = "JWKS: keys[" + std::to_string(i) + "]";
    auto kty = string_member(*key, "kty", where);
    auto kid = string_member(*key, "kid", where);
    auto use = string_member(*key, "use", where);
    auto alg = string_member(*key, "alg", where);
    auto crv = string_member(*key, "crv", where);
    for (const auto* r : {&kty, &kid, &use, &alg, &crv})
      if (!*r) return make_error(r->error());
    if (!*kty) return make_error("JWKS: keys[" + std::to_string(i) + "] has no \"kty\"");
    Key k;
    k.kid = kid->value_or("");
    const std::string name = "key " + (k.kid.empty() ? "#" + std::to_string(i) : quoted(k.kid));
    if (use->value_or("sig") != "sig") {
      jwks.notes_.push_back(name + " skipped: \"use\" is " + quoted(**use));
      continue;
    }
    if (**kty == "RSA") {
      if (alg->value_or("RS256") != "RS256") {
        jwks.notes_.push_back(name + " skipped: alg " + quoted(**alg) + " is not supported");
        continue;
      }
      auto n = field_bytes(*key, "n", k.kid);
      auto e = field_bytes(*key, "e", k.kid);
      if (!n) return make_error(n.error());
      if (!e) return make_error(e.error());
      auto pkey = rsa_key(*n, *e, k.kid);
      if (!pkey) return make_error(pkey.error());
      k.type = KeyType::Rsa;
      k.pkey = std::move(*pkey);
    } else if (**kty == "EC") {
      if (crv->value_or("") != "P-256" || alg->value_or("ES256") != "ES256") {
        jwks.notes_.push_back(name + " skipped: only P-256 / ES256 EC keys are supported");
        continue;
      }
      auto x = field_bytes(*key, "x", k.kid);
      auto y = field_bytes(*key, "y", k.kid);
      if (!x) return make_error(x.error());
      if (!y) return make_error(y.error());
      auto pkey = ec_key(*x, *y, k.kid);
      if (!pkey) return make_error(pkey.error());
      k.type = KeyType::Ec;
      k.pkey = std::move(*pkey);
    } else {
      jwks.notes_.push_back(name + " skipped: kty " + quoted(**kty) + " is not supported");
      continue;
    }
    jwks.keys_.push_back(std::move(k));
  }
  return jwks;
}

// --- JWS verification ---

Result<JwtClaims> verify_jwt(std::string_view token, const Jwks& keys, std::string_view claim_key, int64_t now_unix) {
  if (token.size() > kMaxJwtSize) return make_error("JWT: larger than " + std::to_string(kMaxJwtSize) + " bytes");
  // RFC 7515 7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature)
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return make_error("JWT: not three dot-separated parts");
  const auto header_text = base64url_decode(token.substr(0, dot1));
  const auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return make_error("JWT: bad base64url");

  auto header = parse_object(*header_text, "header");
  if (!header) return make_error(header.error());
  auto alg = string_member(*header, "alg", "JWT: header");
  auto kid = string_member(*header, "kid", "JWT: header");
  if (!alg) return make_error(alg.error());
  if (!kid) return make_error(kid.error());
  if (!*alg) return make_error("JWT: header has no \"alg\"");
  Jwks::KeyType type;
  if (**alg == "RS256") {
    type = Jwks::KeyType::Rsa;
  } else if (**alg == "ES256") {
    type = Jwks::KeyType::Ec;
  } else {
    return make_error("JWT: alg " + quoted(**alg) + " is not accepted (RS256, ES256)");
  }
  // RFC 7515 4.1.11: extensions we do not understand make the token invalid.
  if (header->contains("crit")) return make_error("JWT: header has \"crit\" extensions");

  std::string der;
  std::string_view sig = *signature;
  if (type == Jwks::KeyType::Ec) {
    auto d = ecdsa_der(*signature);
    if (!d) return make_error("JWT: ES256 signature is not 64 bytes");
    der = std::move(*d);
    sig = der;
  }
  const std::string_view signing_input = token.substr(0, dot2);
  bool candidate = false, verified = false;
  for (const auto& key : keys.keys()) {
    if (key.type != type || (*kid && key.kid != **kid)) continue;
    candidate = true;
    if (verify_signature(key.pkey.get(), signing_input, sig)) {
      verified = true;
      break;
    }
  }
  if (!candidate)
    return make_error(*kid ? "JWT: no " + std::string(**alg) + " key with kid " + quoted(**kid) + " in the JWKS"
                           : "JWT: no " + std::string(**alg) + " key in the JWKS");
  if (!verified) return make_error("JWT: bad signature");

  // Only a verified payload is looked at.
  auto payload = parse_object(*payload_text, "payload");
  if (!payload) return make_error(payload.error());
  JwtClaims claims;
  auto exp = date_member(*payload, "exp");
  auto nbf = date_member(*payload, "nbf");
  if (!exp) return make_error(exp.error());
  if (!nbf) return make_error(nbf.error());
  claims.exp = *exp;
  claims.nbf = *nbf;
  // RFC 7519 4.1.4, 4.1.5. The arithmetic is on now (a sane time), never on the token's dates (any int64).
  if (claims.exp && *claims.exp <= now_unix - kJwtLeewaySeconds) return make_error("JWT: expired");
  if (claims.nbf && *claims.nbf > now_unix + kJwtLeewaySeconds) return make_error("JWT: not valid yet (nbf)");
  auto sub = string_member(*payload, "sub", "JWT: claim");
  auto iss = string_member(*payload, "iss", "JWT: claim");
  if (!sub) return make_error(sub.error());
  if (!iss) return make_error(iss.error());
  claims.subject = sub->value_or("");
  claims.issuer = iss->value_or("");
  if (auto it = payload->find("aud"); it != payload->end()) {
    if (const auto* s = it->value().if_string()) {
      claims.audience.emplace_back(s->data(), s->size());
    } else if (const auto* a = it->value().if_array()) {
      for (const auto& v : *a) {
        const auto* item = v.if_string();
        if (!item) return make_error("JWT: claim \"aud\" is not a string or an array of strings");
        claims.audience.emplace_back(item->data(), item->size());
      }
    } else {
      return make_error("JWT: claim \"aud\" is not a string or an array of strings");
    }
  }
  auto permissions = permissions_claim(*payload, claim_key);
  if (!permissions) return make_error(permissions.error());
  claims.permissions = std::move(*permissions);
  return claims;
}

}  // namespace sg::auth
