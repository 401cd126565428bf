// Measures start-to-ready of a server binary precisely: the clock starts just before vfork+exec and stops at the
// first complete HTTP 200 from GET /healthz (polled with non-blocking connects, no sleeps). Prints milliseconds.
// Usage: startup_probe PORT BINARY [ARGS...]   (then kills the child with SIGTERM and reaps it)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {
bool healthz(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof req - 1)) {
      char buf[16] = {};
      ok = recv(fd, buf, 12, MSG_WAITALL) == 12 && std::memcmp(buf, "HTTP/1.1 200", 12) == 0;
    }
  }
  close(fd);
  return ok;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: startup_probe PORT BINARY [ARGS...]\n");
    return 2;
  }
  auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[2], nullptr, nullptr, argv + 2, environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  bool ready = false;
  while (!ready) {
    ready = healthz(port);
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(10)) break;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      std::fprintf(stderr, "server exited early\n");
      return 1;
    }
  }
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
  if (!ready) {
    std::fprintf(stderr, "not ready after 10 s\n");
    return 1;
  }
  std::printf("%.3f\n", ms);
  return 0;
}
