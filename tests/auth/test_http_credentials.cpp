#include <gtest/gtest.h>

#include <string>

#include "auth/http_credentials.hpp"

namespace sg::auth {
namespace {

// "Basic " + base64("alice:open sesame"), as curl -u 'alice:open sesame' sends it.
constexpr std::string_view kBasicAlice = "Basic YWxpY2U6b3BlbiBzZXNhbWU=";

TEST(AuthHttpCredentials, BasicGivesUserAndPassword) {
  auto c = credentials_from_http(kBasicAlice, "/cam1/index.m3u8");
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "open sesame");
  EXPECT_EQ(c.token, "");
}

TEST(AuthHttpCredentials, BasicSplitsAtTheFirstColon) {
  auto c = credentials_from_http("basic dTpwOmE6Yg==", "/");  // "u:p:a:b"
  EXPECT_EQ(c.user, "u");
  EXPECT_EQ(c.password, "p:a:b");
}

TEST(AuthHttpCredentials, BasicWithEmptyUserKeepsThePassword) {
  auto c = credentials_from_http("Basic OnNlY3JldA==", "/");  // ":secret"
  EXPECT_EQ(c.user, "");
  EXPECT_EQ(c.password, "secret");
}

TEST(AuthHttpCredentials, BearerGivesTheToken) {
  auto c = credentials_from_http("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "/");
  EXPECT_EQ(c.token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
  EXPECT_TRUE(c.user.empty() && c.password.empty());
}

TEST(AuthHttpCredentials, QueryGivesPercentDecodedUserAndPassword) {
  auto c = credentials_from_http("", "/cam1/whep?user=bob%40home&pass=a%26b+c%3D&other=1");
  EXPECT_EQ(c.user, "bob@home");
  EXPECT_EQ(c.password, "a&b c=");
}

TEST(AuthHttpCredentials, QueryJwtGivesTheToken) {
  auto c = credentials_from_http("", "/cam1/index.m3u8?jwt=abc.def.ghi#frag");
  EXPECT_EQ(c.token, "abc.def.ghi");
}

TEST(AuthHttpCredentials, HeaderWinsOverQuery) {
  auto c = credentials_from_http(kBasicAlice, "/x?user=bob&pass=pw&jwt=t");
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "open sesame");
  EXPECT_EQ(c.token, "");
}

TEST(AuthHttpCredentials, UnusableHeaderFallsBackToQuery) {
  auto c = credentials_from_http("Digest username=\"x\"", "/x?jwt=t");
  EXPECT_EQ(c.token, "t");
  EXPECT_EQ(c.user, "");
}

TEST(AuthHttpCredentials, MalformedInputGivesEmptyCredentials) {
  for (auto header : {"", "Basic", "Basic ", "Basic !!!!", "Basic bm9jb2xvbg==", "Bearer", "Bearer a b", "Bearer ",
                      "Negotiate abc", "\x01\xff"})
    EXPECT_TRUE(credentials_from_http(header, "/path").empty()) << header;
  for (auto target : {"", "?", "/?user", "/?=x", "/?pass=%", "/?pass=%zz", "/?jwt=%4", "&&&"})
    EXPECT_TRUE(credentials_from_http("", target).empty()) << target;
}

TEST(AuthHttpCredentials, BadEscapeEmptiesOnlyThatField) {
  auto c = credentials_from_http("", "/?user=bob&pass=%zz");
  EXPECT_EQ(c.user, "bob");
  EXPECT_EQ(c.password, "");
}

TEST(AuthHttpCredentials, FirstOccurrenceOfAParameterCounts) {
  auto c = credentials_from_http("", "/?user=a&user=b");
  EXPECT_EQ(c.user, "a");
}

// The credentials in a playlist's URL, for its URIs: only jwt/user/pass, first occurrence, re-encoded so that nothing
// but unreserved characters and escapes reaches the playlist text.
TEST(AuthHttpCredentials, CredentialQueryKeepsOnlyCredentialsReencoded) {
  EXPECT_EQ(credential_query("/cam/index.m3u8"), "");
  EXPECT_EQ(credential_query("/cam/index.m3u8?_HLS_msn=3&x=1"), "");
  EXPECT_EQ(credential_query("/cam/index.m3u8?jwt=eyJ.a-b_c.d~e&_HLS_msn=3"), "jwt=eyJ.a-b_c.d~e");
  EXPECT_EQ(credential_query("/cam/stream.m3u8?pass=p%40ss+word&user=al%22ice&user=second"),
            "user=al%22ice&pass=p%40ss%20word");
  EXPECT_EQ(credential_query("/cam/index.m3u8?jwt=a\"b\nc"), "jwt=a%22b%0Ac");
  EXPECT_EQ(credential_query("/cam/index.m3u8?jwt="), "");
}

}  // namespace
}  // namespace sg::auth
