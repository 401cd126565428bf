// Our SRTP/SRTCP (RFC 3711, RFC 7714) against the RFC 3711 test vectors and against the real libsrtp2 in both
// directions, for both profiles: plain packets, CSRCs and header extensions, ROC rollover, NACK retransmissions,
// tampering, replays, SSRC limits. Plus a protect throughput number next to libsrtp2's.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "webrtc/srtp.hpp"

namespace sg::webrtc {
namespace {

// Deterministic master key || master salt for the profile.
ByteVector master_key(SrtpProfile p, uint8_t seed = 1) {
  ByteVector k(p == SrtpProfile::AeadAes128Gcm ? 28 : 30);
  for (size_t i = 0; i < k.size(); ++i) k[i] = std::byte(static_cast<uint8_t>(seed * 37 + i * 11 + 5));
  return k;
}

// A buffer with len bytes of packet and room behind it for any trailer.
struct Packet {
  ByteVector buf;
  size_t len = 0;
  std::byte* data() { return buf.data(); }
  Bytes bytes() const { return Bytes(buf.data(), len); }
};

Packet rtp(uint16_t seq, uint32_t ssrc, size_t payload, int csrcs = 0, uint16_t ext_words = 0) {
  Packet p;
  ByteVector& b = p.buf;
  append8(b, static_cast<uint8_t>(0x80 | (ext_words ? 0x10 : 0) | csrcs));
  append8(b, 96);
  append16(b, seq);
  append32(b, seq * 3000u);
  append32(b, ssrc);
  for (int i = 0; i < csrcs; ++i) append32(b, 0xc0000000u + i);
  if (ext_words) {
    append16(b, 0xbede);
    append16(b, ext_words);
    for (uint16_t i = 0; i < ext_words; ++i) append32(b, 0x10203040u + i);
  }
  for (size_t i = 0; i < payload; ++i) append8(b, static_cast<uint8_t>(i * 7 + seq));
  p.len = b.size();
  b.resize(p.len + 64);
  return p;
}

// A sender report (RFC 3550 6.4.1) with one report block.
Packet rtcp_sr(uint32_t ssrc, uint32_t n) {
  Packet p;
  ByteVector& b = p.buf;
  append8(b, 0x81);
  append8(b, 200);
  append16(b, 12);
  append32(b, ssrc);
  for (uint32_t i = 0; i < 5; ++i) append32(b, n * 100 + i);
  for (uint32_t i = 0; i < 6; ++i) append32(b, 0xabc00000u + n + i);
  p.len = b.size();
  b.resize(p.len + 64);
  return p;
}

void init_libsrtp() {
  static srtp_err_status_t status = srtp_init();
  ASSERT_EQ(status, srtp_err_status_ok);
}

// The real libsrtp2, as the reference implementation.
class LibSrtp {
 public:
  LibSrtp(SrtpProfile profile, ByteVector key, bool outbound) : key_(std::move(key)) {
    init_libsrtp();
    srtp_policy_t policy{};
    if (profile == SrtpProfile::AeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = reinterpret_cast<unsigned char*>(key_.data());
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
  }
  ~LibSrtp() {
    if (session_) srtp_dealloc(session_);
  }
  bool protect(Packet& p) { return call(srtp_protect, p); }
  bool protect_rtcp(Packet& p) { return call(srtp_protect_rtcp, p); }
  bool unprotect(Packet& p) { return call(srtp_unprotect, p); }
  bool unprotect_rtcp(Packet& p) { return call(srtp_unprotect_rtcp, p); }

 private:
  template <class F>
  bool call(F f, Packet& p) {
    int n = static_cast<int>(p.len);
    if (f(session_, p.data(), &n) != srtp_err_status_ok) return false;
    p.len = static_cast<size_t>(n);
    return true;
  }
  ByteVector key_;
  srtp_t session_ = nullptr;
};

std::unique_ptr<SrtpSession> ours(SrtpProfile profile, ByteVector key, SrtpSession::Direction d) {
  auto s = SrtpSession::create(profile, key, d);
  EXPECT_TRUE(s) << s.error();
  return s ? std::move(*s) : nullptr;
}

bool protect(SrtpSession& s, Packet& p) {
  auto r = s.protect_rtp(p.data(), p.len);
  if (r) p.len = *r;
  return r.ok();
}
bool unprotect(SrtpSession& s, Packet& p) {
  auto r = s.unprotect_rtp(p.data(), p.len);
  if (r) p.len = *r;
  return r.ok();
}
bool protect_rtcp(SrtpSession& s, Packet& p) {
  auto r = s.protect_rtcp(p.data(), p.len);
  if (r) p.len = *r;
  return r.ok();
}
bool unprotect_rtcp(SrtpSession& s, Packet& p) {
  auto r = s.unprotect_rtcp(p.data(), p.len);
  if (r) p.len = *r;
  return r.ok();
}

using Out = SrtpSession::Direction;

// ---------------------------------------------------------------------------------------------------------------
// RFC 3711 Appendix B.

TEST(SrtpKdf, MatchesRfc3711AppendixB3) {
  auto key = from_hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  auto salt = from_hex("0EC675AD498AFEEBB6960B3AABE6");
  ByteVector enc(16), ks(14), auth(94);
  ASSERT_TRUE(detail::srtp_kdf(key, salt, 0, enc));
  ASSERT_TRUE(detail::srtp_kdf(key, salt, 2, ks));
  ASSERT_TRUE(detail::srtp_kdf(key, salt, 1, auth));
  EXPECT_EQ(to_hex(enc), "c61e7a93744f39ee10734afe3ff7a087");
  EXPECT_EQ(to_hex(ks), "30cbbc08863d8c85d49db34a9ae1");
  EXPECT_EQ(to_hex(auth),
            "cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbcee049646c43d9327ad175578ef7227098"
            "6371c10c9a369ac2f94a8c5fbcdddc256d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2");
}

TEST(SrtpKdf, RejectsWrongMasterSizes) {
  ByteVector out(16);
  EXPECT_FALSE(detail::srtp_kdf(ByteVector(15), ByteVector(14), 0, out));
  EXPECT_FALSE(detail::srtp_kdf(ByteVector(16), ByteVector(13), 0, out));
}

TEST(SrtpAesCm, KeystreamMatchesRfc3711AppendixB2) {
  auto salt = from_hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  auto iv = detail::aes_cm_iv(salt, 0, 0);
  EXPECT_EQ(to_hex(Bytes(reinterpret_cast<const std::byte*>(iv.data()), 16)), "f0f1f2f3f4f5f6f7f8f9fafbfcfd0000");
  auto key = from_hex("2B7E151628AED2A6ABF7158809CF4F3C");
  ByteVector ks(65282 * 16);  // the RFC's keystream segment
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0;
  ASSERT_EQ(EVP_EncryptInit_ex2(c, EVP_aes_128_ctr(), reinterpret_cast<const uint8_t*>(key.data()), iv.data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, reinterpret_cast<uint8_t*>(ks.data()), &n, reinterpret_cast<uint8_t*>(ks.data()),
                              static_cast<int>(ks.size())),
            1);
  EVP_CIPHER_CTX_free(c);
  EXPECT_EQ(to_hex(Bytes(ks).first(48)),
            "e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0");
  EXPECT_EQ(to_hex(Bytes(ks).last(48)),
            "ec8cdf7398607cb0f2d21675ea9ea1e4362b7c3c6773516318a077d7fc5073ae6a2cc3787889374fbeb4c81b17ba6c44");
}

TEST(SrtpAesCm, IvPlacesSsrcAndIndex) {
  ByteVector zero(14);
  auto iv = detail::aes_cm_iv(zero, 0x11223344, 0xaabbccddeeffULL);
  EXPECT_EQ(to_hex(Bytes(reinterpret_cast<const std::byte*>(iv.data()), 16)), "0000000011223344aabbccddeeff0000");
}

TEST(SrtpIndex, EstimatesRolloverPerRfc3711AppendixA) {
  EXPECT_EQ(detail::estimate_packet_index(100, 101), 101u);
  EXPECT_EQ(detail::estimate_packet_index(65535, 2), 0x10002u);             // wrapped forward
  EXPECT_EQ(detail::estimate_packet_index(0x10005, 65530), 65530u);         // late packet from before the wrap
  EXPECT_EQ(detail::estimate_packet_index(0x20000 | 40000, 1000), 0x30000u | 1000);
  EXPECT_EQ(detail::estimate_packet_index(10, 65000), std::nullopt);        // would need ROC -1
  EXPECT_EQ(detail::estimate_packet_index(0xffffffffULL << 16 | 60000, 5), std::nullopt);  // ROC overflow
}

// ---------------------------------------------------------------------------------------------------------------
// Against libsrtp2, both profiles.

class SrtpInterop : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  SrtpProfile profile() const { return GetParam(); }
  ByteVector key() const { return master_key(GetParam()); }
};

TEST_P(SrtpInterop, OursProtectLibsrtpUnprotects) {
  auto mine = ours(profile(), key(), Out::Outbound);
  LibSrtp ref(profile(), key(), false);
  for (uint16_t seq = 1000; seq < 1040; ++seq) {
    auto p = rtp(seq, 0x1234abcd, seq % 37 * 13 + (seq % 3));  // odd sizes, partial AES blocks, empty payloads
    auto orig = to_vector(p.bytes());
    ASSERT_TRUE(protect(*mine, p));
    EXPECT_EQ(p.len, orig.size() + (profile() == SrtpProfile::AeadAes128Gcm ? 16 : 10));
    if (p.len > 40) {
      EXPECT_NE(to_vector(p.bytes().first(orig.size())), orig) << "payload encrypted";
    }
    ASSERT_TRUE(ref.unprotect(p)) << seq;
    EXPECT_EQ(to_vector(p.bytes()), orig);
  }
}

TEST_P(SrtpInterop, LibsrtpProtectOursUnprotect) {
  auto mine = ours(profile(), key(), Out::Inbound);
  LibSrtp ref(profile(), key(), true);
  for (uint16_t seq = 7; seq < 47; ++seq) {
    auto p = rtp(seq, 0x55667788, seq * 31 % 1300);
    auto orig = to_vector(p.bytes());
    ASSERT_TRUE(ref.protect(p));
    ASSERT_TRUE(unprotect(*mine, p)) << seq;
    EXPECT_EQ(to_vector(p.bytes()), orig);
  }
}

TEST_P(SrtpInterop, CsrcsAndHeaderExtensionStayInTheClearAndRoundTrip) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  LibSrtp ref_in(profile(), key(), false), ref_out(profile(), key(), true);
  for (uint16_t seq = 1; seq < 20; ++seq) {
    auto p = rtp(seq, 0xfeedbeef, 100 + seq, seq % 16, static_cast<uint16_t>(seq % 4));
    auto orig = to_vector(p.bytes());
    size_t header = 12 + 4 * (seq % 16) + (seq % 4 ? 4 + 4 * (seq % 4) : 0);
    ASSERT_TRUE(protect(*mine_out, p));
    EXPECT_EQ(to_vector(p.bytes().first(header)), to_vector(Bytes(orig).first(header)));
    ASSERT_TRUE(ref_in.unprotect(p));
    EXPECT_EQ(to_vector(p.bytes()), orig);

    auto q = rtp(seq, 0xfeedbeef, 100 + seq, seq % 16, static_cast<uint16_t>(seq % 4));
    ASSERT_TRUE(ref_out.protect(q));
    ASSERT_TRUE(unprotect(*mine_in, q));
    EXPECT_EQ(to_vector(q.bytes()), orig);
  }
}

TEST_P(SrtpInterop, SrtcpBothWays) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  LibSrtp ref_in(profile(), key(), false), ref_out(profile(), key(), true);
  for (uint32_t n = 0; n < 30; ++n) {
    auto p = rtcp_sr(0x01020304 + n % 3, n);
    auto orig = to_vector(p.bytes());
    ASSERT_TRUE(protect_rtcp(*mine_out, p));
    EXPECT_EQ(p.len, orig.size() + (profile() == SrtpProfile::AeadAes128Gcm ? 20 : 14));
    ASSERT_TRUE(ref_in.unprotect_rtcp(p)) << n;
    EXPECT_EQ(to_vector(p.bytes()), orig);

    auto q = rtcp_sr(0x01020304 + n % 3, n);
    ASSERT_TRUE(ref_out.protect_rtcp(q));
    ASSERT_TRUE(unprotect_rtcp(*mine_in, q)) << n;
    EXPECT_EQ(to_vector(q.bytes()), orig);
  }
}

TEST_P(SrtpInterop, SequenceWrapIncrementsRolloverCounterOver70000Packets) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  LibSrtp ref_in(profile(), key(), false), ref_out(profile(), key(), true);
  uint16_t seq = 60000;
  for (int i = 0; i < 70000; ++i, ++seq) {
    auto p = rtp(seq, 0xabcdef01, 17);
    auto orig = to_vector(p.bytes());
    ASSERT_TRUE(protect(*mine_out, p));
    ASSERT_TRUE(ref_in.unprotect(p)) << i;
    ASSERT_EQ(to_vector(p.bytes()), orig);
    auto q = rtp(seq, 0xabcdef01, 17);
    ASSERT_TRUE(ref_out.protect(q));
    ASSERT_TRUE(unprotect(*mine_in, q)) << i;
    ASSERT_EQ(to_vector(q.bytes()), orig);
  }
}

TEST_P(SrtpInterop, RetransmittedOldSequenceNumberIsAcceptedByLibsrtp) {
  auto mine = ours(profile(), key(), Out::Outbound);
  LibSrtp ref(profile(), key(), false);
  // Sequence numbers run across the wrap; 65530 (ROC 0) is "lost" and resent after 5 (ROC 1) went out.
  uint16_t seq = 65520;
  for (int i = 0; i < 22; ++i, ++seq) {
    auto p = rtp(seq, 0x77777777, 200);
    ASSERT_TRUE(protect(*mine, p));
    if (seq != 65530) {
      ASSERT_TRUE(ref.unprotect(p)) << seq;
    }
  }
  auto again = rtp(65530, 0x77777777, 200);
  auto orig = to_vector(again.bytes());
  ASSERT_TRUE(protect(*mine, again));
  ASSERT_TRUE(ref.unprotect(again));
  EXPECT_EQ(to_vector(again.bytes()), orig);
  // And the stream carries on with the right ROC.
  auto next = rtp(seq, 0x77777777, 200);
  ASSERT_TRUE(protect(*mine, next));
  EXPECT_TRUE(ref.unprotect(next));
}

TEST_P(SrtpInterop, ProtectingTheSamePacketTwiceGivesTheSameBytes) {
  auto mine = ours(profile(), key(), Out::Outbound);
  auto a = rtp(42, 1, 300), b = rtp(42, 1, 300);
  ASSERT_TRUE(protect(*mine, a));
  ASSERT_TRUE(protect(*mine, b));
  EXPECT_EQ(to_vector(a.bytes()), to_vector(b.bytes()));
}

TEST_P(SrtpInterop, TamperedRtpFailsAuthentication) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  for (size_t at : {size_t{1}, size_t{5}, size_t{20}, size_t{80}}) {
    auto p = rtp(static_cast<uint16_t>(100 + at), 9, 60);
    ASSERT_TRUE(protect(*mine_out, p));
    auto bad = p;
    bad.buf[at] ^= std::byte{0x01};
    EXPECT_FALSE(unprotect(*mine_in, bad)) << at;
    bad = p;
    bad.buf[p.len - 1] ^= std::byte{0x80};  // the tag
    EXPECT_FALSE(unprotect(*mine_in, bad)) << at;
    EXPECT_TRUE(unprotect(*mine_in, p)) << "the untampered packet still authenticates";
  }
}

TEST_P(SrtpInterop, TamperedSrtcpFailsAuthentication) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  auto p = rtcp_sr(5, 1);
  ASSERT_TRUE(protect_rtcp(*mine_out, p));
  for (size_t at : {size_t{0}, size_t{4}, size_t{10}, p.len - 15, p.len - 1}) {
    auto bad = p;
    bad.buf[at] ^= std::byte{0x04};
    EXPECT_FALSE(unprotect_rtcp(*mine_in, bad)) << at;
  }
  EXPECT_TRUE(unprotect_rtcp(*mine_in, p));
}

TEST_P(SrtpInterop, ReplayedRtpIsRejected) {
  auto mine_in = ours(profile(), key(), Out::Inbound);
  LibSrtp ref(profile(), key(), true);
  std::vector<Packet> sent;
  for (uint16_t seq = 500; seq < 700; ++seq) {
    auto p = rtp(seq, 3, 50);
    ASSERT_TRUE(ref.protect(p));
    sent.push_back(p);
  }
  // Out of order within the window is fine; the second copy of each is not.
  auto highest = sent[199];
  ASSERT_TRUE(unprotect(*mine_in, highest));
  auto late = sent[150];
  ASSERT_TRUE(unprotect(*mine_in, late));
  late = sent[150];
  EXPECT_FALSE(unprotect(*mine_in, late)) << "replay";
  auto again = sent[199];
  EXPECT_FALSE(unprotect(*mine_in, again)) << "replay of the highest";
  auto ancient = sent[0];  // 199 behind, beyond the 128-packet window
  EXPECT_FALSE(unprotect(*mine_in, ancient));
}

TEST_P(SrtpInterop, ReplayedSrtcpIsRejected) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  auto p = rtcp_sr(8, 1);
  ASSERT_TRUE(protect_rtcp(*mine_out, p));
  auto copy = p;
  ASSERT_TRUE(unprotect_rtcp(*mine_in, p));
  EXPECT_FALSE(unprotect_rtcp(*mine_in, copy));
}

TEST_P(SrtpInterop, WrongKeyFailsAuthentication) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto other_in = ours(profile(), master_key(profile(), 2), Out::Inbound);
  auto p = rtp(1, 1, 100);
  ASSERT_TRUE(protect(*mine_out, p));
  EXPECT_FALSE(unprotect(*other_in, p));
}

TEST_P(SrtpInterop, BadKeyLengthFailsCreate) {
  auto k = key();
  k.pop_back();
  EXPECT_FALSE(SrtpSession::create(profile(), k, Out::Outbound));
  k.resize(40);
  EXPECT_FALSE(SrtpSession::create(profile(), k, Out::Inbound));
}

TEST_P(SrtpInterop, MalformedPacketsAreErrors) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  auto p = rtp(1, 1, 10);
  EXPECT_FALSE(mine_out->protect_rtp(p.data(), 11)) << "shorter than the fixed header";
  auto v1 = rtp(1, 1, 10);
  v1.buf[0] = std::byte{0x40};
  EXPECT_FALSE(mine_out->protect_rtp(v1.data(), v1.len)) << "version 1";
  auto ext = rtp(1, 1, 0, 0, 2);
  EXPECT_FALSE(mine_out->protect_rtp(ext.data(), ext.len - 1)) << "extension runs past the end";
  auto csrc = rtp(1, 1, 0, 15);
  EXPECT_FALSE(mine_out->protect_rtp(csrc.data(), 40)) << "CSRCs run past the end";
  EXPECT_FALSE(mine_in->unprotect_rtp(p.data(), 12)) << "no room for a tag";
  EXPECT_FALSE(mine_out->protect_rtcp(p.data(), 7));
  EXPECT_FALSE(mine_in->unprotect_rtcp(p.data(), 20));
}

TEST_P(SrtpInterop, SsrcsPerSessionAreBounded) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  for (uint32_t ssrc = 1; ssrc <= 64; ++ssrc) {
    auto p = rtp(1, ssrc, 10);
    ASSERT_TRUE(protect(*mine_out, p)) << ssrc;
  }
  auto p = rtp(1, 65, 10);
  EXPECT_FALSE(protect(*mine_out, p));
  auto known = rtp(2, 64, 10);
  EXPECT_TRUE(protect(*mine_out, known));
}

TEST_P(SrtpInterop, ForgedPacketsDoNotTakeSsrcSlots) {
  auto mine_out = ours(profile(), key(), Out::Outbound);
  auto mine_in = ours(profile(), key(), Out::Inbound);
  for (uint32_t ssrc = 1000; ssrc < 1100; ++ssrc) {
    auto forged = rtp(1, ssrc, 40);
    forged.len += 16;
    EXPECT_FALSE(unprotect(*mine_in, forged));
  }
  auto p = rtp(1, 42, 40);
  ASSERT_TRUE(protect(*mine_out, p));
  EXPECT_TRUE(unprotect(*mine_in, p));
}

TEST_P(SrtpInterop, RandomBytesAreRejectedWithoutCrashing) {
  auto mine_in = ours(profile(), key(), Out::Inbound);
  uint32_t x = 12345;
  auto next = [&] { return x = x * 1664525u + 1013904223u; };
  for (int i = 0; i < 3000; ++i) {
    Packet p;
    p.len = next() % 300;
    p.buf.resize(p.len + kSrtpMaxTrailer);
    for (auto& b : p.buf) b = std::byte(static_cast<uint8_t>(next() >> 24));
    if (i % 2) p.buf[0] = std::byte{0x80} | (p.buf[0] & std::byte{0x3f});  // version 2, so parsing goes deeper
    EXPECT_FALSE(mine_in->unprotect_rtp(p.data(), p.len));
    EXPECT_FALSE(mine_in->unprotect_rtcp(p.data(), p.len));
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpInterop,
                         ::testing::Values(SrtpProfile::Aes128CmSha1_80, SrtpProfile::AeadAes128Gcm),
                         [](const auto& info) {
                           return info.param == SrtpProfile::AeadAes128Gcm ? "AeadAes128Gcm" : "Aes128CmSha1_80";
                         });

TEST(SrtpSession, NoProfileFailsCreate) {
  EXPECT_FALSE(SrtpSession::create(SrtpProfile::None, ByteVector(30), SrtpSession::Direction::Outbound));
}

// ---------------------------------------------------------------------------------------------------------------
// Throughput: protect N 1200-byte RTP packets (N = SG_SRTP_BENCH_PACKETS, default 20000; 1000000 for the real
// number in a release build). Prints, does not assert: timings depend on the machine.

TEST(SrtpBenchmark, ProtectThroughputNextToLibsrtp) {
  size_t n = 20000;
  if (const char* e = std::getenv("SG_SRTP_BENCH_PACKETS")) n = std::strtoull(e, nullptr, 10);
  for (auto profile : {SrtpProfile::Aes128CmSha1_80, SrtpProfile::AeadAes128Gcm}) {
    auto mine = ours(profile, master_key(profile), Out::Outbound);
    LibSrtp ref(profile, master_key(profile), true);
    auto base = rtp(0, 0x11111111, 1200);
    Packet p = base;
    auto run = [&](auto&& protect_one) {
      auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < n; ++i) {
        uint16_t seq = static_cast<uint16_t>(i);
        p.len = base.len;
        p.buf[2] = std::byte(seq >> 8);
        p.buf[3] = std::byte(seq & 0xff);
        if (!protect_one()) return -1.0;
      }
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    double t_ours = run([&] { return mine->protect_rtp(p.data(), p.len).ok(); });
    double t_ref = run([&] { return ref.protect(p); });
    ASSERT_GE(t_ours, 0);
    ASSERT_GE(t_ref, 0);
    std::printf("[ bench    ] %s: %zu x 1200-byte RTP protect: ours %.3f s (%.0f ns/packet, %.2f Gbit/s), libsrtp2 %.3f s (%.0f ns/packet)\n",
                profile == SrtpProfile::AeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80", n, t_ours,
                t_ours * 1e9 / n, n * 1200 * 8 / t_ours / 1e9, t_ref, t_ref * 1e9 / n);
  }
}

}  // namespace
}  // namespace sg::webrtc
