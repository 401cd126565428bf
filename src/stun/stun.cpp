#include "stun/stun.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

namespace sg::stun {
namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kIntegritySize = 20;

size_t padded(size_t n) { return (n + 3) & ~size_t{3}; }

std::optional<Address> read_address(Bytes v, bool xored, const TransactionId& tid) {
  // RFC 8489 14.1/14.2: 0, family, port, address.
  if (v.size() < 4) return std::nullopt;
  Address a;
  uint8_t family = u8(v, 1);
  uint16_t port = be16(v, 2);
  if (family == 0x01) {
    if (v.size() != 8) return std::nullopt;
  } else if (family == 0x02) {
    if (v.size() != 20) return std::nullopt;
    a.v6 = true;
  } else {
    return std::nullopt;
  }
  std::array<uint8_t, 16> mask{};
  if (xored) {
    port ^= static_cast<uint16_t>(kMagicCookie >> 16);
    mask = {0x21, 0x12, 0xA4, 0x42};
    for (size_t i = 0; i < 12; ++i) mask[4 + i] = static_cast<uint8_t>(tid[i]);
  }
  a.port = port;
  size_t n = a.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) a.ip[i] = static_cast<uint8_t>(u8(v, 4 + i) ^ mask[i]);
  return a;
}

void hmac_sha1(std::string_view key, Bytes data, uint8_t out[kIntegritySize]) {
  unsigned int len = kIntegritySize;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
}

}  // namespace

std::string Address::to_string() const {
  if (!v6) return fmt::format("{}.{}.{}.{}:{}", ip[0], ip[1], ip[2], ip[3], port);
  std::string s = "[";
  for (size_t i = 0; i < 16; i += 2) {
    if (i) s += ':';
    s += fmt::format("{:x}", (ip[i] << 8) | ip[i + 1]);
  }
  return s + fmt::format("]:{}", port);
}

uint32_t crc32(Bytes data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (auto b : data) c = table[(c ^ static_cast<uint8_t>(b)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool is_stun(Bytes p) { return p.size() >= kHeaderSize && u8(p, 0) < 4 && be32(p, 4) == kMagicCookie; }

Result<Message> Message::parse(Bytes p) {
  if (p.size() < kHeaderSize) return make_error(fmt::format("STUN: {} bytes, shorter than the header", p.size()));
  uint16_t type = be16(p, 0);
  if (type & 0xC000) return make_error(fmt::format("STUN: first two bits of type 0x{:04x} not zero", type));
  uint16_t length = be16(p, 2);
  if (length % 4 != 0) return make_error(fmt::format("STUN: length {} not a multiple of 4", length));
  if (kHeaderSize + length != p.size())
    return make_error(fmt::format("STUN: length {} but {} bytes follow the header", length, p.size() - kHeaderSize));
  if (be32(p, 4) != kMagicCookie) return make_error("STUN: no magic cookie");
  Message m;
  m.bytes_ = p;
  // RFC 8489 5: M11..M0 interleaved with C1 (bit 8) and C0 (bit 4).
  m.method_ = static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  m.class_ = static_cast<MessageClass>(((type >> 7) & 0x2) | ((type >> 4) & 0x1));
  for (size_t i = 0; i < 12; ++i) m.transaction_[i] = p[8 + i];
  size_t at = kHeaderSize;
  bool after_integrity = false;
  bool after_fingerprint = false;
  while (at < p.size()) {
    if (p.size() - at < 4) return make_error(fmt::format("STUN: truncated attribute header at offset {}", at));
    uint16_t atype = be16(p, at);
    uint16_t alen = be16(p, at + 2);
    if (p.size() - at - 4 < padded(alen))
      return make_error(fmt::format("STUN: attribute 0x{:04x} at offset {} has length {} past the end", atype, at, alen));
    if (after_fingerprint) return make_error(fmt::format("STUN: attribute 0x{:04x} after FINGERPRINT", atype));
    if (!after_integrity || atype == kFingerprint) {
      if (m.attributes_.size() >= 64) return make_error("STUN: more than 64 attributes");
      m.attributes_.push_back({atype, p.subspan(at + 4, alen), at});
    }
    if (atype == kMessageIntegrity) {
      if (alen != kIntegritySize) return make_error(fmt::format("STUN: MESSAGE-INTEGRITY of {} bytes", alen));
      after_integrity = true;
    }
    if (atype == kFingerprint) {
      if (alen != 4) return make_error(fmt::format("STUN: FINGERPRINT of {} bytes", alen));
      after_fingerprint = true;
    }
    at += 4 + padded(alen);
  }
  return m;
}

const Attribute* Message::find(uint16_t type) const {
  for (const auto& a : attributes_)
    if (a.type == type) return &a;
  return nullptr;
}

std::optional<std::string_view> Message::username() const {
  auto* a = find(kUsername);
  if (!a) return std::nullopt;
  return as_string_view(a->value);
}

std::optional<uint32_t> Message::priority() const {
  auto* a = find(kPriority);
  if (!a || a->value.size() != 4) return std::nullopt;
  return be32(a->value, 0);
}

std::optional<uint64_t> Message::ice_controlling() const {
  auto* a = find(kIceControlling);
  if (!a || a->value.size() != 8) return std::nullopt;
  return be64(a->value, 0);
}

std::optional<uint64_t> Message::ice_controlled() const {
  auto* a = find(kIceControlled);
  if (!a || a->value.size() != 8) return std::nullopt;
  return be64(a->value, 0);
}

std::optional<ErrorCode> Message::error_code() const {
  auto* a = find(kErrorCode);
  if (!a || a->value.size() < 4) return std::nullopt;
  ErrorCode e;
  e.code = static_cast<uint16_t>((u8(a->value, 2) & 0x7) * 100 + u8(a->value, 3));
  e.reason = std::string(as_string_view(a->value.subspan(4)));
  return e;
}

std::optional<Address> Message::xor_mapped_address() const {
  auto* a = find(kXorMappedAddress);
  if (!a) return std::nullopt;
  return read_address(a->value, true, transaction_);
}

std::optional<Address> Message::mapped_address() const {
  auto* a = find(kMappedAddress);
  if (!a) return std::nullopt;
  return read_address(a->value, false, transaction_);
}

Status Message::check_integrity(std::string_view key) const {
  auto* a = find(kMessageIntegrity);
  if (!a) return make_error("STUN: no MESSAGE-INTEGRITY");
  // RFC 8489 14.5: the HMAC covers the message up to the attribute, with the header length counting up to and
  // including MESSAGE-INTEGRITY.
  ByteVector copy(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(a->offset));
  put16(copy, 2, static_cast<uint16_t>(a->offset + 4 + kIntegritySize - kHeaderSize));
  uint8_t mac[kIntegritySize];
  hmac_sha1(key, copy, mac);
  if (CRYPTO_memcmp(mac, a->value.data(), kIntegritySize) != 0) return make_error("STUN: MESSAGE-INTEGRITY mismatch");
  return Ok{};
}

Status Message::check_fingerprint() const {
  auto* a = find(kFingerprint);
  if (!a) return make_error("STUN: no FINGERPRINT");
  // FINGERPRINT is last (parse enforces it), so the header length already covers it.
  uint32_t want = crc32(bytes_.first(a->offset)) ^ kFingerprintXor;
  if (be32(a->value, 0) != want) return make_error("STUN: FINGERPRINT mismatch");
  return Ok{};
}

MessageBuilder::MessageBuilder(MessageClass cls, uint16_t method, const TransactionId& transaction) {
  auto c = static_cast<uint16_t>(cls);
  uint16_t type = static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                                        ((c & 0x1) << 4) | ((c & 0x2) << 7));
  out_.reserve(128);
  append16(out_, type);
  append16(out_, 0);
  append32(out_, kMagicCookie);
  append(out_, Bytes(transaction));
}

void MessageBuilder::set_length() { put16(out_, 2, static_cast<uint16_t>(out_.size() - kHeaderSize)); }

MessageBuilder& MessageBuilder::add(uint16_t type, Bytes value) {
  append16(out_, type);
  append16(out_, static_cast<uint16_t>(value.size()));
  append(out_, value);
  while (out_.size() % 4) append8(out_, 0);
  return *this;
}

MessageBuilder& MessageBuilder::add_username(std::string_view username) { return add(kUsername, as_bytes(username)); }
MessageBuilder& MessageBuilder::add_software(std::string_view software) { return add(kSoftware, as_bytes(software)); }

MessageBuilder& MessageBuilder::add_xor_mapped_address(const Address& address) {
  ByteVector v;
  append8(v, 0);
  append8(v, address.v6 ? 0x02 : 0x01);
  append16(v, static_cast<uint16_t>(address.port ^ (kMagicCookie >> 16)));
  std::array<uint8_t, 16> mask = {0x21, 0x12, 0xA4, 0x42};
  for (size_t i = 0; i < 12; ++i) mask[4 + i] = static_cast<uint8_t>(out_[8 + i]);
  size_t n = address.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) append8(v, static_cast<uint8_t>(address.ip[i] ^ mask[i]));
  return add(kXorMappedAddress, v);
}

MessageBuilder& MessageBuilder::add_priority(uint32_t priority) {
  ByteVector v;
  append32(v, priority);
  return add(kPriority, v);
}

MessageBuilder& MessageBuilder::add_use_candidate() { return add(kUseCandidate, {}); }

MessageBuilder& MessageBuilder::add_ice_controlling(uint64_t tie_breaker) {
  ByteVector v;
  append64(v, tie_breaker);
  return add(kIceControlling, v);
}

MessageBuilder& MessageBuilder::add_ice_controlled(uint64_t tie_breaker) {
  ByteVector v;
  append64(v, tie_breaker);
  return add(kIceControlled, v);
}

MessageBuilder& MessageBuilder::add_error_code(uint16_t code, std::string_view reason) {
  ByteVector v;
  append16(v, 0);
  append8(v, static_cast<uint8_t>(code / 100));
  append8(v, static_cast<uint8_t>(code % 100));
  append(v, reason);
  return add(kErrorCode, v);
}

ByteVector MessageBuilder::finish(std::string_view integrity_key, bool fingerprint) {
  if (!integrity_key.empty()) {
    size_t at = out_.size();
    append16(out_, kMessageIntegrity);
    append16(out_, kIntegritySize);
    out_.resize(out_.size() + kIntegritySize);
    set_length();
    uint8_t mac[kIntegritySize];
    hmac_sha1(integrity_key, Bytes(out_).first(at), mac);
    for (size_t i = 0; i < kIntegritySize; ++i) out_[at + 4 + i] = std::byte{mac[i]};
  }
  if (fingerprint) {
    size_t at = out_.size();
    append16(out_, kFingerprint);
    append16(out_, 4);
    append32(out_, 0);
    set_length();
    put32(out_, at + 4, crc32(Bytes(out_).first(at)) ^ kFingerprintXor);
  }
  set_length();
  return std::move(out_);
}

}  // namespace sg::stun
