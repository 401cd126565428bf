#include "rtsp_session/exec_supervisor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace sg::rtsp_session {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kKillPoll = 10ms;  // while killing: rescan for descendants forked after the last scan

// The parent pid of /proc/<pid>/stat ("pid (comm) S ppid ..."; comm may hold ')' and spaces), or -1.
pid_t parent_of(const char* pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  std::string_view stat(buf, static_cast<size_t>(n));
  auto paren = stat.rfind(')');
  if (paren == std::string_view::npos || paren + 4 >= stat.size()) return -1;
  auto rest = stat.substr(paren + 4);  // past ") S "
  pid_t ppid = -1;
  std::from_chars(rest.data(), rest.data() + rest.size(), ppid);
  return ppid;
}

// Every process below `root`, by the parent links in /proc (no need for CONFIG_PROC_CHILDREN). Descendants that
// daemonized are found too: as a subreaper, `root` becomes their parent.
std::vector<pid_t> descendants(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> links;  // (pid, parent)
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      pid_t pid = 0;
      auto name = std::string_view(e->d_name);
      auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
      if (ec != std::errc() || ptr != name.data() + name.size() || pid <= 0) continue;
      links.emplace_back(pid, parent_of(e->d_name));
    }
    ::closedir(d);
  }
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); ++i)
    for (const auto& [pid, parent] : links)
      if (parent == out[i]) out.push_back(pid);
  out.erase(out.begin());
  return out;
}

void signal_descendants(int sig) {
  for (pid_t pid : descendants(::getpid())) ::kill(pid, sig);
}

// Ends the supervisor with the command's own wait status: the same exit code, or the same signal.
[[noreturn]] void exit_like(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

bool parse_number(const char* text, long& out) {
  std::string_view s(text);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

int exec_supervisor_main(int argc, char** argv) {
  // streamgate --exec-supervisor PARENT GRACE_MS -- PROGRAM [ARGS...]
  long parent = 0, grace_ms = 0;
  if (argc < 6 || !parse_number(argv[2], parent) || !parse_number(argv[3], grace_ms) || grace_ms < 0 ||
      std::strcmp(argv[4], "--") != 0) {
    std::fprintf(stderr, "usage: %s %s PARENT_PID GRACE_MS -- PROGRAM [ARGS...]\n", argv[0], kExecSupervisorFlag);
    return 2;
  }

  // Signals are taken synchronously (sigtimedwait): no handler, no race with the reaping below.
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&handled, sig);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != static_cast<pid_t>(parent)) return 1;  // the server died before PR_SET_PDEATHSIG took hold

  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t child = -1;
  int rc = ::posix_spawn(&child, argv[5], nullptr, &attr, argv + 5, environ);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::fprintf(stderr, "cannot run %s: %s\n", argv[5], std::strerror(rc));
    return 127;
  }

  int status = 0;
  bool child_done = false;
  bool terminating = false;  // SIGTERM sent to every descendant, SIGKILL at kill_at
  bool killing = false;
  Clock::time_point kill_at{};
  auto terminate = [&] {
    if (terminating) return;
    terminating = true;
    kill_at = Clock::now() + std::chrono::milliseconds(grace_ms);
    signal_descendants(SIGTERM);
  };
  for (;;) {
    int reaped_status = 0;
    pid_t reaped;
    while ((reaped = ::waitpid(-1, &reaped_status, WNOHANG)) > 0) {
      if (reaped == child) {
        status = reaped_status;
        child_done = true;
      }
    }
    if (reaped < 0 && errno == ECHILD && child_done) exit_like(status);  // no descendant left
    if (child_done) terminate();
    if (terminating && Clock::now() >= kill_at) killing = true;
    if (killing) signal_descendants(SIGKILL);

    siginfo_t info{};
    int sig;
    if (!terminating) {
      sig = ::sigwaitinfo(&handled, &info);
    } else {
      auto left = killing ? Clock::duration(kKillPoll) : std::max(Clock::duration::zero(), kill_at - Clock::now());
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      sig = ::sigtimedwait(&handled, &info, &timeout);
    }
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) terminate();
    if (sig == SIGUSR1) {
      terminating = true;
      killing = true;
    }
  }
}

}  // namespace sg::rtsp_session
