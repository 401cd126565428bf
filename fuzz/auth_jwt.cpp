// Fuzzes JWT verification and JWKS parsing. The first byte picks what the rest is:
//   0: a token, verified against a fixed JWKS (one RSA, one P-256 key);
//   1: a JWKS, parsed, then a fixed token verified against it;
//   2: a JWT payload, signed ES256 with the fixed P-256 key and verified, which reaches the claims parser; a
//      signature made by the right key must never be reported bad.
// The private keys below are test keys made for this file (openssl genpkey); they protect nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../tests/support/jwt_maker.hpp"
#include "auth/jwt.hpp"

namespace {

constexpr std::string_view kEcPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7EZtNuIeaXPQojnn
N4u58QRT4PZXqn1Adb/uOHzLE/yhRANCAATGx53dNX9g61UxSEXs2FqmXYH0CH8s
W6CcHbPA1yzq+i1aiUmTL0PFhCTbNmPfRR3Qeki8znUppOB4AOux/uXt
-----END PRIVATE KEY-----
)";

constexpr std::string_view kRsaPem = R"(-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDNwFvXMsn0vMAE
Y+nTj7pjz0EwIu2+7AmgWeajVAfPY2/L2inW6bJxdOW2VrNYAs6Ca7bCsft1T4SW
/WmgWYwWhzLEe4lv8xDygTbbZP5Nwk3TxMi3aNLQ4QfO7JvKEbtOg6KatElahcYK
AOEuyOjQq/1lJK7BRbwAW80QKtgsZKu45kYeRMCXklwF4TDwsBULcOiSrLpDXf+u
/VTFykB7qRR1Fp/w+u72sDg/e7PG3k0jUrUVeAYKGk5eO8dZa3MR6UCC/7/Rk8Se
EW9pFi8CfVomrRekQsT4OSa+3bn7R9qnUvVUQV/kuQ9SKdjMWASDz6af5ZL5RXjM
T8CAeGnfAgMBAAECggEADEtrlhOuuEwh84XHwLwqXUOb6gdzJbx4LRM2v/ScNbi6
sMC5lnR0y7HxP35+hCX37fQHywWv72gwA2G+m+zCfToiGlYlvwE42wchVVOyU6QL
I/EXWVrqmpj+pgYMDSE7jDjNvntnuZLlGrzHk134CBOKWuWXif8IVQyU/DcMVmvM
60mGhsaMaUisq/Js8ax3y4rTnLAq+V5vHJq6AM6vMlOqQu/buG71JEmzM6igx1uA
ATdlNQzlwUrPnzqKzO+lXG31fTU+Z54zcFGeI6Ac2O1bPv62MDbaMRMskluTC45e
jzdWBKsnP4ygcLhI804bXxrDmwkyG3wexnFzMeyr0QKBgQD5OgQM3+bbzG/pZjx7
IMn+AeYazVni6DKIWOPh9BV0AHlimERgpf5bVepm2DVW5lWxM264JYkwF2A4Jtmr
/kLX3GndVGbn8SMLbjezPnDrXrGqFmVtzCrB0uRTjMPOQacu+iM/AXHT66SEnnFm
H2vzEgvKFqZ6IUqQtgUny0XhqQKBgQDTV92miFx4rCJPgc83qy4sGsTJYEGwh0JC
JBU5n1qksERN1Z9pU2JqC7N7dIc1rwx00UCb45b7MmhLl+ftdnkTmQRnJjzdRi65
Okcw9VVg7rmRnYeQqaQJicgkkz3UXFOEP3R1DjKpw5P6PRwaeIm5tnhLIyaccifK
LQtVDYy0RwKBgQCbzlw33EYMBSu1gzeuVhpRVMiQ2u4lv7nPqZqVaK18vsskC0M8
FKoGWZjXwLTf5dGOnTPLpZO1X/fEQu1z69nH70CzoI9Q01xwSfBCe3fGfYWeaq/w
S2Izl+8sGGVU7ZBh+vjL69BIhxlr203TZTNsW0zJgw2CbouaGmDwttCyOQKBgD22
fZnAXcg683XmAN1Plhb45herjOMATB/GK5B88NoAQqG7zGXUHHu82PcmysipSeje
pZAfwBmv2Xahb+8OVkKbvwZjywgOE1yxINKyAPFiJDvaFRjwAF9spU3Q1RAquZR3
dwkrUS3zV0WODKPKKOVa2/uM0xyB1Q6bYqC+aSTHAoGBAI/fU6O5TYqDR1rYAzEm
IuDPbf0MudVYTVTAykU8WJe8jAE8c1QXp1W86qIrzpncfCgWDoxFIJgYqEmfJAka
hiUvf2YKo68RaOlz78YsmLzqdZmgXT0dG0VObXdmgZNJ9qwcNxeviZKKqmWL0Cfl
D6Z7QfzLfhictRShyyn+Ur+v
-----END PRIVATE KEY-----
)";

constexpr int64_t kNow = 1'800'000'000;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Fixture {
  sg::test::JwtKey ec = sg::test::JwtKey::from_pem("ec-1", kEcPem);
  sg::test::JwtKey rsa = sg::test::JwtKey::from_pem("rsa-1", kRsaPem);
  sg::auth::Jwks jwks = sg::auth::Jwks::parse(sg::test::jwks_json({&ec, &rsa})).value();
  std::string rsa_token = rsa.sign(R"({"sub":"a","streamgate_permissions":[{"action":"read","path":"cam1"}]})");
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& f = fixture();
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)sg::auth::verify_jwt(rest, f.jwks, sg::auth::kDefaultPermissionsClaim, kNow);
      break;
    case 1:
      if (auto jwks = sg::auth::Jwks::parse(rest))
        (void)sg::auth::verify_jwt(f.rsa_token, *jwks, sg::auth::kDefaultPermissionsClaim, kNow);
      break;
    default: {
      if (rest.size() > 4096) break;
      auto claims = sg::auth::verify_jwt(f.ec.sign(rest), f.jwks, sg::auth::kDefaultPermissionsClaim, kNow);
      check(claims.ok() || claims.error() != "JWT: bad signature");
      break;
    }
  }
  return 0;
}
