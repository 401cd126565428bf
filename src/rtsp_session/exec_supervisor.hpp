#pragma once
// The exec supervisor: a tiny process between the server and an exec: command, so that every descendant of the
// command dies with the source (stop, respawn) and with the server (SIGTERM or SIGKILL).
//
// It is our own binary re-executed through posix_spawn (`streamgate --exec-supervisor PARENT GRACE_MS -- ARGV...`),
// never a fork of the multi-threaded server: posix_spawn resets every signal disposition and the signal mask, so
// no server signal handler (Asio's signal_set and its pipe) can run in a child, and no server descriptor leaks.
//
// The supervisor makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so descendants that daemonize or setsid
// are reparented to it; it asks for SIGTERM when the server thread that spawned it dies (PR_SET_PDEATHSIG, then
// checks getppid() for the race). It runs ARGV with default signals, and then:
//   - ARGV exits: every remaining descendant gets SIGTERM, SIGKILL after GRACE_MS; it exits with ARGV's status
//     (the same exit code, or the same signal re-raised), so the server reports the command's status;
//   - SIGTERM / SIGINT / SIGHUP (a stop, or the server's death): the same, with ARGV included;
//   - SIGUSR1: every descendant gets SIGKILL at once (the server is shutting down and cannot wait).
// It exits only when no descendant is left, so a respawn never runs next to a leftover of the previous child.
// The server talks to it only through its pid (signals) and its exit status.

namespace sg::rtsp_session {

inline constexpr const char* kExecSupervisorFlag = "--exec-supervisor";

// main() for `streamgate --exec-supervisor ...` (argv[1] is the flag). Returns only on a usage error.
int exec_supervisor_main(int argc, char** argv);

}  // namespace sg::rtsp_session
