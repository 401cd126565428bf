// DTLS-SRTP between two of our own DtlsTransports (client and server) over an in-memory "network": the handshake
// completes, both export the same SRTP keys, and SRTP made with them round-trips a packet.
#include <gtest/gtest.h>

#include "webrtc/dtls.hpp"
#include "webrtc/srtp.hpp"

namespace sg::webrtc {
namespace {

// Moves datagrams both ways until neither side has anything to send.
void pump(DtlsTransport& client, DtlsTransport& server, int rounds = 20) {
  for (int i = 0; i < rounds; ++i) {
    auto c = client.take_datagrams();
    auto s = server.take_datagrams();
    if (c.empty() && s.empty()) return;
    for (auto& d : c) ASSERT_TRUE(server.feed(d)) << "server";
    for (auto& d : s) ASSERT_TRUE(client.feed(d)) << "client";
  }
}

TEST(Dtls, CertificateHasSha256Fingerprint) {
  auto cert = Certificate::generate();
  ASSERT_TRUE(cert) << cert.error();
  EXPECT_EQ((*cert)->fingerprint_sha256().size(), 32u * 3 - 1);
}

TEST(Dtls, LoopbackHandshakeExportsMatchingSrtpKeys) {
  auto server_cert = Certificate::generate();
  auto client_cert = Certificate::generate();
  ASSERT_TRUE(server_cert && client_cert);
  auto server = DtlsTransport::create(DtlsRole::Server, *server_cert, (*client_cert)->fingerprint_sha256());
  auto client = DtlsTransport::create(DtlsRole::Client, *client_cert, (*server_cert)->fingerprint_sha256());
  ASSERT_TRUE(server && client);
  (*client)->start();
  pump(**client, **server);
  ASSERT_TRUE((*server)->connected());
  ASSERT_TRUE((*client)->connected());
  const auto& sk = (*server)->srtp_keys();
  const auto& ck = (*client)->srtp_keys();
  EXPECT_EQ(sk.profile, SrtpProfile::AeadAes128Gcm);  // our preferred profile when both offer it
  EXPECT_EQ(sk.local, ck.remote);
  EXPECT_EQ(sk.remote, ck.local);
  EXPECT_NE(sk.local, sk.remote);
  EXPECT_EQ(sk.local.size(), 28u);

  auto tx = SrtpSession::create(sk.profile, sk.local, SrtpSession::Direction::Outbound);
  auto rx = SrtpSession::create(ck.profile, ck.remote, SrtpSession::Direction::Inbound);
  ASSERT_TRUE(tx && rx);
  ByteVector pkt = from_hex("80e00001000000640000abcd0102030405060708");
  ByteVector original = pkt;
  pkt.resize(pkt.size() + kSrtpMaxTrailer);
  auto n = (*tx)->protect_rtp(pkt.data(), original.size());
  ASSERT_TRUE(n) << n.error();
  EXPECT_GT(*n, original.size());
  auto m = (*rx)->unprotect_rtp(pkt.data(), *n);
  ASSERT_TRUE(m) << m.error();
  pkt.resize(*m);
  EXPECT_EQ(pkt, original);
}

TEST(Dtls, LowercaseSdpFingerprintMatches) {
  auto server_cert = Certificate::generate();
  auto client_cert = Certificate::generate();
  ASSERT_TRUE(server_cert && client_cert);
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  auto server = DtlsTransport::create(DtlsRole::Server, *server_cert, lower((*client_cert)->fingerprint_sha256()));
  auto client = DtlsTransport::create(DtlsRole::Client, *client_cert, lower((*server_cert)->fingerprint_sha256()));
  ASSERT_TRUE(server && client);
  (*client)->start();
  pump(**client, **server);
  EXPECT_TRUE((*server)->connected());
  EXPECT_TRUE((*client)->connected());
}

TEST(Dtls, HandshakeFailsOnFingerprintMismatch) {
  auto server_cert = Certificate::generate();
  auto client_cert = Certificate::generate();
  ASSERT_TRUE(server_cert && client_cert);
  auto server = DtlsTransport::create(DtlsRole::Server, *server_cert, "00:11:22");
  auto client = DtlsTransport::create(DtlsRole::Client, *client_cert);
  ASSERT_TRUE(server && client);
  (*client)->start();
  bool failed = false;
  for (int i = 0; i < 20 && !failed; ++i) {
    for (auto& d : (*client)->take_datagrams()) failed |= !(*server)->feed(d);
    for (auto& d : (*server)->take_datagrams()) (void)(*client)->feed(d);
  }
  EXPECT_TRUE(failed);
}

TEST(Dtls, GarbageRecordsFailWithoutCrashing) {
  auto cert = Certificate::generate();
  ASSERT_TRUE(cert);
  auto server = DtlsTransport::create(DtlsRole::Server, *cert);
  ASSERT_TRUE(server);
  ByteVector junk = from_hex("16fefd00000000000000000005deadbeef00");
  (void)(*server)->feed(junk);
  EXPECT_FALSE((*server)->connected());
}

TEST(Dtls, ClientRetransmitsAfterTimeout) {
  auto cert = Certificate::generate();
  ASSERT_TRUE(cert);
  auto client = DtlsTransport::create(DtlsRole::Client, *cert);
  ASSERT_TRUE(client);
  (*client)->start();
  EXPECT_EQ((*client)->take_datagrams().size(), 1u);
  auto next = (*client)->handle_timeout();
  ASSERT_TRUE(next);
  EXPECT_GT(next->count(), 0);
}

}  // namespace
}  // namespace sg::webrtc
