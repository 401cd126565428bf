// Faults of the peers themselves, against the release binary: an RTSP reader that stops reading (reader_timeout) and
// a publisher cut off without FIN by taking its veth down in a network namespace (publisher_timeout). Every test
// also checks that /healthz answers in under 50 ms while the fault lasts.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kHealthzBudget = 50ms;

std::string bench_tool(const std::string& name) {
  return (std::filesystem::path(SG_BINARY).parent_path() / "bench" / name).string();
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// GET /healthz on a fresh connection, timed. The machine runs other builds: one slow sample is retried once, so a
// failure means two in a row over budget.
std::chrono::milliseconds healthz_time(uint16_t port) {
  auto took = std::chrono::milliseconds::max();
  for (int attempt = 0; attempt < 2 && took >= kHealthzBudget; ++attempt) {
    const auto start = Clock::now();
    const int status =
        http_raw(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 2000).status;
    if (status == 200) took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }
  return took;
}

json::object stream_info(uint16_t http_port, const std::string& id) {
  auto r = http_request(http_port, "GET", "/api/v1/streams/" + id);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

std::string state_of(uint16_t http_port, const std::string& id) {
  auto o = stream_info(http_port, id);
  auto* s = o.if_contains("state");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

uint64_t number_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

// One sample of a Prometheus family ("name" or "name{labels}"); 0 when absent.
uint64_t metric(uint16_t http_port, const std::string& sample) {
  auto body = http_request(http_port, "GET", "/metrics").body;
  auto at = body.find("\n" + sample + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(body.substr(at + sample.size() + 2));
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// ---- a raw RTSP reader over TCP: DESCRIBE, SETUP of every track (interleaved), PLAY; then, on its own thread,
// counts what arrives (bytes over time, RTCP BYE) until the server closes the connection.

class TcpReader {
 public:
  // rcvbuf > 0: a small receive buffer, set before connecting so that the window stays small.
  TcpReader(uint16_t port, std::string url, int rcvbuf = 0) : url_(std::move(url)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TcpReader() {
    stop_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  TcpReader(const TcpReader&) = delete;
  TcpReader& operator=(const TcpReader&) = delete;

  bool play() {
    if (fd_ < 0) return fail("connect failed");
    auto d = request("DESCRIBE " + url_ + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n");
    if (d.rfind("RTSP/1.0 200", 0) != 0) return fail("DESCRIBE: " + d);
    std::regex control("a=control:(\\S+)");
    std::vector<std::string> controls;
    for (std::sregex_iterator it(d.begin(), d.end(), control), end; it != end; ++it)
      if ((*it)[1] != "*") controls.push_back((*it)[1]);
    if (controls.empty()) return fail("no tracks in " + d);
    std::string session;
    for (size_t i = 0; i < controls.size(); ++i) {
      auto track = controls[i].starts_with("rtsp://") ? controls[i] : url_ + "/" + controls[i];
      auto s = request("SETUP " + track + " RTSP/1.0\r\nCSeq: " + std::to_string(2 + i) +
                       "\r\nTransport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(2 * i) + "-" +
                       std::to_string(2 * i + 1) + (session.empty() ? "" : "\r\nSession: " + session) + "\r\n\r\n");
      if (s.rfind("RTSP/1.0 200", 0) != 0) return fail("SETUP: " + s);
      std::smatch m;
      if (std::regex_search(s, m, std::regex("Session: *([^;\r]+)"))) session = m[1];
    }
    auto p = request("PLAY " + url_ + " RTSP/1.0\r\nCSeq: 9\r\nSession: " + session + "\r\n\r\n");
    if (p.rfind("RTSP/1.0 200", 0) != 0) return fail("PLAY: " + p);
    return true;
  }

  // Reads on a thread of its own from now on.
  void start_reading() {
    thread_ = std::thread([this] { read_loop(); });
  }

  int fd() const { return fd_; }
  const std::string& error() const { return error_; }
  // Bytes received between two instants (interpolated from the samples kept as data arrives).
  uint64_t bytes_at(Clock::time_point t) const {
    std::lock_guard lk(mu_);
    uint64_t n = 0;
    for (const auto& [at, total] : samples_) {
      if (at > t) break;
      n = total;
    }
    return n;
  }
  std::optional<Clock::time_point> bye_at() const {
    std::lock_guard lk(mu_);
    return bye_at_;
  }
  std::optional<Clock::time_point> closed_at() const {
    std::lock_guard lk(mu_);
    return closed_at_;
  }

 private:
  bool fail(std::string e) {
    error_ = std::move(e);
    return false;
  }

  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // One response, skipping interleaved frames before it.
  std::string request(const std::string& text) {
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) return {};
    for (;;) {
      if (!buf_.empty() && buf_[0] == '$') {
        if (buf_.size() >= 4) {
          size_t len = (static_cast<uint8_t>(buf_[2]) << 8) | static_cast<uint8_t>(buf_[3]);
          if (buf_.size() >= 4 + len) {
            buf_.erase(0, 4 + len);
            continue;
          }
        }
      } else if (auto end = buf_.find("\r\n\r\n"); end != std::string::npos) {
        size_t body = 0;
        std::smatch m;
        std::string head = buf_.substr(0, end);
        if (std::regex_search(head, m, std::regex("Content-Length: *(\\d+)", std::regex::icase)))
          body = std::stoul(m[1]);
        if (buf_.size() >= end + 4 + body) {
          auto r = buf_.substr(0, end + 4 + body);
          buf_.erase(0, end + 4 + body);
          return r;
        }
      }
      if (!fill()) return {};
    }
  }

  void read_loop() {
    std::string pending = std::move(buf_);
    uint64_t total = pending.size();
    char tmp[65536];
    while (!stop_) {
      auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      const auto now = Clock::now();
      if (n <= 0) {
        std::lock_guard lk(mu_);
        if (!stop_) closed_at_ = now;
        return;
      }
      total += static_cast<uint64_t>(n);
      pending.append(tmp, static_cast<size_t>(n));
      bool bye = false;
      // Interleaved frames: an odd channel carries RTCP; a compound packet holding a BYE (PT 203) ends the session.
      while (pending.size() >= 4 && pending[0] == '$') {
        size_t len = (static_cast<uint8_t>(pending[2]) << 8) | static_cast<uint8_t>(pending[3]);
        if (pending.size() < 4 + len) break;
        if (static_cast<uint8_t>(pending[1]) % 2 == 1) {
          for (size_t off = 4; off + 4 <= 4 + len;) {
            if (static_cast<uint8_t>(pending[off + 1]) == 203) bye = true;
            off += 4 * (1 + ((static_cast<uint8_t>(pending[off + 2]) << 8) | static_cast<uint8_t>(pending[off + 3])));
          }
        }
        pending.erase(0, 4 + len);
      }
      std::lock_guard lk(mu_);
      samples_.emplace_back(now, total);
      if (bye && !bye_at_) bye_at_ = now;
    }
  }

  std::string url_;
  int fd_ = -1;
  std::string buf_;
  std::string error_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::pair<Clock::time_point, uint64_t>> samples_;
  std::optional<Clock::time_point> bye_at_, closed_at_;
};

// TCP state of a socket as the kernel sees it (TCP_ESTABLISHED = 1, TCP_CLOSE = 7 after a reset).
int tcp_state(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_state;
}

// =============================================================================================================
// Item 5: a TCP reader that stops reading is reset within reader_timeout; the other readers keep the full rate.

// The most a TCP send buffer grows to (tcp_wmem's maximum): what a reader that stopped reading can still take.
double max_send_buffer_bytes() {
  std::ifstream f("/proc/sys/net/ipv4/tcp_wmem");
  double min = 0, initial = 0, max = 4 * 1024 * 1024;
  f >> min >> initial >> max;
  return max;
}

TEST(StalledReader, TcpReaderThatStopsReadingIsResetWithinReaderTimeoutWhileOthersKeepTheFullRate) {
  if (!std::filesystem::exists(bench_tool("rtsp_publishers")))
    GTEST_SKIP() << bench_tool("rtsp_publishers") << " not built";
  constexpr double kReaderTimeout = 2.0;
  constexpr double kBitrate = 16e6;
  // Small reader queues: the stalled reader starts dropping units soon after its socket buffer is full.
  Server server("reader_timeout: 2s\nreader_queue: 32\nstreams:\n  stall: { source: publisher }\n");
  ASSERT_TRUE(server.ready) << server.log();
  Child publisher({bench_tool("rtsp_publishers"), "--url", server.rtsp_url("stall"), "--publishers", "1", "--duration",
                   "30", "--bitrate", std::to_string(static_cast<long>(kBitrate)), "--fps", "25"},
                  ::testing::TempDir() + "sg_faults_stall_pub_" + std::to_string(server.http_port) + ".log");
  // The server's send buffer takes this long to fill at the stream's rate; from then on nothing progresses.
  const double fill_s = max_send_buffer_bytes() / (kBitrate / 8);
  ASSERT_TRUE(wait_until([&] { return state_of(server.http_port, "stall") == "ready"; }, 10s)) << publisher.log();

  std::vector<std::unique_ptr<TcpReader>> others;
  for (int i = 0; i < 3; ++i) {
    others.push_back(std::make_unique<TcpReader>(server.rtsp_port, server.rtsp_url("stall")));
    ASSERT_TRUE(others.back()->play()) << others.back()->error();
    others.back()->start_reading();
  }
  // The stalled reader: a 4 KiB receive window, PLAY, then it never reads again.
  TcpReader stalled(server.rtsp_port, server.rtsp_url("stall"), 4096);
  ASSERT_TRUE(stalled.play()) << stalled.error();
  const auto stalled_from = Clock::now();
  const auto in_before = number_of(stream_info(server.http_port, "stall"), "bytes_received");

  std::optional<Clock::time_point> reset_at;
  int slow_healthz = 0;
  auto next_healthz = Clock::now();
  while (seconds_between(stalled_from, Clock::now()) < fill_s + kReaderTimeout + 6) {
    if (tcp_state(stalled.fd()) != TCP_ESTABLISHED) {
      reset_at = Clock::now();
      break;
    }
    if (Clock::now() >= next_healthz) {
      if (healthz_time(server.http_port) >= kHealthzBudget) ++slow_healthz;
      next_healthz += 250ms;
    }
    std::this_thread::sleep_for(10ms);
  }
  const auto in_after = number_of(stream_info(server.http_port, "stall"), "bytes_received");
  ASSERT_TRUE(reset_at) << "the stalled reader was never disconnected\n" << server.log();
  const double took = seconds_between(stalled_from, *reset_at);
  // No progress for reader_timeout: never before it, and at most that long after the buffers filled (+ the
  // watchdog's step and a busy machine's delays).
  EXPECT_GE(took, kReaderTimeout);
  EXPECT_LE(took, fill_s + kReaderTimeout + 1.5);
  EXPECT_EQ(tcp_state(stalled.fd()), TCP_CLOSE);  // reset: the kernel freed what the reader never read
  EXPECT_EQ(slow_healthz, 0);

  // Meanwhile every other reader got what the publisher sent (plus 4-byte interleaved headers and reports).
  const uint64_t sent_in = in_after - in_before;
  ASSERT_GT(sent_in, 250'000u) << "the publisher sent too little to measure";
  for (size_t i = 0; i < others.size(); ++i) {
    const uint64_t got = others[i]->bytes_at(*reset_at) - others[i]->bytes_at(stalled_from);
    EXPECT_GE(static_cast<double>(got), 0.9 * static_cast<double>(sent_in)) << "reader " << i;
    EXPECT_FALSE(others[i]->closed_at()) << "reader " << i;
  }

  EXPECT_EQ(metric(server.http_port, "streamgate_rtsp_stalled_peers_total"), 1u);
  EXPECT_GT(metric(server.http_port, "streamgate_stream_units_dropped_total{stream=\"stall\"}"), 0u)
      << "the stalled reader should have been dropping units before it was closed (drops are not progress)";
  EXPECT_EQ(count_of(server.log(), "RTSP peer stopped reading"), 1u);
  // The others go on after it.
  const auto later = Clock::now();
  std::this_thread::sleep_for(500ms);
  for (auto& r : others) EXPECT_GT(r->bytes_at(Clock::now()), r->bytes_at(later));
}

// =============================================================================================================
// Item 6: a publisher cut off without FIN. It publishes from a network namespace over a veth pair; taking the
// namespace's end down stops its packets without a FIN or a reset ever reaching the server.

// A network namespace and a veth pair with a /30 of 198.18.0.0/15 (RFC 2544 benchmarking space, so nothing else on
// the machine routes it), named and numbered after this process so tests running in parallel do not collide.
// Removed when the object goes, also after a failed assertion.
class VethNamespace {
 public:
  VethNamespace() {
    static std::atomic<int> counter{0};
    const int n = counter++;
    const auto pid = static_cast<uint32_t>(::getpid());
    const std::string tag = std::to_string(pid % 1000000) + std::to_string(n);
    ns_ = "sgf" + tag;
    host_if_ = "sgh" + tag;
    ns_if_ = "sgn" + tag;
    // A /30 that no interface uses yet (another test process may have picked one for itself).
    for (uint32_t attempt = 0; attempt < 64; ++attempt) {
      const uint32_t index = (pid * 8 + static_cast<uint32_t>(n) + attempt * 4099) % 32768;
      const uint32_t base = (198u << 24 | 18u << 16) + index * 4;
      host_ip_ = dotted(base + 1);
      ns_ip_ = dotted(base + 2);
      if (run({"ip", "-o", "-4", "addr", "show", "to", dotted(base) + "/30"}, 10s, "netns").output.empty()) break;
    }
    remove();  // a leftover of a killed run with the same pid
    for (const auto& cmd :
         std::vector<std::vector<std::string>>{{"ip", "netns", "add", ns_},
                                               {"ip", "link", "add", host_if_, "type", "veth", "peer", "name", ns_if_},
                                               {"ip", "link", "set", ns_if_, "netns", ns_},
                                               {"ip", "addr", "add", host_ip_ + "/30", "dev", host_if_},
                                               {"ip", "link", "set", host_if_, "up"},
                                               {"ip", "-n", ns_, "addr", "add", ns_ip_ + "/30", "dev", ns_if_},
                                               {"ip", "-n", ns_, "link", "set", ns_if_, "up"},
                                               {"ip", "-n", ns_, "link", "set", "lo", "up"}}) {
      auto r = run(cmd, 10s, "netns");
      if (r.exit_code != 0) {
        error_ = cmd[0] + " " + cmd[1] + " " + cmd[2] + " " + cmd[3] + ": " + r.output;
        return;
      }
    }
    ok_ = true;
  }
  ~VethNamespace() { remove(); }
  VethNamespace(const VethNamespace&) = delete;
  VethNamespace& operator=(const VethNamespace&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return ns_; }
  const std::string& host_ip() const { return host_ip_; }
  // The namespace's end goes down: its packets stop, and nothing (no FIN, no reset) reaches the host.
  bool cut() { return run({"ip", "-n", ns_, "link", "set", ns_if_, "down"}, 10s, "netns").exit_code == 0; }

 private:
  static std::string dotted(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255);
  }
  void remove() {
    run({"ip", "link", "del", host_if_}, 10s, "netns");  // takes its peer along
    run({"ip", "netns", "del", ns_}, 10s, "netns");
  }

  std::string ns_, host_if_, ns_if_, host_ip_, ns_ip_, error_;
  bool ok_ = false;
};

// The publisher sends over TCP (bench/rtsp_publishers, interleaved) or UDP (ffmpeg -rtsp_transport udp).
void publisher_cut_off_without_fin(const std::string& transport) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces (ip netns)";
  if (!have_program("ip")) GTEST_SKIP() << "iproute2 (ip) not installed";
  if (transport == "tcp" && !std::filesystem::exists(bench_tool("rtsp_publishers")))
    GTEST_SKIP() << bench_tool("rtsp_publishers") << " not built";
  if (transport == "udp" && !have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  VethNamespace net;
  if (!net.ok()) GTEST_SKIP() << "cannot create a network namespace here: " << net.error();

  constexpr double kTimeout = 2.0;
  // RTSP on every address, so that the namespace reaches it over the veth (and readers over loopback).
  const uint16_t rtsp_port = free_port();
  Server server("publisher_timeout: 2s\nhls: { segment_duration: 1s, part_duration: 200ms }\n"
                "streams:\n  cut: { source: publisher }\n",
                {"--rtsp", "0.0.0.0:" + std::to_string(rtsp_port)});
  ASSERT_TRUE(server.ready) << server.log();
  server.rtsp_port = rtsp_port;
  const std::string from_ns = "rtsp://" + net.host_ip() + ":" + std::to_string(rtsp_port) + "/cut";
  std::vector<std::string> publish = {"ip", "netns", "exec", net.name()};
  if (transport == "tcp") {
    for (auto a : {bench_tool("rtsp_publishers"), std::string("--url"), from_ns, std::string("--publishers"),
                   std::string("1"), std::string("--duration"), std::string("60"), std::string("--bitrate"),
                   std::string("1000000"), std::string("--fps"), std::string("25")})
      publish.push_back(a);
  } else {
    for (const char* a : {"ffmpeg",
                          "-hide_banner",
                          "-nostdin",
                          "-re",
                          "-f",
                          "lavfi",
                          "-i",
                          "testsrc=size=320x240:rate=25",
                          "-c:v",
                          "libx264",
                          "-preset",
                          "ultrafast",
                          "-tune",
                          "zerolatency",
                          "-g",
                          "25",
                          "-f",
                          "rtsp",
                          "-rtsp_transport",
                          "udp"})
      publish.push_back(a);
    publish.push_back(from_ns);
  }
  Child publisher(publish, ::testing::TempDir() + "sg_faults_cut_pub_" + std::to_string(server.http_port) + ".log");
  ASSERT_TRUE(wait_until([&] { return state_of(server.http_port, "cut") == "ready"; }, 10s)) << publisher.log();

  // Two readers: a raw one over TCP that watches for the RTCP BYE, and ffmpeg over the publisher's transport (the BYE
  // then comes on its RTCP channel or port), which ends with EOF on a BYE for every track.
  TcpReader raw(server.rtsp_port, server.rtsp_url("cut"));
  ASSERT_TRUE(raw.play()) << raw.error();
  raw.start_reading();
  const bool have_ffmpeg = have_program("ffmpeg");
  Child ffmpeg;
  if (have_ffmpeg) {
    ffmpeg.start({"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "debug", "-rtsp_transport", transport, "-i",
                  server.rtsp_url("cut"), "-c", "copy", "-f", "null", "-"},
                 ::testing::TempDir() + "sg_faults_cut_ffmpeg_" + std::to_string(server.http_port) + ".log");
  }
  // And an HLS player's view: the playlist exists while the publisher sends (the muxer is a reader too).
  EXPECT_EQ(http_request(server.http_port, "GET", "/cut/index.m3u8").status, 200);
  const size_t expected_readers = have_ffmpeg ? 3 : 2;
  ASSERT_TRUE(
      wait_until([&] { return number_of(stream_info(server.http_port, "cut"), "readers") == expected_readers; }, 10s))
      << ffmpeg.log();
  ASSERT_TRUE(wait_until([&] { return raw.bytes_at(Clock::now()) > 10'000; }, 5s));
  std::this_thread::sleep_for(500ms);  // ffmpeg past its probing, playing

  const auto cut_at = Clock::now();
  ASSERT_TRUE(net.cut());
  std::optional<Clock::time_point> left_at;
  int slow_healthz = 0;
  while (Clock::now() < cut_at + std::chrono::duration<double>(kTimeout + 5)) {
    if (state_of(server.http_port, "cut") != "ready") {
      left_at = Clock::now();
      break;
    }
    if (healthz_time(server.http_port) >= kHealthzBudget) ++slow_healthz;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(left_at) << "still ready " << kTimeout + 5 << " s after the cut\n" << server.log();
  const double took = seconds_between(cut_at, *left_at);
  EXPECT_GE(took, kTimeout - 0.3);  // packets in flight at the cut count as data
  EXPECT_LE(took, kTimeout + 1.5);
  EXPECT_EQ(slow_healthz, 0);

  auto info = stream_info(server.http_port, "cut");
  EXPECT_EQ(state_of(server.http_port, "cut"), "idle");
  auto* err = info.if_contains("last_error");
  EXPECT_TRUE(err && err->is_string() && err->as_string() == "publisher sent no data for 2 s") << json::serialize(info);
  EXPECT_EQ(metric(server.http_port, "streamgate_stream_publisher_timeouts_total{stream=\"cut\"}"), 1u);

  // Readers are told: an RTCP BYE, then the connection ends; ffmpeg ends cleanly (EOF).
  ASSERT_TRUE(wait_until([&] { return raw.closed_at().has_value(); }, 3s)) << server.log();
  ASSERT_TRUE(raw.bye_at()) << "no RTCP BYE before the connection closed";
  EXPECT_LE(seconds_between(*left_at, *raw.closed_at()), 1.0);
  if (have_ffmpeg) {
    EXPECT_EQ(ffmpeg.wait(5s), 0) << ffmpeg.log();
    EXPECT_NE(ffmpeg.log().find("Received BYE for stream 0"), std::string::npos) << "ffmpeg ended without our BYE";
  }
  EXPECT_TRUE(wait_until([&] { return number_of(stream_info(server.http_port, "cut"), "readers") == 0; }, 3s));
  // HLS: the muxer stopped with the stream; a player asking now gets no playlist (503 after the cold-start wait).
  const int hls_after = http_request(server.http_port, "GET", "/cut/index.m3u8").status;
  EXPECT_TRUE(hls_after == 404 || hls_after == 503) << hls_after;
  EXPECT_EQ(count_of(server.log(), "publisher sent no data"), 1u);
  EXPECT_LT(healthz_time(server.http_port), kHealthzBudget);
}

TEST(VanishedPublisher, TcpPublisherCutOffWithoutFinLeavesReadyWithinPublisherTimeoutAndReadersAreTold) {
  publisher_cut_off_without_fin("tcp");
}

TEST(VanishedPublisher, UdpPublisherCutOffWithoutFinLeavesReadyWithinPublisherTimeoutAndReadersAreTold) {
  publisher_cut_off_without_fin("udp");
}

}  // namespace
}  // namespace sg::test
