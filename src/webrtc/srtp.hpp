#pragma once
// libsrtp2 sessions (RAII): one for what we send (SRTP + SRTCP), one for what the peer sends (SRTCP).
#include <memory>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "webrtc/dtls.hpp"

struct srtp_ctx_t_;

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
  SrtpSession() = default;
  srtp_ctx_t_* session_ = nullptr;
};

}  // namespace sg::webrtc
