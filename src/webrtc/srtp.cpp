#include "webrtc/srtp.hpp"

#include <srtp2/srtp.h>

#include <fmt/format.h>
#include <mutex>

namespace sg::webrtc {
namespace {

Status init_library() {
  static srtp_err_status_t status = srtp_init();
  if (status != srtp_err_status_ok) return make_error(fmt::format("SRTP: srtp_init failed ({})", static_cast<int>(status)));
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile, Bytes key, Direction direction) {
  if (auto s = init_library(); !s) return make_error(s.error());
  srtp_policy_t policy{};
  size_t want = 0;
  switch (profile) {
    case SrtpProfile::Aes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      want = 30;
      break;
    case SrtpProfile::AeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      want = 28;
      break;
    case SrtpProfile::None:
      return make_error("SRTP: no profile");
  }
  if (key.size() != want) return make_error(fmt::format("SRTP: key of {} bytes, want {}", key.size(), want));
  ByteVector k(key.begin(), key.end());
  policy.ssrc.type = direction == Direction::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = reinterpret_cast<unsigned char*>(k.data());
  policy.window_size = 1024;
  policy.allow_repeat_tx = 1;  // NACK retransmissions resend a sequence number
  policy.next = nullptr;
  std::unique_ptr<SrtpSession> s(new SrtpSession());
  srtp_t session = nullptr;
  if (auto e = srtp_create(&session, &policy); e != srtp_err_status_ok)
    return make_error(fmt::format("SRTP: srtp_create failed ({})", static_cast<int>(e)));
  s->session_ = session;
  return s;
}

SrtpSession::~SrtpSession() {
  if (session_) srtp_dealloc(session_);
}

Result<size_t> SrtpSession::protect_rtp(std::byte* buffer, size_t len) {
  int n = static_cast<int>(len);
  if (auto e = srtp_protect(session_, buffer, &n); e != srtp_err_status_ok)
    return make_error(fmt::format("SRTP: protect failed ({})", static_cast<int>(e)));
  return static_cast<size_t>(n);
}

Result<size_t> SrtpSession::protect_rtcp(std::byte* buffer, size_t len) {
  int n = static_cast<int>(len);
  if (auto e = srtp_protect_rtcp(session_, buffer, &n); e != srtp_err_status_ok)
    return make_error(fmt::format("SRTCP: protect failed ({})", static_cast<int>(e)));
  return static_cast<size_t>(n);
}

Result<size_t> SrtpSession::unprotect_rtp(std::byte* buffer, size_t len) {
  int n = static_cast<int>(len);
  if (auto e = srtp_unprotect(session_, buffer, &n); e != srtp_err_status_ok)
    return make_error(fmt::format("SRTP: unprotect failed ({})", static_cast<int>(e)));
  return static_cast<size_t>(n);
}

Result<size_t> SrtpSession::unprotect_rtcp(std::byte* buffer, size_t len) {
  int n = static_cast<int>(len);
  if (auto e = srtp_unprotect_rtcp(session_, buffer, &n); e != srtp_err_status_ok)
    return make_error(fmt::format("SRTCP: unprotect failed ({})", static_cast<int>(e)));
  return static_cast<size_t>(n);
}

}  // namespace sg::webrtc
