#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "captures.hpp"
#include "rtsp/auth.hpp"

namespace sg::rtsp {
namespace {

// RFC 2617 3.5 worked example.
constexpr std::string_view kRfcChallenge =
    "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n"
    " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
constexpr std::string_view kRfcAuthorization =
    "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
    "uri=\"/dir/index.html\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
    "response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

std::string param(std::string_view header, std::string_view name) {
  auto a = parse_authorization(header);
  if (!a) return "<" + a.error() + ">";
  if (name == "response") return a->response;
  if (name == "nc") return a->nc;
  if (name == "cnonce") return a->cnonce;
  if (name == "uri") return a->uri;
  if (name == "opaque") return a->opaque;
  if (name == "qop") return a->qop;
  return "?";
}

TEST(RtspAuth, Md5MatchesKnownDigest) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("Mufasa:testrealm@host.com:Circle Of Life"), "939e7578ed9e3c518a452acee763bce9");
}

TEST(RtspAuth, Rfc2617ChallengeIsParsed) {
  auto cs = parse_challenges(kRfcChallenge);
  ASSERT_TRUE(cs) << cs.error();
  ASSERT_EQ(cs->size(), 1u);
  const auto& c = cs->front();
  EXPECT_EQ(c.scheme, AuthScheme::Digest);
  EXPECT_EQ(c.realm, "testrealm@host.com");
  EXPECT_EQ(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
  EXPECT_EQ(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_EQ(c.qop, "auth,auth-int");
  EXPECT_TRUE(c.qop_auth);
}

TEST(RtspAuth, ClientReproducesRfc2617Response) {
  auto c = parse_challenges(kRfcChallenge);
  ASSERT_TRUE(c);
  ClientAuth client(c->front(), "Mufasa", "Circle Of Life");
  auto header = client.authorization("GET", "/dir/index.html", "0a4f113b");
  EXPECT_EQ(param(header, "response"), "6629fae49393a05397450978507c4ef1");
  EXPECT_EQ(param(header, "nc"), "00000001");
  EXPECT_EQ(param(header, "opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_EQ(param(header, "qop"), "auth");
}

TEST(RtspAuth, ClientCountsNonces) {
  auto c = parse_challenges(kRfcChallenge);
  ASSERT_TRUE(c);
  ClientAuth client(c->front(), "Mufasa", "Circle Of Life");
  auto first = client.authorization("GET", "/dir/index.html");
  auto second = client.authorization("GET", "/dir/index.html");
  EXPECT_EQ(param(first, "nc"), "00000001");
  EXPECT_EQ(param(second, "nc"), "00000002");
  EXPECT_NE(param(first, "cnonce"), param(second, "cnonce"));
  EXPECT_EQ(client.nonce_count(), 2u);
}

TEST(RtspAuth, ServerAcceptsRfc2617Authorization) {
  ServerAuth server{"testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"};
  auto st = server.verify(kRfcAuthorization, "GET", "Mufasa", "Circle Of Life");
  EXPECT_TRUE(st) << st.error();
}

TEST(RtspAuth, ServerRejectsWrongPasswordMethodOrNonce) {
  ServerAuth server{"testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"};
  auto wrong_pass = server.verify(kRfcAuthorization, "GET", "Mufasa", "Circle of Life");
  ASSERT_FALSE(wrong_pass);
  EXPECT_EQ(wrong_pass.error(), "RTSP auth: wrong response for user 'Mufasa'");
  EXPECT_FALSE(server.verify(kRfcAuthorization, "POST", "Mufasa", "Circle Of Life"));
  auto wrong_user = server.verify(kRfcAuthorization, "GET", "Simba", "Circle Of Life");
  ASSERT_FALSE(wrong_user);
  EXPECT_EQ(wrong_user.error(), "RTSP auth: unknown user 'Mufasa'");
  ServerAuth other_nonce{"testrealm@host.com", "ffff"};
  auto stale = other_nonce.verify(kRfcAuthorization, "GET", "Mufasa", "Circle Of Life");
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error(), "RTSP auth: nonce mismatch (stale or forged)");
  ServerAuth other_realm{"x", "dcd98b7102dd2f0e8b11d0f600bfb0c093"};
  EXPECT_FALSE(other_realm.verify(kRfcAuthorization, "GET", "Mufasa", "Circle Of Life"));
}

TEST(RtspAuth, ClientReproducesFfmpegLegacyDigest) {
  auto c = parse_challenges(captures::kFfmpegDigestChallenge);
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_FALSE(c->front().qop_auth);
  ClientAuth client(c->front(), "admin", "s@cret");
  EXPECT_EQ(client.authorization("DESCRIBE", "rtsp://127.0.0.1:18556/cam1"), captures::kFfmpegDigestAuthorization);
}

TEST(RtspAuth, ServerAcceptsFfmpegLegacyDigest) {
  ServerAuth server{"streamgate", "0a4f113b9c2d4e5f"};
  EXPECT_EQ(server.challenges(), (std::vector<std::string>{std::string(captures::kFfmpegDigestChallenge)}));
  auto st = server.verify(captures::kFfmpegDigestAuthorization, "DESCRIBE", "admin", "s@cret");
  EXPECT_TRUE(st) << st.error();
  EXPECT_FALSE(server.verify(captures::kFfmpegDigestAuthorization, "DESCRIBE", "admin", "secret"));
}

TEST(RtspAuth, ClientReproducesFfmpegQopDigest) {
  auto c = parse_challenges(captures::kFfmpegDigestQopChallenge);
  ASSERT_TRUE(c) << c.error();
  ClientAuth client(c->front(), "admin", "s@cret");
  auto header = client.authorization("DESCRIBE", "rtsp://127.0.0.1:18557/cam1", "94cd87fded350a25");
  EXPECT_EQ(param(header, "response"), "fc64324f84e639c416ccec80e337d7c5");
  EXPECT_EQ(param(header, "uri"), "rtsp://127.0.0.1:18557/cam1");
}

TEST(RtspAuth, ServerAcceptsFfmpegQopDigestWithQuotedQop) {
  ServerAuth server{"IP Camera(23456)", "d41d8cd98f00b204e9800998ecf8427e"};
  server.offer_qop = true;
  auto st = server.verify(captures::kFfmpegDigestQopAuthorization, "DESCRIBE", "admin", "s@cret");
  EXPECT_TRUE(st) << st.error();
}

TEST(RtspAuth, ServerChallengesListDigestThenBasic) {
  ServerAuth server{"streamgate", "abc", true, true};
  EXPECT_EQ(server.challenges(), (std::vector<std::string>{R"(Digest realm="streamgate", nonce="abc", qop="auth")",
                                                           R"(Basic realm="streamgate")"}));
}

TEST(RtspAuth, BasicFromFfmpegIsVerifiedOnlyWhenAllowed) {
  ServerAuth server{"streamgate", "n"};
  auto refused = server.verify(captures::kFfmpegBasicAuthorization, "DESCRIBE", "admin", "s@cret");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "RTSP auth: Basic credentials not accepted");
  server.allow_basic = true;
  EXPECT_TRUE(server.verify(captures::kFfmpegBasicAuthorization, "DESCRIBE", "admin", "s@cret"));
  EXPECT_FALSE(server.verify(captures::kFfmpegBasicAuthorization, "DESCRIBE", "admin", "s@cre"));
  EXPECT_FALSE(server.verify(captures::kFfmpegBasicAuthorization, "DESCRIBE", "root", "s@cret"));
}

TEST(RtspAuth, ClientBasicMatchesFfmpeg) {
  auto c = select_challenge(std::vector<std::string_view>{R"(Basic realm="streamgate")"});
  ASSERT_TRUE(c) << c.error();
  ClientAuth client(*c, "admin", "s@cret");
  EXPECT_EQ(client.authorization("DESCRIBE", "rtsp://127.0.0.1:18558/cam1"), captures::kFfmpegBasicAuthorization);
}

TEST(RtspAuth, SelectPrefersDigestAmongSeveralHeaders) {
  std::vector<std::string_view> values = {R"(Basic realm="cam")", R"(Digest realm="cam", nonce="123")"};
  auto c = select_challenge(values);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->scheme, AuthScheme::Digest);
  EXPECT_EQ(c->nonce, "123");
}

TEST(RtspAuth, SeveralChallengesInOneHeaderAreSplit) {
  auto cs = parse_challenges(R"(Basic realm="a", Digest realm="b", nonce="n", stale=TRUE, Negotiate)");
  ASSERT_TRUE(cs) << cs.error();
  ASSERT_EQ(cs->size(), 2u);
  EXPECT_EQ(cs->at(0).scheme, AuthScheme::Basic);
  EXPECT_EQ(cs->at(0).realm, "a");
  EXPECT_EQ(cs->at(1).realm, "b");
  EXPECT_TRUE(cs->at(1).stale);
}

TEST(RtspAuth, SelectSkipsUnsupportedDigestAlgorithms) {
  std::vector<std::string_view> sha_only = {R"(Digest realm="r", nonce="n", algorithm=SHA-256)"};
  EXPECT_FALSE(select_challenge(sha_only));
  std::vector<std::string_view> sha_and_md5 = {R"(Digest realm="r", nonce="n1", algorithm=SHA-256)",
                                               R"(Digest realm="r", nonce="n2", algorithm=MD5)"};
  auto c = select_challenge(sha_and_md5);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->nonce, "n2");
  std::vector<std::string_view> auth_int_only = {R"(Digest realm="r", nonce="n", qop="auth-int")"};
  EXPECT_FALSE(select_challenge(auth_int_only));
  EXPECT_FALSE(select_challenge(std::vector<std::string_view>{}));
}

TEST(RtspAuth, QuotedValuesHonourEscapes) {
  auto cs = parse_challenges(R"(Digest realm="a \"quoted\" realm\\", nonce="n")");
  ASSERT_TRUE(cs) << cs.error();
  EXPECT_EQ(cs->front().realm, R"(a "quoted" realm\)");
  ClientAuth client(cs->front(), "u", "p");
  auto a = parse_authorization(client.authorization("OPTIONS", "*"));
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->realm, R"(a "quoted" realm\)");
}

TEST(RtspAuth, MalformedHeadersAreErrors) {
  EXPECT_FALSE(parse_challenges(R"(Digest realm="unterminated)"));
  EXPECT_FALSE(parse_challenges(R"(realm="x")"));
  EXPECT_FALSE(parse_challenges(R"(Digest realm="x")"));  // no nonce
  EXPECT_FALSE(parse_challenges(R"(Digest realm="x" nonce="y")"));
  EXPECT_FALSE(parse_challenges("Digest @"));
  EXPECT_FALSE(parse_authorization("Bearer abc"));
  EXPECT_FALSE(parse_authorization("Basic !!!"));
  EXPECT_FALSE(parse_authorization("Basic dXNlcg=="));  // "user" without ':'
  EXPECT_FALSE(parse_authorization(R"(Digest username="u", nonce="n", uri="/")"));  // no response
  EXPECT_FALSE(parse_authorization(""));
}

TEST(RtspAuth, ServerRejectsQopWithoutNonceCount) {
  ServerAuth server{"testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"};
  std::string bad(kRfcAuthorization);
  bad.replace(bad.find("nc=00000001"), 11, "nc=1");
  auto st = server.verify(bad, "GET", "Mufasa", "Circle Of Life");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "RTSP auth: qop=auth without valid nc and cnonce");
}

TEST(RtspAuth, ServerAcceptsUppercaseHexResponse) {
  ServerAuth server{"streamgate", "0a4f113b9c2d4e5f"};
  std::string upper(captures::kFfmpegDigestAuthorization);
  upper.replace(upper.find("656e5c9f6a30da6bad7664b4cacb5b2f"), 32, "656E5C9F6A30DA6BAD7664B4CACB5B2F");
  EXPECT_TRUE(server.verify(upper, "DESCRIBE", "admin", "s@cret"));
}

}  // namespace
}  // namespace sg::rtsp
