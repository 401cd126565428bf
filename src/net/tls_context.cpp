#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <fstream>

#include "app/log.hpp"

namespace sg::net {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only (Mozilla "intermediate"). TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

}  // namespace

Result<std::shared_ptr<SslContext>> make_server_context(const std::string& cert_file, const std::string& key_file) {
  for (const auto* f : {&cert_file, &key_file}) {
    if (f->empty()) return make_error(std::string("TLS: no ") + (f == &cert_file ? "certificate" : "key") + " file");
    if (!std::ifstream(*f).good()) return make_error("TLS: cannot read '" + *f + "'");
  }
  auto ctx = std::make_shared<SslContext>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) return make_error("TLS: cipher list rejected");
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return make_error("TLS: certificate '" + cert_file + "': " + openssl_error(ec));
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  // OpenSSL checks here that the key belongs to the certificate ("key values mismatch").
  if (ec) return make_error("TLS: key '" + key_file + "' for certificate '" + cert_file + "': " + openssl_error(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return make_error("TLS: key '" + key_file + "' does not match certificate '" + cert_file + "'");
  }
  return ctx;
}

TlsContext::TlsContext(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

TlsContext::~TlsContext() { stop(); }

Result<std::unique_ptr<TlsContext>> TlsContext::load(std::string cert_file, std::string key_file) {
  std::unique_ptr<TlsContext> t(new TlsContext(std::move(cert_file), std::move(key_file)));
  auto before = t->stamps();
  auto ctx = make_server_context(t->cert_file_, t->key_file_);
  if (!ctx) return make_error(ctx.error());
  t->current_ = std::move(*ctx);
  t->loaded_ = t->attempted_ = before;
  return t;
}

std::shared_ptr<SslContext> TlsContext::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

uint64_t TlsContext::reloads() const {
  std::lock_guard lk(mu_);
  return reloads_;
}

TlsContext::Stamps TlsContext::stamps() const {
  auto stamp = [](const std::string& path) {
    FileStamp s;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      s.size = static_cast<int64_t>(st.st_size);
      s.inode = static_cast<uint64_t>(st.st_ino);
    }
    return s;
  };
  return {stamp(cert_file_), stamp(key_file_)};
}

bool TlsContext::reload_if_changed() {
  auto now = stamps();
  {
    std::lock_guard lk(mu_);
    if (now == loaded_ || now == attempted_) return false;
    attempted_ = now;
  }
  auto ctx = make_server_context(cert_file_, key_file_);
  if (!ctx) {
    log::warn("TLS certificate reload failed; keeping the previous certificate", {{"error", ctx.error()}});
    return false;
  }
  {
    std::lock_guard lk(mu_);
    current_ = std::move(*ctx);
    loaded_ = now;
    ++reloads_;
  }
  log::info("TLS certificate reloaded", {{"cert", cert_file_}, {"key", key_file_}});
  return true;
}

void TlsContext::watch(std::chrono::milliseconds interval) {
  if (interval.count() <= 0 || watcher_.joinable()) return;
  // Its own thread: reading files is blocking work, kept off the workers.
  watcher_ = std::thread([this, interval] {
    std::unique_lock lk(watch_mu_);
    while (!watch_cv_.wait_for(lk, interval, [this] { return stopping_; })) {
      lk.unlock();
      reload_if_changed();
      lk.lock();
    }
  });
}

void TlsContext::stop() {
  {
    std::lock_guard lk(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace sg::net
