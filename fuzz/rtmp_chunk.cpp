// Fuzzes the RTMP chunk stream reader: the input is fed in pieces (sizes from its first byte) as a session would,
// whole chunks consumed and the rest kept; every message must lie within the limits, and a message written back
// with write_message must read back the same, and written in two parts (split anywhere) give the same bytes.
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtmp/chunk.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  sg::Bytes input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  sg::rtmp::ChunkLimits limits;
  limits.max_message_size = 1 << 16;
  limits.max_buffered_bytes = 1 << 18;
  limits.max_chunk_size = 1 << 16;
  sg::rtmp::ChunkReader reader(limits);
  sg::ByteVector buf;
  size_t at = 0;
  while (at < input.size()) {
    size_t n = std::min(step, input.size() - at);
    buf.insert(buf.end(), input.begin() + at, input.begin() + at + n);
    at += n;
    auto consumed = reader.read(buf, [&](const sg::rtmp::Message& m) {
      check(m.payload.size() <= limits.max_message_size);
      sg::ByteVector out;
      sg::rtmp::write_message(out, m, 128);
      sg::rtmp::ChunkReader again;
      size_t count = 0;
      auto r = again.read(out, [&](const sg::rtmp::Message& back) {
        ++count;
        check(back.type == m.type && back.stream_id == m.stream_id && back.timestamp == m.timestamp &&
              back.chunk_stream == m.chunk_stream && back.payload.size() == m.payload.size() &&
              std::equal(back.payload.begin(), back.payload.end(), m.payload.begin()));
      });
      // A Set Chunk Size / Abort with a bad value may fail again; anything else reads back whole.
      if (m.type != 1 && m.type != 2) check(r.ok() && *r == out.size() && count == 1);
      const size_t split = m.payload.empty() ? 0 : (m.payload.size() * data[0]) / 255;
      sg::rtmp::Message head = m;
      head.payload = m.payload.first(split);
      sg::ByteVector parts;
      sg::rtmp::write_message(parts, head, m.payload.subspan(split), 128);
      check(parts == out);
    });
    if (!consumed) return 0;
    check(*consumed <= buf.size());
    buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*consumed));
    check(buf.size() <= reader.max_chunk_bytes() + step);
    check(reader.buffered_bytes() <= limits.max_buffered_bytes);
  }
  return 0;
}
