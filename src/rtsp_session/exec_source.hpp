#pragma once
// exec:<command> source: runs a command (typically ffmpeg) that publishes the stream into our own RTSP server.
//
// The command runs through /bin/sh -c under an exec supervisor (exec_supervisor.hpp: our own binary, started with
// posix_spawn, in its own process group), with $STREAM replaced by the stream id and $RTSP_PORT by the server's
// RTSP port. The publisher it opens sets the stream's tracks and state; this source only keeps the process alive:
// state "connecting" while the child starts, "error" (with the exit status and the last stderr line) when it
// exits, then a restart after a backoff of 1 s doubling to 30 s (back to 1 s after a child that ran for 30 s or
// more). stop() sends SIGTERM to the supervisor, which passes it to every descendant of the command (also those
// that left its process group or session), SIGKILLs them after 2 s and exits when none is left; the worker reaps
// it. The supervisor also does this when the server dies, even by SIGKILL, so no descendant outlives the server
// and a restart never runs next to a leftover of the previous child.
//
// The child's stdout goes to /dev/null. Its stderr is read through a pipe: lines are logged at debug level,
// rate-limited, and the last line is kept for the error message when the child exits.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "media/stream.hpp"

namespace sg::rtsp_session {

struct ExecOptions {
  std::string command;  // without the "exec:" prefix
  uint16_t rtsp_port = 8554;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL
};

// `command` with $STREAM and $RTSP_PORT (also written ${STREAM}, ${RTSP_PORT}) replaced.
std::string expand_command(const std::string& command, const std::string& stream_id, uint16_t rtsp_port);

class ExecSource : public media::Source {
 public:
  ExecSource(boost::asio::io_context& context, std::shared_ptr<media::Stream> stream, ExecOptions options);
  ~ExecSource() override;
  ExecSource(const ExecSource&) = delete;
  ExecSource& operator=(const ExecSource&) = delete;

  // Any thread, idempotent: sends SIGTERM to the supervisor at once; it escalates to SIGKILL after the grace period
  // and the worker reaps it (or the runner's destructor does, if the worker is gone).
  void stop() override;

  struct Control;
  struct Runner;

 private:
  boost::asio::io_context& context_;
  std::shared_ptr<Control> control_;
  std::weak_ptr<Runner> runner_;
};

}  // namespace sg::rtsp_session
