// bench/webrtc_viewers against a WHEP server that is not streamgate: tests/peers/pion_whep, built on pion/webrtc,
// answers a=setup:active like every pion-based server, so the tool must run the DTLS handshake as the server (and
// still check the peer's certificate against the answer's fingerprint, which pion writes in lowercase hex).
// Skipped when pion_whep or the tool is not built (pion_whep needs golang-go and golang-github-pion-webrtc.v3-dev).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string viewers_tool() { return (fs::path(SG_BINARY).parent_path() / "bench" / "webrtc_viewers").string(); }

json::value summary_of(const std::string& out) {
  auto brace = out.rfind("\n{");
  auto start = brace == std::string::npos ? out.find('{') : brace + 1;
  if (start == std::string::npos) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(out.substr(start), ec);
  return ec ? json::value(nullptr) : v;
}

TEST(WhepPion, WebrtcViewersIsTheDtlsServerWhenTheAnswerSaysSetupActive) {
  if (!fs::exists(SG_PION_WHEP))
    GTEST_SKIP() << SG_PION_WHEP << " not built (needs golang-go and golang-github-pion-webrtc.v3-dev)";
  if (!fs::exists(viewers_tool())) GTEST_SKIP() << viewers_tool() << " not built";
  auto port = std::to_string(free_port());
  Child pion({SG_PION_WHEP, "--listen", "127.0.0.1:" + port, "--kbps", "600"},
             ::testing::TempDir() + "sg_pion_whep_" + std::to_string(::getpid()) + ".log");
  ASSERT_TRUE(wait_until([&] { return pion.log().find("listening on") != std::string::npos || !pion.running(); }, 30s));
  ASSERT_TRUE(pion.running()) << pion.log();

  constexpr int kViewers = 5;
  auto r = run({viewers_tool(), "--url", "http://127.0.0.1:" + port + "/cam/whep", "--viewers",
                std::to_string(kViewers), "--duration", "4", "--timeout", "30", "--min-ratio", "0.95", "--json"},
               120s, "whep_pion");
  EXPECT_EQ(r.exit_code, 0) << r.output << "\npion_whep:\n" << pion.log();
  auto s = summary_of(r.output);
  ASSERT_TRUE(s.is_object()) << r.output;
  EXPECT_EQ(s.at("dtls").to_number<int>(), kViewers) << r.output;
  EXPECT_EQ(s.at("dtls_server").to_number<int>(), kViewers) << "the answers said setup:active\n" << r.output;
  EXPECT_EQ(s.at("connected").to_number<int>(), kViewers) << r.output;
  EXPECT_EQ(s.at("ok").to_number<int>(), kViewers) << r.output;
  EXPECT_EQ(s.at("deleted").to_number<int>(), kViewers) << r.output;
  // 600 kb/s in packets of at most 1200 bytes: over 60 packets a second per viewer; 4 s give well over 100.
  EXPECT_GT(s.at("packets").to_number<double>(), 100.0 * kViewers) << r.output;
  EXPECT_EQ(s.at("srtp_errors").to_number<int>(), 0) << r.output;
}

}  // namespace
}  // namespace sg::test
