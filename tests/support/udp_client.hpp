#pragma once
// A UDP socket on loopback that sends to a server port (the WebRTC port) and reads what comes back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.hpp"

namespace sg::test {

class UdpClient {
 public:
  explicit UdpClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;
  void send(Bytes b) { ::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to_), sizeof to_); }
  // The next datagram (empty after a second without one); `from_port` gets its source port.
  ByteVector receive(uint16_t* from_port = nullptr) {
    ByteVector buf(2048);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    auto n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (from_port) *from_port = n > 0 ? ntohs(from.sin_port) : 0;
    return buf;
  }
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

 private:
  int fd_ = -1;
  sockaddr_in to_{};
};

}  // namespace sg::test
