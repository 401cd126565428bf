#include "rtmp/chunk.hpp"

#include <algorithm>

namespace sg::rtmp {

namespace {
uint32_t le32(Bytes b, size_t at) {
  return uint32_t{u8(b, at)} | uint32_t{u8(b, at + 1)} << 8 | uint32_t{u8(b, at + 2)} << 16 |
         uint32_t{u8(b, at + 3)} << 24;
}
}  // namespace

Result<size_t> ChunkReader::read(Bytes data, const std::function<void(const Message&)>& on_message) {
  size_t pos = 0;
  for (;;) {
    Bytes in = data.subspan(pos);
    if (in.empty()) return pos;
    // 5.3.1.1 basic header: fmt (2 bits) and the chunk stream id in 1, 2 or 3 bytes.
    const uint8_t fmt = u8(in, 0) >> 6;
    uint32_t csid = u8(in, 0) & 0x3f;
    size_t at = 1;
    if (csid == 0) {
      if (in.size() < 2) return pos;
      csid = 64 + u8(in, 1);
      at = 2;
    } else if (csid == 1) {
      if (in.size() < 3) return pos;
      csid = 64 + u8(in, 1) + 256u * u8(in, 2);
      at = 3;
    }
    static constexpr size_t kHeaderSize[] = {11, 7, 3, 0};
    if (in.size() < at + kHeaderSize[fmt]) return pos;
    auto it = streams_.find(csid);
    if (it == streams_.end()) {
      if (fmt != 0) return make_error("RTMP: chunk fmt " + std::to_string(fmt) + " on new chunk stream " + std::to_string(csid));
      if (streams_.size() >= limits_.max_chunk_streams)
        return make_error("RTMP: more than " + std::to_string(limits_.max_chunk_streams) + " chunk streams");
    }
    const ChunkStream* prev = it == streams_.end() ? nullptr : &it->second;
    // 5.3.1.2 message header: what a compressed header leaves out is the previous chunk's on this chunk stream.
    uint32_t field = 0;
    uint32_t length = prev ? prev->length : 0;
    uint8_t type = prev ? prev->type : 0;
    uint32_t stream_id = prev ? prev->stream_id : 0;
    if (fmt <= 2) field = be24(in, at);
    if (fmt <= 1) {
      length = be24(in, at + 3);
      type = u8(in, at + 6);
    }
    if (fmt == 0) stream_id = le32(in, at + 7);
    at += kHeaderSize[fmt];
    // 5.3.1.3 extended timestamp: after a 0xFFFFFF field; fmt 3 chunks repeat the previous header's.
    bool extended = fmt == 3 ? prev->extended : field == 0xffffff;
    if (extended) {
      if (in.size() < at + 4) return pos;
      uint32_t ext = be32(in, at);
      at += 4;
      if (fmt != 3) field = ext;
      else if (!prev->in_message) field = ext;
    }
    if (fmt == 3 && !extended) field = prev->delta;
    if (fmt == 3 && extended && prev->in_message) field = prev->delta;
    // A full or partial header in the middle of a message starts a new one: the old one is abandoned.
    const bool continuation = prev && prev->in_message;
    if (length > limits_.max_message_size)
      return make_error("RTMP: message of " + std::to_string(length) + " bytes (limit " +
                        std::to_string(limits_.max_message_size) + ")");
    const bool resumes = continuation && fmt == 3;
    const size_t have = resumes ? prev->partial.size() : 0;
    const size_t take = std::min<size_t>(chunk_size_, length - have);
    if (in.size() < at + take) return pos;

    // The whole chunk is here: commit.
    ChunkStream& cs = streams_[csid];
    if (!resumes) {
      buffered_ -= cs.partial.size();
      cs.partial.clear();
      if (fmt == 0) cs.timestamp = field;
      else cs.timestamp += field;
      cs.delta = field;
      cs.length = length;
      cs.type = type;
      cs.stream_id = stream_id;
      cs.extended = extended;
      cs.in_message = true;
    }
    Bytes body = in.subspan(at, take);
    pos += at + take;
    if (cs.partial.empty() && take == length) {
      cs.in_message = false;
      Message m{csid, cs.timestamp, cs.type, cs.stream_id, body};
      if (m.type == static_cast<uint8_t>(MessageType::SetChunkSize) || m.type == static_cast<uint8_t>(MessageType::Abort)) {
        if (body.size() < 4) return make_error("RTMP: short protocol control message");
        uint32_t v = be32(body, 0);
        if (m.type == static_cast<uint8_t>(MessageType::SetChunkSize)) {
          v &= 0x7fffffff;  // 5.4.1: the first bit must be zero
          if (v < 1 || v > limits_.max_chunk_size)
            return make_error("RTMP: chunk size " + std::to_string(v) + " out of range");
          chunk_size_ = v;
        } else if (auto a = streams_.find(v); a != streams_.end() && a->first != csid) {
          buffered_ -= a->second.partial.size();
          a->second.partial.clear();
          a->second.partial.shrink_to_fit();
          a->second.in_message = false;
        }
      }
      on_message(m);
      continue;
    }
    if (buffered_ + take > limits_.max_buffered_bytes)
      return make_error("RTMP: more than " + std::to_string(limits_.max_buffered_bytes) + " bytes of partial messages");
    cs.partial.insert(cs.partial.end(), body.begin(), body.end());
    buffered_ += take;
    if (cs.partial.size() == cs.length) {
      cs.in_message = false;
      ByteVector whole = std::move(cs.partial);
      cs.partial = {};
      buffered_ -= whole.size();
      Message m{csid, cs.timestamp, cs.type, cs.stream_id, whole};
      if (m.type == static_cast<uint8_t>(MessageType::SetChunkSize) && whole.size() >= 4) {
        uint32_t v = be32(whole, 0) & 0x7fffffff;
        if (v < 1 || v > limits_.max_chunk_size) return make_error("RTMP: chunk size " + std::to_string(v) + " out of range");
        chunk_size_ = v;
      }
      on_message(m);
    }
  }
}

void write_message(ByteVector& out, const Message& m, uint32_t chunk_size) { write_message(out, m, {}, chunk_size); }

void write_message(ByteVector& out, const Message& m, Bytes tail, uint32_t chunk_size) {
  const Bytes head = m.payload;
  const size_t total = head.size() + tail.size();
  const bool extended = m.timestamp >= 0xffffff;
  auto basic = [&](uint8_t fmt) {
    if (m.chunk_stream < 64) {
      append8(out, static_cast<uint8_t>(fmt << 6 | m.chunk_stream));
    } else if (m.chunk_stream < 64 + 256) {
      append8(out, static_cast<uint8_t>(fmt << 6));
      append8(out, static_cast<uint8_t>(m.chunk_stream - 64));
    } else {
      append8(out, static_cast<uint8_t>(fmt << 6 | 1));
      append8(out, static_cast<uint8_t>((m.chunk_stream - 64) & 0xff));
      append8(out, static_cast<uint8_t>((m.chunk_stream - 64) >> 8));
    }
  };
  out.reserve(out.size() + total + 16 + (total / chunk_size + 1) * 8);
  basic(0);
  append24(out, extended ? 0xffffff : m.timestamp);
  append24(out, static_cast<uint32_t>(total));
  append8(out, m.type);
  for (int i = 0; i < 4; ++i) append8(out, static_cast<uint8_t>(m.stream_id >> (8 * i)));
  if (extended) append32(out, m.timestamp);
  size_t off = 0;
  do {
    if (off > 0) {
      basic(3);
      if (extended) append32(out, m.timestamp);
    }
    const size_t n = std::min<size_t>(chunk_size, total - off);
    const size_t from_head = off < head.size() ? std::min(n, head.size() - off) : 0;
    if (from_head > 0) append(out, head.subspan(off, from_head));
    if (n > from_head) append(out, tail.subspan(off + from_head - head.size(), n - from_head));
    off += n;
  } while (off < total);
}

ByteVector u32_payload(uint32_t value) {
  ByteVector out;
  append32(out, value);
  return out;
}

ByteVector peer_bandwidth_payload(uint32_t window, uint8_t limit_type) {
  ByteVector out;
  append32(out, window);
  append8(out, limit_type);
  return out;
}

ByteVector user_control_payload(UserControlEvent event, uint32_t value) {
  ByteVector out;
  append16(out, static_cast<uint16_t>(event));
  append32(out, value);
  return out;
}

}  // namespace sg::rtmp
