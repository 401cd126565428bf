#pragma once
// SRTP and SRTCP (RFC 3711) with AES_CM_128_HMAC_SHA1_80 on OpenSSL 3's EVP API and AEAD_AES_128_GCM (RFC 7714) on
// libgcrypt (srtp.cpp says why).
// One session per direction: what we send (SRTP + SRTCP) or what the peer sends. Per packet: no heap allocation,
// no locks; a session is used by one thread at a time.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "webrtc/dtls.hpp"

namespace sg::webrtc {

constexpr size_t kSrtpMaxTrailer = 16 + 4;  // auth tag / GCM tag plus SRTCP index

class SrtpSession {
 public:
  enum class Direction { Outbound, Inbound };
  // key = master key || master salt, as DtlsTransport exports them.
  static Result<std::unique_ptr<SrtpSession>> create(SrtpProfile profile, Bytes key, Direction direction);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // In place: buffer holds len bytes of RTP/RTCP and has room for kSrtpMaxTrailer more; returns the new length.
  Result<size_t> protect_rtp(std::byte* buffer, size_t len);
  Result<size_t> protect_rtcp(std::byte* buffer, size_t len);
  Result<size_t> unprotect_rtp(std::byte* buffer, size_t len);
  Result<size_t> unprotect_rtcp(std::byte* buffer, size_t len);

 private:
  struct Impl;
  SrtpSession() = default;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// RFC 3711 4.3.1/4.3.3 with key_derivation_rate 0: the AES-CM PRF keyed with the 16-byte master key, input block
// (master salt XOR label * 2^48) * 2^16. A 12-byte (RFC 7714) master salt is taken times 2^16 (RFC 7714 errata
// 4938), i.e. padded with two zero bytes. Fills out; false if OpenSSL fails or the sizes are wrong.
bool srtp_kdf(Bytes master_key, Bytes master_salt, uint8_t label, std::span<std::byte> out);
// RFC 3711 4.1.1: the AES-CM IV for a 14-byte session salt, SSRC and 48-bit packet (or 31-bit SRTCP) index.
std::array<uint8_t, 16> aes_cm_iv(Bytes session_salt, uint32_t ssrc, uint64_t index);
// RFC 3711 Appendix A: the packet index of sequence number seq, given the highest index seen so far
// (ROC << 16 | s_l); nothing if it would need a ROC below 0 or above 2^32 - 1.
std::optional<uint64_t> estimate_packet_index(uint64_t highest, uint16_t seq);
}  // namespace detail

}  // namespace sg::webrtc
