#include <gtest/gtest.h>

#include <string>

#include "../support/jwt_maker.hpp"
#include "auth/jwt.hpp"

namespace sg::auth {
namespace {

using test::JwtKey;

constexpr int64_t kNow = 1'800'000'000;

// Key generation is the slow part: one set for the whole binary.
const JwtKey& rsa1() {
  static const JwtKey k = JwtKey::rsa("rsa-1");
  return k;
}
const JwtKey& rsa2() {
  static const JwtKey k = JwtKey::rsa("rsa-2");
  return k;
}
const JwtKey& ec1() {
  static const JwtKey k = JwtKey::ec("ec-1");
  return k;
}

Jwks jwks(std::initializer_list<const JwtKey*> keys) {
  auto j = Jwks::parse(test::jwks_json(keys));
  EXPECT_TRUE(j) << j.error();
  return j ? *j : Jwks{};
}

std::string payload(std::string_view extra = "") {
  return std::string(R"({"sub":"alice","streamgate_permissions":[{"action":"read","path":"cam1"},)"
                     R"({"action":"publish","path":"~^live/.*"}])") +
         std::string(extra) + "}";
}

Result<JwtClaims> verify(std::string_view token, const Jwks& keys, int64_t now = kNow) {
  return verify_jwt(token, keys, kDefaultPermissionsClaim, now);
}

void expect_error(const Result<JwtClaims>& r, std::string_view part) {
  ASSERT_FALSE(r) << "accepted";
  EXPECT_NE(r.error().find(part), std::string::npos) << r.error();
}

// --- base64url ---

TEST(AuthBase64url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
    bytes += static_cast<char>(0xf0 + i);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(AuthBase64url, DecodingIsStrict) {
  for (auto bad : {"QQ==", "Q", "QR", "a+b/", "ab cd", "QQ=", "e30."}) EXPECT_FALSE(base64url_decode(bad)) << bad;
  EXPECT_EQ(base64url_decode("QQ"), "A");
}

// --- JWKS ---

TEST(AuthJwks, ParsesRsaAndEcKeysWithTheirKids) {
  auto keys = jwks({&rsa1(), &ec1()});
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.keys()[0].kid, "rsa-1");
  EXPECT_EQ(keys.keys()[0].type, Jwks::KeyType::Rsa);
  EXPECT_EQ(keys.keys()[1].kid, "ec-1");
  EXPECT_EQ(keys.keys()[1].type, Jwks::KeyType::Ec);
  EXPECT_TRUE(keys.notes().empty());
}

TEST(AuthJwks, UnsupportedKeysAreSkippedWithANote) {
  auto text = R"({"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"},)"
              R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},)"
              R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"},)" +
              rsa1().jwk_json() + "]}";
  auto keys = Jwks::parse(text);
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_EQ(keys->size(), 1u);
  ASSERT_EQ(keys->notes().size(), 3u);
  EXPECT_EQ(keys->notes()[0], "key 'h' skipped: kty 'oct' is not supported");
}

TEST(AuthJwks, EncryptionKeysAreSkipped) {
  auto jwk = rsa1().jwk_json();
  jwk.replace(jwk.find(R"("use":"sig")"), 11, R"("use":"enc")");
  auto keys = Jwks::parse(R"({"keys":[)" + jwk + "]}");
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_EQ(keys->size(), 0u);
}

TEST(AuthJwks, BadJsonIsAnError) {
  for (auto bad :
       {"", "{", "[]", R"({"keys":{}})", R"({"keys":[1]})", R"({"keys":[{"kid":"x"}]})", R"({"keys":[{"kty":5}]})"}) {
    auto keys = Jwks::parse(bad);
    ASSERT_FALSE(keys) << bad;
    EXPECT_TRUE(keys.error().starts_with("JWKS: ")) << keys.error();
  }
}

TEST(AuthJwks, BadBase64urlIsAnError) {
  auto keys = Jwks::parse(R"({"keys":[{"kty":"RSA","kid":"r","n":"not base64!","e":"AQAB"}]})");
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error(), "JWKS: key 'r' has bad base64url in \"n\"");
}

TEST(AuthJwks, ShortRsaKeyIsAnError) {
  auto keys =
      Jwks::parse(R"({"keys":[{"kty":"RSA","kid":"r","n":")" + std::string(171, 'A') + "B" + R"(","e":"AQAB"}]})");
  ASSERT_FALSE(keys);
  EXPECT_NE(keys.error().find("bits (2048 to 8192)"), std::string::npos) << keys.error();
}

TEST(AuthJwks, EcPointOffTheCurveIsAnError) {
  std::string coordinate = test::base64url(std::string(31, '\0') + "\x01");
  auto keys = Jwks::parse(R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":")" + coordinate + R"(","y":")" +
                          coordinate + R"("}]})");
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error(), "JWKS: EC key 'e' is not a P-256 point");
}

TEST(AuthJwks, CopiesShareTheKeys) {
  auto a = jwks({&rsa1()});
  Jwks b = a;
  EXPECT_EQ(a.keys()[0].pkey.get(), b.keys()[0].pkey.get());
}

// --- verify_jwt ---

TEST(AuthJwt, Rs256TokenVerifiesAndYieldsItsPermissions) {
  auto claims = verify(rsa1().sign(payload()), jwks({&rsa1()}));
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->subject, "alice");
  ASSERT_EQ(claims->permissions.size(), 2u);
  EXPECT_TRUE(claims->permissions[0].covers(Action::Read, "cam1"));
  EXPECT_FALSE(claims->permissions[0].covers(Action::Read, "cam2"));
  EXPECT_TRUE(claims->permissions[1].covers(Action::Publish, "live/x"));
}

TEST(AuthJwt, Es256TokenVerifies) {
  auto claims = verify(ec1().sign(payload()), jwks({&rsa1(), &ec1()}));
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->permissions.size(), 2u);
}

TEST(AuthJwt, TokenSignedByAnotherKeyIsRejected) {
  auto token = rsa2().sign_with_header(R"({"alg":"RS256","kid":"rsa-1"})", payload());
  expect_error(verify(token, jwks({&rsa1(), &ec1()})), "JWT: bad signature");
}

TEST(AuthJwt, TamperedPayloadIsRejected) {
  auto token = rsa1().sign(payload());
  auto dot1 = token.find('.'), dot2 = token.rfind('.');
  auto forged = base64url_encode(R"({"sub":"alice","streamgate_permissions":[{"action":"publish"}]})");
  token = token.substr(0, dot1 + 1) + forged + token.substr(dot2);
  expect_error(verify(token, jwks({&rsa1()})), "JWT: bad signature");
}

TEST(AuthJwt, TamperedEs256SignatureIsRejected) {
  auto token = ec1().sign(payload());
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  expect_error(verify(token, jwks({&ec1()})), "JWT: bad signature");
}

TEST(AuthJwt, AlgNoneIsRejected) {
  auto token = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(payload()) + ".";
  expect_error(verify(token, jwks({&rsa1()})), "alg 'none' is not accepted");
}

TEST(AuthJwt, HmacWithThePublicKeyIsRejected) {
  // The classic confusion: HS256 keyed with the public RSA key. We never do HMAC.
  auto token = base64url_encode(R"({"alg":"HS256","kid":"rsa-1"})") + "." + base64url_encode(payload()) + ".c2ln";
  expect_error(verify(token, jwks({&rsa1()})), "alg 'HS256' is not accepted");
}

TEST(AuthJwt, AlgOfTheOtherKeyTypeFindsNoKey) {
  // An RS256 header naming the EC key's kid: the kid does not make a key of the wrong type usable.
  auto token = rsa1().sign_with_header(R"({"alg":"RS256","kid":"ec-1"})", payload());
  expect_error(verify(token, jwks({&rsa1(), &ec1()})), "no RS256 key with kid 'ec-1'");
}

TEST(AuthJwt, ExpiredTokenIsRejectedAfterTheLeeway) {
  auto token = rsa1().sign(payload(R"(,"exp":1800000000)"));
  EXPECT_TRUE(verify(token, jwks({&rsa1()}), kNow - 1));
  EXPECT_TRUE(verify(token, jwks({&rsa1()}), kNow + kJwtLeewaySeconds - 1));
  expect_error(verify(token, jwks({&rsa1()}), kNow + kJwtLeewaySeconds), "JWT: expired");
}

TEST(AuthJwt, TokenBeforeItsNbfIsRejectedBeyondTheLeeway) {
  auto token = rsa1().sign(payload(R"(,"nbf":1800000000)"));
  EXPECT_TRUE(verify(token, jwks({&rsa1()}), kNow - kJwtLeewaySeconds));
  expect_error(verify(token, jwks({&rsa1()}), kNow - kJwtLeewaySeconds - 1), "not valid yet");
}

TEST(AuthJwt, ExpAndNbfAreReported) {
  auto claims = verify(rsa1().sign(payload(R"(,"exp":1800000100.5,"nbf":1799999000)")), jwks({&rsa1()}));
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->exp, 1800000100);
  EXPECT_EQ(claims->nbf, 1799999000);
}

TEST(AuthJwt, ExtremeDatesDoNotOverflow) {
  auto keys = jwks({&rsa1()});
  expect_error(verify(rsa1().sign(payload(R"(,"exp":-9223372036854775808)")), keys), "JWT: expired");
  expect_error(verify(rsa1().sign(payload(R"(,"nbf":9223372036854775807)")), keys), "not valid yet");
  expect_error(verify(rsa1().sign(payload(R"(,"exp":1e300)")), keys), "not a NumericDate");
  expect_error(verify(rsa1().sign(payload(R"(,"exp":"tomorrow")")), keys), "not a NumericDate");
}

TEST(AuthJwt, KidSelectsTheKey) {
  auto keys = jwks({&rsa1(), &rsa2()});
  EXPECT_TRUE(verify(rsa2().sign(payload()), keys));
  auto token = rsa2().sign_with_header(R"({"alg":"RS256","kid":"rsa-3"})", payload());
  expect_error(verify(token, keys), "no RS256 key with kid 'rsa-3'");
}

TEST(AuthJwt, WithoutKidEveryKeyOfTheTypeIsTried) {
  auto keys = jwks({&rsa1(), &ec1(), &rsa2()});
  EXPECT_TRUE(verify(rsa2().sign_with_header(R"({"alg":"RS256"})", payload()), keys));
  EXPECT_TRUE(verify(ec1().sign_with_header(R"({"alg":"ES256"})", payload()), keys));
  expect_error(verify(rsa1().sign_with_header(R"({"alg":"RS256"})", payload()), jwks({&ec1()})),
               "no RS256 key in the JWKS");
}

TEST(AuthJwt, CritHeaderIsRejected) {
  auto token = rsa1().sign_with_header(R"({"alg":"RS256","kid":"rsa-1","crit":["b64"],"b64":false})", payload());
  expect_error(verify(token, jwks({&rsa1()})), "crit");
}

TEST(AuthJwt, MissingPermissionsClaimIsAnError) {
  auto token = rsa1().sign(R"({"sub":"alice"})");
  expect_error(verify(token, jwks({&rsa1()})), "no 'streamgate_permissions' claim");
  auto claims = verify_jwt(rsa1().sign(R"({"perms":[]})"), jwks({&rsa1()}), "perms", kNow);
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_TRUE(claims->permissions.empty());
}

TEST(AuthJwt, BadPermissionEntriesSayWhich) {
  auto keys = jwks({&rsa1()});
  auto bad = [&](std::string_view claim) {
    return verify(rsa1().sign(R"({"streamgate_permissions":)" + std::string(claim) + "}"), keys);
  };
  expect_error(bad(R"("read")"), "is not an array");
  expect_error(bad(R"([{"action":"read"},5])"), "'streamgate_permissions'[1] is not an object");
  expect_error(bad(R"([{"action":"fly"}])"), "unknown action 'fly'");
  expect_error(bad(R"([{"action":"read","path":"~("}])"), "bad path regex");
  expect_error(bad(R"([{"path":"x"}])"), "needs a string \"action\"");
  auto ok = bad(R"([{"action":"api"}])");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_TRUE(ok->permissions[0].covers(Action::ApiWrite, ""));
}

TEST(AuthJwt, MalformedTokensAreRejectedWithoutQuotingThem) {
  auto keys = jwks({&rsa1()});
  const std::string good = rsa1().sign(payload());
  for (const std::string& bad : std::vector<std::string>{"", "abc", "a.b", good + ".x", good + "=", "e30.e30.",
                                                         "!!!.e30.e30", std::string(kMaxJwtSize + 1, 'a')}) {
    auto r = verify(bad, keys);
    ASSERT_FALSE(r) << bad;
    if (bad.size() > 8) {
      EXPECT_EQ(r.error().find(bad.substr(0, 8)), std::string::npos) << r.error();
    }
  }
}

TEST(AuthJwt, SubjectIssuerAndAudienceAreReported) {
  auto claims = verify(rsa1().sign(payload(R"(,"iss":"https://idp","aud":["a","b"])")), jwks({&rsa1()}));
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->issuer, "https://idp");
  EXPECT_EQ(claims->audience, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace sg::auth
