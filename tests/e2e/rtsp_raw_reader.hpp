#pragma once
// A raw RTSP reader for end-to-end tests that look at the packets themselves: DESCRIBE, SETUP of every track
// (TCP interleaved or UDP unicast), PLAY, then every RTP and RTCP packet with its arrival time. Blocking, with
// timeouts; closes its sockets when it goes away. Connects to 127.0.0.1 or to a given IPv4 address (the socket is
// made in the calling thread's network namespace: tests with several namespaces construct it in a thread that
// entered the reader's namespace, see cluster_rig.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "base/bytes.hpp"

namespace sg::test {

struct RawPacket {
  size_t track = 0;
  bool rtcp = false;
  std::chrono::steady_clock::time_point arrival;
  ByteVector data;
};

struct RtpInfoEntry {
  std::string url;
  uint16_t seq = 0;
  std::optional<uint32_t> rtptime;
};

class RawRtspReader {
 public:
  RawRtspReader(uint16_t port, std::string url, bool tcp) : RawRtspReader("127.0.0.1", port, std::move(url), tcp) {}
  // `host`: a dotted IPv4 address; UDP media is then received on that address too.
  RawRtspReader(const std::string& host, uint16_t port, std::string url, bool tcp) : url_(std::move(url)), tcp_(tcp) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (a.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) udp_address_ = htonl(INADDR_ANY);  // media to any local address
    if (a.sin_addr.s_addr == htonl(INADDR_ANY) || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawRtspReader() {
    for (int fd : udp_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
  }
  RawRtspReader(const RawRtspReader&) = delete;
  RawRtspReader& operator=(const RawRtspReader&) = delete;

  // UDP: the receive buffer (SO_RCVBUF, which Linux doubles) of the sockets play() opens; 0 leaves the default.
  void set_udp_receive_buffer(int bytes) { udp_receive_buffer_ = bytes; }

  // DESCRIBE, SETUP per media section, PLAY; false with error() set when a step fails.
  bool play() {
    if (fd_ < 0) return fail("connect failed");
    auto d = request("DESCRIBE " + url_ + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n");
    if (status(d) != 200) return fail("DESCRIBE: " + d);
    auto body = d.substr(d.find("\r\n\r\n") + 4);
    std::regex control("a=control:(\\S+)");
    std::vector<std::string> controls;
    for (std::sregex_iterator it(body.begin(), body.end(), control), end; it != end; ++it)
      if ((*it)[1] != "*") controls.push_back((*it)[1]);
    if (controls.empty()) return fail("no tracks in " + body);
    std::string base = url_ + "/";
    std::string session;
    for (size_t i = 0; i < controls.size(); ++i) {
      std::string track_url = controls[i].starts_with("rtsp://") ? controls[i] : base + controls[i];
      track_urls_.push_back(track_url);
      std::string transport;
      if (tcp_) {
        transport = "RTP/AVP/TCP;unicast;interleaved=" + std::to_string(2 * i) + "-" + std::to_string(2 * i + 1);
      } else {
        uint16_t port = bind_udp_pair();
        if (port == 0) return fail("no UDP port pair");
        transport = "RTP/AVP;unicast;client_port=" + std::to_string(port) + "-" + std::to_string(port + 1);
      }
      auto s = request("SETUP " + track_url + " RTSP/1.0\r\nCSeq: " + std::to_string(2 + i) +
                       "\r\nTransport: " + transport + (session.empty() ? "" : "\r\nSession: " + session) + "\r\n\r\n");
      if (status(s) != 200) return fail("SETUP: " + s);
      session = header(s, "Session");
      session = session.substr(0, session.find(';'));
    }
    auto p = request("PLAY " + url_ + " RTSP/1.0\r\nCSeq: 9\r\nSession: " + session + "\r\nRange: npt=0.000-\r\n\r\n");
    if (status(p) != 200) return fail("PLAY: " + p);
    play_response_ = p;
    std::regex entry("url=([^;,]+);seq=(\\d+)(;rtptime=(\\d+))?");
    auto info = header(p, "RTP-Info");
    for (std::sregex_iterator it(info.begin(), info.end(), entry), end; it != end; ++it) {
      RtpInfoEntry e;
      e.url = (*it)[1];
      e.seq = static_cast<uint16_t>(std::stoul((*it)[2]));
      if ((*it)[4].matched) e.rtptime = static_cast<uint32_t>(std::stoul((*it)[4]));
      rtp_info_.push_back(e);
    }
    return true;
  }

  // Collects packets until `enough` holds (checked after each packet) or `timeout` passes; false on timeout or
  // when the server closed the connection.
  template <class F>
  bool read_until(F enough, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!read_some(deadline)) return enough();
      if (enough()) return true;
    }
    return enough();
  }

  const std::vector<RawPacket>& packets() const { return packets_; }
  const std::vector<RtpInfoEntry>& rtp_info() const { return rtp_info_; }
  const std::vector<std::string>& track_urls() const { return track_urls_; }
  const std::string& play_response() const { return play_response_; }
  const std::string& error() const { return error_; }
  // The server closed the RTSP connection (a read returned EOF).
  bool eof() const { return eof_; }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  bool fail(std::string e) {
    error_ = std::move(e);
    return false;
  }
  static int status(const std::string& r) { return r.rfind("RTSP/1.0 ", 0) == 0 ? std::atoi(r.c_str() + 9) : 0; }
  static std::string header(const std::string& r, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(r, m, std::regex("\r\n" + name + ": *([^\r]*)", std::regex::icase))) return {};
    return m[1];
  }

  uint16_t bind_udp_pair() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      int rtp = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a = loopback(0);
      a.sin_addr.s_addr = udp_address_;
      ::bind(rtp, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(rtp, reinterpret_cast<sockaddr*>(&a), &len);
      uint16_t port = ntohs(a.sin_port);
      if (port % 2 != 0 || port == 65535) {
        ::close(rtp);
        continue;
      }
      int rtcp = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in b = loopback(static_cast<uint16_t>(port + 1));
      b.sin_addr.s_addr = udp_address_;
      if (::bind(rtcp, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) {
        ::close(rtp);
        ::close(rtcp);
        continue;
      }
      if (udp_receive_buffer_ > 0)
        ::setsockopt(rtp, SOL_SOCKET, SO_RCVBUF, &udp_receive_buffer_, sizeof udp_receive_buffer_);
      udp_.push_back(rtp);
      udp_.push_back(rtcp);
      return port;
    }
    return 0;
  }

 public:
  // Sends one request (any method: tests that speak RTSP themselves use it too) and returns the response, reading
  // through any interleaved frames before it; empty on timeout or close.
  std::string request(const std::string& text) {
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) return {};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      if (!buf_.empty() && buf_[0] == '$') {
        if (!take_frame()) {
          if (!fill(deadline)) return {};
        }
        continue;
      }
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t body = 0;
        std::smatch m;
        std::string head = buf_.substr(0, end);
        if (std::regex_search(head, m, std::regex("Content-Length: *(\\d+)", std::regex::icase)))
          body = std::stoul(m[1]);
        if (buf_.size() >= end + 4 + body) {
          auto r = buf_.substr(0, end + 4 + body);
          buf_.erase(0, end + 4 + body);
          return r;
        }
      }
      if (!fill(deadline)) return {};
    }
  }

 private:
  bool take_frame() {
    if (buf_.size() < 4) return false;
    size_t len = (static_cast<uint8_t>(buf_[2]) << 8) | static_cast<uint8_t>(buf_[3]);
    if (buf_.size() < 4 + len) return false;
    uint8_t ch = static_cast<uint8_t>(buf_[1]);
    RawPacket p{ch / 2u, ch % 2 == 1, std::chrono::steady_clock::now(), {}};
    auto* b = reinterpret_cast<const std::byte*>(buf_.data() + 4);
    p.data.assign(b, b + len);
    packets_.push_back(std::move(p));
    buf_.erase(0, 4 + len);
    return true;
  }

  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) eof_ = true;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // Waits for data on the TCP connection (interleaved frames) or the UDP sockets.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    if (tcp_) {
      if (take_frame()) return true;
      if (!fill(deadline)) return false;
      while (take_frame()) {
      }
      return true;
    }
    std::vector<pollfd> fds;
    for (int fd : udp_) fds.push_back({fd, POLLIN, 0});
    fds.push_back({fd_, POLLIN, 0});  // the server closing the connection ends the session
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) return false;
    if (fds.back().revents & (POLLIN | POLLHUP)) {
      char tmp[4096];
      if (::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT) == 0) {
        eof_ = true;
        return false;
      }
    }
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      std::byte tmp[65536];
      auto n = ::recv(udp_[i], tmp, sizeof tmp, MSG_DONTWAIT);
      if (n <= 0) continue;
      packets_.push_back({i / 2, i % 2 == 1, std::chrono::steady_clock::now(), ByteVector(tmp, tmp + n)});
    }
    return true;
  }

  std::string url_;
  bool tcp_;
  int udp_receive_buffer_ = 0;
  in_addr_t udp_address_ = htonl(INADDR_LOOPBACK);  // where the UDP sockets are bound
  int fd_ = -1;
  std::vector<int> udp_;  // rtp, rtcp per track
  std::string buf_;
  std::vector<RawPacket> packets_;
  std::vector<RtpInfoEntry> rtp_info_;
  std::vector<std::string> track_urls_;
  std::string play_response_;
  std::string error_;
  bool eof_ = false;
};

}  // namespace sg::test
