#include "webrtc/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include <cctype>

namespace sg::webrtc {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "no OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  std::string s;
  for (unsigned int i = 0; i < n; ++i) s += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return s;
}

BIO_METHOD* datagram_method() {
  // A write-only BIO that keeps each write as one datagram (memory BIOs would merge a whole flight).
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sg-dtls-out");
    return m;
  }();
  return method;
}

int verify_any(int, X509_STORE_CTX*) { return 1; }  // checked against the SDP fingerprint after the handshake

}  // namespace

Result<std::shared_ptr<Certificate>> Certificate::generate(const std::string& common_name) {
  std::shared_ptr<Certificate> c(new Certificate());
  c->key_ = EVP_EC_gen("P-256");
  if (!c->key_) return make_error("DTLS: cannot generate P-256 key: " + openssl_error());
  c->cert_ = X509_new();
  if (!c->cert_) return make_error("DTLS: X509_new failed");
  X509_set_version(c->cert_, 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c->cert_), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(c->cert_), -86400);
  X509_gmtime_adj(X509_getm_notAfter(c->cert_), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(c->cert_);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(c->cert_, name);
  X509_set_pubkey(c->cert_, c->key_);
  if (X509_sign(c->cert_, c->key_, EVP_sha256()) <= 0) return make_error("DTLS: cannot sign certificate: " + openssl_error());
  c->fingerprint_ = sha256_fingerprint(c->cert_);
  return c;
}

Certificate::~Certificate() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

int DtlsTransport::bio_write(BIO* bio, const char* data, int len) {
  auto* self = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (!self || len < 0) return -1;
  self->out_.emplace_back(reinterpret_cast<const std::byte*>(data), reinterpret_cast<const std::byte*>(data) + len);
  return len;
}

long DtlsTransport::bio_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return 1200;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    default:
      return 0;
  }
}

Result<std::unique_ptr<DtlsTransport>> DtlsTransport::create(DtlsRole role, std::shared_ptr<Certificate> cert,
                                                             std::string expected_remote_fingerprint) {
  std::unique_ptr<DtlsTransport> t(new DtlsTransport());
  t->role_ = role;
  t->cert_ = std::move(cert);
  // RFC 8122 5: the hex digits are compared case-insensitively (pion writes them in lowercase, browsers in uppercase).
  t->expected_fingerprint_ = std::move(expected_remote_fingerprint);
  for (auto& c : t->expected_fingerprint_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const bool method_ready = [] {
    BIO_METHOD* m = datagram_method();
    BIO_meth_set_write(m, &DtlsTransport::bio_write);
    BIO_meth_set_ctrl(m, &DtlsTransport::bio_ctrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return true;
  }();
  (void)method_ready;
  t->ctx_ = SSL_CTX_new(DTLS_method());
  if (!t->ctx_) return make_error("DTLS: SSL_CTX_new failed: " + openssl_error());
  SSL_CTX_set_min_proto_version(t->ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(t->ctx_, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(t->ctx_, t->cert_->cert()) != 1 || SSL_CTX_use_PrivateKey(t->ctx_, t->cert_->key()) != 1)
    return make_error("DTLS: cannot use certificate: " + openssl_error());
  SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
  SSL_CTX_set_cipher_list(t->ctx_, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
  // RFC 5764 4.1.2; tls_use_srtp returns 0 on success.
  if (SSL_CTX_set_tlsext_use_srtp(t->ctx_, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
    return make_error("DTLS: cannot enable use_srtp: " + openssl_error());
  SSL_CTX_set_read_ahead(t->ctx_, 1);
  t->ssl_ = SSL_new(t->ctx_);
  if (!t->ssl_) return make_error("DTLS: SSL_new failed: " + openssl_error());
  t->in_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(t->in_, -1);
  BIO* out = BIO_new(datagram_method());
  if (!t->in_ || !out) return make_error("DTLS: BIO_new failed");
  BIO_set_data(out, t.get());
  SSL_set_bio(t->ssl_, t->in_, out);
  SSL_set_options(t->ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(t->ssl_, 1200);
  DTLS_set_link_mtu(t->ssl_, 1200);
  if (role == DtlsRole::Server) {
    SSL_set_accept_state(t->ssl_);
  } else {
    SSL_set_connect_state(t->ssl_);
  }
  return t;
}

DtlsTransport::~DtlsTransport() {
  if (ssl_) SSL_free(ssl_);  // frees both BIOs
  if (ctx_) SSL_CTX_free(ctx_);
}

void DtlsTransport::start() {
  if (role_ == DtlsRole::Client && !connected_) (void)after_io(SSL_do_handshake(ssl_));
}

Status DtlsTransport::feed(Bytes datagram) {
  if (closed_) return make_error("DTLS: closed");
  if (datagram.empty() || datagram.size() > 65535) return make_error("DTLS: bad datagram size");
  BIO_write(in_, datagram.data(), static_cast<int>(datagram.size()));
  if (!connected_) return after_io(SSL_do_handshake(ssl_));
  // After the handshake only alerts and retransmitted finished messages arrive; SSL_read processes them.
  char buf[2048];
  int r;
  while ((r = SSL_read(ssl_, buf, sizeof buf)) > 0) {
  }
  return after_io(r);
}

Status DtlsTransport::after_io(int ret) {
  if (!connected_ && ret == 1 && SSL_is_init_finished(ssl_)) return on_connected();
  int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_NONE:
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      if (!connected_ && SSL_is_init_finished(ssl_)) return on_connected();
      return Ok{};
    case SSL_ERROR_ZERO_RETURN:
      closed_ = true;
      return make_error("DTLS: peer closed (close_notify)");
    default:
      closed_ = true;
      return make_error("DTLS: " + openssl_error());
  }
}

Status DtlsTransport::on_connected() {
  connected_ = true;
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) {
    closed_ = true;
    return make_error("DTLS: peer sent no certificate");
  }
  std::string fp = sha256_fingerprint(peer);
  X509_free(peer);
  if (!expected_fingerprint_.empty() && fp != expected_fingerprint_) {
    closed_ = true;
    return make_error("DTLS: peer certificate fingerprint " + fp + " does not match the SDP");
  }
  const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_);
  if (!p) {
    closed_ = true;
    return make_error("DTLS: no SRTP profile negotiated");
  }
  size_t key_len = 16, salt_len = 0;
  if (p->id == SRTP_AES128_CM_SHA1_80) {
    keys_.profile = SrtpProfile::Aes128CmSha1_80;
    salt_len = 14;
  } else if (p->id == SRTP_AEAD_AES_128_GCM) {
    keys_.profile = SrtpProfile::AeadAes128Gcm;
    salt_len = 12;
  } else {
    closed_ = true;
    return make_error(fmt::format("DTLS: unsupported SRTP profile {}", p->name));
  }
  // RFC 5764 4.2: client key | server key | client salt | server salt.
  std::vector<unsigned char> km(2 * (key_len + salt_len));
  static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, km.data(), km.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
    closed_ = true;
    return make_error("DTLS: keying material export failed");
  }
  auto part = [&](size_t off, size_t n) { return ByteVector(reinterpret_cast<std::byte*>(km.data() + off), reinterpret_cast<std::byte*>(km.data() + off + n)); };
  ByteVector client = part(0, key_len), server = part(key_len, key_len);
  ByteVector client_salt = part(2 * key_len, salt_len), server_salt = part(2 * key_len + salt_len, salt_len);
  client.insert(client.end(), client_salt.begin(), client_salt.end());
  server.insert(server.end(), server_salt.begin(), server_salt.end());
  if (role_ == DtlsRole::Server) {
    keys_.local = std::move(server);
    keys_.remote = std::move(client);
  } else {
    keys_.local = std::move(client);
    keys_.remote = std::move(server);
  }
  return Ok{};
}

std::vector<ByteVector> DtlsTransport::take_datagrams() { return std::exchange(out_, {}); }

std::optional<std::chrono::milliseconds> DtlsTransport::handle_timeout() {
  if (connected_ || closed_) return std::nullopt;
  struct timeval tv {};
  if (DTLSv1_get_timeout(ssl_, &tv) == 1 && tv.tv_sec == 0 && tv.tv_usec == 0) DTLSv1_handle_timeout(ssl_);
  if (DTLSv1_get_timeout(ssl_, &tv) == 1)
    return std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
  return std::nullopt;
}

}  // namespace sg::webrtc
