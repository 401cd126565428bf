#pragma once
// Test-side identity provider: makes RSA-2048 and P-256 keys with OpenSSL, publishes them as a JWKS and signs
// tokens with them (RS256 / ES256, RFC 7515/7518), so that tests exercise the real verification path.
//
//   auto key = sg::test::JwtKey::rsa("k1");
//   std::string jwks = sg::test::jwks_json({&key});
//   std::string token = key.sign(R"({"sub":"alice","streamgate_permissions":[{"action":"read","path":"cam1"}]})");
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sg::test {

namespace jwt_detail {

inline std::string b64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
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

inline void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("jwt_maker: ") + what);
}

inline std::string bn_bytes(const EVP_PKEY* pkey, const char* param, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  require(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1, param);
  std::string out(pad_to > 0 ? static_cast<size_t>(pad_to) : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  const int n = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  require(n == static_cast<int>(out.size()), "BN_bn2binpad");
  return out;
}

}  // namespace jwt_detail

class JwtKey {
 public:
  static JwtKey rsa(std::string kid) { return JwtKey(std::move(kid), false, EVP_RSA_gen(2048)); }
  static JwtKey ec(std::string kid) { return JwtKey(std::move(kid), true, EVP_EC_gen("P-256")); }

  // A fixed key (PKCS#8 PEM of an RSA or P-256 private key), for reproducible tokens (fuzz seeds).
  static JwtKey from_pem(std::string kid, std::string_view private_pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())), BIO_free);
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    jwt_detail::require(key != nullptr, "PEM_read_bio_PrivateKey");
    return JwtKey(std::move(kid), EVP_PKEY_is_a(key, "EC") == 1, key);
  }

  const std::string& kid() const { return kid_; }
  const char* alg() const { return ec_ ? "ES256" : "RS256"; }

  // The public key as a JWK (RFC 7517 4, RFC 7518 6.2/6.3); no "kid" member when the kid is empty.
  std::string jwk_json() const {
    using jwt_detail::b64url;
    using jwt_detail::bn_bytes;
    std::string kid = kid_.empty() ? "" : R"("kid":")" + kid_ + R"(",)";
    if (ec_)
      return R"({"kty":"EC","crv":"P-256",)" + kid + R"("use":"sig","x":")" +
             b64url(bn_bytes(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
             b64url(bn_bytes(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
    return R"({"kty":"RSA",)" + kid + R"("use":"sig","alg":"RS256","n":")" +
           b64url(bn_bytes(key_.get(), OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
           b64url(bn_bytes(key_.get(), OSSL_PKEY_PARAM_RSA_E)) + R"("})";
  }

  // A compact JWS of payload_json with the header {"alg":..,"typ":"JWT","kid":..}.
  std::string sign(std::string_view payload_json) const {
    std::string header = std::string(R"({"alg":")") + alg() + R"(","typ":"JWT")";
    if (!kid_.empty()) header += R"(,"kid":")" + kid_ + '"';
    return sign_with_header(header + "}", payload_json);
  }

  // The same with any header, for tests of bad headers.
  std::string sign_with_header(std::string_view header_json, std::string_view payload_json) const {
    std::string input = jwt_detail::b64url(header_json) + "." + jwt_detail::b64url(payload_json);
    return input + "." + jwt_detail::b64url(signature(input));
  }

  // The raw JWS signature of `input` (RS256: PKCS#1 v1.5; ES256: r || s, 64 bytes).
  std::string signature(std::string_view input) const {
    using jwt_detail::require;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    require(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1, "sign init");
    size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    require(EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) == 1, "sign size");
    std::string sig(size, '\0');
    require(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data, input.size()) == 1,
            "sign");
    sig.resize(size);
    if (!ec_) return sig;
    // DER ECDSA-Sig-Value -> r || s (RFC 7518 3.4).
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    require(es != nullptr, "d2i_ECDSA_SIG");
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    const bool ok =
        BN_bn2binpad(ECDSA_SIG_get0_r(es), out, 32) == 32 && BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 32, 32) == 32;
    ECDSA_SIG_free(es);
    require(ok, "r||s");
    return raw;
  }

 private:
  JwtKey(std::string kid, bool ec, EVP_PKEY* key) : kid_(std::move(kid)), ec_(ec), key_(key, EVP_PKEY_free) {
    jwt_detail::require(key != nullptr, "key generation");
  }

  std::string kid_;
  bool ec_ = false;
  std::shared_ptr<EVP_PKEY> key_;
};

// {"keys":[...]} of the given keys' public halves.
inline std::string jwks_json(std::initializer_list<const JwtKey*> keys) {
  std::string out = R"({"keys":[)";
  bool first = true;
  for (const auto* k : keys) {
    if (!first) out += ',';
    first = false;
    out += k->jwk_json();
  }
  return out + "]}";
}

// base64url without padding, for hand-made tokens.
inline std::string base64url(std::string_view bytes) { return jwt_detail::b64url(bytes); }

}  // namespace sg::test
