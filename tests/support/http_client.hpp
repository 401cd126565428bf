#pragma once
// A minimal blocking HTTP/1.1 client over a real TCP socket, for tests: one request per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sg::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;
};

// Sends `raw` bytes to 127.0.0.1:port and reads until the server closes (or timeout). status 0 = no reply.
// until_close: read until the server closes (several responses on one connection) instead of stopping after the
// first complete response.
inline HttpReply http_raw(uint16_t port, const std::string& raw, int timeout_ms = 5000, bool until_close = false) {
  HttpReply r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  size_t off = 0;
  while (off < raw.size()) {
    auto n = ::send(fd, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading it all
    off += static_cast<size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    r.raw.append(buf, static_cast<size_t>(n));
    // Stop once a complete response (by Content-Length) is in.
    auto end = r.raw.find("\r\n\r\n");
    if (end != std::string::npos && !until_close) {
      auto lower = r.raw.substr(0, end);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = lower.find("content-length:");
      if (cl != std::string::npos && r.raw.size() >= end + 4 + std::stoul(lower.substr(cl + 15))) break;
    }
  }
  ::close(fd);
  if (r.raw.rfind("HTTP/1.", 0) != 0 || r.raw.size() < 12) return r;
  r.status = std::stoi(r.raw.substr(9, 3));
  auto end = r.raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  size_t line = r.raw.find("\r\n") + 2;
  while (line < end) {
    auto eol = r.raw.find("\r\n", line);
    auto h = r.raw.substr(line, eol - line);
    auto colon = h.find(':');
    if (colon != std::string::npos) {
      auto name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    line = eol + 2;
  }
  r.body = r.raw.substr(end + 4);
  return r;
}

inline HttpReply http_request(uint16_t port, const std::string& method, const std::string& target,
                              const std::string& body = {}, const std::string& content_type = "application/json") {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    raw += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  return http_raw(port, raw);
}

}  // namespace sg::test
