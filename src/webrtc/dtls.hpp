#pragma once
// DTLS 1.2 for DTLS-SRTP (RFC 5764) on OpenSSL without sockets: records go in with feed() and come out as
// datagrams from take_datagrams(); the caller owns the UDP socket and the retransmission timer.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;
using BIO = struct bio_st;
using EVP_PKEY = struct evp_pkey_st;
using X509 = struct x509_st;

namespace sg::webrtc {

// A self-signed ECDSA P-256 certificate made at start; its SHA-256 fingerprint goes into the SDP.
class Certificate {
 public:
  static Result<std::shared_ptr<Certificate>> generate(const std::string& common_name = "streamgate");
  ~Certificate();
  // "AB:CD:..." (RFC 8122 5), uppercase hex.
  const std::string& fingerprint_sha256() const { return fingerprint_; }
  EVP_PKEY* key() const { return key_; }
  X509* cert() const { return cert_; }

 private:
  Certificate() = default;
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string fingerprint_;
};

enum class SrtpProfile { None, Aes128CmSha1_80, AeadAes128Gcm };

struct SrtpKeys {
  SrtpProfile profile = SrtpProfile::None;
  ByteVector local;   // master key || master salt we send with
  ByteVector remote;  // master key || master salt the peer sends with
};

enum class DtlsRole { Server, Client };

class DtlsTransport {
 public:
  static Result<std::unique_ptr<DtlsTransport>> create(DtlsRole role, std::shared_ptr<Certificate> cert,
                                                       std::string expected_remote_fingerprint = {});
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Client: sends the ClientHello. Server: nothing to do until the first record arrives.
  void start();
  // One received datagram. An error means the association failed (bad fingerprint, alert, protocol error).
  Status feed(Bytes datagram);
  // Datagrams to send now (handshake flights, retransmissions, alerts).
  std::vector<ByteVector> take_datagrams();
  // Call when the retransmission timer fires (DTLSv1_handle_timeout); returns when to call it next, if at all.
  std::optional<std::chrono::milliseconds> handle_timeout();

  bool connected() const { return connected_; }
  bool closed() const { return closed_; }
  // Valid once connected (RFC 5764 4.2 key derivation).
  const SrtpKeys& srtp_keys() const { return keys_; }

 private:
  DtlsTransport() = default;
  Status after_io(int ret);
  Status on_connected();
  static int bio_write(BIO* bio, const char* data, int len);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);

  DtlsRole role_ = DtlsRole::Server;
  std::shared_ptr<Certificate> cert_;
  std::string expected_fingerprint_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;  // memory BIO we write received records into
  std::vector<ByteVector> out_;
  bool connected_ = false;
  bool closed_ = false;
  SrtpKeys keys_;
};

}  // namespace sg::webrtc
