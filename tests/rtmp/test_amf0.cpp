#include <gtest/gtest.h>

#include <optional>

#include "rtmp/amf0.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/command.hpp"

namespace sg::rtmp {
namespace {

const char* kFfmpegConnect =
    "0300000000008c1400000000020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e"
    "707269766174650008666c617368566572020024464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e31303029"
    "0005746355726c02001b72746d703a2f2f3132372e302e302e313a31c3393335302f6c697665000009";

TEST(Amf0, EncodesNumberStringNullAndObjectAsSpecified) {
  // AMF0 2.2 number: IEEE 754 big endian; 2.4 string: u16 length; 2.5 object: properties then 00 00 09.
  EXPECT_EQ(to_hex(encode_amf0({Amf0Value::make_number(1.0)})), "003ff0000000000000");
  EXPECT_EQ(to_hex(encode_amf0({Amf0Value::make_string("connect")})), "020007636f6e6e656374");
  EXPECT_EQ(to_hex(encode_amf0({Amf0Value::make_null()})), "05");
  EXPECT_EQ(to_hex(encode_amf0({Amf0Value::make_object({{"app", Amf0Value::make_string("live")}})})),
            "0300036170700200046c697665000009");
  EXPECT_EQ(to_hex(encode_amf0({Amf0Value::make_boolean(true)})), "0101");
}

TEST(Amf0, DecodesFfmpegConnectCommand) {
  // Captured from ffmpeg 5.1 (`ffmpeg ... -f flv rtmp://127.0.0.1:19350/live/cam`) after the handshake: the
  // connect command in two chunks of 128 bytes (fmt 0 on chunk stream 3, then a fmt 3 continuation "c3").
  ByteVector bytes = from_hex(kFfmpegConnect);
  ChunkReader reader;
  std::optional<Command> cmd;
  auto n = reader.read(bytes, [&](const Message& m) {
    ASSERT_EQ(m.type, 20);
    auto parsed = parse_command(m.payload);
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    cmd = *parsed;
  });
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(*n, bytes.size());
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->name, "connect");
  EXPECT_EQ(cmd->transaction, 1.0);
  EXPECT_EQ(cmd->object.get_string("app"), "live");
  EXPECT_EQ(cmd->object.get_string("type"), "nonprivate");
  EXPECT_EQ(cmd->object.get_string("tcUrl"), "rtmp://127.0.0.1:19350/live");
  EXPECT_EQ(cmd->object.get_string("flashVer"), "FMLE/3.0 (compatible; Lavf59.27.100)");
  // Re-encoded, the command is the same bytes.
  EXPECT_EQ(encode_command(cmd->name, cmd->transaction, cmd->object, cmd->args).size(), 140u);
}

TEST(Amf0, RoundTripsEveryType) {
  std::vector<Amf0Value> values = {
      Amf0Value::make_number(-2.5),
      Amf0Value::make_boolean(false),
      Amf0Value::make_string("x"),
      Amf0Value::make_string(std::string(70000, 'L')),  // long string
      Amf0Value::make_null(),
      Amf0Value::make_undefined(),
      Amf0Value::make_object({{"a", Amf0Value::make_number(1)}, {"b", Amf0Value::make_object({})}}),
      Amf0Value::make_ecma_array({{"duration", Amf0Value::make_number(0)}, {"encoder", Amf0Value::make_string("Lavf")}}),
  };
  Amf0Value strict;
  strict.type = Amf0Type::StrictArray;
  strict.values = {Amf0Value::make_number(1), Amf0Value::make_string("two")};
  values.push_back(strict);
  Amf0Value date;
  date.type = Amf0Type::Date;
  date.number = 1.7e12;
  values.push_back(date);
  auto bytes = encode_amf0(values);
  auto back = decode_amf0(bytes);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, values);
}

TEST(Amf0, EcmaArrayCountIsOnlyAHint) {
  // ffmpeg writes onMetaData's ECMA array with a count that need not match; the end marker decides.
  ByteVector bytes = from_hex("08 00000005 0001 61 0101 000009");
  auto v = decode_amf0(bytes);
  ASSERT_TRUE(v.ok()) << v.error();
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].keys.size(), 1u);
}

TEST(Amf0, TruncatedAndUnknownInputFailsWithAPosition) {
  for (const char* hex : {"00 3ff0", "02 0005 6162", "03 0001 61", "0a 00000002 05", "0c 00000009 61", "11 01", "07 0001"}) {
    auto v = decode_amf0(from_hex(hex));
    ASSERT_FALSE(v.ok()) << hex;
    EXPECT_NE(v.error().find("AMF0:"), std::string::npos);
  }
}

TEST(Amf0, NestingAndSizeAreBounded) {
  ByteVector deep;
  for (int i = 0; i < 100; ++i) append(deep, from_hex("03 0001 61"));
  auto v = decode_amf0(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().find("nesting"), std::string::npos);
  auto huge = decode_amf0(from_hex("0a ffffffff"));
  ASSERT_FALSE(huge.ok());
}

TEST(RtmpCommand, EncodesResultWithStatusObject) {
  auto bytes = encode_command("onStatus", 0, Amf0Value::make_null(),
                              {status_object("status", "NetStream.Publish.Start", "cam is now published.")});
  auto cmd = parse_command(bytes);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->name, "onStatus");
  ASSERT_EQ(cmd->args.size(), 1u);
  EXPECT_EQ(cmd->args[0].get_string("code"), "NetStream.Publish.Start");
}

}  // namespace
}  // namespace sg::rtmp

namespace sg::rtmp {
namespace {

TEST(RtmpMetadata, PlainAndSetDataFrameFormsGiveTheObjectOtherDataGivesNothing) {
  auto meta = Amf0Value::make_ecma_array({{"width", Amf0Value::make_number(320)}});
  auto plain = encode_amf0({Amf0Value::make_string("onMetaData"), meta});
  auto wrapped = encode_amf0({Amf0Value::make_string("@setDataFrame"), Amf0Value::make_string("onMetaData"), meta});
  auto other = encode_amf0({Amf0Value::make_string("onTextData"), meta});
  ASSERT_TRUE(metadata_object(plain).has_value());
  EXPECT_EQ(*metadata_object(plain), meta);
  ASSERT_TRUE(metadata_object(wrapped).has_value());
  EXPECT_EQ(metadata_object(wrapped)->get_number("width"), 320);
  EXPECT_FALSE(metadata_object(other).has_value());
  EXPECT_FALSE(metadata_object(encode_amf0({Amf0Value::make_string("onMetaData")})).has_value());
}

}  // namespace
}  // namespace sg::rtmp
