// WHIP ingest end to end (RFC 9725). Headless Chromium with a fake camera and microphone publishes through the
// publish page (/{stream}/publish); ffprobe reads H.264 + Opus over RTSP and a second Chromium plays it over WHEP.
// With 5 % of the publisher's RTP dropped by a userspace loss shim (udp_loss_shim.py, in front of the WebRTC
// port), NACKs repair the video: a WHEP reader decodes >= 95 % of the frames the publisher sent. Without a browser:
// the WHIP resource's status codes (201 + Location, 409 for a second publisher, DELETE, PATCH trickle / ICE
// restart, OPTIONS with CORS, 422 with the reason), the publish action of the authorization point, and garbage
// to the endpoint and the UDP port leaving the server up with flat memory.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <thread>

#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "browser.hpp"
#include "../support/udp_client.hpp"
#include "../webrtc/chrome_publish_offer.hpp"

namespace sg::test {
namespace {

const std::string kOffer(webrtc::test::kChromePublishOffer);


std::string tail(const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; }

// The last line of a program's output that parses as a JSON object.
boost::json::object last_json(const std::string& output) {
  std::istringstream in(output);
  std::string line;
  boost::json::object found;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (!ec && v.is_object()) found = v.as_object();
  }
  return found;
}

int64_t number(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return -1;
}

int64_t metric(uint16_t port, const std::string& name) {
  auto r = http_request(port, "GET", "/metrics");
  auto at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(r.body.substr(at + name.size() + 2));
}

HttpReply whip(uint16_t port, const std::string& stream, const std::string& body,
               const std::string& type = "application/sdp") {
  return http_request(port, "POST", "/" + stream + "/whip", body, type);
}

class WhipE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<Server>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { ASSERT_TRUE(server_->ready) << server_->log(); }
  void TearDown() override {
    ASSERT_TRUE(server_->child.running()) << "the server died:\n" << tail(server_->log());
  }

  static bool ready(const std::string& stream) {
    auto r = http_request(server_->http_port, "GET", "/api/v1/streams/" + stream);
    return r.status == 200 && r.body.find("\"state\":\"ready\"") != std::string::npos &&
           r.body.find("H264") != std::string::npos && r.body.find("Opus") != std::string::npos;
  }

  // The publish page in headless Chromium, publishing for `seconds` (killed earlier by the test).
  static std::unique_ptr<Child> publish(const std::string& stream, int seconds, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"node", kE2eDir + "/whip_publish.mjs",
                                     "http://127.0.0.1:" + std::to_string(server_->http_port), stream,
                                     std::to_string(seconds)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Child>(argv, ::testing::TempDir() + "sg_whip_publish_" + stream + "_" +
                                             std::to_string(::getpid()) + ".log");
  }

  static std::unique_ptr<Server> server_;
};
std::unique_ptr<Server> WhipE2e::server_;

TEST_F(WhipE2e, ChromiumPublishPageFeedsRtspAndWhepReaders) {
  if (!have_browser() || !have_program("ffprobe")) GTEST_SKIP() << "needs node, chromium, playwright-core, ffprobe";
  auto publisher = publish("whipcam", 90);
  ASSERT_TRUE(wait_until([&] { return ready("whipcam") || !publisher->running(); }, 45s))
      << "publisher:\n" << publisher->log() << "\nserver:\n" << tail(server_->log());
  auto stream = http_request(server_->http_port, "GET", "/api/v1/streams/whipcam");
  EXPECT_NE(stream.body.find("\"protocol\":\"whip\""), std::string::npos) << stream.body;

  // ffprobe over RTSP: H.264 with its picture size (SPS learned in band) and Opus.
  auto probe = run({"ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                    "stream=codec_name,width,height", "-of", "compact", server_->rtsp_url("whipcam")},
                   40s, "whip_ffprobe");
  EXPECT_EQ(probe.exit_code, 0) << probe.output;
  EXPECT_TRUE(std::regex_search(probe.output, std::regex("codec_name=h264\\|width=[1-9][0-9]*\\|height=[1-9]")))
      << probe.output;
  EXPECT_NE(probe.output.find("codec_name=opus"), std::string::npos) << probe.output;

  // HLS (fMP4, the default low-latency variant) carries the Opus track as is.
  HttpReply mv;
  wait_until([&] { return (mv = http_request(server_->http_port, "GET", "/whipcam/index.m3u8")).status == 200; }, 20s);
  ASSERT_EQ(mv.status, 200) << mv.body;
  EXPECT_NE(mv.body.find("opus"), std::string::npos) << mv.body;
  auto hls = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "compact",
                  server_->http_url("whipcam/index.m3u8")},
                 40s, "whip_hls_ffprobe");
  EXPECT_EQ(hls.exit_code, 0) << hls.output;
  EXPECT_NE(hls.output.find("codec_name=h264"), std::string::npos) << hls.output;
  EXPECT_NE(hls.output.find("codec_name=opus"), std::string::npos) << hls.output;

  // A second Chromium plays it over WHEP: video frames decoded, audio samples played out.
  auto play = run({"node", kE2eDir + "/webrtc_play.mjs", "http://127.0.0.1:" + std::to_string(server_->http_port),
                   "whipcam", "whep", "20"},
                  60s, "whip_whep_play");
  EXPECT_EQ(play.exit_code, 0) << play.output << "\nserver:\n" << tail(server_->log());
  EXPECT_GE(number(last_json(play.output), "framesDecoded"), 30) << play.output;

  // REMB: the browser's encoder targets what we announce (2.5 Mb/s), not its start bitrate.
  EXPECT_GE(metric(server_->http_port, "streamgate_whip_plis_sent_total"), 1);
  publisher->signal(SIGTERM);
  publisher->wait(15s);
  auto result = last_json(publisher->log());
  EXPECT_EQ(result["state"], "publishing") << publisher->log();
  EXPECT_GT(number(result, "bitrateTarget"), 1'000'000) << publisher->log();
}

// 5 % of the publisher's RTP is dropped between Chromium and the server. Measured over the same 15 s: frames the
// publisher sent (its outbound-rtp framesSent) against frames a WHEP reader decoded (inbound-rtp framesDecoded),
// both sampled together by one script, so the reader's latency shifts both samples alike. A lost packet that is not
// repaired drops its frame at the server and every reader stalls until the next keyframe (a PLI away, at best
// 0.5 s): without NACK, 5 % loss of a 1-2 Mb/s stream costs far more than 5 % of the frames.
TEST_F(WhipE2e, NacksRepairFivePercentLossOnThePublisherPath) {
  if (!have_browser() || !have_program("/usr/bin/python3")) GTEST_SKIP() << "needs node, chromium, python3";
  const uint16_t shim_port = free_port(SOCK_DGRAM);
  Child shim({"/usr/bin/python3", kE2eDir + "/udp_loss_shim.py", std::to_string(shim_port),
              std::to_string(server_->udp_port), "5", "7"},
             ::testing::TempDir() + "sg_whip_shim_" + std::to_string(::getpid()) + ".log");
  ASSERT_TRUE(wait_until([&] { return shim.log().find("listening") != std::string::npos; }, 10s)) << shim.log();
  const int64_t nacks_before = metric(server_->http_port, "streamgate_whip_nacks_sent_total");
  auto r = run({"node", kE2eDir + "/whip_publish.mjs", "http://127.0.0.1:" + std::to_string(server_->http_port),
                "lossy", "1", "--candidate-port",
                std::to_string(server_->udp_port) + ":" + std::to_string(shim_port), "--measure", "15"},
               150s, "whip_loss");
  shim.signal(SIGTERM);
  shim.wait(5s);
  auto counts = last_json(shim.log());
  const auto dropped = number(counts, "dropped"), rtp = number(counts, "rtp");
  ASSERT_GT(rtp, 500) << "the browser did not send through the shim:\n" << shim.log() << "\n" << r.output;
  EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(rtp), 0.05, 0.02) << shim.log();

  auto result = last_json(r.output);
  ASSERT_TRUE(result.contains("measure")) << r.output << "\nserver:\n" << tail(server_->log());
  auto m = result["measure"].as_object();
  const auto sent = number(m, "framesSent"), decoded = number(m, "framesDecoded");
  EXPECT_GT(sent, 200) << r.output;  // ~30 fps for 15 s
  EXPECT_GE(static_cast<double>(decoded), 0.95 * static_cast<double>(sent)) << r.output;
  EXPECT_GT(number(m, "nacksReceived"), 0) << r.output;
  EXPECT_GT(metric(server_->http_port, "streamgate_whip_nacks_sent_total"), nacks_before);
}

TEST_F(WhipE2e, WhipResourceAnswersCreatesRefusesASecondPublisherAndDeletes) {
  const auto port = server_->http_port;
  auto first = whip(port, "resource", kOffer);
  ASSERT_EQ(first.status, 201) << first.raw;
  EXPECT_EQ(first.headers["content-type"], "application/sdp");
  EXPECT_NE(first.body.find("a=recvonly"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find("a=ice-lite"), std::string::npos);
  const std::string location = first.headers["location"];
  ASSERT_TRUE(location.starts_with("/resource/whip/")) << location;
  EXPECT_EQ(first.headers["access-control-allow-origin"], "*");

  // The stream is claimed from the offer on, as by an RTSP ANNOUNCE: a second publisher is refused.
  auto second = whip(port, "resource", kOffer);
  EXPECT_EQ(second.status, 409) << second.raw;
  EXPECT_NE(second.body.find("already has a publisher"), std::string::npos) << second.body;
  auto api = http_request(port, "GET", "/api/v1/streams/resource");
  EXPECT_NE(api.body.find("\"protocol\":\"whip\""), std::string::npos) << api.body;

  // Trickle ICE: accepted (ICE-lite learns candidates from the checks); ICE restart: not supported.
  const std::string frag = "a=ice-ufrag:sasT\r\na=ice-pwd:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n";
  auto trickle = http_request(port, "PATCH", location, "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n",
                              "application/trickle-ice-sdpfrag");
  EXPECT_EQ(trickle.status, 204) << trickle.raw;
  auto restart = http_raw(port, "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                "If-Match: *\r\nContent-Type: application/trickle-ice-sdpfrag\r\nContent-Length: " +
                                    std::to_string(frag.size()) + "\r\n\r\n" + frag);
  EXPECT_EQ(restart.status, 422) << restart.raw;
  auto wrong_type = http_request(port, "PATCH", location, "x", "text/plain");
  EXPECT_EQ(wrong_type.status, 415) << wrong_type.raw;
  auto options = http_request(port, "OPTIONS", "/resource/whip");
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.headers["access-control-allow-origin"], "*");
  EXPECT_NE(options.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  EXPECT_NE(options.headers["access-control-allow-headers"].find("Authorization"), std::string::npos);

  // DELETE ends the session and the publisher: the path is free again (and the stream it created is gone).
  EXPECT_EQ(http_request(port, "DELETE", location).status, 200);
  EXPECT_EQ(http_request(port, "DELETE", location).status, 404);
  EXPECT_EQ(http_request(port, "PATCH", location, "x", "application/trickle-ice-sdpfrag").status, 404);
  EXPECT_EQ(http_request(port, "GET", "/api/v1/streams/resource").status, 404);
  auto third = whip(port, "resource", kOffer);
  EXPECT_EQ(third.status, 201) << third.raw;
  EXPECT_EQ(http_request(port, "DELETE", third.headers["location"]).status, 200);
  // A WHEP session's id is not a WHIP resource.
  EXPECT_EQ(http_request(port, "DELETE", "/resource/whip/nosuchsession").status, 404);
}

TEST_F(WhipE2e, OffersWeCannotTakeAreRefusedWithTheReason) {
  const auto port = server_->http_port;
  // VP8 only: 422 with a problem statement naming what is needed and what was offered.
  auto vp8 = std::regex_replace(kOffer, std::regex("H264/90000"), "H263/90000");
  auto r = whip(port, "refused", vp8);
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  EXPECT_NE(r.body.find("H.264 with packetization-mode=1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("VP8"), std::string::npos) << r.body;
  r = whip(port, "refused", kOffer, "text/plain");
  EXPECT_EQ(r.status, 415) << r.raw;
  r = whip(port, "refused", "v=0\r\nthis is not sdp");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.body.find("bad SDP offer"), std::string::npos) << r.body;
  // No stream was left behind by the refusals.
  EXPECT_EQ(http_request(port, "GET", "/api/v1/streams/refused").status, 404);
}

TEST_F(WhipE2e, GarbageToTheEndpointAndTheUdpPortLeavesTheServerUpWithFlatMemory) {
  const auto port = server_->http_port;
  auto rss = [&] { return metric(port, "streamgate_process_resident_memory_bytes"); };
  std::mt19937 rng(4242);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  // A warm-up round, then the baseline.
  for (int i = 0; i < 50; ++i) whip(port, "garbage", random_bytes(1 + rng() % 2000));
  const int64_t baseline = rss();
  ASSERT_GT(baseline, 0);
  for (int i = 0; i < 1000; ++i) {
    std::string body;
    switch (i % 4) {
      case 0: body = random_bytes(1 + rng() % 4000); break;
      case 1: body = kOffer.substr(0, rng() % kOffer.size()); break;  // truncated offers
      case 2: {  // an offer with random bytes written into it
        body = kOffer;
        for (int k = 0; k < 20; ++k) body[rng() % body.size()] = static_cast<char>(rng());
        break;
      }
      default: body = "v=0\r\n" + random_bytes(rng() % 300); break;
    }
    auto r = whip(port, "garbage", body);
    ASSERT_NE(r.status, 0) << "no answer at request " << i << "\n" << tail(server_->log());
    if (r.status == 201) {  // a mangled offer may still be a valid one
      http_request(port, "DELETE", r.headers["location"]);
      continue;
    }
    ASSERT_GE(r.status, 400) << r.raw;
    ASSERT_LT(r.status, 500) << r.raw;
    ASSERT_NE(r.body.find("\"error\""), std::string::npos) << "no reason given: " << r.raw;
  }
  // Random datagrams of every RFC 7983 class (STUN, DTLS, RTP/RTCP, other) to the WebRTC port.
  UdpClient udp(server_->udp_port);
  const uint8_t firsts[] = {0, 1, 22, 23, 128, 144, 200, 255};
  for (int i = 0; i < 20000; ++i) {
    auto d = random_bytes(1 + rng() % 1400);
    d[0] = static_cast<char>(firsts[i % std::size(firsts)]);
    udp.send(as_bytes(std::string_view(d)));
  }
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/api/v1/streams/garbage").status, 404);
  const int64_t grown = rss() - baseline;
  EXPECT_LT(grown, 24ll << 20) << "RSS grew by " << (grown >> 20) << " MB";
  // The endpoint still works.
  auto ok = whip(port, "garbage", kOffer);
  EXPECT_EQ(ok.status, 201) << ok.raw;
  http_request(port, "DELETE", ok.headers["location"]);
}

// Publishing is the `publish` action of the one authorization point, for WHIP as for RTSP.
TEST(WhipAuthE2e, PublishingNeedsThePublishPermission) {
  Server server(R"(auth:
  method: internal
  internal_users:
    - user: pub
      pass: pubsecret
      permissions: [publish]
    - user: viewer
      pass: viewerpass
      permissions: [read]
)");
  ASSERT_TRUE(server.ready) << server.log();
  auto post = [&](const std::string& auth) {
    return http_raw(server.http_port, "POST /authcam/whip HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + auth +
                                          "Content-Type: application/sdp\r\nContent-Length: " +
                                          std::to_string(kOffer.size()) + "\r\n\r\n" + kOffer);
  };
  EXPECT_EQ(post("").status, 401);
  EXPECT_EQ(post("Authorization: Basic dmlld2VyOnZpZXdlcnBhc3M=\r\n").status, 403);  // viewer:viewerpass
  auto ok = post("Authorization: Basic cHViOnB1YnNlY3JldA==\r\n");                     // pub:pubsecret
  EXPECT_EQ(ok.status, 201) << ok.raw;
}

}  // namespace
}  // namespace sg::test
