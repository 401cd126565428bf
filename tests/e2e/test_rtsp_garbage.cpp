// A live server with an ffmpeg publisher survives hostile RTSP clients: garbage bytes, truncated requests, huge
// headers and bodies, bad CSeq, RTSP/2.0, junk after SETUP, malformed interleaved frames, junk datagrams on its
// UDP ports and thousands of short connections. After each: /healthz and OPTIONS answer, the published stream is
// still ready, RSS has not grown past a bound and no file descriptors leaked.
#include <dirent.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <random>

#include "../support/proc.hpp"
#include "../support/process.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "sdp/sdp.hpp"

namespace sg::test {
namespace {

constexpr int64_t kRssGrowthBound = 48ll << 20;  // over the whole suite
constexpr int kFdSlack = 16;

// A blocking RTSP/TCP connection with timeouts.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Sends everything it can; false when the server closed (or reset) the connection first.
  bool send(std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      auto n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one RTSP response (head + Content-Length body); empty on timeout or close.
  std::string response(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t body = 0;
        auto head = buf_.substr(0, end);
        std::string lower = head;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto cl = lower.find("content-length:");
        if (cl != std::string::npos) body = std::stoul(lower.substr(cl + 15));
        if (buf_.size() >= end + 4 + body) {
          auto r = buf_.substr(0, end + 4 + body);
          buf_.erase(0, end + 4 + body);
          return r;
        }
      }
      if (!fill(deadline)) return {};
    }
  }
  // True when the server closes the connection within the timeout (data before the close is discarded).
  bool closed_by_server(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (fill(deadline)) buf_.clear();
    return eof_;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool eof_ = false;
  std::string buf_;
};

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

int status_of(const std::string& response) {
  if (response.rfind("RTSP/1.0 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

class RtspGarbage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg")) return;
    server_ = std::make_unique<Server>();
    if (!server_->ready) return;
    publisher_ = std::make_unique<Child>(
        std::vector<std::string>{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi",
                                 "-i", "testsrc2=size=320x240:rate=25", "-c:v", "libx264", "-preset", "ultrafast",
                                 "-tune", "zerolatency", "-g", "25", "-b:v", "300k", "-f", "rtsp",
                                 "-rtsp_transport", "tcp", server_->rtsp_url("victim")},
        ::testing::TempDir() + "sg_rtsp_garbage_publisher_" + std::to_string(::getpid()) + ".log");
    wait_until([] { return stream_ready() || !publisher_->running(); }, 20s);
    std::this_thread::sleep_for(1s);  // GOP cache and reader buffers settle
    baseline_rss_ = rss();
    baseline_fds_ = open_fds(server_->child.pid());
  }
  static void TearDownTestSuite() {
    publisher_.reset();
    server_.reset();
  }

  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    ASSERT_TRUE(server_ && server_->ready) << (server_ ? server_->log() : "");
    ASSERT_TRUE(stream_ready()) << "publisher log:\n" << publisher_->log() << "\nserver log:\n" << tail(server_->log());
  }

  // Everything a hostile client must not break.
  void TearDown() override {
    if (IsSkipped() || !server_ || !server_->ready) return;
    ASSERT_TRUE(server_->child.running()) << "the server died:\n" << tail(server_->log());
    EXPECT_EQ(http_request(server_->http_port, "GET", "/healthz").status, 200);
    Conn c(server_->rtsp_port);
    ASSERT_TRUE(c.ok());
    c.send("OPTIONS " + server_->rtsp_url("victim") + " RTSP/1.0\r\nCSeq: 7\r\n\r\n");
    auto r = c.response();
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_NE(r.find("CSeq: 7"), std::string::npos) << r;
    EXPECT_TRUE(stream_ready()) << "the published stream is gone\n" << tail(server_->log());
    EXPECT_TRUE(publisher_->running()) << publisher_->log();
    int64_t grown = rss() - baseline_rss_;
    EXPECT_LT(grown, kRssGrowthBound) << "RSS grew by " << (grown >> 20) << " MB";
    // Connections the test closed must be released (give the server a moment to notice).
    size_t fds = 0;
    EXPECT_TRUE(wait_until(
        [&] { return (fds = open_fds(server_->child.pid())) <= baseline_fds_ + kFdSlack; }, 5s))
        << fds << " fds open, " << baseline_fds_ << " at start";
  }

  static std::string tail(const std::string& s) { return s.size() > 3000 ? s.substr(s.size() - 3000) : s; }

  static bool stream_ready() {
    auto r = http_request(server_->http_port, "GET", "/api/v1/streams/victim");
    return r.status == 200 && r.body.find("\"state\":\"ready\"") != std::string::npos;
  }

  static int64_t rss() {
    auto r = http_request(server_->http_port, "GET", "/metrics");
    const std::string key = "\nstreamgate_process_resident_memory_bytes ";
    auto at = r.body.find(key);
    if (at == std::string::npos) return 0;
    return std::stoll(r.body.substr(at + key.size()));
  }

  std::string url(const std::string& path = "victim") const { return server_->rtsp_url(path); }

  // DESCRIBE + SETUP of the first track of the published stream on `c`; returns the SETUP answer.
  std::string describe_and_setup(Conn& c, const std::string& transport) {
    c.send("DESCRIBE " + url() + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n");
    auto d = c.response();
    EXPECT_EQ(status_of(d), 200) << d;
    auto body = d.substr(d.find("\r\n\r\n") + 4);
    auto sdp = sdp::parse(body);
    EXPECT_TRUE(sdp.ok()) << body;
    if (!sdp.ok() || sdp->media.empty()) return {};
    std::string base = url();
    auto cb = d.find("Content-Base: ");
    if (cb != std::string::npos) base = d.substr(cb + 14, d.find("\r\n", cb) - cb - 14);
    auto control = rtsp::resolve_control(base, sdp->media[0].control().value_or(""));
    c.send("SETUP " + control + " RTSP/1.0\r\nCSeq: 2\r\nTransport: " + transport + "\r\n\r\n");
    auto s = c.response();
    EXPECT_EQ(status_of(s), 200) << s;
    return s;
  }

  std::mt19937 rng_{12345};
  static std::unique_ptr<Server> server_;
  static std::unique_ptr<Child> publisher_;
  static int64_t baseline_rss_;
  static size_t baseline_fds_;
};
std::unique_ptr<Server> RtspGarbage::server_;
std::unique_ptr<Child> RtspGarbage::publisher_;
int64_t RtspGarbage::baseline_rss_ = 0;
size_t RtspGarbage::baseline_fds_ = 0;

TEST_F(RtspGarbage, RandomBytesAreRejectedAndTheConnectionClosed) {
  for (int i = 0; i < 20; ++i) {
    Conn c(server_->rtsp_port);
    ASSERT_TRUE(c.ok());
    auto junk = random_bytes(rng_, 4096);
    junk[0] = 'X';  // not '$': an RTSP message that cannot be framed
    c.send(junk);
    EXPECT_TRUE(c.closed_by_server()) << "connection " << i << " left open after 4 KB of garbage";
  }
}

TEST_F(RtspGarbage, TruncatedRequestsThenCloseAreHarmless) {
  const std::string full = "DESCRIBE " + url() + " RTSP/1.0\r\nCSeq: 3\r\nAccept: application/sdp\r\n\r\n";
  for (size_t cut = 1; cut < full.size(); cut += 7) {
    Conn c(server_->rtsp_port);
    ASSERT_TRUE(c.ok());
    c.send(full.substr(0, cut));
  }
  // Also one that stalls: the server must still serve others meanwhile.
  Conn stalled(server_->rtsp_port);
  stalled.send(full.substr(0, full.size() - 2));
  Conn other(server_->rtsp_port);
  other.send(full);
  EXPECT_EQ(status_of(other.response()), 200);
}

TEST_F(RtspGarbage, OneMegabyteHeaderIsRefused) {
  Conn c(server_->rtsp_port);
  ASSERT_TRUE(c.ok());
  std::string req = "OPTIONS " + url() + " RTSP/1.0\r\nCSeq: 1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  c.send(req);  // may fail part-way: the server is allowed to answer and close early
  auto r = c.response();
  if (!r.empty()) {
    int st = status_of(r);
    EXPECT_TRUE(st == 400 || st == 413 || st == 431) << r.substr(0, 200);
  }
  EXPECT_TRUE(c.closed_by_server()) << "connection left open after a 1 MB header";
}

TEST_F(RtspGarbage, HugeContentLengthIsRefused) {
  Conn c(server_->rtsp_port);
  ASSERT_TRUE(c.ok());
  c.send("ANNOUNCE " + url("huge") + " RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
         "Content-Length: 99999999999\r\n\r\nv=0\r\n");
  auto r = c.response();
  int st = status_of(r);
  EXPECT_TRUE(st == 400 || st == 413) << "answer: " << r;
  c.send(std::string(64 * 1024, 'x'));
  EXPECT_TRUE(c.closed_by_server()) << "connection left open after a huge Content-Length";
}

TEST_F(RtspGarbage, BadCSeqIsAnsweredWith400) {
  for (std::string cseq : {"abc", "-1", "99999999999999999999", ""}) {
    Conn c(server_->rtsp_port);
    ASSERT_TRUE(c.ok());
    c.send("OPTIONS " + url() + " RTSP/1.0\r\nCSeq: " + cseq + "\r\n\r\n");
    auto r = c.response();
    EXPECT_EQ(status_of(r), 400) << "CSeq '" << cseq << "': " << r;
  }
  Conn c(server_->rtsp_port);
  c.send("OPTIONS " + url() + " RTSP/1.0\r\n\r\n");  // no CSeq at all
  EXPECT_EQ(status_of(c.response()), 400);
}

TEST_F(RtspGarbage, Rtsp20IsAnsweredWith505) {
  Conn c(server_->rtsp_port);
  ASSERT_TRUE(c.ok());
  c.send("OPTIONS " + url() + " RTSP/2.0\r\nCSeq: 1\r\n\r\n");
  auto r = c.response();
  EXPECT_EQ(status_of(r), 505) << r;
}

TEST_F(RtspGarbage, BinaryJunkAfterValidSetupIsHarmless) {
  for (auto transport : {"RTP/AVP/TCP;unicast;interleaved=0-1", "RTP/AVP;unicast;client_port=40000-40001"}) {
    Conn c(server_->rtsp_port);
    ASSERT_TRUE(c.ok());
    describe_and_setup(c, transport);
    auto junk = random_bytes(rng_, 16 * 1024);
    junk[0] = 'Z';
    c.send(junk);
    EXPECT_TRUE(c.closed_by_server()) << transport;
  }
}

TEST_F(RtspGarbage, MalformedInterleavedFrameThenCloseIsHarmless) {
  const std::string frame_head{'$', static_cast<char>(200), static_cast<char>(0xff), static_cast<char>(0xff)};
  {
    Conn c(server_->rtsp_port);  // before any SETUP
    c.send(frame_head + "partial");
  }
  {
    Conn c(server_->rtsp_port);  // on a SETUP connection, channel 200 was never set up
    describe_and_setup(c, "RTP/AVP/TCP;unicast;interleaved=0-1");
    c.send(frame_head + random_bytes(rng_, 1000));
  }
  {
    Conn c(server_->rtsp_port);  // a whole 64 KB frame on an unknown channel, then a request that must work
    describe_and_setup(c, "RTP/AVP/TCP;unicast;interleaved=0-1");
    c.send(frame_head + random_bytes(rng_, 65535));
    c.send("OPTIONS " + url() + " RTSP/1.0\r\nCSeq: 9\r\n\r\n");
    auto r = c.response();
    EXPECT_EQ(status_of(r), 200) << "no answer after a complete interleaved frame on an unknown channel: " << r;
  }
}

TEST_F(RtspGarbage, JunkDatagramsToServerUdpPortsAreHarmless) {
  Conn c(server_->rtsp_port);
  ASSERT_TRUE(c.ok());
  auto setup = describe_and_setup(c, "RTP/AVP;unicast;client_port=40010-40011");
  std::vector<uint16_t> ports = {server_->udp_port};  // WebRTC's shared port
  auto tr = setup.find("Transport: ");
  if (tr != std::string::npos) {
    auto spec = rtsp::parse_transport_spec(setup.substr(tr + 11, setup.find("\r\n", tr) - tr - 11));
    ASSERT_TRUE(spec.ok());
    ASSERT_TRUE(spec->server_port.has_value()) << setup;
    ports.push_back(spec->server_port->first);
    ports.push_back(spec->server_port->last);
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  for (uint16_t port : ports) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 2000; ++i) {
      auto junk = random_bytes(rng_, 12 + rng_() % 1400);
      if (i % 2 == 0) junk[0] = static_cast<char>(0x80);  // looks like RTP version 2
      ::sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      if (i % 200 == 0) std::this_thread::sleep_for(1ms);
    }
  }
  ::close(fd);
}

TEST_F(RtspGarbage, ThousandsOfShortConnectionsLeakNothing) {
  const std::string options = "OPTIONS " + url() + " RTSP/1.0\r\nCSeq: 1\r\n\r\n";
  for (int batch = 0; batch < 15; ++batch) {
    std::vector<std::unique_ptr<Conn>> conns;
    for (int i = 0; i < 200; ++i) {
      auto c = std::make_unique<Conn>(server_->rtsp_port);
      ASSERT_TRUE(c->ok()) << "connect failed in batch " << batch;
      switch (i % 4) {
        case 0: break;                                  // silent
        case 1: c->send(options); break;                // request, never read
        case 2: c->send(options.substr(0, 20)); break;  // truncated
        case 3: c->send(random_bytes(rng_, 100)); break;
      }
      conns.push_back(std::move(c));
    }
    // Closed with unread data pending: some become resets.
  }
}

}  // namespace
}  // namespace sg::test
