#include <gtest/gtest.h>

#include "base/bit_reader.hpp"
#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg {

TEST(Bytes, HexRoundTrips) {
  auto v = from_hex("00 01 ff 7e");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(to_hex(v), "0001ff7e");
  EXPECT_TRUE(from_hex("0g").empty());
  EXPECT_TRUE(from_hex("abc").empty());
}

TEST(Bytes, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(as_bytes("")), "");
  EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
  ByteVector out;
  ASSERT_TRUE(base64_decode("Zm9vYg==", out));
  EXPECT_EQ(as_string_view(out), "foob");
  EXPECT_FALSE(base64_decode("Zm9v*", out));
}

TEST(Bytes, BigEndianFieldsReadAndWrite) {
  ByteVector v(8);
  put32(v, 0, 0x01020304);
  put16(v, 4, 0xabcd);
  EXPECT_EQ(be32(v, 0), 0x01020304u);
  EXPECT_EQ(be16(v, 4), 0xabcd);
  EXPECT_EQ(be24(v, 1), 0x020304u);
}

TEST(BitReader, ReadsExpGolombCodes) {
  // 1 | 010 | 011 | 00100 -> ue = 0, 1, 2, 3
  auto v = from_hex("a6 40");
  BitReader r(v);
  EXPECT_EQ(r.ue(), 0u);
  EXPECT_EQ(r.ue(), 1u);
  EXPECT_EQ(r.ue(), 2u);
  EXPECT_EQ(r.ue(), 3u);
  EXPECT_TRUE(r.ok());
}

TEST(BitReader, ReadingPastTheEndIsAStickyError) {
  auto v = from_hex("ff");
  BitReader r(v);
  EXPECT_EQ(r.bits(8), 0xffu);
  EXPECT_EQ(r.bit(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(Result, CarriesValueOrError) {
  Result<int> a = 5;
  Result<int> b = make_error("bad");
  EXPECT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  EXPECT_FALSE(b);
  EXPECT_EQ(b.error(), "bad");
}

}  // namespace sg
