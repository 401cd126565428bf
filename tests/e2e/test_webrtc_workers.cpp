// WebRTC on every worker: with `--workers 2`, WHEP sessions spread over both worker threads on the one WebRTC UDP
// port (a SO_REUSEPORT socket per worker). 60 viewers of bench/webrtc_viewers (real ICE, DTLS and SRTP) all connect
// and receive the stream; /metrics shows sessions and sent packets on both workers and GET /api/v1/webrtc/sessions
// names each session's worker. A session checked from many client ports (ICE candidate pairs that land on the other
// worker's socket) is answered from the one port, through its owner. A UDP port held by another process, even as a
// SO_REUSEPORT group of this user, is still an error at start.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "../support/client_requests.hpp"
#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "../support/udp_client.hpp"
#include "stun/stun.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr int kViewers = 60;

std::string viewers_binary() { return (fs::path(SG_BINARY).parent_path() / "bench" / "webrtc_viewers").string(); }

std::string tail(const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; }

const std::string kConfig =
    "streams:\n"
    "  cam:\n"
    "    source: >-\n"
    "      exec:ffmpeg -hide_banner -loglevel error -re\n"
    "      -f lavfi -i testsrc2=size=320x240:rate=30 -an\n"
    "      -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 300k -pix_fmt yuv420p\n"
    "      -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$STREAM\n";

// Samples of `name{worker="N"}` in /metrics, by worker.
std::map<int, double> per_worker(const Server& s, const std::string& name) {
  std::map<int, double> out;
  auto r = http_request(s.http_port, "GET", "/metrics");
  std::istringstream in(r.body);
  std::string line;
  const std::regex sample(name + "\\{worker=\"(\\d+)\"\\} (\\S+)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, sample)) out[std::stoi(m[1])] = std::stod(m[2]);
  return out;
}

double metric(const Server& s, const std::string& name) {
  auto r = http_request(s.http_port, "GET", "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, name.size() + 1, name + " ") == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  return -1;
}

bool stream_ready(const Server& s) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/cam");
  return r.status == 200 && r.body.find("\"state\":\"ready\"") != std::string::npos;
}

class WebRtcWorkers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    server_ = std::make_unique<Server>(kConfig, std::vector<std::string>{"--workers", "2"});
    ASSERT_TRUE(server_->ready) << server_->log();
    ASSERT_TRUE(wait_until([&] { return stream_ready(*server_); }, 20s)) << tail(server_->log());
  }
  std::unique_ptr<Server> server_;
};

TEST_F(WebRtcWorkers, WhepViewersSpreadOverBothWorkersAndAllReceiveTheStream) {
  if (!fs::exists(viewers_binary())) GTEST_SKIP() << viewers_binary() << " not built";
  std::string log = ::testing::TempDir() + "sg_webrtc_workers_viewers_" + std::to_string(::getpid()) + ".log";
  Child tool(
      {viewers_binary(), "--url", server_->http_url("cam/whep"), "--viewers", std::to_string(kViewers), "--duration",
       "8", "--ramp-ms", "20", "--threads", "2", "--min-ratio", "0.95", "--timeout", "30", "--json"},
      log);
  // While they play: the most sessions each worker owned at once, and the workers the sessions API named.
  std::map<int, double> most;
  std::map<int, int> listed;
  while (tool.running()) {
    for (auto [w, n] : per_worker(*server_, "streamgate_webrtc_worker_sessions")) most[w] = std::max(most[w], n);
    auto r = http_request(server_->http_port, "GET", "/api/v1/webrtc/sessions");
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    const json::array* sessions = nullptr;
    if (!ec && v.is_object() && v.as_object().contains("items") && v.at("items").is_array())
      sessions = &v.at("items").as_array();
    if (sessions && static_cast<int>(sessions->size()) >= kViewers) {
      std::map<int, int> now;
      for (const auto& s : *sessions)
        if (s.as_object().contains("worker") && s.at("worker").is_int64())
          ++now[static_cast<int>(s.at("worker").as_int64())];
      if (now.size() >= listed.size()) listed = now;
    }
    std::this_thread::sleep_for(300ms);
  }
  int exit_code = tool.wait(1s);
  auto out = tool.log();
  EXPECT_EQ(exit_code, 0) << out << "\nserver:\n" << tail(server_->log());
  auto brace = out.rfind("\n{");
  boost::system::error_code ec;
  auto summary = json::parse(out.substr(brace == std::string::npos ? 0 : brace + 1), ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(summary.at("connected").to_number<int>(), kViewers) << out;
  EXPECT_EQ(summary.at("ok").to_number<int>(), kViewers) << out;
  // Sessions on both workers: the kernel hashes 60 random client ports over the two sockets (each gets at least 10
  // of them except with a probability far below 1e-6).
  ASSERT_EQ(most.size(), 2u) << "streamgate_webrtc_worker_sessions by worker";
  EXPECT_GE(most[0], 10) << "worker 0's most sessions";
  EXPECT_GE(most[1], 10) << "worker 1's most sessions";
  EXPECT_EQ(listed.size(), 2u) << "workers named by GET /api/v1/webrtc/sessions";
  // Both workers sent media.
  auto packets = per_worker(*server_, "streamgate_webrtc_worker_packets_sent_total");
  EXPECT_GT(packets[0], 1000);
  EXPECT_GT(packets[1], 1000);
  // DELETE closed every session, whatever worker owned it.
  EXPECT_TRUE(wait_until([&] { return metric(*server_, "streamgate_webrtc_sessions") == 0; }, 10s))
      << metric(*server_, "streamgate_webrtc_sessions");
}

TEST_F(WebRtcWorkers, ChecksFromManyClientPortsAreAnsweredFromTheOnePortByTheSessionsOwner) {
  auto r = http_request(server_->http_port, "POST", "/cam/whep", test::kMinimalOffer, "application/sdp");
  ASSERT_EQ(r.status, 201) << r.body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("a=ice-ufrag:(\\S+)")));
  const std::string ufrag = m[1];
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("a=ice-pwd:(\\S+)")));
  const std::string pwd = m[1];
  // 16 client sockets: the first check claims the session for the worker its socket landed on; the others land on
  // either worker (all on one: probability 2^-15), and every one gets a signed answer from the WebRTC port.
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < 16; ++i) clients.push_back(std::make_unique<UdpClient>(server_->udp_port));
  for (size_t i = 0; i < clients.size(); ++i) {
    stun::TransactionId tid{};
    tid[0] = std::byte{static_cast<uint8_t>(i + 1)};
    auto check = stun::MessageBuilder(stun::MessageClass::Request, stun::kMethodBinding, tid)
                     .add_username(ufrag + ":CLNT")
                     .add_priority(1)
                     .add_ice_controlling(42)
                     .finish(pwd, true);
    ByteVector reply;
    uint16_t from = 0;
    // UDP on loopback under load: a lost datagram is retried like an ICE agent would.
    for (int attempt = 0; attempt < 3 && reply.empty(); ++attempt) {
      clients[i]->send(check);
      reply = clients[i]->receive(&from);
    }
    auto ok = stun::Message::parse(reply);
    ASSERT_TRUE(ok) << "no answer to the check from client " << i;
    EXPECT_EQ(ok->message_class(), stun::MessageClass::SuccessResponse);
    EXPECT_EQ(ok->transaction_id(), tid);
    EXPECT_TRUE(ok->check_integrity(pwd));
    EXPECT_EQ(from, server_->udp_port) << "answered from another port";
    ASSERT_TRUE(ok->xor_mapped_address());
    EXPECT_EQ(ok->xor_mapped_address()->to_string(), "127.0.0.1:" + std::to_string(clients[i]->local_port()));
  }
  EXPECT_GE(metric(*server_, "streamgate_webrtc_forwarded_datagrams_total"), 1);
  auto owners = per_worker(*server_, "streamgate_webrtc_worker_sessions");
  EXPECT_EQ(owners[0] + owners[1], 1) << "one session, owned by one worker";
  EXPECT_EQ(http_request(server_->http_port, "DELETE", r.headers["location"]).status, 200);
  EXPECT_TRUE(wait_until([&] { return metric(*server_, "streamgate_webrtc_sessions") == 0; }, 5s));
}

TEST(WebRtcPort, HeldByAnotherProcessEvenWithSoReuseportIsAnErrorAtStart) {
  // A SO_REUSEPORT socket of this user on the port: a group the server could join silently.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  int one = 1;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t port = ntohs(a.sin_port);
  auto r = run({SG_BINARY, "--http", "127.0.0.1:" + std::to_string(free_port()), "--rtsp",
                "127.0.0.1:" + std::to_string(free_port()), "--webrtc-udp", "127.0.0.1:" + std::to_string(port),
                "--workers", "2"},
               20s, "webrtc_port_in_use");
  ::close(fd);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cannot bind UDP 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sg::test
