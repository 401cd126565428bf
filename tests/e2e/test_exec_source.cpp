// exec: sources: the child runs in its own process group, is restarted when it dies, and is killed with its whole
// group when the stream is deleted or the server shuts down; ffmpeg publishing into our RTSP server makes the
// stream ready.
#include <dirent.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "../support/proc.hpp"
#include "../support/process.hpp"

namespace sg {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using test::processes;

// Live (non-zombie) processes in process group `pgid`.
size_t live_in_group(pid_t pgid) {
  size_t n = 0;
  for (const auto& p : processes())
    if (p.pgid == pgid && p.state != 'Z') ++n;
  return n;
}

// The exec child of the server: a direct child that leads its own process group (the exec supervisor, whose group
// also holds the command and its children).
pid_t exec_child_of(pid_t server) {
  for (const auto& p : processes())
    if (p.ppid == server && p.pgid == p.pid && p.state != 'Z') return p.pid;
  return -1;
}

json::object stream_info(const test::Server& server, const std::string& id) {
  auto r = test::http_request(server.http_port, "GET", "/api/v1/streams/" + id);
  if (r.status != 200) return {};
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string string_of(const json::object& o, const char* key) {
  auto* s = o.if_contains(key);
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

int64_t number_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return -1;
}

std::string yaml_for(const std::string& id, const std::string& command) {
  return "streams:\n  " + id + ": { source: \"exec:" + command + "\" }\n";
}

TEST(ExecSource, ChildRunsInItsOwnGroupAndIsRestartedWhenKilled) {
  test::Server server(yaml_for("job", "sleep 600"));
  ASSERT_TRUE(server.ready) << server.log();
  pid_t first = -1;
  ASSERT_TRUE(test::wait_until([&] { return (first = exec_child_of(server.child.pid())) > 0; }, 5s)) << server.log();
  EXPECT_EQ(string_of(stream_info(server, "job"), "state"), "connecting");

  ::kill(-first, SIGKILL);
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "job");
    return string_of(info, "last_error").find("killed by signal 9") != std::string::npos;
  }, 5s)) << json::serialize(info);
  pid_t second = -1;
  ASSERT_TRUE(test::wait_until([&] {
    second = exec_child_of(server.child.pid());
    return second > 0 && second != first;
  }, 10s)) << server.log();
  EXPECT_GE(number_of(stream_info(server, "job"), "reconnects"), 1);
}

TEST(ExecSource, DeletingTheStreamKillsTheWholeProcessGroup) {
  // A shell with two background children: all three must go, with their supervisor.
  test::Server server(yaml_for("job", "sleep 600 & sleep 600 & wait"));
  ASSERT_TRUE(server.ready) << server.log();
  pid_t pgid = -1;
  ASSERT_TRUE(test::wait_until([&] {
    pgid = exec_child_of(server.child.pid());
    return pgid > 0 && live_in_group(pgid) == 4;
  }, 5s)) << server.log();

  EXPECT_EQ(test::http_request(server.http_port, "DELETE", "/api/v1/streams/job").status / 100, 2);
  EXPECT_TRUE(test::wait_until([&] { return live_in_group(pgid) == 0; }, 5s)) << live_in_group(pgid);
  EXPECT_EQ(exec_child_of(server.child.pid()), -1);
}

TEST(ExecSource, ServerShutdownLeavesNoOrphan) {
  test::Server server(yaml_for("job", "sleep 600 & sleep 600 & wait"));
  ASSERT_TRUE(server.ready) << server.log();
  pid_t pgid = -1;
  ASSERT_TRUE(test::wait_until([&] {
    pgid = exec_child_of(server.child.pid());
    return pgid > 0 && live_in_group(pgid) == 4;
  }, 5s)) << server.log();

  server.child.signal(SIGTERM);  // the server's own group; the exec child is in another one
  EXPECT_GE(server.child.wait(10s), 0);
  EXPECT_TRUE(test::wait_until([&] { return live_in_group(pgid) == 0; }, 5s)) << live_in_group(pgid);
}

TEST(ExecSource, CommandExitingWithAnErrorIsReportedWithItsStderr) {
  test::Server server(yaml_for("job", "echo no such camera >&2; exit 3"));
  ASSERT_TRUE(server.ready) << server.log();
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "job");
    return string_of(info, "state") == "error";
  }, 5s)) << json::serialize(info);
  EXPECT_EQ(string_of(info, "last_error"), "exec: command exited with code 3: no such camera");
}

bool tcp_port_open(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

TEST(ExecSource, FfmpegPublishingIntoOurServerMakesTheStreamReady) {
  if (!test::have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg missing";
  test::Server server(yaml_for("cam",
                               "ffmpeg -nostdin -re -f lavfi -i testsrc2=size=320x240:rate=15 -c:v libx264 -preset "
                               "ultrafast -g 15 -f rtsp rtsp://127.0.0.1:$RTSP_PORT/$STREAM"));
  ASSERT_TRUE(server.ready) << server.log();
  if (!tcp_port_open(server.rtsp_port)) GTEST_SKIP() << "this build has no RTSP server listening yet";
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return string_of(info, "state") == "ready";
  }, 15s)) << json::serialize(info) << "\n" << server.log();
  pid_t pgid = exec_child_of(server.child.pid());
  ASSERT_GT(pgid, 0);

  // Killing ffmpeg restarts it; the stream comes back.
  ::kill(-pgid, SIGKILL);
  pid_t next = -1;
  ASSERT_TRUE(test::wait_until([&] {
    next = exec_child_of(server.child.pid());
    return next > 0 && next != pgid;
  }, 10s)) << server.log();
  EXPECT_TRUE(test::wait_until([&] { return string_of(stream_info(server, "cam"), "state") == "ready"; }, 15s))
      << server.log();

  EXPECT_EQ(test::http_request(server.http_port, "DELETE", "/api/v1/streams/cam").status / 100, 2);
  EXPECT_TRUE(test::wait_until([&] { return live_in_group(next) == 0; }, 5s));
}

}  // namespace
}  // namespace sg
