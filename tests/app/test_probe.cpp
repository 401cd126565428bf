// `streamgate --probe URL` (the image's HEALTHCHECK) and STREAMGATE_* overrides, on the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "../support/http_client.hpp"
#include "app/probe.hpp"

namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

Run run(const std::string& args) {
  Run r;
  std::string cmd = SG_BINARY;  // appended, not +: GCC 12's -Warray-bounds misfires on the temporaries
  cmd.append(" ").append(args).append(" 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// The server with no config file, its HTTP port given only through STREAMGATE_SERVER__HTTP.
class ServerFromEnvironment : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    pid_ = fork();
    if (pid_ == 0) {
      std::string http = "127.0.0.1:" + std::to_string(port_);
      setenv("STREAMGATE_SERVER__HTTP", http.c_str(), 1);
      setenv("STREAMGATE_SERVER__RTSP", "127.0.0.1:0", 1);
      setenv("STREAMGATE_SERVER__WEBRTC_UDP", "127.0.0.1:0", 1);
      setenv("STREAMGATE_LOG__LEVEL", "warn", 1);
      execl(SG_BINARY, SG_BINARY, static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 250 && !up_; ++i) {
      up_ = sg::test::http_request(port_, "GET", "/healthz").status == 200;
      if (!up_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void TearDown() override {
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool up_ = false;
};

TEST_F(ServerFromEnvironment, ListensWhereTheEnvironmentSays) { ASSERT_TRUE(up_); }

TEST_F(ServerFromEnvironment, ProbeOfHealthzExitsZero) {
  ASSERT_TRUE(up_);
  auto r = run("--probe " + url("/healthz"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "200\n");
}

TEST_F(ServerFromEnvironment, ProbeOfAnErrorStatusExitsOne) {
  ASSERT_TRUE(up_);
  auto r = run("--probe " + url("/api/v1/streams/nope"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output, "404\n");
}

TEST(Probe, ClosedPortExitsOneSayingWhy) {
  auto r = run("--probe http://127.0.0.1:" + std::to_string(free_port()) + "/healthz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("probe failed"), std::string::npos) << r.output;
}

TEST(Probe, NonHttpUrlIsUsageError) {
  auto r = run("--probe ftp://x/");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("not an http:// URL"), std::string::npos) << r.output;
}

TEST(Probe, ParsesHostPortAndPath) {
  auto u = sg::app::parse_probe_url("http://[::1]:8080/readyz");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/readyz");
  auto d = sg::app::parse_probe_url("http://localhost");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, "80");
  EXPECT_EQ(d->target, "/");
  EXPECT_FALSE(sg::app::parse_probe_url("http://:80/"));
}

}  // namespace
