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
#include "../support/process.hpp"
#include "app/probe.hpp"

namespace {

using sg::test::free_port;
using sg::test::run_binary;

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
  auto r = run_binary("--probe " + url("/healthz"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "200\n");
}

TEST_F(ServerFromEnvironment, ProbeOfAnErrorStatusExitsOne) {
  ASSERT_TRUE(up_);
  auto r = run_binary("--probe " + url("/api/v1/streams/nope"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output, "404\n");
}

TEST(Probe, ClosedPortExitsOneSayingWhy) {
  auto r = run_binary("--probe http://127.0.0.1:" + std::to_string(free_port()) + "/healthz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("probe failed"), std::string::npos) << r.output;
}

TEST(Probe, NonHttpUrlIsUsageError) {
  auto r = run_binary("--probe ftp://x/");
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
