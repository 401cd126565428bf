// Draining for rolling updates: on SIGTERM with shutdown_grace, /readyz is 503 at once, new RTSP connections and
// new WebRTC sessions are refused, an RTSP reader already playing keeps receiving until the grace period ends, then
// the server closes it and exits 0. Without shutdown_grace, SIGTERM exits within 2 s as before.
#include <gtest/gtest.h>

#include <signal.h>

#include <cerrno>

#include <boost/json.hpp>
#include <filesystem>

#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string config(const std::string& grace) {
  return "shutdown_grace: " + grace +
         "\n"
         "streams:\n"
         "  s:\n"
         "    source: >-\n"
         "      exec:ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=15 -an\n"
         "      -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -pix_fmt yuv420p\n"
         "      -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$STREAM\n";
}

int64_t stream_number(const Server& s, const std::string& key) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/s");
  boost::system::error_code ec;
  auto v = r.status == 200 ? json::parse(r.body, ec) : json::value(nullptr);
  if (ec || !v.is_object() || !v.as_object().contains(key) || !v.at(key).is_number()) return -1;
  return v.at(key).to_number<int64_t>();
}

bool rtsp_connect_refused(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

TEST(Drain, SigtermRefusesNewSessionsAndServesOpenOnesForTheGracePeriod) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  auto readers_tool = (std::filesystem::path(SG_BINARY).parent_path() / "bench" / "rtsp_readers").string();
  if (!std::filesystem::exists(readers_tool)) GTEST_SKIP() << readers_tool << " not built";
  Server s(config("3s"));
  ASSERT_TRUE(s.ready) << s.log();
  ASSERT_TRUE(wait_until([&] { return stream_number(s, "readers") == 0 && stream_number(s, "packets_received") > 0; },
                         20s))
      << s.log();
  Child reader({readers_tool, "--url", s.rtsp_url("s"), "--readers", "1", "--duration", "30", "--transport", "tcp",
                "--json"},
               ::testing::TempDir() + "sg_drain_reader.log");
  ASSERT_TRUE(wait_until([&] { return stream_number(s, "readers") == 1; }, 10s)) << s.log();

  auto sigterm_at = Clock::now();
  s.child.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return http_request(s.http_port, "GET", "/readyz").status == 503; }, 500ms))
      << s.log();
  EXPECT_NE(http_request(s.http_port, "GET", "/readyz").body.find("draining"), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return rtsp_connect_refused(s.rtsp_port); }, 500ms));
  auto whep = http_request(s.http_port, "POST", "/s/whep", "v=0\r\n", "application/sdp");
  EXPECT_EQ(whep.status, 503) << whep.raw;

  // The open reader keeps being sent packets while the server drains.
  auto sent = stream_number(s, "packets_sent");
  ASSERT_GT(sent, 0);
  EXPECT_TRUE(wait_until([&] { return stream_number(s, "packets_sent") >= sent + 15; }, 2500ms)) << s.log();
  EXPECT_TRUE(reader.running());

  // At the end of the grace period the reader is closed and the server exits cleanly.
  EXPECT_EQ(s.child.wait(5s), 0) << s.log();
  auto took = Clock::now() - sigterm_at;
  EXPECT_GE(took, 2800ms);
  EXPECT_LE(took, 5s);
  EXPECT_EQ(reader.wait(5s), 0) << reader.log();  // got its packets, then the server closed the session
}

TEST(Drain, WithoutAGracePeriodSigtermExitsAtOnce) {
  Server s("shutdown_grace: 0s\n");
  ASSERT_TRUE(s.ready) << s.log();
  auto start = Clock::now();
  s.child.signal(SIGTERM);
  EXPECT_EQ(s.child.wait(2s), 0) << s.log();
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(Drain, ASecondSigtermEndsTheGracePeriod) {
  Server s("shutdown_grace: 60s\n");
  ASSERT_TRUE(s.ready) << s.log();
  s.child.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return http_request(s.http_port, "GET", "/readyz").status == 503; }, 500ms));
  s.child.signal(SIGTERM);
  EXPECT_EQ(s.child.wait(2s), 0) << s.log();
}

}  // namespace
}  // namespace sg::test
