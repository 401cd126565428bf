#pragma once
// RTMP chunk stream (Adobe RTMP specification 1.0, section 5.3): messages split into chunks of at most the
// sender's chunk size, interleaved over chunk stream ids, with compressed headers (fmt 0-3) and extended
// timestamps. ChunkReader reassembles messages from received bytes; write_message() splits one for sending.
#include <cstdint>
#include <functional>
#include <map>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::rtmp {

// RTMP 5.4 / 7.1 message type ids.
enum class MessageType : uint8_t {
  SetChunkSize = 1,
  Abort = 2,
  Acknowledgement = 3,
  UserControl = 4,
  WindowAckSize = 5,
  SetPeerBandwidth = 6,
  Audio = 8,
  Video = 9,
  DataAmf3 = 15,
  CommandAmf3 = 17,
  DataAmf0 = 18,
  CommandAmf0 = 20,
  Aggregate = 22,
};

inline constexpr uint32_t kDefaultChunkSize = 128;  // RTMP 5.4.1: until a Set Chunk Size says otherwise

struct Message {
  uint32_t chunk_stream = 0;
  uint32_t timestamp = 0;  // milliseconds, absolute (deltas already added), wraps at 2^32
  uint8_t type = 0;        // MessageType
  uint32_t stream_id = 0;  // message stream id
  Bytes payload;           // valid only during the callback that receives it
};

struct ChunkLimits {
  uint32_t max_chunk_size = 1 << 20;          // a larger Set Chunk Size from the peer is an error
  uint32_t max_message_size = 8 << 20;        // a message header announcing more is an error
  size_t max_chunk_streams = 64;              // chunk stream ids with state at once
  size_t max_buffered_bytes = 16 << 20;       // partial messages held over all chunk streams
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {}) : limits_(limits) {}

  // Parses every complete chunk at the front of `data` and returns how many bytes it consumed; an incomplete chunk
  // at the end is left for the next call (with more bytes appended). Each completed message is passed to
  // on_message. Set Chunk Size and Abort messages are applied here (and passed on like any other).
  Result<size_t> read(Bytes data, const std::function<void(const Message&)>& on_message);

  uint32_t chunk_size() const { return chunk_size_; }
  // Bytes one complete chunk can take at most with the current chunk size (header included): the caller's read
  // buffer must hold at least this much.
  size_t max_chunk_bytes() const { return chunk_size_ + 18; }
  size_t buffered_bytes() const { return buffered_; }

 private:
  struct ChunkStream {
    uint32_t timestamp = 0;
    uint32_t delta = 0;  // the last timestamp field (fmt 1/2: delta; fmt 0: absolute, reused by fmt 3 as ffmpeg does)
    uint32_t length = 0;
    uint8_t type = 0;
    uint32_t stream_id = 0;
    bool extended = false;  // the last header had an extended timestamp: fmt 3 chunks repeat it
    ByteVector partial;     // the message so far
    bool in_message = false;
  };

  ChunkLimits limits_;
  uint32_t chunk_size_ = kDefaultChunkSize;
  std::map<uint32_t, ChunkStream> streams_;
  size_t buffered_ = 0;
};

// Appends `message` as chunks of `chunk_size` on its chunk stream: a full header (fmt 0) first, then fmt 3
// continuation headers (with the extended timestamp repeated when there is one).
void write_message(ByteVector& out, const Message& message, uint32_t chunk_size);
// The same for a payload in two parts, message.payload then tail, chunked as if they were one (a player's own tag
// header in front of a sample its worker's players share).
void write_message(ByteVector& out, const Message& message, Bytes tail, uint32_t chunk_size);

// Protocol control and user control messages (RTMP 5.4, 7.1.7), payloads only.
ByteVector u32_payload(uint32_t value);  // Set Chunk Size, Acknowledgement, Window Acknowledgement Size
ByteVector peer_bandwidth_payload(uint32_t window, uint8_t limit_type);
enum class UserControlEvent : uint16_t { StreamBegin = 0, StreamEof = 1, StreamDry = 2, SetBufferLength = 3,
                                         StreamIsRecorded = 4, PingRequest = 6, PingResponse = 7 };
ByteVector user_control_payload(UserControlEvent event, uint32_t value);

}  // namespace sg::rtmp
