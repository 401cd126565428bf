#pragma once
// Child processes for end-to-end tests: the streamgate binary on free ports, and real third-party peers (ffmpeg,
// ffprobe, GStreamer). Each child runs in its own process group, which is killed when the handle goes away, so a
// failing test leaves no orphans.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "http_client.hpp"

namespace sg::test {

using namespace std::chrono_literals;

// A port nothing is bound to, for a server under test. Picked at random below Linux's ephemeral range
// (net.ipv4.ip_local_port_range, 32768-60999): a port the kernel handed out (what bind to port 0 gives) can be
// taken again, between our close and the server's bind, by any outgoing connection of a test running in
// parallel; ports outside that range are only ever taken by an explicit bind.
inline uint16_t free_port(int type = SOCK_STREAM) {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  static std::set<uint16_t> given;  // never the same port twice in one test process
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (given.count(port)) continue;
    int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) {
      given.insert(port);
      return port;
    }
  }
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Polls `cond` every 20 ms until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

inline bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

class Child {
 public:
  Child() = default;
  // Runs argv[0] (looked up in PATH) with output to `log_file` (stdout and stderr).
  Child(std::vector<std::string> argv, const std::string& log_file) { start(std::move(argv), log_file); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& o) noexcept : pid_(o.pid_), log_(std::move(o.log_)) { o.pid_ = -1; }
  ~Child() { kill(); }

  void start(std::vector<std::string> argv, const std::string& log_file) {
    log_ = log_file;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      _exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exit_status_ = st;
      pid_ = -1;
      return false;
    }
    return true;
  }
  // Waits for exit; returns the exit code, or -1 on timeout (the child is then killed) or on a signal.
  int wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -1;
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (!running()) return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -1;
      std::this_thread::sleep_for(10ms);
    }
    kill();
    return -1;
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(-pid_, sig);
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 100 && running(); ++i) std::this_thread::sleep_for(10ms);
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  std::string log() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  int exit_status_ = 0;
  std::string log_;
};

// Runs a command to completion (with a timeout), capturing stdout+stderr.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
inline RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout, const std::string& tag = "run") {
  static int counter = 0;
  std::string log = ::testing::TempDir() + "sg_" + tag + "_" + std::to_string(::getpid()) + "_" +
                    std::to_string(counter++) + ".log";
  Child c(std::move(argv), log);
  RunResult r;
  r.exit_code = c.wait(timeout);
  r.output = c.log();
  return r;
}

// The streamgate binary run to completion with `args` (split at spaces), stdout+stderr captured.
inline RunResult run_binary(const std::string& args, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::vector<std::string> argv = {SG_BINARY};
  std::istringstream in(args);
  for (std::string word; in >> word;) argv.push_back(word);
  return run(std::move(argv), timeout, "binary");
}

// The streamgate binary on free ports with an optional YAML config; waits for /readyz.
class Server {
 public:
  explicit Server(const std::string& yaml = "", std::vector<std::string> extra = {}) {
    http_port = free_port();
    rtsp_port = free_port();
    udp_port = free_port(SOCK_DGRAM);
    std::string dir = ::testing::TempDir();
    std::string tag = std::to_string(::getpid()) + "_" + std::to_string(http_port);
    std::vector<std::string> argv = {SG_BINARY,
                                     "--http", "127.0.0.1:" + std::to_string(http_port),
                                     "--rtsp", "127.0.0.1:" + std::to_string(rtsp_port),
                                     "--webrtc-udp", "127.0.0.1:" + std::to_string(udp_port),
                                     "--log-level", "debug"};
    if (!yaml.empty()) {
      config_file = dir + "sg_config_" + tag + ".yaml";
      std::ofstream(config_file) << yaml;
      argv.push_back("--config");
      argv.push_back(config_file);
    }
    for (auto& e : extra) argv.push_back(e);
    child.start(argv, dir + "sg_server_" + tag + ".log");
    ready = wait_until([&] { return http_request(http_port, "GET", "/readyz").status == 200 || !child.running(); },
                       10s) &&
            child.running();
  }
  std::string rtsp_url(const std::string& path) const {
    return "rtsp://127.0.0.1:" + std::to_string(rtsp_port) + "/" + path;
  }
  std::string http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port) + "/" + path;
  }
  std::string log() const { return child.log(); }

  uint16_t http_port = 0, rtsp_port = 0, udp_port = 0;
  std::string config_file;
  bool ready = false;
  Child child;
};

}  // namespace sg::test
