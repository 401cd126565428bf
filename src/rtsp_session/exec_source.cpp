#include "rtsp_session/exec_source.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "app/log.hpp"
#include "base/redact.hpp"
#include "base/result.hpp"
#include "rtsp_session/exec_supervisor.hpp"

extern char** environ;

namespace sg::rtsp_session {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using media::StreamState;
using namespace std::chrono_literals;

namespace {

constexpr auto kPoll = 100ms;
constexpr auto kStopPoll = 20ms;
constexpr auto kSupervisorMargin = 1s;  // beyond the kill grace, which the supervisor applies itself
constexpr auto kHealthyRun = 30s;  // a child that ran this long resets the backoff
constexpr size_t kMaxLine = 300;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// A command without shell operators is run with `exec` so the shell is replaced by the program: one process less.
bool is_simple_command(std::string_view cmd) { return cmd.find_first_of(";&|\n()`") == std::string_view::npos; }

// Exited (zombie, not reaped) or not: waitid with WNOWAIT keeps the zombie, so its process group id cannot be
// reused while we kill what is left of the group.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

// Kills whatever is left in the group (the supervisor and what did not leave its group), then reaps the leader.
// Only a last resort: the supervisor exits by itself once every descendant is gone. Returns its wait status.
int kill_group_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

std::string expand_command(const std::string& command, const std::string& stream_id, uint16_t rtsp_port) {
  std::string s = command;
  const std::string port = std::to_string(rtsp_port);
  replace_all(s, "${STREAM}", stream_id);
  replace_all(s, "${RTSP_PORT}", port);
  replace_all(s, "$STREAM", stream_id);
  replace_all(s, "$RTSP_PORT", port);
  return s;
}

struct ExecSource::Control {
  std::mutex mu;
  bool stopped = false;
  pid_t pid = -1;  // the running child (= its process group), -1 when none
};

struct ExecSource::Runner : std::enable_shared_from_this<Runner> {
  Runner(asio::io_context& c, std::shared_ptr<media::Stream> s, ExecOptions o, std::shared_ptr<Control> ctl)
      : ctx(c), stream(std::move(s)), opt(std::move(o)), control(std::move(ctl)), timer(c) {}

  // Only reached with a live child when the worker's io_context was destroyed with the coroutine suspended
  // (server shutdown): the child must not outlive us.
  ~Runner() {
    if (child > 0) {
      ::kill(child, SIGTERM);
      for (int i = 0; i < 25 && !has_exited(child); ++i) std::this_thread::sleep_for(20ms);
      ::kill(child, SIGUSR1);  // the supervisor SIGKILLs every descendant now, then exits
      for (int i = 0; i < 50 && !has_exited(child); ++i) std::this_thread::sleep_for(20ms);
      kill_group_and_reap(child);
    }
    if (err_fd >= 0) ::close(err_fd);
  }

  asio::io_context& ctx;
  std::shared_ptr<media::Stream> stream;
  ExecOptions opt;
  std::shared_ptr<Control> control;
  asio::steady_timer timer;
  pid_t child = -1;
  int err_fd = -1;
  std::string err_partial;
  std::string last_line;
  log::RateLimit err_log{std::chrono::seconds(2)};

  bool stopped() {
    std::lock_guard lk(control->mu);
    return control->stopped;
  }

  void report(StreamState state, const std::string& error = {}) {
    std::lock_guard lk(control->mu);
    if (control->stopped) return;
    stream->set_state(state, error);
  }

  // The command runs under our exec supervisor (exec_supervisor.hpp), started with posix_spawn: unlike fork in
  // this multi-threaded server, it runs none of our code in the child, and the child starts with default signal
  // dispositions and an empty mask (a SIGTERM arriving before the exec cannot reach the server's handlers).
  Result<pid_t> spawn(const std::string& command) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return make_error(std::string("pipe: ") + std::strerror(errno));
    std::string shell_cmd = is_simple_command(command) ? "exec " + command : command;
    std::string parent = std::to_string(::getpid());
    std::string grace = std::to_string(opt.kill_grace.count());
    const char* argv[] = {"streamgate",    kExecSupervisorFlag, parent.c_str(), grace.c_str(), "--",
                          "/bin/sh",       "-c",                shell_cmd.c_str(), nullptr};
    posix_spawn_file_actions_t files;
    ::posix_spawn_file_actions_init(&files);
    ::posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_adddup2(&files, fds[1], 2);
    // No listening socket or other server descriptor may leak into the child (Asio's are not close-on-exec).
    ::posix_spawn_file_actions_addclosefrom_np(&files, 3);
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &all);
    ::posix_spawnattr_setpgroup(&attr, 0);  // its own process group: the last-resort kill(-pid) reaches the rest
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    // The supervisor is this binary; a test program embedding the server names the real one in SG_EXEC_SUPERVISOR.
    const char* supervisor = std::getenv("SG_EXEC_SUPERVISOR");
    if (!supervisor || !*supervisor) supervisor = "/proc/self/exe";
    int rc = ::posix_spawn(&pid, supervisor, &files, &attr, const_cast<char* const*>(argv), environ);
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&files);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return make_error(std::string("posix_spawn: ") + std::strerror(rc));
    }
    err_fd = fds[0];
    return pid;
  }

  void drain_stderr() {
    if (err_fd < 0) return;
    char buf[4096];
    for (int rounds = 0; rounds < 16; ++rounds) {
      ssize_t n = ::read(err_fd, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) {
        char ch = buf[i];
        if (ch == '\n' || ch == '\r') {
          line_done();
        } else if (err_partial.size() < kMaxLine) {
          err_partial += ch;
        }
      }
    }
  }

  void line_done() {
    if (err_partial.find_first_not_of(" \t") == std::string::npos) {
      err_partial.clear();
      return;
    }
    while (!err_partial.empty() && (err_partial.back() == ' ' || err_partial.back() == '\t')) err_partial.pop_back();
    // ffmpeg's progress lines say nothing about why it stopped: keep the last real message for the error.
    if (!err_partial.starts_with("frame=") && !err_partial.starts_with("size=")) last_line = redact_secrets(err_partial);
    const std::string line = redact_secrets(err_partial);
    if (log::enabled(log::Level::Debug) && err_log.allow()) {
      log::debug("exec source stderr",
                 {{"stream", stream->id()}, {"line", line}, {"suppressed", err_log.suppressed()}});
    }
    err_partial.clear();
  }

  void close_stderr() {
    drain_stderr();
    if (!err_partial.empty()) line_done();
    if (err_fd >= 0) ::close(err_fd);
    err_fd = -1;
  }

  asio::awaitable<void> pause_for(Clock::duration d) {
    timer.expires_after(d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> run(std::shared_ptr<Runner> self) {
    const std::string command = expand_command(opt.command, stream->id(), opt.rtsp_port);
    auto delay = opt.backoff_initial;
    while (!stopped()) {
      report(StreamState::Connecting);
      last_line.clear();
      auto pid = spawn(command);
      std::string error;
      bool healthy = false;
      if (!pid) {
        error = "exec: " + pid.error();
      } else {
        child = *pid;
        {
          std::lock_guard lk(control->mu);
          control->pid = child;
        }
        log::info("exec source started", {{"stream", stream->id()}, {"pid", child}, {"command", redact_secrets(command)}});
        const auto started = Clock::now();
        bool exited = false;
        while (!(exited = has_exited(child)) && !stopped()) {
          co_await pause_for(kPoll);
          drain_stderr();
        }
        if (!exited) {
          // Stopped: stop() sent SIGTERM already (unless it raced with the spawn). The supervisor escalates to
          // SIGKILL after the grace time and exits when every descendant is gone.
          ::kill(child, SIGTERM);
          const auto kill_at = Clock::now() + opt.kill_grace + kSupervisorMargin;
          while (!(exited = has_exited(child)) && Clock::now() < kill_at) co_await pause_for(kStopPoll);
        }
        int status = kill_group_and_reap(child);
        {
          std::lock_guard lk(control->mu);
          control->pid = -1;
        }
        close_stderr();
        healthy = Clock::now() - started >= kHealthyRun;
        error = "exec: command " + describe_status(status);
        if (!last_line.empty()) error += ": " + last_line;
        log::info(stopped() ? "exec source stopped" : "exec source exited",
                  {{"stream", stream->id()}, {"pid", child}, {"status", describe_status(status)},
                   {"stderr", last_line}});
        child = -1;
      }
      if (stopped()) break;
      if (healthy) delay = opt.backoff_initial;
      report(StreamState::Error, error);
      co_await pause_for(delay);
      if (stopped()) break;
      delay = std::min(delay * 2, opt.backoff_max);
      stream->count_reconnect();
    }
    (void)self;
  }
};

ExecSource::ExecSource(asio::io_context& context, std::shared_ptr<media::Stream> stream, ExecOptions options)
    : context_(context), control_(std::make_shared<Control>()) {
  auto runner = std::make_shared<Runner>(context, std::move(stream), std::move(options), control_);
  runner_ = runner;
  auto* r = runner.get();
  asio::co_spawn(context, r->run(std::move(runner)), asio::detached);
}

ExecSource::~ExecSource() { stop(); }

void ExecSource::stop() {
  {
    std::lock_guard lk(control_->mu);
    if (control_->stopped) return;
    control_->stopped = true;
    // At once, from this thread: the worker may be about to stop (server shutdown).
    if (control_->pid > 0) ::kill(control_->pid, SIGTERM);  // the supervisor passes it to every descendant
  }
  asio::post(context_, [runner = runner_] {
    if (auto r = runner.lock()) r->timer.cancel();
  });
}

}  // namespace sg::rtsp_session
