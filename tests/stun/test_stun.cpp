// STUN against the RFC 5769 test vectors, plus our own builder round trips and malformed input.
#include <gtest/gtest.h>

#include "stun/stun.hpp"

namespace sg::stun {
namespace {

// RFC 5769 2.1 Sample Request (short-term password below; USERNAME "evtj:h6vY", padded with spaces).
const ByteVector kRequest = from_hex(
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e20746573742063 6c69656e74"
    "002400046e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf");
// RFC 5769 2.2 Sample IPv4 Response: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const ByteVector kIpv4Response = from_hex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96");
// RFC 5769 2.3 Sample IPv6 Response: [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const ByteVector kIpv6Response = from_hex(
    "010100482112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c");
constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(Stun, ParsesRfc5769SampleRequest) {
  ASSERT_EQ(kRequest.size(), 108u);
  auto m = Message::parse(kRequest);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->method(), kMethodBinding);
  EXPECT_EQ(m->message_class(), MessageClass::Request);
  EXPECT_EQ(m->username(), "evtj:h6vY");
  EXPECT_EQ(m->priority(), 0x6e0001ffu);
  EXPECT_EQ(m->ice_controlled(), 0x932ff9b151263b36u);
  EXPECT_FALSE(m->ice_controlling());
  EXPECT_FALSE(m->use_candidate());
  EXPECT_TRUE(is_stun(kRequest));
}

TEST(Stun, VerifiesRfc5769RequestIntegrityAndFingerprint) {
  auto m = Message::parse(kRequest);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->check_integrity(kPassword)) << m->check_integrity(kPassword).error();
  EXPECT_TRUE(m->check_fingerprint());
  EXPECT_FALSE(m->check_integrity("wrong password"));
}

TEST(Stun, DecodesRfc5769Ipv4XorMappedAddress) {
  auto m = Message::parse(kIpv4Response);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->message_class(), MessageClass::SuccessResponse);
  auto a = m->xor_mapped_address();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.0.2.1:32853");
  EXPECT_TRUE(m->check_integrity(kPassword));
  EXPECT_TRUE(m->check_fingerprint());
}

TEST(Stun, DecodesRfc5769Ipv6XorMappedAddress) {
  auto m = Message::parse(kIpv6Response);
  ASSERT_TRUE(m) << m.error();
  auto a = m->xor_mapped_address();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->v6);
  EXPECT_EQ(a->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_TRUE(m->check_integrity(kPassword));
  EXPECT_TRUE(m->check_fingerprint());
}

TEST(Stun, BuilderMakesResponseVerifiableLikeRfc5769Ipv4) {
  auto req = Message::parse(kIpv4Response);
  ASSERT_TRUE(req);
  Address a;
  a.ip = {192, 0, 2, 1};
  a.port = 32853;
  auto out = MessageBuilder(MessageClass::SuccessResponse, kMethodBinding, req->transaction_id())
                 .add(kSoftware, as_bytes("test vector "))  // the RFC pads with a space
                 .add_xor_mapped_address(a)
                 .finish(kPassword, true);
  ByteVector want = kIpv4Response;
  auto parsed = Message::parse(out);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->xor_mapped_address(), a);
  EXPECT_TRUE(parsed->check_integrity(kPassword));
  EXPECT_TRUE(parsed->check_fingerprint());
  EXPECT_EQ(out.size(), want.size());
}

TEST(Stun, BuilderRoundTripsIceAttributes) {
  TransactionId tid{};
  for (size_t i = 0; i < tid.size(); ++i) tid[i] = std::byte(i * 7);
  auto out = MessageBuilder(MessageClass::Request, kMethodBinding, tid)
                 .add_username("abcd:efgh")
                 .add_priority(1853824767)
                 .add_ice_controlling(0x1122334455667788ull)
                 .add_use_candidate()
                 .finish("secretpassword", true);
  auto m = Message::parse(out);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->transaction_id(), tid);
  EXPECT_EQ(m->username(), "abcd:efgh");
  EXPECT_EQ(m->priority(), 1853824767u);
  EXPECT_EQ(m->ice_controlling(), 0x1122334455667788ull);
  EXPECT_TRUE(m->use_candidate());
  EXPECT_TRUE(m->check_integrity("secretpassword"));
  EXPECT_TRUE(m->check_fingerprint());
}

TEST(Stun, BuilderWritesErrorCode) {
  TransactionId tid{};
  auto out = MessageBuilder(MessageClass::ErrorResponse, kMethodBinding, tid)
                 .add_error_code(401, "Unauthorized")
                 .finish("", true);
  auto m = Message::parse(out);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->message_class(), MessageClass::ErrorResponse);
  auto e = m->error_code();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 401);
  EXPECT_EQ(e->reason, "Unauthorized");
  EXPECT_FALSE(m->has_integrity());
}

TEST(Stun, DetectsCorruptedFingerprintAndIntegrity) {
  ByteVector bad = kRequest;
  bad[30] ^= std::byte{1};  // inside SOFTWARE
  auto m = Message::parse(bad);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->check_fingerprint());
  EXPECT_FALSE(m->check_integrity(kPassword));
}

TEST(Stun, RejectsMalformedMessages) {
  EXPECT_FALSE(Message::parse({}));
  ByteVector m = kRequest;
  EXPECT_FALSE(Message::parse(Bytes(m).first(19)));
  EXPECT_FALSE(Message::parse(Bytes(m).first(100)));  // length says 0x58
  ByteVector c = m;
  c[4] = std::byte{0};  // cookie
  EXPECT_FALSE(Message::parse(c));
  c = m;
  c[0] = std::byte{0xC0};
  EXPECT_FALSE(Message::parse(c));
  c = m;
  c[22] = std::byte{0xFF};  // SOFTWARE length past the end
  EXPECT_FALSE(Message::parse(c));
  c = m;
  c[3] = std::byte{0x57};
  EXPECT_FALSE(Message::parse(c));
}

TEST(Stun, IgnoresAttributesAfterMessageIntegrity) {
  TransactionId tid{};
  auto out = MessageBuilder(MessageClass::Request, kMethodBinding, tid).add_username("a:b").finish("k", false);
  // Append USE-CANDIDATE after MESSAGE-INTEGRITY by hand.
  append16(out, kUseCandidate);
  append16(out, 0);
  put16(out, 2, static_cast<uint16_t>(out.size() - kHeaderSize));
  auto m = Message::parse(out);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->use_candidate());
}

TEST(Stun, DemultiplexesByFirstByte) {
  EXPECT_TRUE(is_stun(kIpv4Response));
  ByteVector dtls = from_hex("16fefd0000000000000000002d0100002100000000000000210000000000000000000000");
  EXPECT_FALSE(is_stun(dtls));
}

}  // namespace
}  // namespace sg::stun
