// RTSP pull sources against a third-party server (GStreamer gst-rtsp-server, tests/e2e/gst_rtsp_server.py):
// TCP and UDP with digest auth, recovery after the server restarts, wrong credentials, and re-streaming to a reader;
// and against a raw camera in the test that answers SETUP like live555 under concurrent SETUPs (400, no CSeq).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <mutex>
#include <regex>
#include <thread>

#include "../support/process.hpp"

namespace sg {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kScript = std::string(SG_SOURCE_DIR) + "/tests/e2e/gst_rtsp_server.py";

bool have_gst_rtsp_server() {
  static const bool ok = [] {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    auto r = test::run({"/usr/bin/python3", "-c",
                        "import gi; gi.require_version('GstRtspServer', '1.0'); "
                        "from gi.repository import GstRtspServer"},
                       20s, "gst_probe");
    return r.exit_code == 0;
  }();
  return ok;
}

// The GStreamer RTSP server on `port`, optionally with digest credentials.
class GstServer {
 public:
  GstServer(uint16_t port, const std::string& user = {}, const std::string& pass = {}) : port_(port) {
    argv_ = {"/usr/bin/python3", kScript, std::to_string(port)};
    if (!user.empty()) {
      argv_.push_back(user);
      argv_.push_back(pass);
    }
    start();
  }
  bool start() {
    static int n = 0;
    child_.start(argv_, ::testing::TempDir() + "sg_gst_" + std::to_string(::getpid()) + "_" + std::to_string(n++) +
                            ".log");
    ready_ = test::wait_until([&] { return child_.log().find("ready") != std::string::npos || !child_.running(); },
                              15s) &&
             child_.running();
    return ready_;
  }
  void kill() { child_.kill(); }
  bool ready() const { return ready_; }
  std::string log() const { return child_.log(); }
  std::string url(const std::string& path, const std::string& userinfo = {}) const {
    return "rtsp://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  uint16_t port_;
  std::vector<std::string> argv_;
  test::Child child_;
  bool ready_ = false;
};

json::object stream_info(const test::Server& server, const std::string& id) {
  auto r = test::http_request(server.http_port, "GET", "/api/v1/streams/" + id);
  if (r.status != 200) return {};
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

std::string state_of(const json::object& o) {
  auto* s = o.if_contains("state");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

std::string last_error_of(const json::object& o) {
  auto* s = o.if_contains("last_error");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

int64_t number_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return -1;
}

std::string yaml_for(const std::string& id, const std::string& source, const std::string& transport) {
  return "rtsp:\n  source_timeout: 5\nstreams:\n  " + id + ": { source: \"" + source + "\", rtsp_transport: " +
         transport + " }\n";
}

const json::object* track(const json::object& info, const std::string& codec) {
  auto* tracks = info.if_contains("tracks");
  if (!tracks || !tracks->is_array()) return nullptr;
  for (const auto& t : tracks->as_array()) {
    if (t.is_object() && t.as_object().if_contains("codec") && t.as_object().at("codec") == codec.c_str())
      return &t.as_object();
  }
  return nullptr;
}

#define REQUIRE_GST()                                                                       \
  do {                                                                                      \
    if (!have_gst_rtsp_server()) GTEST_SKIP() << "GStreamer RTSP server (python3-gi) missing"; \
  } while (0)

// Pulls `path` over `transport` with digest auth and checks the tracks and that bytes keep arriving.
void expect_pull(const std::string& path, const std::string& transport, const std::string& video_codec,
                 const std::string& audio_codec, uint32_t audio_rate) {
  GstServer gst(test::free_port(), "user", "s3cret");
  ASSERT_TRUE(gst.ready()) << gst.log();
  test::Server server(yaml_for("cam", gst.url(path, "user:s3cret"), transport));
  ASSERT_TRUE(server.ready) << server.log();

  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "ready" && track(info, video_codec) && track(info, audio_codec);
  }, 15s)) << json::serialize(info) << "\n" << server.log();

  const auto* video = track(info, video_codec);
  EXPECT_EQ(number_of(*video, "clock_rate"), 90000);
  EXPECT_EQ(number_of(*video, "width"), 640);
  EXPECT_EQ(number_of(*video, "height"), 360);
  EXPECT_EQ(number_of(*track(info, audio_codec), "clock_rate"), audio_rate);
  EXPECT_EQ(number_of(info, "reconnects"), 0);

  int64_t first = number_of(info, "bytes_received");
  EXPECT_GT(first, 0);
  EXPECT_TRUE(test::wait_until([&] { return number_of(stream_info(server, "cam"), "bytes_received") > first + 10000; },
                               5s));
  EXPECT_NE(server.log().find("\"transport\":\"" + transport + "\""), std::string::npos) << server.log();
}

TEST(RtspPull, H264AndAacOverTcpWithDigestAuthBecomesReady) {
  REQUIRE_GST();
  expect_pull("/h264", "tcp", "H264", "AAC", 44100);
}

TEST(RtspPull, H265AndOpusOverUdpWithDigestAuthBecomesReady) {
  REQUIRE_GST();
  expect_pull("/h265", "udp", "H265", "Opus", 48000);
}

TEST(RtspPull, AutoTransportUsesUdpWhenItWorks) {
  REQUIRE_GST();
  GstServer gst(test::free_port());
  ASSERT_TRUE(gst.ready()) << gst.log();
  test::Server server(yaml_for("cam", gst.url("/h264"), "auto"));
  ASSERT_TRUE(server.ready) << server.log();
  ASSERT_TRUE(test::wait_until([&] { return state_of(stream_info(server, "cam")) == "ready"; }, 15s)) << server.log();
  EXPECT_NE(server.log().find("\"transport\":\"udp\""), std::string::npos) << server.log();
  EXPECT_EQ(server.log().find("falls back to TCP"), std::string::npos) << server.log();
}

TEST(RtspPull, ReconnectsByItselfAfterTheSourceServerRestarts) {
  REQUIRE_GST();
  const uint16_t port = test::free_port();
  GstServer gst(port);
  ASSERT_TRUE(gst.ready()) << gst.log();
  test::Server server(yaml_for("cam", gst.url("/h264"), "tcp"));
  ASSERT_TRUE(server.ready) << server.log();
  ASSERT_TRUE(test::wait_until([&] { return state_of(stream_info(server, "cam")) == "ready"; }, 15s)) << server.log();

  gst.kill();
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "error" && !last_error_of(info).empty();
  }, 10s)) << json::serialize(info);

  ASSERT_TRUE(gst.start()) << gst.log();
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "ready";
  }, 30s)) << json::serialize(info) << "\n" << server.log();
  EXPECT_GE(number_of(info, "reconnects"), 1);
}

TEST(RtspPull, ConnectionRefusedIsReportedAndRetried) {
  const uint16_t port = test::free_port();  // nothing listens there
  test::Server server(yaml_for("cam", "rtsp://127.0.0.1:" + std::to_string(port) + "/x", "tcp"));
  ASSERT_TRUE(server.ready) << server.log();
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "error" && number_of(info, "reconnects") >= 1;
  }, 10s)) << json::serialize(info);
  EXPECT_EQ(last_error_of(info), "connect to 127.0.0.1:" + std::to_string(port) + ": connection refused");
}

TEST(RtspPull, WrongPasswordGivesErrorWith401AndServerStaysUp) {
  REQUIRE_GST();
  GstServer gst(test::free_port(), "user", "s3cret");
  ASSERT_TRUE(gst.ready()) << gst.log();
  test::Server server(yaml_for("cam", gst.url("/h264", "user:wrong"), "auto"));
  ASSERT_TRUE(server.ready) << server.log();
  json::object info;
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "error";
  }, 10s)) << json::serialize(info);
  EXPECT_NE(last_error_of(info).find("401"), std::string::npos) << last_error_of(info);
  EXPECT_NE(last_error_of(info).find("DESCRIBE"), std::string::npos) << last_error_of(info);
  EXPECT_TRUE(server.child.running());
  EXPECT_EQ(test::http_request(server.http_port, "GET", "/readyz").status, 200);
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

// The largest "frame=N" ffmpeg printed.
int frames_in(const std::string& ffmpeg_output) {
  static const std::regex re(R"(frame=\s*(\d+))");
  int best = 0;
  for (auto it = std::sregex_iterator(ffmpeg_output.begin(), ffmpeg_output.end(), re); it != std::sregex_iterator();
       ++it)
    best = std::max(best, std::stoi((*it)[1].str()));
  return best;
}

TEST(RtspPull, PulledStreamIsServedToAnRtspReader) {
  REQUIRE_GST();
  if (!test::have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg missing";
  GstServer gst(test::free_port());
  ASSERT_TRUE(gst.ready()) << gst.log();
  test::Server server(yaml_for("cam", gst.url("/h264"), "tcp"));
  ASSERT_TRUE(server.ready) << server.log();
  if (!tcp_port_open(server.rtsp_port)) GTEST_SKIP() << "this build has no RTSP server listening yet";
  ASSERT_TRUE(test::wait_until([&] { return state_of(stream_info(server, "cam")) == "ready"; }, 15s)) << server.log();

  auto r = test::run({"ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", server.rtsp_url("cam"),
                      "-t", "3", "-c", "copy", "-f", "null", "-"},
                     15s, "reader");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(frames_in(r.output), 10) << r.output;
}

// A raw RTSP camera on a free port, one connection at a time, answering OPTIONS and DESCRIBE (one H.264 track)
// normally, then "400 Bad Request" without CSeq as live555 answers a request it cannot handle (connection kept):
// - Mode::BadSetup: to SETUP;
// - Mode::BadKeepAlive: SETUP (TCP interleaved, session timeout 2 s) and PLAY succeed and RTP flows; the first two
//   keep-alives get no answer, then the 400 comes, with two requests outstanding.
class CseqlessCamera {
 public:
  enum class Mode { BadSetup, BadKeepAlive };
  explicit CseqlessCamera(Mode mode) : mode_(mode) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CseqlessCamera() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/live"; }
  // When the first 400 without CSeq was sent; nullopt before.
  std::optional<std::chrono::steady_clock::time_point> first_bad() {
    std::lock_guard lk(mu_);
    return first_bad_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      serve(fd);
      ::close(fd);
    }
  }
  void send_bad_request(int fd) {
    const std::string answer =
        "RTSP/1.0 400 Bad Request\r\nDate: Tue, Dec 01 2026 17:20:00 GMT\r\n"
        "Allow: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n\r\n";
    ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    std::lock_guard lk(mu_);
    if (!first_bad_) first_bad_ = std::chrono::steady_clock::now();
  }
  // One RTP packet (a 4-byte non-IDR H.264 NAL unit) on interleaved channel 0.
  static void send_rtp(int fd, uint16_t seq) {
    const uint32_t ts = seq * 3600u;
    const unsigned char packet[] = {'$', 0, 0, 16, 0x80, 0xe0, static_cast<unsigned char>(seq >> 8),
                                    static_cast<unsigned char>(seq), static_cast<unsigned char>(ts >> 24),
                                    static_cast<unsigned char>(ts >> 16), static_cast<unsigned char>(ts >> 8),
                                    static_cast<unsigned char>(ts), 0, 0, 0, 1, 0x41, 0x9a, 0x00, 0x10};
    ::send(fd, packet, sizeof packet, MSG_NOSIGNAL);
  }
  void serve(int fd) {
    std::string in;
    bool playing = false;
    int keepalives = 0;
    uint16_t seq = 0;
    auto next_rtp = std::chrono::steady_clock::now();
    while (!stop_) {
      if (playing && std::chrono::steady_clock::now() >= next_rtp) {
        send_rtp(fd, seq++);
        next_rtp += 40ms;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) < 0) return;
      if (p.revents & (POLLIN | POLLHUP)) {
        char buf[4096];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;  // the client gave up on this connection
        in.append(buf, static_cast<size_t>(n));
      }
      for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
        std::string head = in.substr(0, end);
        in.erase(0, end + 4);
        std::smatch m;
        const std::regex cseq_header("CSeq: *(\\d+)", std::regex::icase);
        std::string cseq = std::regex_search(head, m, cseq_header) ? m[1].str() : "0";
        std::string answer;
        if (head.starts_with("OPTIONS") && !playing) {
          answer = "RTSP/1.0 200 OK\r\nCSeq: " + cseq + "\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY\r\n\r\n";
        } else if (head.starts_with("DESCRIBE")) {
          const std::string sdp =
              "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"
              "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
              "a=control:track1\r\n";
          answer = "RTSP/1.0 200 OK\r\nCSeq: " + cseq + "\r\nContent-Base: " + url() +
                   "/\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" +
                   sdp;
        } else if (head.starts_with("SETUP") && mode_ == Mode::BadSetup) {
          send_bad_request(fd);
          continue;
        } else if (head.starts_with("SETUP")) {
          answer = "RTSP/1.0 200 OK\r\nCSeq: " + cseq +
                   "\r\nSession: 12345678;timeout=2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n";
        } else if (head.starts_with("PLAY")) {
          answer = "RTSP/1.0 200 OK\r\nCSeq: " + cseq + "\r\nSession: 12345678\r\n\r\n";
          playing = true;
        } else if (playing && (head.starts_with("OPTIONS") || head.starts_with("GET_PARAMETER"))) {
          if (++keepalives == 2) send_bad_request(fd);  // two outstanding now
          continue;
        } else {
          answer = "RTSP/1.0 405 Method Not Allowed\r\nCSeq: " + cseq + "\r\n\r\n";
        }
        ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
    }
  }

  Mode mode_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> first_bad_;
  std::thread thread_;
};

// The 400 without CSeq answers the only outstanding request (the SETUP): the source fails at once with that status
// rather than waiting out its 10 s request timeout.
TEST(RtspPull, SetupAnsweredWithoutCSeqFailsAtOnceWithItsStatus) {
  CseqlessCamera camera(CseqlessCamera::Mode::BadSetup);
  test::Server server(yaml_for("cam", camera.url(), "auto"));
  ASSERT_TRUE(server.ready) << server.log();
  ASSERT_TRUE(test::wait_until([&] { return camera.first_bad().has_value(); }, 15s)) << server.log();
  const auto setup_at = *camera.first_bad();
  json::object info;
  // The request timeout is 10 s: an answer taken for what it is shows well before.
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "error";
  }, 5s)) << json::serialize(info) << "\n" << server.log();
  EXPECT_LT(std::chrono::steady_clock::now() - setup_at, 5s);
  EXPECT_EQ(last_error_of(info), "SETUP: 400 Bad Request") << json::serialize(info);
}

// A response without CSeq while two keep-alives are outstanding cannot be matched: the source fails at once (and
// reconnects) instead of playing on as if nothing happened.
TEST(RtspPull, AnswerWithoutCSeqWhileSeveralRequestsAreOutstandingFailsTheSession) {
  CseqlessCamera camera(CseqlessCamera::Mode::BadKeepAlive);
  test::Server server(yaml_for("cam", camera.url(), "tcp"));
  ASSERT_TRUE(server.ready) << server.log();
  ASSERT_TRUE(test::wait_until([&] { return state_of(stream_info(server, "cam")) == "ready"; }, 15s)) << server.log();
  ASSERT_TRUE(test::wait_until([&] { return camera.first_bad().has_value(); }, 15s)) << server.log();
  json::object info;
  // RTP keeps flowing (source timeout 5 s), so only the unmatched answer can end the session.
  ASSERT_TRUE(test::wait_until([&] {
    info = stream_info(server, "cam");
    return state_of(info) == "error";
  }, 3s)) << json::serialize(info) << "\n" << server.log();
  EXPECT_EQ(last_error_of(info), "RTSP: response 400 Bad Request without CSeq while 2 requests are outstanding")
      << json::serialize(info);
}

}  // namespace
}  // namespace sg
