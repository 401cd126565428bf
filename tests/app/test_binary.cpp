// The streamgate binary as a user runs it: flags, exit codes, config errors, signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "../support/http_client.hpp"
#include "../support/process.hpp"

namespace {

using sg::test::free_port;
using sg::test::run_binary;

TEST(Binary, HelpAndVersionExitZero) {
  auto h = run_binary("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.output.find("Usage: streamgate"), std::string::npos);
  EXPECT_NE(h.output.find("--config FILE"), std::string::npos);
  auto v = run_binary("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("streamgate ", 0), 0u);
}

TEST(Binary, UnknownFlagIsUsageError) {
  auto r = run_binary("--bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown option '--bogus'"), std::string::npos);
}

TEST(Binary, ConfigTypoFailsAtStartWithFileLineAndKey) {
  std::string path = ::testing::TempDir() + "sg_bad.yaml";
  {
    std::ofstream f(path);
    f << "server:\n  http: 127.0.0.1:0\nworkerz: 2\n";
  }
  auto r = run_binary("--config " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path + ":3: unknown key 'workerz'"), std::string::npos) << r.output;
}

TEST(Binary, HttpsFlagWithoutTlsFilesIsUsageError) {
  auto r = run_binary("--https 127.0.0.1:0 --http 127.0.0.1:0 --rtsp 127.0.0.1:0 --webrtc-udp 127.0.0.1:0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--https needs tls.cert and tls.key"), std::string::npos) << r.output;
}

TEST(Binary, MissingTlsCertificateFailsAtStartNamingTheFile) {
  std::string path = ::testing::TempDir() + "sg_tls_missing.yaml";
  std::ofstream(path) << "tls:\n  cert: /nonexistent/sg/cert.pem\n  key: /nonexistent/sg/key.pem\n";
  auto r =
      run_binary("--config " + path +
          " --http 127.0.0.1:0 --rtsp 127.0.0.1:0 --webrtc-udp 127.0.0.1:0 --https 127.0.0.1:0 --rtsps 127.0.0.1:0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot read '/nonexistent/sg/cert.pem'"), std::string::npos) << r.output;
}

TEST(Binary, BusyPortIsRuntimeError) {
  // Bind a port, then ask the server to use it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  listen(fd, 1);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = run_binary("--http 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + " --rtsp 127.0.0.1:0 --webrtc-udp 127.0.0.1:0");
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot listen"), std::string::npos) << r.output;
}

TEST(Binary, SigtermExitsZeroWithinTwoSeconds) {
  uint16_t port = free_port();
  pid_t pid = fork();
  if (pid == 0) {
    std::string http = "127.0.0.1:" + std::to_string(port);
    execl(SG_BINARY, SG_BINARY, "--http", http.c_str(), "--rtsp", "127.0.0.1:0", "--webrtc-udp", "127.0.0.1:0",
          "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until it serves.
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    up = sg::test::http_request(port, "GET", "/healthz").status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up);
  auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (done == 0) kill(pid, SIGKILL), waitpid(pid, &status, 0);
  ASSERT_EQ(done, pid) << "did not exit";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
