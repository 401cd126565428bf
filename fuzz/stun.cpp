// STUN: parse any bytes, read every attribute accessor, check integrity/fingerprint, rebuild what parsed.
#include <cstddef>
#include <cstdint>

#include "stun/stun.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::Bytes in(reinterpret_cast<const std::byte*>(data), size);
  (void)sg::stun::is_stun(in);
  auto m = sg::stun::Message::parse(in);
  if (!m) return 0;
  (void)m->username();
  (void)m->priority();
  (void)m->ice_controlling();
  (void)m->ice_controlled();
  (void)m->error_code();
  (void)m->mapped_address();
  (void)m->xor_mapped_address();
  (void)m->check_integrity("pwd");
  (void)m->check_fingerprint();
  if (size > 60000) return 0;  // keep room for MESSAGE-INTEGRITY and FINGERPRINT in the 16-bit length
  sg::stun::MessageBuilder b(m->message_class(), m->method(), m->transaction_id());
  for (const auto& a : m->attributes()) {
    if (a.type != sg::stun::kMessageIntegrity && a.type != sg::stun::kFingerprint) b.add(a.type, a.value);
  }
  auto out = b.finish("pwd", true);
  auto again = sg::stun::Message::parse(out);
  if (!again || !again->check_integrity("pwd") || !again->check_fingerprint()) __builtin_trap();
  return 0;
}
