// WebRTC end to end: ffmpeg publishes H.264 + AAC over RTSP (stream "cam", audio transcoded to Opus for the
// browser) and H.264 + Opus (stream "opus", audio forwarded); headless Chromium plays them through WHEP, through the
// /ws/{stream} JSON WebSocket and through the player page, and getStats() shows video frames decoded and audio
// samples played out, both increasing. The sessions API lists and kicks sessions.
// Without a browser: WHEP status codes, ICE-lite answers to STUN checks (401 on bad credentials), and garbage to
// the UDP port and to both signaling endpoints leaving the server up. One server and publisher for the suite.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <regex>

#include "../support/client_requests.hpp"
#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "browser.hpp"
#include "../support/udp_client.hpp"
#include "gst_publisher.hpp"
#include "stun/stun.hpp"

namespace sg::test {
namespace {



const std::string& kOffer = test::kMinimalOffer;

class WebRtcE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg")) return;
    server_ = std::make_unique<Server>();
    auto publish = [](const std::string& audio, const std::string& path) {
      return std::make_unique<Child>(
          std::vector<std::string>{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi",
                                   "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i",
                                   "sine=frequency=440:sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast",
                                   "-tune", "zerolatency", "-g", "30", "-b:v", "1M", "-c:a", audio, "-b:a", "64k",
                                   "-f", "rtsp", "-rtsp_transport", "tcp", server_->rtsp_url(path)},
          ::testing::TempDir() + "sg_webrtc_ffmpeg_" + path + ".log");
    };
    publisher_ = publish("aac", "cam");
    opus_publisher_ = publish("libopus", "opus");
    auto ready = [](const std::string& path, const std::string& codec) {
      auto r = http_request(server_->http_port, "GET", "/api/v1/streams/" + path);
      return r.status == 200 && r.body.find("\"ready\"") != std::string::npos &&
             r.body.find(codec) != std::string::npos;
    };
    wait_until([&] { return ready("cam", "AAC") && ready("opus", "Opus"); }, 15s);
  }
  static void TearDownTestSuite() {
    publisher_.reset();
    opus_publisher_.reset();
    server_.reset();
  }
  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    ASSERT_TRUE(server_->ready) << server_->log();
  }

  // Runs webrtc_play.mjs; returns its JSON line (and whether it exited 0).
  static std::pair<bool, std::string> play(const std::string& mode, const std::string& stream = "cam") {
    auto r = run({"node", kE2eDir + "/webrtc_play.mjs", "http://127.0.0.1:" + std::to_string(server_->http_port),
                  stream, mode, "10"},
                 60s, "webrtc_" + mode);
    return {r.exit_code == 0, r.output};
  }

  static HttpReply whep(const std::string& body, const std::string& type = "application/sdp",
                        const std::string& stream = "cam") {
    return http_request(server_->http_port, "POST", "/" + stream + "/whep", body, type);
  }

  static std::unique_ptr<Server> server_;
  static std::unique_ptr<Child> publisher_, opus_publisher_;
};
std::unique_ptr<Server> WebRtcE2e::server_;
std::unique_ptr<Child> WebRtcE2e::publisher_;
std::unique_ptr<Child> WebRtcE2e::opus_publisher_;

TEST_F(WebRtcE2e, ChromiumPlaysVideoAndTranscodedAacThroughWhep) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto [ok, out] = play("whep");
  EXPECT_TRUE(ok) << out << server_->log().substr(0, 4000);
  EXPECT_NE(out.find("\"width\":640"), std::string::npos) << out;
  auto metrics = http_request(server_->http_port, "GET", "/metrics").body;
  EXPECT_EQ(metrics.find("streamgate_webrtc_transcoded_packets_total 0\n"), std::string::npos) << metrics;
}

// AAC that GStreamer's rtspclientsink published as MP4A-LATM reaches the browser through the same transcoder.
TEST_F(WebRtcE2e, ChromiumPlaysVideoAndTranscodedLatmAacFromGStreamerThroughWhep) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  if (!have_rtspclientsink()) GTEST_SKIP() << "GStreamer rtspclientsink / x264enc / avenc_aac missing";
  Child gst(gst_publisher_argv("aac", server_->rtsp_url("latm")), ::testing::TempDir() + "sg_webrtc_gst_latm.log");
  auto ready = [&] {
    auto r = http_request(server_->http_port, "GET", "/api/v1/streams/latm");
    return r.status == 200 && r.body.find("\"ready\"") != std::string::npos &&
           r.body.find("\"AAC\"") != std::string::npos;
  };
  ASSERT_TRUE(wait_until([&] { return ready() || !gst.running(); }, 30s) && gst.running()) << gst.log();
  auto [ok, out] = play("whep", "latm");
  EXPECT_TRUE(ok) << out << gst.log();
  EXPECT_NE(out.find("\"width\":320"), std::string::npos) << out;
}

TEST_F(WebRtcE2e, ChromiumPlaysForwardedOpusThroughWhep) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto [ok, out] = play("whep", "opus");
  EXPECT_TRUE(ok) << out;
}

TEST_F(WebRtcE2e, SessionsApiListsAndKicksASession) {
  auto r = whep(kOffer);
  ASSERT_EQ(r.status, 201) << r.raw;
  std::string id = r.headers["location"].substr(std::string("/cam/whep/").size());
  auto list = http_request(server_->http_port, "GET", "/api/v1/webrtc/sessions");
  EXPECT_EQ(list.status, 200);
  EXPECT_TRUE(list.body.starts_with("{\"items\":[")) << list.body;
  EXPECT_NE(list.body.find("\"id\":\"" + id + "\""), std::string::npos) << list.body;
  // Fractions (age_seconds, fraction_lost) are plain decimals, never 6.866455078125E-1.
  EXPECT_TRUE(std::regex_search(list.body, std::regex("\"age_seconds\":[0-9]+\\.[0-9]{1,6}[,}]"))) << list.body;
  EXPECT_FALSE(std::regex_search(list.body, std::regex("[:\\[,]-?[0-9.]+[eE][-+]?[0-9]"))) << list.body;
  auto one = http_request(server_->http_port, "GET", "/api/v1/webrtc/sessions/" + id);
  EXPECT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("\"stream\":\"cam\""), std::string::npos) << one.body;
  EXPECT_NE(one.body.find("\"state\":\"new\""), std::string::npos) << one.body;
  EXPECT_EQ(http_request(server_->http_port, "DELETE", "/api/v1/webrtc/sessions/" + id).status, 200);
  EXPECT_EQ(http_request(server_->http_port, "GET", "/api/v1/webrtc/sessions/" + id).status, 404);
  EXPECT_EQ(http_request(server_->http_port, "DELETE", "/api/v1/webrtc/sessions/" + id).status, 404);
  // The WHEP resource is gone with it.
  EXPECT_EQ(http_request(server_->http_port, "DELETE", r.headers["location"]).status, 404);
}

TEST_F(WebRtcE2e, ChromiumDecodesVideoThroughWebSocketSignaling) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto [ok, out] = play("ws");
  EXPECT_TRUE(ok) << out;
}

TEST_F(WebRtcE2e, PlayerPagePlaysTheStream) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto [ok, out] = play("player");
  EXPECT_TRUE(ok) << out;
}

TEST_F(WebRtcE2e, WhepCreatesAndDeletesSessions) {
  auto r = whep(kOffer);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.headers["content-type"], "application/sdp");
  auto location = r.headers["location"];
  EXPECT_TRUE(location.starts_with("/cam/whep/")) << location;
  EXPECT_NE(r.body.find("a=ice-lite"), std::string::npos);
  EXPECT_NE(r.body.find("a=setup:passive"), std::string::npos);
  EXPECT_NE(r.body.find("127.0.0.1 " + std::to_string(server_->udp_port) + " typ host"), std::string::npos) << r.body;
  EXPECT_EQ(http_request(server_->http_port, "PATCH", location, "a=end-of-candidates\r\n",
                         "application/trickle-ice-sdpfrag").status, 204);
  EXPECT_EQ(http_request(server_->http_port, "DELETE", location).status, 200);
  EXPECT_EQ(http_request(server_->http_port, "DELETE", location).status, 404);
}

// The answer's profile-level-id is the one of the stream's SPS (as the server's RTSP DESCRIBE carries it), not the
// offer's 42e01f (RFC 6184 8.2.2: the level part is the sender's under level-asymmetry-allowed).
TEST_F(WebRtcE2e, WhepAnswerCarriesTheStreamsProfileLevelId) {
  auto describe = http_raw(server_->rtsp_port,
                           "DESCRIBE " + server_->rtsp_url("cam") + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n",
                           5000);
  std::smatch sprop;
  ASSERT_TRUE(std::regex_search(describe.raw, sprop, std::regex("sprop-parameter-sets=([A-Za-z0-9+/=]+),"))) << describe.raw;
  ByteVector sps;
  ASSERT_TRUE(base64_decode(sprop[1].str(), sps) && sps.size() >= 4);
  std::string stream_pli = to_hex(Bytes(sps).subspan(1, 3));
  ASSERT_NE(stream_pli, "42e01f");  // the test needs a stream whose profile-level-id differs from the offer's
  auto r = whep(kOffer);
  ASSERT_EQ(r.status, 201) << r.raw;
  std::smatch pli;
  ASSERT_TRUE(std::regex_search(r.body, pli, std::regex("profile-level-id=([0-9a-fA-F]{6})"))) << r.body;
  EXPECT_EQ(pli[1].str(), stream_pli) << r.body;
  EXPECT_NE(r.body.find("level-asymmetry-allowed=1"), std::string::npos) << r.body;
  EXPECT_EQ(http_request(server_->http_port, "DELETE", r.headers["location"]).status, 200);
}

TEST_F(WebRtcE2e, WhepRejectsWrongContentTypeUnknownStreamAndBadSdp) {
  EXPECT_EQ(whep(kOffer, "application/json").status, 415);
  EXPECT_EQ(whep(kOffer, "application/sdp", "nosuchstream").status, 404);
  EXPECT_EQ(whep("this is not sdp").status, 400);
  // Valid SDP, but only VP8 offered for an H.264 stream: refused with the reason (422, see test_webrtc_h265.cpp).
  std::string vp8 = std::regex_replace(kOffer, std::regex("H264"), "VP8");
  auto refused = whep(vp8);
  EXPECT_EQ(refused.status, 422) << refused.raw;
  EXPECT_NE(refused.body.find("stream video is H.264"), std::string::npos) << refused.body;
}

TEST_F(WebRtcE2e, AnswersStunChecksAsIceLite) {
  auto r = whep(kOffer);
  ASSERT_EQ(r.status, 201);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("a=ice-ufrag:(\\S+)")));
  std::string ufrag = m[1];
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("a=ice-pwd:(\\S+)")));
  std::string pwd = m[1];
  UdpClient udp(server_->udp_port);
  stun::TransactionId tid{};
  tid[0] = std::byte{7};
  // Wrong password: 401.
  udp.send(stun::MessageBuilder(stun::MessageClass::Request, stun::kMethodBinding, tid)
               .add_username(ufrag + ":CLNT")
               .add_priority(1)
               .add_ice_controlling(42)
               .finish("not the password", true));
  auto reply = udp.receive();
  auto err = stun::Message::parse(reply);
  ASSERT_TRUE(err) << "no reply to a bad check";
  EXPECT_EQ(err->message_class(), stun::MessageClass::ErrorResponse);
  EXPECT_EQ(err->error_code()->code, 401);
  // Right password: success, with our address mapped, signed with the answer's ice-pwd.
  tid[0] = std::byte{8};
  udp.send(stun::MessageBuilder(stun::MessageClass::Request, stun::kMethodBinding, tid)
               .add_username(ufrag + ":CLNT")
               .add_priority(1)
               .add_ice_controlling(42)
               .add_use_candidate()
               .finish(pwd, true));
  reply = udp.receive();
  auto ok = stun::Message::parse(reply);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->message_class(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(ok->transaction_id(), tid);
  EXPECT_TRUE(ok->check_integrity(pwd));
  EXPECT_TRUE(ok->check_fingerprint());
  ASSERT_TRUE(ok->xor_mapped_address());
  EXPECT_EQ(ok->xor_mapped_address()->to_string(), "127.0.0.1:" + std::to_string(udp.local_port()));
  EXPECT_EQ(http_request(server_->http_port, "DELETE", r.headers["location"]).status, 200);
}

TEST_F(WebRtcE2e, GarbageLeavesServerUp) {
  std::mt19937 rng(1234);
  UdpClient udp(server_->udp_port);
  for (int i = 0; i < 300; ++i) {
    ByteVector junk(1 + rng() % 1200);
    for (auto& b : junk) b = std::byte(rng());
    // First bytes steer the junk into each demultiplexing branch: STUN, DTLS, RTP/RTCP, other.
    static constexpr uint8_t kFirst[] = {0x00, 0x01, 0x16, 0x17, 0x80, 0x81, 0xff};
    junk[0] = std::byte{kFirst[i % 7]};
    if (junk.size() >= 8 && i % 2) {
      junk[4] = std::byte{0x21}, junk[5] = std::byte{0x12}, junk[6] = std::byte{0xa4}, junk[7] = std::byte{0x42};
    }
    udp.send(junk);
  }
  for (int i = 0; i < 20; ++i) {
    std::string body(1 + rng() % 2000, ' ');
    for (auto& c : body) c = static_cast<char>(rng());
    if (i % 2) body = "v=0\r\n" + body;
    auto r = whep(body);
    EXPECT_TRUE(r.status == 400 || r.status == 413) << r.status;
  }
  // WebSocket: an upgrade followed by junk frames, then a plain GET on the ws path.
  http_raw(server_->http_port,
           "GET /ws/cam HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
           "\x81\x85\x01\x02\x03\x04garbage\xff\xff\x00\x01",
           1000);
  http_raw(server_->http_port, "GET /ws/cam HTTP/1.1\r\nHost: x\r\n\r\n", 1000);
  EXPECT_EQ(http_request(server_->http_port, "GET", "/healthz").status, 200);
  auto info = http_request(server_->http_port, "GET", "/api/v1/streams/cam");
  EXPECT_NE(info.body.find("\"ready\""), std::string::npos) << info.body;
  auto r = whep(kOffer);
  EXPECT_EQ(r.status, 201);
  http_request(server_->http_port, "DELETE", r.headers["location"]);
}

}  // namespace
}  // namespace sg::test
