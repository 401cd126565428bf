// An H.265 stream (ffmpeg libx265 + Opus over RTSP) and viewers without H.265: the WHEP POST is refused with 422
// and a problem statement that says why (the stream's video is H.265, the offer has no H.265), the /ws signaling
// answers with an error carrying the same reason, the player page shows it instead of a black player, and the
// server logs one line per refused offer. Without a browser: the same with a real H.264-only offer over WHEP.
// Headless Chromium here (Debian's, software decoding) offers no H.265; if a Chromium that does is installed, the
// test checks that the offer is answered instead.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>

#include "../support/client_requests.hpp"
#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "browser.hpp"

namespace sg::test {
namespace {



class WebRtcH265E2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg")) return;
    server_ = std::make_unique<Server>();
    publisher_ = std::make_unique<Child>(
        std::vector<std::string>{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi",
                                 "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i",
                                 "sine=frequency=440:sample_rate=48000", "-c:v", "libx265", "-preset", "ultrafast",
                                 "-tune", "zerolatency", "-x265-params", "log-level=warning", "-g", "30", "-b:v",
                                 "1M", "-c:a", "libopus", "-b:a", "64k", "-f", "rtsp", "-rtsp_transport", "tcp",
                                 server_->rtsp_url("h265")},
        ::testing::TempDir() + "sg_webrtc_h265_ffmpeg.log");
    wait_until(
        [] {
          auto r = http_request(server_->http_port, "GET", "/api/v1/streams/h265");
          return r.status == 200 && r.body.find("\"ready\"") != std::string::npos &&
                 r.body.find("H265") != std::string::npos && r.body.find("Opus") != std::string::npos;
        },
        30s);
  }
  static void TearDownTestSuite() {
    publisher_.reset();
    server_.reset();
  }
  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    ASSERT_TRUE(server_->ready) << server_->log();
  }

  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  static std::unique_ptr<Server> server_;
  static std::unique_ptr<Child> publisher_;
};
std::unique_ptr<Server> WebRtcH265E2e::server_;
std::unique_ptr<Child> WebRtcH265E2e::publisher_;

// A real H.264-only offer (Chromium's video section, as kMinimalOffer carries it) for the H.265 stream.
TEST_F(WebRtcH265E2e, WhepOfferWithoutH265GetsA422ProblemWithTheReasonAndOneLogLine) {
  size_t logged = count(server_->log(), "webrtc offer refused");
  auto r = http_request(server_->http_port, "POST", "/h265/whep", kMinimalOffer, "application/sdp");
  ASSERT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  boost::system::error_code ec;
  auto body = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  const auto& problem = body.as_object();
  EXPECT_EQ(problem.at("status").as_int64(), 422);
  std::string detail(problem.at("detail").as_string());
  EXPECT_NE(detail.find("stream video is H.265 Main"), std::string::npos) << detail;
  EXPECT_NE(detail.find("no H.265 (RFC 7798) payload type"), std::string::npos) << detail;
  EXPECT_EQ(std::string(problem.at("error").as_string()), detail);
  EXPECT_TRUE(r.headers.count("location") == 0) << "no session is created";
  EXPECT_TRUE(wait_until([&] { return count(server_->log(), "webrtc offer refused") == logged + 1; }, 10s))
      << server_->log();
}

TEST_F(WebRtcH265E2e, ChromiumWithoutH265GetsTheReasonOverWhepWebSocketAndThePlayerPage) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto r = run({"node", kE2eDir + "/webrtc_refusal.mjs", "http://127.0.0.1:" + std::to_string(server_->http_port),
                "h265"},
               90s, "webrtc_h265_refusal");
  auto at = r.output.rfind("{\"offerHasH265\"");
  ASSERT_NE(at, std::string::npos) << r.output;
  auto line = r.output.substr(at, r.output.find('\n', at) - at);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << r.output;
  const auto& out = parsed.as_object();
  ASSERT_FALSE(out.contains("error")) << r.output;
  const auto& whep = out.at("whep").as_object();
  const auto& ws = out.at("ws").as_object();
  const auto& player = out.at("player").as_object();
  std::string player_text(player.at("text").as_string());
  if (out.at("offerHasH265").as_bool()) {
    // A Chromium with H.265 (hardware decoding): the offer is answered and the page plays.
    EXPECT_EQ(whep.at("status").as_int64(), 201) << r.output;
    EXPECT_EQ(std::string(ws.at("type").as_string()), "answer") << r.output;
    EXPECT_TRUE(player_text.starts_with("playing")) << r.output;
    return;
  }
  EXPECT_EQ(whep.at("status").as_int64(), 422) << r.output;
  EXPECT_EQ(std::string(whep.at("contentType").as_string()), "application/problem+json") << r.output;
  EXPECT_NE(std::string(whep.at("body").as_string()).find("no H.265 (RFC 7798) payload type"), std::string::npos)
      << r.output;
  EXPECT_EQ(std::string(ws.at("type").as_string()), "error") << r.output;
  ASSERT_TRUE(ws.contains("status")) << r.output;
  EXPECT_EQ(ws.at("status").as_int64(), 422) << r.output;
  EXPECT_NE(std::string(ws.at("message").as_string()).find("stream video is H.265"), std::string::npos) << r.output;
  EXPECT_TRUE(player.at("error").as_bool()) << r.output;
  EXPECT_NE(player_text.find("cannot play h265 with WebRTC here: stream video is H.265 Main"), std::string::npos) << r.output;
  EXPECT_EQ(player_text.find("retrying"), std::string::npos) << "a 422 is not retried: " << r.output;
}

}  // namespace
}  // namespace sg::test
