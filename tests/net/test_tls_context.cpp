// net::TlsContext: what a server context accepts, the errors for bad files, and reloading on file changes.
// Certificates are made with the openssl CLI in the test's temp dir.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "net/tls_context.hpp"

namespace sg::net {
namespace {

namespace fs = std::filesystem;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
    dir_ = ::testing::TempDir() + "sg_tls_ctx_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    make_pair("a");
    make_pair("b");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void make_pair(const std::string& name) {
    std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" + name +
                      " -keyout " + path(name + ".key") + " -out " + path(name + ".pem") + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  // Replaces `to` by a copy of `from` the way renewals do: write aside, then rename over.
  void replace(const std::string& from, const std::string& to) {
    fs::copy_file(path(from), path(to + ".tmp"), fs::copy_options::overwrite_existing);
    fs::rename(path(to + ".tmp"), path(to));
  }
  static std::string subject(const std::shared_ptr<SslContext>& ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx->native_handle());
    char buf[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
  }

  std::string dir_;
};

TEST_F(TlsContextTest, ServerContextAllowsTls12AndUpWithServerCipherOrderAndNoRenegotiation) {
  auto ctx = make_server_context(path("a.pem"), path("a.key"));
  ASSERT_TRUE(ctx) << ctx.error();
  SSL_CTX* native = (*ctx)->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  auto options = SSL_CTX_get_options(native);
  EXPECT_TRUE(options & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  // TLS 1.2 suites: ECDHE key exchange with AEAD only (TLS 1.3 suites are AEAD by definition).
  SSL* ssl = SSL_new(native);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(ssl);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) continue;  // a TLS 1.3 suite
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
  }
  SSL_free(ssl);
}

TEST_F(TlsContextTest, MissingFileIsAnErrorNamingIt) {
  auto ctx = make_server_context(path("nope.pem"), path("a.key"));
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("cannot read '" + path("nope.pem") + "'"), std::string::npos) << ctx.error();
  auto loaded = TlsContext::load(path("a.pem"), path("nope.key"));
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find(path("nope.key")), std::string::npos) << loaded.error();
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsAnErrorNamingBothFiles) {
  auto ctx = make_server_context(path("a.pem"), path("b.key"));
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("mismatch"), std::string::npos) << ctx.error();
  EXPECT_NE(ctx.error().find(path("b.key")), std::string::npos) << ctx.error();
  EXPECT_NE(ctx.error().find(path("a.pem")), std::string::npos) << ctx.error();
}

TEST_F(TlsContextTest, NotPemIsAnErrorNamingTheFile) {
  std::ofstream(path("junk.pem")) << "not a certificate\n";
  auto ctx = make_server_context(path("junk.pem"), path("a.key"));
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("certificate '" + path("junk.pem") + "'"), std::string::npos) << ctx.error();
}

TEST_F(TlsContextTest, ChangedFilesSwapInANewContextAndOpenHoldersKeepTheOld) {
  replace("a.pem", "cert.pem");
  replace("a.key", "key.pem");
  auto tls = TlsContext::load(path("cert.pem"), path("key.pem"));
  ASSERT_TRUE(tls) << tls.error();
  auto first = (*tls)->current();
  EXPECT_EQ(subject(first), "/CN=a");
  EXPECT_FALSE((*tls)->reload_if_changed());  // unchanged files: nothing to do
  replace("b.pem", "cert.pem");
  replace("b.key", "key.pem");
  EXPECT_TRUE((*tls)->reload_if_changed());
  EXPECT_EQ(subject((*tls)->current()), "/CN=b");
  EXPECT_EQ(subject(first), "/CN=a");  // a connection holding the old context still has it
  EXPECT_EQ((*tls)->reloads(), 1u);
  EXPECT_FALSE((*tls)->reload_if_changed());
}

TEST_F(TlsContextTest, BrokenNewFilesKeepTheOldContextAndAreTriedOncePerChange) {
  replace("a.pem", "cert.pem");
  replace("a.key", "key.pem");
  auto tls = TlsContext::load(path("cert.pem"), path("key.pem"));
  ASSERT_TRUE(tls) << tls.error();
  auto first = (*tls)->current();
  replace("b.pem", "cert.pem");  // the key is still a's: a mismatched pair
  EXPECT_FALSE((*tls)->reload_if_changed());
  EXPECT_EQ((*tls)->current(), first);
  EXPECT_FALSE((*tls)->reload_if_changed());
  replace("b.key", "key.pem");  // the pair is complete
  EXPECT_TRUE((*tls)->reload_if_changed());
  EXPECT_EQ(subject((*tls)->current()), "/CN=b");
}

TEST_F(TlsContextTest, WatcherReloadsWithinItsInterval) {
  replace("a.pem", "cert.pem");
  replace("a.key", "key.pem");
  auto tls = TlsContext::load(path("cert.pem"), path("key.pem"));
  ASSERT_TRUE(tls) << tls.error();
  (*tls)->watch(std::chrono::milliseconds(20));
  replace("b.pem", "cert.pem");
  replace("b.key", "key.pem");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((*tls)->reloads() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(subject((*tls)->current()), "/CN=b");
  (*tls)->stop();
}

}  // namespace
}  // namespace sg::net
