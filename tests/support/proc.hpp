#pragma once
// What /proc says about a process, for tests that watch the server and its children: its state and parent, its
// descendants, its command line, CPU time, RSS and open descriptors.
//
// A process can exit between listing /proc and reading one of its files; the read then fails with ESRCH. Every
// reader here gives "nothing" for a vanished process (an empty string, no entry, zero) and never throws:
// std::ifstream read through istreambuf_iterator throws from basic_filebuf::underflow on that error, which once
// failed a test that had nothing wrong with it.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sg::test {

// The whole of /proc/<pid>/<name>, or "" when it cannot be read (the process is gone).
inline std::string proc_file(pid_t pid, std::string_view name) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + std::string(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      out.clear();  // ESRCH mid-read: a partial file is no better than none
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The fields of /proc/<pid>/stat the tests use.
struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = '?';
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
};

inline std::optional<ProcStat> proc_stat(pid_t pid) {
  const std::string stat = proc_file(pid, "stat");
  const auto paren = stat.rfind(')');  // the command name in parentheses may itself hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 > stat.size()) return std::nullopt;
  ProcStat p;
  p.pid = pid;
  std::istringstream rest(stat.substr(paren + 2));
  long session = 0, tty = 0, tpgid = 0;
  unsigned long flags = 0, minflt = 0, cminflt = 0, majflt = 0, cmajflt = 0;
  rest >> p.state >> p.ppid >> p.pgid >> session >> tty >> tpgid >> flags >> minflt >> cminflt >> majflt >> cmajflt >>
      p.utime_ticks >> p.stime_ticks;  // fields 3 to 15
  if (!rest) return std::nullopt;
  return p;
}

// Every process on the machine that could be read.
inline std::vector<ProcStat> processes() {
  std::vector<ProcStat> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (auto p = proc_stat(static_cast<pid_t>(pid))) out.push_back(*p);
  }
  ::closedir(d);
  return out;
}

// Live (non-zombie) processes below `root`.
inline std::vector<pid_t> descendants(pid_t root) {
  const auto all = processes();
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); ++i)
    for (const auto& p : all)
      if (p.ppid == out[i] && p.state != 'Z') out.push_back(p.pid);
  out.erase(out.begin());
  return out;
}

// The command line with its arguments joined by spaces; "" for a vanished process.
inline std::string cmdline(pid_t pid) {
  std::string s = proc_file(pid, "cmdline");
  for (auto& c : s)
    if (c == '\0') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Running and not a zombie.
inline bool alive(pid_t pid) {
  const auto p = proc_stat(pid);
  return p && p->state != 'Z';
}

// CPU time (user + system) the process has used so far; zero for a vanished process.
inline std::chrono::milliseconds cpu_time(pid_t pid) {
  const auto p = proc_stat(pid);
  if (!p) return {};
  return std::chrono::milliseconds((p->utime_ticks + p->stime_ticks) * 1000 / ::sysconf(_SC_CLK_TCK));
}

// VmRSS in bytes; zero for a vanished process.
inline size_t rss_bytes(pid_t pid) {
  std::istringstream status(proc_file(pid, "status"));
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

// Descriptors the process holds open.
inline size_t open_fds(pid_t pid) {
  size_t n = 0;
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

}  // namespace sg::test
