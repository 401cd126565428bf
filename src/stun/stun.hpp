#pragma once
// STUN messages (RFC 8489) as ICE uses them (RFC 8445): parse a view over received bytes, check
// MESSAGE-INTEGRITY (HMAC-SHA1, short-term credentials) and FINGERPRINT, and build Binding requests and responses.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::stun {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr size_t kHeaderSize = 20;
constexpr uint16_t kMethodBinding = 0x001;

enum class MessageClass : uint8_t { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 };

// Attribute types (RFC 8489 18.3, RFC 8445 16.1).
enum AttributeType : uint16_t {
  kMappedAddress = 0x0001,
  kUsername = 0x0006,
  kMessageIntegrity = 0x0008,
  kErrorCode = 0x0009,
  kUnknownAttributes = 0x000A,
  kXorMappedAddress = 0x0020,
  kPriority = 0x0024,
  kUseCandidate = 0x0025,
  kSoftware = 0x8022,
  kFingerprint = 0x8028,
  kIceControlled = 0x8029,
  kIceControlling = 0x802A,
};

using TransactionId = std::array<std::byte, 12>;

// A transport address: IPv4 (4 bytes used) or IPv6.
struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  std::string to_string() const;
  bool operator==(const Address&) const = default;
};

struct ErrorCode {
  uint16_t code = 0;  // 300..699
  std::string reason;
};

struct Attribute {
  uint16_t type = 0;
  Bytes value;
  size_t offset = 0;  // of the attribute header within the message
};

// RFC 7983 demultiplexing: first byte 0..3 and the magic cookie at offset 4.
bool is_stun(Bytes packet);

// A view over one STUN message; the bytes must outlive it.
class Message {
 public:
  // Checks the header (two zero bits, length multiple of 4 and equal to what follows, magic cookie) and walks the
  // attributes. Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 8489 14.5).
  static Result<Message> parse(Bytes packet);

  uint16_t method() const { return method_; }
  MessageClass message_class() const { return class_; }
  const TransactionId& transaction_id() const { return transaction_; }
  const std::vector<Attribute>& attributes() const { return attributes_; }
  Bytes bytes() const { return bytes_; }

  const Attribute* find(uint16_t type) const;
  std::optional<std::string_view> username() const;
  std::optional<uint32_t> priority() const;
  bool use_candidate() const { return find(kUseCandidate) != nullptr; }
  std::optional<uint64_t> ice_controlling() const;
  std::optional<uint64_t> ice_controlled() const;
  std::optional<ErrorCode> error_code() const;
  std::optional<Address> xor_mapped_address() const;
  std::optional<Address> mapped_address() const;

  bool has_integrity() const { return find(kMessageIntegrity) != nullptr; }
  bool has_fingerprint() const { return find(kFingerprint) != nullptr; }
  // HMAC-SHA1 with the short-term key (the password, RFC 8489 9.1.1) over the message up to the attribute.
  Status check_integrity(std::string_view key) const;
  Status check_fingerprint() const;

 private:
  Bytes bytes_;
  uint16_t method_ = 0;
  MessageClass class_ = MessageClass::Request;
  TransactionId transaction_{};
  std::vector<Attribute> attributes_;
};

// Builds a message attribute by attribute; finish() appends MESSAGE-INTEGRITY and FINGERPRINT when asked.
class MessageBuilder {
 public:
  MessageBuilder(MessageClass cls, uint16_t method, const TransactionId& transaction);

  MessageBuilder& add(uint16_t type, Bytes value);
  MessageBuilder& add_username(std::string_view username);
  MessageBuilder& add_software(std::string_view software);
  MessageBuilder& add_xor_mapped_address(const Address& address);
  MessageBuilder& add_priority(uint32_t priority);
  MessageBuilder& add_use_candidate();
  MessageBuilder& add_ice_controlling(uint64_t tie_breaker);
  MessageBuilder& add_ice_controlled(uint64_t tie_breaker);
  MessageBuilder& add_error_code(uint16_t code, std::string_view reason);

  // integrity_key empty: no MESSAGE-INTEGRITY.
  ByteVector finish(std::string_view integrity_key, bool fingerprint);

 private:
  void set_length();
  ByteVector out_;
};

// RFC 8489 14.7: CRC-32 (ISO HDLC) of the message XOR 0x5354554e.
uint32_t crc32(Bytes data);

}  // namespace sg::stun
