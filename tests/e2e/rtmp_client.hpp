#pragma once
// A minimal blocking RTMP client for e2e tests, over the server's own protocol code (src/rtmp/): handshake,
// connect, createStream, publish, then FLV tags as messages. It lets a test publish what Debian's ffmpeg 5.1
// cannot send (Enhanced RTMP H.265) and send hostile input after a valid start.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "rtmp/chunk.hpp"
#include "rtmp/command.hpp"
#include "rtmp/handshake.hpp"

namespace sg::test {

class RtmpClient {
 public:
  // rcvbuf > 0: SO_RCVBUF set before connecting (a small window, so that a client that stops reading fills the
  // server's socket soon).
  explicit RtmpClient(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
  }
  ~RtmpClient() { close(); }
  RtmpClient(const RtmpClient&) = delete;
  RtmpClient& operator=(const RtmpClient&) = delete;

  bool ok() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(Bytes data) {
    size_t off = 0;
    while (off < data.size() && fd_ >= 0) {
      auto n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return fd_ >= 0;
  }

  // C0+C1, then S0+S1+S2 in, C2 (S1 echoed) out.
  bool handshake() {
    ByteVector random(rtmp::kHandshakeSize - 8, std::byte{0x42});
    if (!send(rtmp::client_handshake(random))) return false;
    ByteVector s;
    if (!read_exact(s, 1 + 2 * rtmp::kHandshakeSize)) return false;
    return send(Bytes(s).subspan(1, rtmp::kHandshakeSize));
  }

  bool command(std::string_view name, double txn, const rtmp::Amf0Value& object,
               const std::vector<rtmp::Amf0Value>& args = {}, uint32_t stream_id = 0) {
    auto payload = rtmp::encode_command(name, txn, object, args);
    return message(3, static_cast<uint8_t>(rtmp::MessageType::CommandAmf0), stream_id, 0, payload);
  }

  bool message(uint32_t chunk_stream, uint8_t type, uint32_t stream_id, uint32_t timestamp, Bytes payload) {
    ByteVector out;
    rtmp::write_message(out, {chunk_stream, timestamp, type, stream_id, payload}, chunk_size_);
    return send(out);
  }

  bool set_chunk_size(uint32_t size) {
    if (!message(2, 1, 0, 0, rtmp::u32_payload(size))) return false;
    chunk_size_ = size;
    return true;
  }

  // Waits for a command named `name` (onStatus: its info code is returned; _result: "_result").
  std::optional<std::string> wait_command(std::string_view name, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (; next_ < commands_.size(); ++next_) {
        const auto& c = commands_[next_];
        if (c.name != name) continue;
        ++next_;
        if (!c.args.empty() && c.args[0].get_string("code")) return std::string(*c.args[0].get_string("code"));
        return c.name;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // handshake (then Set Chunk Size when chunk_size > 0) + connect + createStream (stream id 1); true once both were
  // answered.
  bool open_stream(const std::string& app, uint32_t chunk_size = 0) {
    if (!handshake()) return false;
    if (chunk_size > 0) set_chunk_size(chunk_size);
    command("connect", 1,
            rtmp::Amf0Value::make_object({{"app", rtmp::Amf0Value::make_string(app)},
                                          {"tcUrl", rtmp::Amf0Value::make_string("rtmp://127.0.0.1/" + app)}}));
    if (!wait_command("_result")) return false;
    command("createStream", 2, rtmp::Amf0Value::make_null());
    return wait_command("_result").has_value();
  }

  // connect + createStream + publish (stream id 1); returns the onStatus code.
  std::optional<std::string> publish(const std::string& app, const std::string& name) {
    if (!open_stream(app, 60000)) return std::nullopt;
    command("publish", 3, rtmp::Amf0Value::make_null(),
            {rtmp::Amf0Value::make_string(name), rtmp::Amf0Value::make_string("live")}, 1);
    return wait_command("onStatus");
  }

  // connect + createStream + play (stream id 1); true once the server says NetStream.Play.Start.
  bool play(const std::string& app, const std::string& name) {
    if (!open_stream(app)) return false;
    command("play", 3, rtmp::Amf0Value::make_null(), {rtmp::Amf0Value::make_string(name)}, 1);
    for (;;) {
      auto code = wait_command("onStatus");
      if (!code) return false;
      if (*code == "NetStream.Play.Start") return true;
      if (*code != "NetStream.Play.Reset") return false;
    }
  }

  // Reads and parses for `duration`; false when the connection ended or a chunk did not parse.
  bool pump(std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline)
      if (!fill(deadline) && (eof_ || broken_)) return false;
    return true;
  }
  // Media messages read so far: video, audio, and video messages that are not an H.264 FLV video tag.
  size_t video() const { return video_; }
  size_t audio() const { return audio_; }
  size_t bad_video() const { return bad_video_; }
  bool broken() const { return broken_; }

  // True when the server closes the connection within the timeout.
  bool closed_by_server(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

 private:
  bool read_exact(ByteVector& out, size_t n) {
    out.resize(n);
    size_t got = 0;
    while (got < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return false;
      auto k = ::recv(fd_, out.data() + got, n - got, 0);
      if (k <= 0) return false;
      got += static_cast<size_t>(k);
    }
    return true;
  }

  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    std::byte tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    in_.insert(in_.end(), tmp, tmp + n);
    auto consumed = reader_.read(in_, [&](const rtmp::Message& m) {
      if (m.type == static_cast<uint8_t>(rtmp::MessageType::Video)) {
        ++video_;
        // FLV video tag: frame type in the high nibble (1 key, 2 inter), codec id 7 (AVC) in the low one.
        const auto b = m.payload.empty() ? 0 : std::to_integer<unsigned>(m.payload[0]);
        if ((b & 0x0f) != 7 || ((b >> 4) != 1 && (b >> 4) != 2)) ++bad_video_;
        return;
      }
      if (m.type == static_cast<uint8_t>(rtmp::MessageType::Audio)) {
        ++audio_;
        return;
      }
      if (m.type != static_cast<uint8_t>(rtmp::MessageType::CommandAmf0)) return;
      if (auto c = rtmp::parse_command(m.payload)) commands_.push_back(std::move(*c));
    });
    if (!consumed) {
      broken_ = true;
      return false;
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(*consumed));
    return true;
  }

  int fd_ = -1;
  bool eof_ = false;
  bool broken_ = false;
  size_t video_ = 0, audio_ = 0, bad_video_ = 0;
  uint32_t chunk_size_ = rtmp::kDefaultChunkSize;
  ByteVector in_;
  rtmp::ChunkReader reader_;
  std::vector<rtmp::Command> commands_;
  size_t next_ = 0;
};

}  // namespace sg::test
