// TLS end to end: a throw-away test CA and a server certificate for localhost / 127.0.0.1 made with the openssl
// CLI; the server serves HTTPS and RTSPS with it. Chromium trusts the CA through an NSS database in a temporary
// HOME (no --ignore-certificate-errors) and plays over WHEP, the /ws WebSocket (wss://) and HLS from https://;
// ffprobe reads a stream's codecs over rtsps:// and ffmpeg publishes over it; curl and openssl s_client check the
// protocol versions and see a replaced certificate without a restart. One server and publisher for the suite.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

#include "../support/ffmpeg_source.hpp"
#include "../support/http_client.hpp"
#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace fs = std::filesystem;
const std::string kE2eDir = SG_SOURCE_DIR "/tests/e2e";

bool have_browser() {
  return have_program("node") && have_program("chromium") && have_program("certutil") &&
         std::ifstream(kE2eDir + "/node_modules/playwright-core/package.json").good();
}

// openssl CLI steps; returns "" or the failing command's output.
std::string openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  auto r = run(args, 30s, "tls_openssl");
  return r.exit_code == 0 ? std::string() : r.output;
}

// A server certificate for localhost and 127.0.0.1 signed by the test CA in `dir`, written to cert/key paths.
std::string make_server_cert(const std::string& dir, const std::string& name, const std::string& serial,
                             const std::string& cert, const std::string& key) {
  std::ofstream(dir + "/ext.cnf") << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                                     "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
  std::string csr = dir + "/" + name + ".csr";
  if (auto e = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                        "-out", csr, "-subj", "/CN=" + name});
      !e.empty())
    return e;
  return openssl({"x509", "-req", "-in", csr, "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-set_serial", serial,
                  "-days", "2", "-extfile", dir + "/ext.cnf", "-out", cert});
}

// Output of `openssl s_client` connecting to 127.0.0.1:port with `extra` options (stdin is /dev/null, so it
// disconnects right after the handshake).
RunResult s_client(uint16_t port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"openssl",     "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                   "-servername", "localhost"};
  for (auto& e : extra) argv.push_back(e);
  return run(argv, 15s, "tls_s_client");
}

class TlsE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg") || !have_program("openssl")) return;
    dir_ = ::testing::TempDir() + "sg_tls_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/home");
    setup_error_ =
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 dir_ + "/ca.key", "-out", dir_ + "/ca.pem", "-days", "2", "-subj", "/CN=streamgate test CA"});
    if (setup_error_.empty())
      setup_error_ = make_server_cert(dir_, "streamgate-test-1", "4097", dir_ + "/cert.pem", dir_ + "/key.pem");
    if (!setup_error_.empty()) return;
    if (have_program("certutil")) {
      // Chromium on Linux trusts the CAs of the NSS database in $HOME/.pki/nssdb.
      fs::create_directories(dir_ + "/home/.pki/nssdb");
      auto init = run({"certutil", "-d", "sql:" + dir_ + "/home/.pki/nssdb", "-N", "--empty-password"}, 30s, "tls_nss");
      auto add = run({"certutil", "-d", "sql:" + dir_ + "/home/.pki/nssdb", "-A", "-t", "C,,", "-n", "sgtest", "-i",
                      dir_ + "/ca.pem"},
                     30s, "tls_nss");
      if (init.exit_code != 0 || add.exit_code != 0) setup_error_ = init.output + add.output;
    }
    https_port_ = free_port();
    rtsps_port_ = free_port();
    server_ = std::make_unique<Server>(
        "tls:\n  cert: " + dir_ + "/cert.pem\n  key: " + dir_ + "/key.pem\n  reload_interval: 200ms\n",
        std::vector<std::string>{"--https", "127.0.0.1:" + std::to_string(https_port_), "--rtsps",
                                 "127.0.0.1:" + std::to_string(rtsps_port_)});
    publisher_ = std::make_unique<Child>(
        then(ffmpeg_source({.size = "640x360", .rate = 30, .gop = 30, .video_bitrate = "1M", .audio = true}),
             {"-f", "rtsp", "-rtsp_transport", "tcp", server_->rtsp_url("cam")}),
        ::testing::TempDir() + "sg_tls_ffmpeg.log");
    wait_until(
        [] {
          auto r = http_request(server_->http_port, "GET", "/api/v1/streams/cam");
          return r.status == 200 && r.body.find("\"ready\"") != std::string::npos &&
                 r.body.find("AAC") != std::string::npos;
        },
        15s);
  }
  static void TearDownTestSuite() {
    publisher_.reset();
    server_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (!have_program("ffmpeg") || !have_program("openssl")) GTEST_SKIP() << "ffmpeg or openssl not installed";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(server_->ready) << server_->log();
  }

  static std::string https_base() { return "https://localhost:" + std::to_string(https_port_); }
  static std::string rtsps_url(const std::string& path) {
    return "rtsps://localhost:" + std::to_string(rtsps_port_) + "/" + path;
  }
  // Runs a node script with HOME = the temporary home holding the NSS database.
  static RunResult node(const std::string& script, std::vector<std::string> args, const std::string& home) {
    std::vector<std::string> argv = {"env", "HOME=" + home, "node", kE2eDir + "/" + script};
    for (auto& a : args) argv.push_back(a);
    return run(argv, 60s, "tls_node");
  }

  static std::string dir_, setup_error_;
  static uint16_t https_port_, rtsps_port_;
  static std::unique_ptr<Server> server_;
  static std::unique_ptr<Child> publisher_;
};
std::string TlsE2e::dir_, TlsE2e::setup_error_;
uint16_t TlsE2e::https_port_ = 0, TlsE2e::rtsps_port_ = 0;
std::unique_ptr<Server> TlsE2e::server_;
std::unique_ptr<Child> TlsE2e::publisher_;

TEST_F(TlsE2e, CurlVerifiesTheCertificateAndGetsTheApiOverHttps) {
  if (!have_program("curl")) GTEST_SKIP() << "curl not installed";
  auto r = run({"curl", "-sS", "--max-time", "10", "--cacert", dir_ + "/ca.pem", "-o", "-", "-w", "\n%{http_code}",
                https_base() + "/api/v1/streams/cam"},
               20s, "tls_curl");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"ready\""), std::string::npos) << r.output;
  EXPECT_TRUE(r.output.ends_with("\n200")) << r.output;
}

TEST_F(TlsE2e, ChromiumTrustingTheTestCaPlaysThroughWhepFromHttps) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium, certutil or playwright-core missing";
  auto r = node("webrtc_play.mjs", {https_base(), "cam", "whep", "10"}, dir_ + "/home");
  EXPECT_EQ(r.exit_code, 0) << r.output << server_->log().substr(0, 4000);
  EXPECT_NE(r.output.find("\"width\":640"), std::string::npos) << r.output;
}

TEST_F(TlsE2e, ChromiumPlaysThroughTheWebSocketOverWss) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium, certutil or playwright-core missing";
  auto r = node("webrtc_play.mjs", {https_base(), "cam", "ws", "10"}, dir_ + "/home");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"width\":640"), std::string::npos) << r.output;
}

TEST_F(TlsE2e, ChromiumPlaysHlsFromHttps) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium, certutil or playwright-core missing";
  auto r = node("hls_play.mjs", {https_base() + "/cam/hls"}, dir_ + "/home");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto line = r.output.substr(r.output.rfind('{'));
  EXPECT_NE(line.find("\"playing\":true"), std::string::npos) << r.output;
}

TEST_F(TlsE2e, ChromiumWithoutTheTestCaRefusesTheCertificate) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium, certutil or playwright-core missing";
  fs::create_directories(dir_ + "/empty_home");
  auto r = node("webrtc_play.mjs", {https_base(), "cam", "whep", "3"}, dir_ + "/empty_home");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ERR_CERT_AUTHORITY_INVALID"), std::string::npos) << r.output;
}

// ffmpeg 5.1's RTSP demuxer does not hand -tls_verify / -ca_file to its TLS layer (it connects whatever the
// CA), so certificate verification is checked by curl, s_client, Chromium and RtspsRefusesUdpTransportWith461.
TEST_F(TlsE2e, FfprobeReadsTheStreamCodecsOverRtsps) {
  auto r = run(
      {"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact", rtsps_url("cam")},
      30s, "tls_ffprobe");
  EXPECT_EQ(r.exit_code, 0) << r.output << server_->log().substr(0, 4000);
  EXPECT_NE(r.output.find("codec_name=h264|width=640|height=360"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("codec_name=aac"), std::string::npos) << r.output;
}

TEST_F(TlsE2e, FfmpegReadsMediaOverRtsps) {
  auto r =
      run({"ffmpeg", "-nostdin", "-v", "error", "-i", rtsps_url("cam"), "-t", "3", "-c", "copy", "-f", "null", "-"},
          30s, "tls_ffmpeg_read");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("rror"), std::string::npos) << r.output;
}

TEST_F(TlsE2e, FfmpegPublishesOverRtsps) {
  Child pub(then(ffmpeg_source({}), {"-f", "rtsp", rtsps_url("pushed")}),
            ::testing::TempDir() + "sg_tls_ffmpeg_push.log");
  bool ready = wait_until(
      [] {
        auto r = http_request(server_->http_port, "GET", "/api/v1/streams/pushed");
        return r.status == 200 && r.body.find("\"ready\"") != std::string::npos;
      },
      15s);
  ASSERT_TRUE(ready) << pub.log() << server_->log().substr(0, 4000);
  // Media arrives: the stream's byte counter grows while the publisher runs.
  auto bytes = [] {
    auto body = http_request(server_->http_port, "GET", "/api/v1/streams/pushed").body;
    auto at = body.find("\"bytes_received\":");
    return at == std::string::npos ? 0ull : std::stoull(body.substr(at + 17));
  };
  auto first = bytes();
  EXPECT_TRUE(wait_until([&] { return bytes() > first + 10000; }, 5s))
      << http_request(server_->http_port, "GET", "/api/v1/streams/pushed").body;
}

// A TLS client of our own for RTSP requests the real clients never send (UDP transport over RTSPS).
std::string rtsps_exchange(uint16_t port, const std::string& ca, const std::vector<std::string>& requests) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ca);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  SSL_set_tlsext_host_name(s.native_handle(), "localhost");
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  s.handshake(asio::ssl::stream_base::client);
  std::string out;
  asio::streambuf buf;
  for (const auto& req : requests) {
    asio::write(s, asio::buffer(req));
    auto n = asio::read_until(s, buf, "\r\n\r\n");
    out.append(static_cast<const char*>(buf.data().data()), n);
    buf.consume(n);
  }
  return out;
}

TEST_F(TlsE2e, RtspsRefusesUdpTransportWith461) {
  std::string uri = "rtsp://localhost:" + std::to_string(rtsps_port_) + "/cam";
  std::string out;
  try {
    out = rtsps_exchange(rtsps_port_, dir_ + "/ca.pem",
                         {"OPTIONS " + uri + " RTSP/1.0\r\nCSeq: 1\r\n\r\n",
                          "SETUP " + uri +
                              "/trackID=0 RTSP/1.0\r\nCSeq: 2\r\n"
                              "Transport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n"});
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  EXPECT_NE(out.find("RTSP/1.0 200 OK\r\nCSeq: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("RTSP/1.0 461"), std::string::npos) << out;
}

TEST_F(TlsE2e, Tls12And13AreAcceptedAndTls11IsRefused) {
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    auto r = s_client(https_port_, {version, "-CAfile", dir_ + "/ca.pem", "-verify_return_error"});
    EXPECT_EQ(r.exit_code, 0) << version << ": " << r.output;
    EXPECT_NE(r.output.find("Verify return code: 0 (ok)"), std::string::npos) << r.output;
  }
  // Debian's OpenSSL client refuses TLS 1.1 itself at security level 2: lower it so the server has to say no.
  for (uint16_t port : {https_port_, rtsps_port_}) {
    auto r = s_client(port, {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("no protocols available"), std::string::npos) << "the client never tried: " << r.output;
    EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << r.output;
  }
}

TEST_F(TlsE2e, Tls12OffersOnlyEcdheAeadCiphers) {
  // CBC suites this ECDSA certificate could otherwise use (a default OpenSSL server accepts them).
  auto cbc = s_client(https_port_, {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"});
  EXPECT_NE(cbc.exit_code, 0) << cbc.output;
  auto aead = s_client(https_port_, {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"});
  EXPECT_EQ(aead.exit_code, 0) << aead.output;
  EXPECT_NE(aead.output.find("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos) << aead.output;
}

TEST_F(TlsE2e, PlainHttpOnTheHttpsPortLeavesTheServerServing) {
  auto r = http_raw(https_port_, "GET /api/v1/streams HTTP/1.1\r\nHost: localhost\r\n\r\n", 3000, true);
  EXPECT_EQ(r.raw.find("200 OK"), std::string::npos) << r.raw;
  auto rtsp = http_raw(rtsps_port_, "OPTIONS rtsp://localhost/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n", 3000, true);
  EXPECT_EQ(rtsp.raw.find("200 OK"), std::string::npos) << rtsp.raw;
  EXPECT_TRUE(server_->child.running());
  auto again = s_client(https_port_, {"-CAfile", dir_ + "/ca.pem", "-verify_return_error"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(http_request(server_->http_port, "GET", "/readyz").status, 200);
}

// Last in the file: it replaces the suite's certificate (with one of the same CA, so later tests still verify).
TEST_F(TlsE2e, ReplacedCertificateIsServedToNewConnectionsWithoutRestart) {
  auto before = s_client(https_port_, {"-CAfile", dir_ + "/ca.pem"});
  ASSERT_NE(before.output.find("CN = streamgate-test-1"), std::string::npos) << before.output;
  // A broken key first (as a half-finished renewal would leave): the old certificate stays in service.
  std::ofstream(dir_ + "/key.pem.new") << "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n";
  fs::rename(dir_ + "/key.pem.new", dir_ + "/key.pem");
  ASSERT_TRUE(wait_until([] { return server_->log().find("TLS certificate reload failed") != std::string::npos; }, 5s))
      << server_->log();
  auto during = s_client(https_port_, {"-CAfile", dir_ + "/ca.pem", "-verify_return_error"});
  EXPECT_EQ(during.exit_code, 0) << during.output;
  EXPECT_NE(during.output.find("CN = streamgate-test-1"), std::string::npos) << during.output;
  // Polled every 200 ms meanwhile, the unchanged broken file is not tried (nor logged) again.
  auto log = server_->log();
  EXPECT_EQ(log.find("TLS certificate reload failed", log.find("TLS certificate reload failed") + 1), std::string::npos)
      << log;
  // Then the new pair, each file replaced atomically (rename), as certbot does.
  ASSERT_EQ(make_server_cert(dir_, "streamgate-test-2", "8193", dir_ + "/cert2.pem", dir_ + "/key2.pem"), "");
  fs::rename(dir_ + "/cert2.pem", dir_ + "/cert.pem");
  fs::rename(dir_ + "/key2.pem", dir_ + "/key.pem");
  std::string seen;
  bool renewed = wait_until(
      [&] {
        seen = s_client(https_port_, {"-CAfile", dir_ + "/ca.pem"}).output;
        return seen.find("CN = streamgate-test-2") != std::string::npos;
      },
      10s);
  EXPECT_TRUE(renewed) << seen << server_->log();
  auto rtsps = s_client(rtsps_port_, {"-CAfile", dir_ + "/ca.pem", "-verify_return_error"});
  EXPECT_NE(rtsps.output.find("CN = streamgate-test-2"), std::string::npos) << rtsps.output;
  EXPECT_TRUE(server_->child.running());
}

}  // namespace
}  // namespace sg::test
