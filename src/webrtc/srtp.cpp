#include "webrtc/srtp.hpp"

#include <fmt/format.h>
#include <gcrypt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace sg::webrtc {
namespace {

constexpr size_t kMasterKeySize = 16;
constexpr size_t kCmSaltSize = 14;   // RFC 3711: 112-bit master and session salt
constexpr size_t kGcmSaltSize = 12;  // RFC 7714 12: 96-bit master and session salt
constexpr size_t kAuthKeySize = 20;  // HMAC-SHA1 session authentication key (RFC 3711 4.3.2)
constexpr size_t kCmTagSize = 10;    // HMAC-SHA1 truncated to 80 bits
constexpr size_t kGcmTagSize = 16;
constexpr size_t kSrtcpIndexSize = 4;  // E flag | 31-bit SRTCP index
constexpr uint32_t kSrtcpEncrypted = 0x80000000;
constexpr uint32_t kMaxSrtcpIndex = 0x7fffffff;
constexpr size_t kMaxStreams = 64;      // SSRCs per session: a peer cannot make us grow beyond this
constexpr size_t kMaxPacket = 0xffff;   // larger than any UDP payload; keeps lengths within int for EVP
constexpr size_t kRtpFixedHeader = 12;
constexpr size_t kRtcpHeader = 8;       // RFC 3711 3.4: first 8 bytes of SRTCP are not encrypted

// RFC 3711 4.3.1 labels.
constexpr uint8_t kLabelRtpEncryption = 0;
constexpr uint8_t kLabelRtpAuth = 1;
constexpr uint8_t kLabelRtpSalt = 2;
constexpr uint8_t kLabelRtcpEncryption = 3;
constexpr uint8_t kLabelRtcpAuth = 4;
constexpr uint8_t kLabelRtcpSalt = 5;

inline uint8_t* u8p(std::byte* p) { return reinterpret_cast<uint8_t*>(p); }
inline const uint8_t* u8p(const std::byte* p) { return reinterpret_cast<const uint8_t*>(p); }
inline uint16_t rd16(const std::byte* p) { return static_cast<uint16_t>(u8p(p)[0] << 8 | u8p(p)[1]); }
inline uint32_t rd32(const std::byte* p) { return uint32_t{rd16(p)} << 16 | rd16(p + 2); }
inline void wr32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// AES-128-CTR (the AES-CM profile's cipher) with its key schedule set once; per packet only the IV is set.
CipherCtx aes_ctr_cipher(const uint8_t* key) {
  CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c || EVP_CipherInit_ex2(c.get(), EVP_aes_128_ctr(), key, nullptr, 1, nullptr) != 1) return {};
  return c;
}

// AES-128-GCM (RFC 7714) through libgcrypt. OpenSSL 3's EVP costs about 1.2 us per 1200-byte packet here, ~0.4 us
// of it fixed per call in the provider glue (OSSL_PARAM arrays, name lookups: strcmp showed at 3 % of the server's
// CPU at 2000 viewers); libgcrypt's handle holds the key schedule and GHASH tables, its fixed cost is ~0.15 us and
// a 1200-byte packet 0.5-0.95 us on this noisy host (tests/webrtc SrtpBenchmark). It picks AES-NI and PCLMUL at run
// time, and is linked dynamically like OpenSSL.
bool gcrypt_ready() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    // We hold no long-term secrets in libgcrypt (session keys only, wiped with the handle): no secure memory pool,
    // which would need mlock limits and warn on stderr.
    ok = gcry_check_version(GCRYPT_VERSION) != nullptr;
    if (ok && !gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
      gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
  });
  return ok;
}

class Gcm {
 public:
  bool init(const uint8_t* key, size_t size) {
    if (!gcrypt_ready()) return false;
    gcry_cipher_hd_t h = nullptr;
    if (gcry_cipher_open(&h, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0) != 0) return false;
    h_.reset(h);
    return gcry_cipher_setkey(h, key, size) == 0;
  }
  // AAD = a1 || a2, data in place, the 16-byte tag out (seal) or checked (open).
  bool crypt(bool seal, const uint8_t iv[12], const std::byte* a1, size_t n1, const uint8_t* a2, size_t n2,
             std::byte* data, size_t n, std::byte* tag) {
    gcry_cipher_hd_t h = h_.get();
    if (gcry_cipher_setiv(h, iv, 12) != 0) return false;
    if (n1 && gcry_cipher_authenticate(h, a1, n1) != 0) return false;
    if (n2 && gcry_cipher_authenticate(h, a2, n2) != 0) return false;
    if (gcry_cipher_final(h) != 0) return false;  // the data comes in one call
    if (seal) return gcry_cipher_encrypt(h, data, n, nullptr, 0) == 0 && gcry_cipher_gettag(h, tag, kGcmTagSize) == 0;
    return gcry_cipher_decrypt(h, data, n, nullptr, 0) == 0 && gcry_cipher_checktag(h, tag, kGcmTagSize) == 0;
  }

 private:
  struct Close {
    void operator()(gcry_cipher_hd_t h) const { gcry_cipher_close(h); }  // wipes the key schedule
  };
  std::unique_ptr<std::remove_pointer_t<gcry_cipher_hd_t>, Close> h_;
};

// HMAC-SHA1 keyed once; per packet EVP_MAC_init without a key restarts it from the precomputed ipad/opad states.
// (OpenSSL 3.0 still duplicates the SHA-1 state on the heap inside each restart: two small allocations per packet,
// measured; every EVP digest restart in 3.0 frees and reallocates it, so no EVP-based HMAC avoids that.)
class HmacSha1 {
 public:
  static constexpr size_t kSize = 20;

  bool init(const uint8_t* key, size_t size) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) return false;
    ctx_.reset(EVP_MAC_CTX_new(mac));
    EVP_MAC_free(mac);  // the context holds its own reference
    if (!ctx_) return false;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    return EVP_MAC_init(ctx_.get(), key, size, params) == 1;
  }
  // HMAC(k, a || b); b may be empty.
  bool mac(const std::byte* a, size_t an, const uint8_t* b, size_t bn, uint8_t out[kSize]) {
    EVP_MAC_CTX* c = ctx_.get();
    size_t n = 0;
    return EVP_MAC_init(c, nullptr, 0, nullptr) == 1 && EVP_MAC_update(c, u8p(a), an) == 1 &&
           (bn == 0 || EVP_MAC_update(c, b, bn) == 1) && EVP_MAC_final(c, out, &n, kSize) == 1 && n == kSize;
  }

 private:
  struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx_;
};

// RFC 3550 5.1 / 5.3.1: bytes of fixed header, CSRCs and header extension; 0 if not RTP or not within len.
size_t rtp_header_length(const std::byte* p, size_t len) {
  if (len < kRtpFixedHeader) return 0;
  uint8_t b0 = u8p(p)[0];
  if ((b0 >> 6) != 2) return 0;
  size_t n = kRtpFixedHeader + 4 * size_t{b0 & 0x0fu};
  if (b0 & 0x10) {
    if (n + 4 > len) return 0;
    n += 4 + 4 * size_t{rd16(p + n + 2)};
  }
  return n <= len ? n : 0;
}

// Replay protection (RFC 3711 3.3.2): the highest authenticated index and a 128-packet bitmap below it
// (bit i set: index highest - i was accepted).
struct ReplayWindow {
  static constexpr uint64_t kSize = 128;
  uint64_t highest = 0;
  uint64_t bits[2] = {0, 0};
  bool any = false;

  const char* reject_reason(uint64_t index) const {
    if (!any || index > highest) return nullptr;
    uint64_t d = highest - index;
    if (d >= kSize) return "older than the replay window";
    if ((bits[d / 64] >> (d % 64)) & 1) return "replayed";
    return nullptr;
  }
  void accept(uint64_t index) {
    if (!any) {
      any = true;
      highest = index;
      bits[0] = 1;
      bits[1] = 0;
      return;
    }
    if (index > highest) {
      uint64_t s = index - highest;
      if (s >= kSize) {
        bits[0] = bits[1] = 0;
      } else if (s >= 64) {
        bits[1] = bits[0] << (s - 64);
        bits[0] = 0;
      } else {
        bits[1] = bits[1] << s | bits[0] >> (64 - s);
        bits[0] <<= s;
      }
      bits[0] |= 1;
      highest = index;
    } else {
      uint64_t d = highest - index;
      bits[d / 64] |= uint64_t{1} << (d % 64);
    }
  }
};

struct Stream {
  uint32_t ssrc = 0;
  bool sent_any = false;      // outbound RTP: highest index sent (ROC << 16 | SEQ)
  uint64_t sent_highest = 0;
  uint32_t srtcp_next = 0;    // outbound SRTCP index
  ReplayWindow rtp_in, rtcp_in;
};

Stream stream_for(uint32_t ssrc) {
  Stream s;
  s.ssrc = ssrc;
  return s;
}

void iv_xor_gcm(uint8_t iv[12], const uint8_t* salt) {
  for (size_t i = 0; i < kGcmSaltSize; ++i) iv[i] ^= salt[i];
}

}  // namespace

namespace detail {

bool srtp_kdf(Bytes master_key, Bytes master_salt, uint8_t label, std::span<std::byte> out) {
  if (master_key.size() != kMasterKeySize || (master_salt.size() != kCmSaltSize && master_salt.size() != kGcmSaltSize))
    return false;
  if (out.size() > 256) return false;
  // x = master_salt XOR (label * 2^48) as a 112-bit number, AES-CM input block = x * 2^16.
  uint8_t iv[16] = {};
  std::memcpy(iv, master_salt.data(), master_salt.size());
  iv[7] ^= label;
  CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c || EVP_EncryptInit_ex2(c.get(), EVP_aes_128_ctr(), u8p(master_key.data()), iv, nullptr) != 1) return false;
  std::memset(out.data(), 0, out.size());
  int n = 0;
  return EVP_EncryptUpdate(c.get(), u8p(out.data()), &n, u8p(out.data()), static_cast<int>(out.size())) == 1 &&
         static_cast<size_t>(n) == out.size();
}

std::array<uint8_t, 16> aes_cm_iv(Bytes session_salt, uint32_t ssrc, uint64_t index) {
  // IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)
  std::array<uint8_t, 16> iv{};
  std::memcpy(iv.data(), session_salt.data(), std::min(session_salt.size(), kCmSaltSize));
  iv[4] ^= static_cast<uint8_t>(ssrc >> 24);
  iv[5] ^= static_cast<uint8_t>(ssrc >> 16);
  iv[6] ^= static_cast<uint8_t>(ssrc >> 8);
  iv[7] ^= static_cast<uint8_t>(ssrc);
  for (size_t i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  return iv;
}

std::optional<uint64_t> estimate_packet_index(uint64_t highest, uint16_t seq) {
  int64_t roc = static_cast<int64_t>(highest >> 16);
  int64_t s_l = static_cast<int64_t>(highest & 0xffff);
  int64_t v = roc;
  if (s_l < 32768) {
    if (int64_t{seq} - s_l > 32768) v = roc - 1;
  } else if (s_l - 32768 > int64_t{seq}) {
    v = roc + 1;
  }
  if (v < 0 || v > 0xffffffffLL) return std::nullopt;
  return static_cast<uint64_t>(v) << 16 | seq;
}

}  // namespace detail

struct SrtpSession::Impl {
  bool gcm = false;
  CipherCtx rtp_cipher, rtcp_cipher;  // AES-CM profile: AES-128-CTR, keyed
  Gcm rtp_gcm, rtcp_gcm;              // AES-GCM profile
  HmacSha1 rtp_mac, rtcp_mac;         // AES-CM profile only
  uint8_t rtp_salt[kCmSaltSize] = {}, rtcp_salt[kCmSaltSize] = {};
  std::vector<Stream> streams;
  size_t last = 0;  // index of the stream used last: most packets repeat it

  Stream* find(uint32_t ssrc) {
    if (last < streams.size() && streams[last].ssrc == ssrc) return &streams[last];
    for (size_t i = 0; i < streams.size(); ++i) {
      if (streams[i].ssrc == ssrc) {
        last = i;
        return &streams[i];
      }
    }
    return nullptr;
  }
  Stream* add(const Stream& s) {
    if (streams.size() >= kMaxStreams) return nullptr;
    if (streams.capacity() == 0) streams.reserve(4);
    streams.push_back(s);
    last = streams.size() - 1;
    return &streams.back();
  }

  // AES-CM: keystream XOR in place.
  static bool ctr(EVP_CIPHER_CTX* c, const uint8_t iv[16], std::byte* data, size_t n) {
    if (EVP_CipherInit_ex2(c, nullptr, nullptr, iv, 1, nullptr) != 1) return false;
    if (n == 0) return true;
    int out = 0;
    return EVP_CipherUpdate(c, u8p(data), &out, u8p(data), static_cast<int>(n)) == 1;
  }

  // RFC 7714 8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt.
  void gcm_rtp_iv(uint8_t iv[12], uint32_t ssrc, uint64_t index) const {
    iv[0] = iv[1] = 0;
    wr32(iv + 2, ssrc);
    wr32(iv + 6, static_cast<uint32_t>(index >> 16));
    iv[10] = static_cast<uint8_t>(index >> 8);
    iv[11] = static_cast<uint8_t>(index);
    iv_xor_gcm(iv, rtp_salt);
  }
  // RFC 7714 9.1: IV = (0x0000 || SSRC || 0x0000 || 0 || SRTCP index) XOR salt.
  void gcm_rtcp_iv(uint8_t iv[12], uint32_t ssrc, uint32_t index) const {
    iv[0] = iv[1] = 0;
    wr32(iv + 2, ssrc);
    iv[6] = iv[7] = 0;
    wr32(iv + 8, index & kMaxSrtcpIndex);
    iv_xor_gcm(iv, rtcp_salt);
  }
};

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile, Bytes key, Direction direction) {
  (void)direction;  // both directions keep the same state; protect and unprotect use separate parts of it
  size_t salt_size = 0;
  switch (profile) {
    case SrtpProfile::Aes128CmSha1_80:
      salt_size = kCmSaltSize;
      break;
    case SrtpProfile::AeadAes128Gcm:
      salt_size = kGcmSaltSize;
      break;
    case SrtpProfile::None:
      return make_error("SRTP: no profile");
  }
  if (key.size() != kMasterKeySize + salt_size)
    return make_error(fmt::format("SRTP: key of {} bytes, want {}", key.size(), kMasterKeySize + salt_size));
  Bytes master_key = key.first(kMasterKeySize), master_salt = key.subspan(kMasterKeySize);

  std::unique_ptr<SrtpSession> s(new SrtpSession());
  s->impl_ = std::make_unique<Impl>();
  Impl& m = *s->impl_;
  m.gcm = profile == SrtpProfile::AeadAes128Gcm;

  std::array<std::byte, kMasterKeySize> enc{};
  std::array<std::byte, kAuthKeySize> auth{};
  bool ok = true;
  for (int rtcp = 0; rtcp < 2 && ok; ++rtcp) {
    uint8_t* salt = rtcp ? m.rtcp_salt : m.rtp_salt;
    ok = detail::srtp_kdf(master_key, master_salt, rtcp ? kLabelRtcpEncryption : kLabelRtpEncryption, enc) &&
         detail::srtp_kdf(master_key, master_salt, rtcp ? kLabelRtcpSalt : kLabelRtpSalt,
                          std::span<std::byte>(reinterpret_cast<std::byte*>(salt), salt_size));
    if (!ok) break;
    if (m.gcm) {
      ok = (rtcp ? m.rtcp_gcm : m.rtp_gcm).init(u8p(enc.data()), enc.size());
      continue;
    }
    (rtcp ? m.rtcp_cipher : m.rtp_cipher) = aes_ctr_cipher(u8p(enc.data()));
    ok = (rtcp ? m.rtcp_cipher : m.rtp_cipher) != nullptr;
    if (ok) {
      ok = detail::srtp_kdf(master_key, master_salt, rtcp ? kLabelRtcpAuth : kLabelRtpAuth, auth);
      ok = ok && (rtcp ? m.rtcp_mac : m.rtp_mac).init(u8p(auth.data()), auth.size());
    }
  }
  OPENSSL_cleanse(enc.data(), enc.size());
  OPENSSL_cleanse(auth.data(), auth.size());
  if (!ok) return make_error("SRTP: the crypto library failed to set up the session keys");
  return s;
}

SrtpSession::~SrtpSession() {
  if (impl_) {
    OPENSSL_cleanse(impl_->rtp_salt, sizeof impl_->rtp_salt);
    OPENSSL_cleanse(impl_->rtcp_salt, sizeof impl_->rtcp_salt);
  }
}

Result<size_t> SrtpSession::protect_rtp(std::byte* b, size_t len) {
  Impl& m = *impl_;
  if (len > kMaxPacket) return make_error(fmt::format("SRTP: protect: packet of {} bytes too long", len));
  size_t hl = rtp_header_length(b, len);
  if (hl == 0) return make_error(fmt::format("SRTP: protect: {} bytes are not an RTP packet", len));
  uint32_t ssrc = rd32(b + 8);
  uint16_t seq = rd16(b + 2);
  Stream* s = m.find(ssrc);
  if (!s) s = m.add(stream_for(ssrc));
  if (!s) return make_error(fmt::format("SRTP: protect: more than {} SSRCs", kMaxStreams));
  uint64_t index = seq;
  if (s->sent_any) {
    // A NACK retransmission may resend an older sequence number: its index is estimated like a receiver would.
    auto e = detail::estimate_packet_index(s->sent_highest, seq);
    if (!e) return make_error(fmt::format("SRTP: protect: sequence number {} out of range", seq));
    index = *e;
  }
  size_t out = 0;
  if (m.gcm) {
    uint8_t iv[12];
    m.gcm_rtp_iv(iv, ssrc, index);
    if (!m.rtp_gcm.crypt(true, iv, b, hl, nullptr, 0, b + hl, len - hl, b + len))
      return make_error("SRTP: protect: AES-GCM failed");
    out = len + kGcmTagSize;
  } else {
    auto iv = detail::aes_cm_iv(Bytes(reinterpret_cast<const std::byte*>(m.rtp_salt), kCmSaltSize), ssrc, index);
    uint8_t roc[4], tag[20];
    wr32(roc, static_cast<uint32_t>(index >> 16));
    if (!Impl::ctr(m.rtp_cipher.get(), iv.data(), b + hl, len - hl) ||
        !m.rtp_mac.mac(b, len, roc, sizeof roc, tag))
      return make_error("SRTP: protect: AES-CM/HMAC failed");
    std::memcpy(b + len, tag, kCmTagSize);
    out = len + kCmTagSize;
  }
  if (!s->sent_any || index > s->sent_highest) s->sent_highest = index;
  s->sent_any = true;
  return out;
}

Result<size_t> SrtpSession::unprotect_rtp(std::byte* b, size_t len) {
  Impl& m = *impl_;
  size_t tag_size = m.gcm ? kGcmTagSize : kCmTagSize;
  if (len > kMaxPacket || len < kRtpFixedHeader + tag_size)
    return make_error(fmt::format("SRTP: unprotect: packet of {} bytes", len));
  size_t body = len - tag_size;
  size_t hl = rtp_header_length(b, body);
  if (hl == 0) return make_error(fmt::format("SRTP: unprotect: {} bytes are not an SRTP packet", len));
  uint32_t ssrc = rd32(b + 8);
  uint16_t seq = rd16(b + 2);
  Stream* s = m.find(ssrc);
  Stream fresh = stream_for(ssrc);  // a new SSRC is only kept once a packet of it authenticates
  if (!s && m.streams.size() >= kMaxStreams)
    return make_error(fmt::format("SRTP: unprotect: more than {} SSRCs", kMaxStreams));
  Stream& st = s ? *s : fresh;
  uint64_t index = seq;
  if (st.rtp_in.any) {
    auto e = detail::estimate_packet_index(st.rtp_in.highest, seq);
    if (!e) return make_error(fmt::format("SRTP: unprotect: sequence number {} out of range", seq));
    index = *e;
  }
  if (const char* why = st.rtp_in.reject_reason(index))
    return make_error(fmt::format("SRTP: unprotect: SSRC {:08x} sequence number {} {}", ssrc, seq, why));
  if (m.gcm) {
    uint8_t iv[12];
    m.gcm_rtp_iv(iv, ssrc, index);
    if (!m.rtp_gcm.crypt(false, iv, b, hl, nullptr, 0, b + hl, body - hl, b + body))
      return make_error(fmt::format("SRTP: unprotect: SSRC {:08x} sequence number {} fails authentication", ssrc, seq));
  } else {
    uint8_t roc[4], tag[20];
    wr32(roc, static_cast<uint32_t>(index >> 16));
    if (!m.rtp_mac.mac(b, body, roc, sizeof roc, tag))
      return make_error("SRTP: unprotect: HMAC failed");
    if (CRYPTO_memcmp(tag, b + body, kCmTagSize) != 0)
      return make_error(fmt::format("SRTP: unprotect: SSRC {:08x} sequence number {} fails authentication", ssrc, seq));
    auto iv = detail::aes_cm_iv(Bytes(reinterpret_cast<const std::byte*>(m.rtp_salt), kCmSaltSize), ssrc, index);
    if (!Impl::ctr(m.rtp_cipher.get(), iv.data(), b + hl, body - hl)) return make_error("SRTP: unprotect: AES-CM failed");
  }
  if (!s) {
    s = m.add(fresh);
    if (!s) return make_error(fmt::format("SRTP: unprotect: more than {} SSRCs", kMaxStreams));
  }
  s->rtp_in.accept(index);
  return body;
}

Result<size_t> SrtpSession::protect_rtcp(std::byte* b, size_t len) {
  Impl& m = *impl_;
  if (len > kMaxPacket || len < kRtcpHeader)
    return make_error(fmt::format("SRTCP: protect: packet of {} bytes", len));
  uint32_t ssrc = rd32(b + 4);
  Stream* s = m.find(ssrc);
  if (!s) s = m.add(stream_for(ssrc));
  if (!s) return make_error(fmt::format("SRTCP: protect: more than {} SSRCs", kMaxStreams));
  if (s->srtcp_next > kMaxSrtcpIndex) return make_error("SRTCP: protect: SRTCP index exhausted, rekey needed");
  uint32_t index = s->srtcp_next;
  uint8_t e_index[4];
  wr32(e_index, kSrtcpEncrypted | index);
  size_t out = 0;
  if (m.gcm) {
    // RFC 7714 9: header(8) || ciphertext || tag(16) || E|index(4); AAD = header || E|index.
    uint8_t iv[12];
    m.gcm_rtcp_iv(iv, ssrc, index);
    if (!m.rtcp_gcm.crypt(true, iv, b, kRtcpHeader, e_index, sizeof e_index, b + kRtcpHeader, len - kRtcpHeader,
                          b + len))
      return make_error("SRTCP: protect: AES-GCM failed");
    std::memcpy(b + len + kGcmTagSize, e_index, sizeof e_index);
    out = len + kGcmTagSize + kSrtcpIndexSize;
  } else {
    // RFC 3711 3.4: header(8) || ciphertext || E|index(4) || tag(10); tag over all before it.
    auto iv = detail::aes_cm_iv(Bytes(reinterpret_cast<const std::byte*>(m.rtcp_salt), kCmSaltSize), ssrc, index);
    if (!Impl::ctr(m.rtcp_cipher.get(), iv.data(), b + kRtcpHeader, len - kRtcpHeader))
      return make_error("SRTCP: protect: AES-CM failed");
    std::memcpy(b + len, e_index, sizeof e_index);
    uint8_t tag[20];
    if (!m.rtcp_mac.mac(b, len + kSrtcpIndexSize, nullptr, 0, tag))
      return make_error("SRTCP: protect: HMAC failed");
    std::memcpy(b + len + kSrtcpIndexSize, tag, kCmTagSize);
    out = len + kSrtcpIndexSize + kCmTagSize;
  }
  ++s->srtcp_next;
  return out;
}

Result<size_t> SrtpSession::unprotect_rtcp(std::byte* b, size_t len) {
  Impl& m = *impl_;
  size_t trailer = kSrtcpIndexSize + (m.gcm ? kGcmTagSize : kCmTagSize);
  if (len > kMaxPacket || len < kRtcpHeader + trailer)
    return make_error(fmt::format("SRTCP: unprotect: packet of {} bytes", len));
  size_t body = len - trailer;
  uint32_t ssrc = rd32(b + 4);
  const std::byte* e_index_p = m.gcm ? b + len - kSrtcpIndexSize : b + body;
  uint32_t e_index = rd32(e_index_p);
  uint32_t index = e_index & kMaxSrtcpIndex;
  bool encrypted = (e_index & kSrtcpEncrypted) != 0;
  Stream* s = m.find(ssrc);
  Stream fresh = stream_for(ssrc);
  if (!s && m.streams.size() >= kMaxStreams)
    return make_error(fmt::format("SRTCP: unprotect: more than {} SSRCs", kMaxStreams));
  Stream& st = s ? *s : fresh;
  if (const char* why = st.rtcp_in.reject_reason(index))
    return make_error(fmt::format("SRTCP: unprotect: SSRC {:08x} index {} {}", ssrc, index, why));
  if (m.gcm) {
    uint8_t iv[12];
    m.gcm_rtcp_iv(iv, ssrc, index);
    // Unencrypted (E = 0): everything before the tag is authenticated only (RFC 7714 9.2).
    size_t aad = encrypted ? kRtcpHeader : body;
    if (!m.rtcp_gcm.crypt(false, iv, b, aad, u8p(e_index_p), kSrtcpIndexSize, b + aad, body - aad, b + body))
      return make_error(fmt::format("SRTCP: unprotect: SSRC {:08x} index {} fails authentication", ssrc, index));
  } else {
    uint8_t tag[20];
    if (!m.rtcp_mac.mac(b, body + kSrtcpIndexSize, nullptr, 0, tag))
      return make_error("SRTCP: unprotect: HMAC failed");
    if (CRYPTO_memcmp(tag, b + body + kSrtcpIndexSize, kCmTagSize) != 0)
      return make_error(fmt::format("SRTCP: unprotect: SSRC {:08x} index {} fails authentication", ssrc, index));
    if (encrypted) {
      auto iv = detail::aes_cm_iv(Bytes(reinterpret_cast<const std::byte*>(m.rtcp_salt), kCmSaltSize), ssrc, index);
      if (!Impl::ctr(m.rtcp_cipher.get(), iv.data(), b + kRtcpHeader, body - kRtcpHeader))
        return make_error("SRTCP: unprotect: AES-CM failed");
    }
  }
  if (!s) {
    s = m.add(fresh);
    if (!s) return make_error(fmt::format("SRTCP: unprotect: more than {} SSRCs", kMaxStreams));
  }
  s->rtcp_in.accept(index);
  return body;
}

}  // namespace sg::webrtc
