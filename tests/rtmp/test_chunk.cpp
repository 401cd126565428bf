#include <gtest/gtest.h>

#include "rtmp/chunk.hpp"

namespace sg::rtmp {
namespace {

struct Got {
  uint32_t chunk_stream, timestamp;
  uint8_t type;
  uint32_t stream_id;
  std::string payload;
  bool operator==(const Got&) const = default;
};

// Feeds `bytes` the way a session does: appended to a buffer, whole chunks consumed, the rest kept.
Result<std::vector<Got>> feed(ChunkReader& reader, Bytes bytes, std::vector<size_t> cuts = {}) {
  std::vector<Got> out;
  ByteVector buf;
  cuts.push_back(bytes.size());
  size_t from = 0;
  for (size_t cut : cuts) {
    buf.insert(buf.end(), bytes.begin() + from, bytes.begin() + cut);
    from = cut;
    auto n = reader.read(buf, [&](const Message& m) {
      out.push_back({m.chunk_stream, m.timestamp, m.type, m.stream_id, std::string(as_string_view(m.payload))});
    });
    if (!n) return make_error(n.error());
    buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*n));
  }
  EXPECT_TRUE(buf.empty()) << buf.size() << " bytes left over";
  return out;
}

// A publisher's start as ffmpeg's rtmpproto writes it with 128-byte chunks: a 300-byte command (fmt 0 + two fmt 3
// continuations), then video on chunk stream 6 with fmt 1 (new length) and fmt 2 (same length) headers, and an
// audio message on chunk stream 4 interleaved between the video message's chunks.
ByteVector sample_stream() {
  ByteVector b;
  std::string cmd(300, 'c');
  write_message(b, {3, 0, 20, 0, as_bytes(cmd)}, 128);
  // video: fmt 0, ts 1000, 200 bytes (two chunks), stream 1; the audio message comes between its chunks.
  std::string video(200, 'v');
  append(b, from_hex("06 0003e8 0000c8 09 01000000"));
  append(b, as_bytes(std::string_view(video).substr(0, 128)));
  append(b, from_hex("04 0003e8 000005 08 01000000"));
  append(b, as_bytes("aaaaa"));
  append(b, from_hex("c6"));  // fmt 3 continuation of the video message
  append(b, as_bytes(std::string_view(video).substr(128)));
  // fmt 1 on the video stream: delta 40, 10 bytes, type 9.
  append(b, from_hex("46 000028 00000a 09"));
  append(b, as_bytes("0123456789"));
  // fmt 2: delta 33, same length/type.
  append(b, from_hex("86 000021"));
  append(b, as_bytes("abcdefghij"));
  // fmt 3 starting a new message: the previous delta (33) again.
  append(b, from_hex("c6"));
  append(b, as_bytes("ABCDEFGHIJ"));
  return b;
}

std::vector<Got> expected_sample() {
  return {{3, 0, 20, 0, std::string(300, 'c')},
          {4, 1000, 8, 1, "aaaaa"},
          {6, 1000, 9, 1, std::string(200, 'v')},
          {6, 1040, 9, 1, "0123456789"},
          {6, 1073, 9, 1, "abcdefghij"},
          {6, 1106, 9, 1, "ABCDEFGHIJ"}};
}

TEST(RtmpChunk, ParsesEveryHeaderFormatAndInterleavedStreams) {
  ChunkReader reader;
  auto got = feed(reader, sample_stream());
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(*got, expected_sample());
}

TEST(RtmpChunk, SameMessagesWhenSplitAtEveryByteBoundary) {
  ByteVector bytes = sample_stream();
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    ChunkReader reader;
    auto got = feed(reader, bytes, {cut});
    ASSERT_TRUE(got.ok()) << "cut " << cut << ": " << got.error();
    EXPECT_EQ(*got, expected_sample()) << "cut " << cut;
  }
}

TEST(RtmpChunk, SameMessagesFedOneByteAtATime) {
  ByteVector bytes = sample_stream();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  ChunkReader reader;
  auto got = feed(reader, bytes, cuts);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(*got, expected_sample());
}

TEST(RtmpChunk, ExtendedTimestampIsReadInFirstAndContinuationChunks) {
  // RTMP 5.3.1.3: 0xFFFFFF in the header, the time in 4 more bytes; ffmpeg and librtmp repeat them after every
  // fmt 3 continuation header.
  ByteVector b;
  std::string body(300, 'x');
  write_message(b, {5, 0x01234567, 9, 1, as_bytes(body)}, 128);
  EXPECT_EQ(to_hex(Bytes(b).first(16)), "05ffffff00012c090100000001234567");
  EXPECT_EQ(to_hex(Bytes(b).subspan(16 + 128, 5)), "c501234567");
  for (size_t cut = 0; cut <= b.size(); ++cut) {
    ChunkReader reader;
    auto got = feed(reader, b, {cut});
    ASSERT_TRUE(got.ok()) << got.error();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].timestamp, 0x01234567u);
    EXPECT_EQ((*got)[0].payload, body);
  }
}

TEST(RtmpChunk, SetChunkSizeAppliesToTheFollowingChunks) {
  ByteVector b;
  write_message(b, {2, 0, 1, 0, u32_payload(4096)}, 128);
  std::string big(3000, 'b');
  write_message(b, {6, 0, 9, 1, as_bytes(big)}, 4096);  // one chunk
  ChunkReader reader;
  auto got = feed(reader, b);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].payload, big);
  EXPECT_EQ(reader.chunk_size(), 4096u);
}

TEST(RtmpChunk, AbortDropsThePartialMessage) {
  ByteVector b;
  std::string body(200, 'p');
  append(b, from_hex("06 000000 0000c8 09 01000000"));
  append(b, as_bytes(std::string_view(body).substr(0, 128)));
  write_message(b, {2, 0, 2, 0, u32_payload(6)}, 128);  // abort chunk stream 6
  append(b, from_hex("06 000000 000003 09 01000000"));
  append(b, as_bytes("new"));
  ChunkReader reader;
  auto got = feed(reader, b);
  ASSERT_TRUE(got.ok()) << got.error();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].payload, "new");
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(RtmpChunk, TwoAndThreeByteChunkStreamIdsRoundTrip) {
  for (uint32_t cs : {63u, 64u, 319u, 320u, 65599u}) {
    ByteVector b;
    write_message(b, {cs, 7, 8, 1, as_bytes(std::string(150, 'z'))}, 128);
    ChunkReader reader;
    auto got = feed(reader, b);
    ASSERT_TRUE(got.ok()) << got.error();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].chunk_stream, cs);
  }
}

TEST(RtmpChunk, CompressedHeaderOnANewChunkStreamIsAnError) {
  ChunkReader reader;
  auto got = feed(reader, from_hex("46 000028 00000a 09 30313233343536373839"));
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().find("new chunk stream"), std::string::npos);
}

TEST(RtmpChunk, OversizedMessageAndChunkSizeAreErrors) {
  ChunkLimits limits;
  limits.max_message_size = 1000;
  ChunkReader reader(limits);
  EXPECT_FALSE(feed(reader, from_hex("06 000000 0003e9 09 01000000")).ok());
  ChunkReader zero;
  EXPECT_FALSE(feed(zero, from_hex("02 000000 000004 01 00000000 00000000")).ok());
  ChunkReader huge;
  EXPECT_FALSE(feed(huge, from_hex("02 000000 000004 01 00000000 7fffffff")).ok());
}

TEST(RtmpChunk, ChunkStreamCountIsBounded) {
  ChunkLimits limits;
  limits.max_chunk_streams = 4;
  ChunkReader reader(limits);
  ByteVector b;
  for (uint32_t cs = 3; cs < 10; ++cs) {
    append(b, from_hex("00 000000 0000c8 09 01000000"));
    b[b.size() - 12] = std::byte(cs);
    append(b, as_bytes(std::string(128, 'q')));
  }
  auto got = feed(reader, b);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().find("chunk streams"), std::string::npos);
}

TEST(RtmpChunk, PartialMessagesAreBounded) {
  ChunkLimits limits;
  limits.max_buffered_bytes = 1000;
  ChunkReader reader(limits);
  ByteVector b;
  for (uint8_t cs = 3; cs < 20; ++cs) {
    append8(b, cs);
    append(b, from_hex("000000 010000 09 01000000"));  // 65536-byte messages, first chunk only
    append(b, as_bytes(std::string(128, 'q')));
  }
  EXPECT_FALSE(feed(reader, b).ok());
}

}  // namespace
}  // namespace sg::rtmp
