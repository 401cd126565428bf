// HLS egress end to end with real peers: ffmpeg publishes over RTSP into streamgate, and ffprobe / ffmpeg /
// headless Chromium with hls.js read the stream back over HTTP as HLS, for each variant (MPEG-TS, fMP4,
// Low-Latency fMP4). Each test starts its own server with the variant in its config and its own publisher; every
// process is killed when the test ends.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>

// g++ -O2 sees a false maybe-uninitialized in the checker's std::optional<double>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "../hls/playlist_checker.hpp"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct Media {
  bool h265 = false;
  int width = 640, height = 360;
};

std::vector<std::string> publisher_argv(const Media& m, const std::string& url) {
  std::string size = std::to_string(m.width) + "x" + std::to_string(m.height);
  std::vector<std::string> a = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                                "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30",
                                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"};
  if (!m.h265) {
    for (auto s : {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-b:v", "1M"})
      a.push_back(s);
  } else {
    for (auto s : {"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-x265-params",
                   "keyint=30:log-level=error", "-b:v", "1M"})
      a.push_back(s);
  }
  for (auto s : {"-c:a", "aac", "-b:a", "64k", "-f", "rtsp", "-rtsp_transport", "tcp"}) a.push_back(s);
  a.push_back(url);
  return a;
}

bool stream_ready(const Server& s, const std::string& path) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/" + path);
  if (r.status != 200) return false;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return !ec && v.is_object() && v.as_object().contains("state") && v.at("state") == "ready";
}

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

// Lines of ffmpeg -v error output that name a problem.
std::vector<std::string> error_lines(const std::string& output) {
  static const std::regex bad("error|corrupt|missing|invalid|non[- ]monoton|concealing|decode", std::regex::icase);
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, bad)) out.push_back(line);
  return out;
}

// A server with `hls.variant: <variant>` and ffmpeg publishing to rtsp://.../live.
class HlsRig {
 public:
  HlsRig(const std::string& variant, Media media = {}, const std::string& extra_yaml = "")
      : server("hls:\n  variant: " + variant + "\n" + extra_yaml) {
    if (!server.ready) return;
    publisher.start(publisher_argv(media, server.rtsp_url("live")),
                    ::testing::TempDir() + "sg_hls_pub_" + std::to_string(server.http_port) + ".log");
    ready = wait_until([&] { return stream_ready(server, "live") || !publisher.running(); }, 15s) &&
            publisher.running();
  }
  std::string url(const std::string& file) const { return server.http_url("live/" + file); }
  std::string path(const std::string& file) const { return "/live/" + file; }
  std::string logs() const { return "server:\n" + tail(server.log()) + "\npublisher:\n" + tail(publisher.log()); }

  Server server;
  Child publisher;
  bool ready = false;
};

#define REQUIRE_PEERS()                                                                            \
  do {                                                                                             \
    if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg not installed"; \
  } while (0)

// ---- ffprobe / ffmpeg over each variant ----

struct VariantCase {
  std::string variant;
  bool h265;
};

class HlsVariant : public ::testing::TestWithParam<VariantCase> {};

TEST_P(HlsVariant, FfprobeFromColdReportsCodecsAndResolutionAndFfmpegReads10sCleanly) {
  REQUIRE_PEERS();
  const auto& p = GetParam();
  HlsRig rig(p.variant, Media{p.h265});
  ASSERT_TRUE(rig.ready) << rig.logs();

  // First HLS request for the stream: the muxer does not exist yet, the playlist must still come back.
  auto probe = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact",
                    rig.url("index.m3u8")},
                   30s, "hls_probe");
  ASSERT_EQ(probe.exit_code, 0) << probe.output << rig.logs();
  EXPECT_NE(probe.output.find(std::string("codec_name=") + (p.h265 ? "hevc" : "h264") + "|width=640|height=360"),
            std::string::npos)
      << probe.output;
  EXPECT_NE(probe.output.find("codec_name=aac"), std::string::npos) << probe.output;

  auto read = run({"ffmpeg", "-nostdin", "-v", "error", "-i", rig.url("index.m3u8"), "-t", "10", "-c", "copy", "-f",
                   "null", "-"},
                  40s, "hls_read");
  EXPECT_EQ(read.exit_code, 0) << read.output << rig.logs();
  auto errors = error_lines(read.output);
  EXPECT_TRUE(errors.empty()) << read.output;
}

INSTANTIATE_TEST_SUITE_P(Variants, HlsVariant,
                         ::testing::Values(VariantCase{"mpegts", false}, VariantCase{"fmp4", false},
                                           VariantCase{"lowLatency", false}, VariantCase{"fmp4", true},
                                           VariantCase{"lowLatency", true}),
                         [](const auto& info) { return info.param.variant + (info.param.h265 ? "_H265" : "_H264"); });

// ---- playlists, headers, errors ----

TEST(Hls, LivePlaylistsFollowRfc8216AndCarryHlsHeaders) {
  REQUIRE_PEERS();
  for (std::string variant : {"mpegts", "lowLatency"}) {
    SCOPED_TRACE(variant);
    HlsRig rig(variant, {}, "  segment_duration: 1s\n  segment_count: 3\n");
    ASSERT_TRUE(rig.ready) << rig.logs();
    auto mv = http_request(rig.server.http_port, "GET", rig.path("index.m3u8"));
    ASSERT_EQ(mv.status, 200) << mv.body << rig.logs();
    EXPECT_EQ(mv.headers["content-type"], "application/vnd.apple.mpegurl");
    EXPECT_EQ(mv.headers["access-control-allow-origin"], "*");
    EXPECT_NE(mv.headers["cache-control"].find("no-cache"), std::string::npos);
    EXPECT_NE(mv.body.find("CODECS=\"avc1."), std::string::npos) << mv.body;
    EXPECT_NE(mv.body.find("mp4a.40.2"), std::string::npos) << mv.body;
    EXPECT_NE(mv.body.find("RESOLUTION=640x360"), std::string::npos) << mv.body;
    EXPECT_NE(mv.body.find("stream.m3u8"), std::string::npos) << mv.body;

    uint64_t last_sequence = 0;
    for (int i = 0; i < 6; ++i) {
      auto pl = http_request(rig.server.http_port, "GET", rig.path("stream.m3u8"));
      ASSERT_EQ(pl.status, 200) << pl.body;
      auto checked = hls::test::check_media_playlist(pl.body);
      EXPECT_TRUE(checked.problems.empty()) << ::testing::PrintToString(checked.problems) << "\n" << pl.body;
      ASSERT_FALSE(checked.segments.empty()) << pl.body;
      EXPECT_GE(checked.media_sequence.value_or(0), last_sequence);
      last_sequence = checked.media_sequence.value_or(0);
      if (variant == "lowLatency") {
        EXPECT_TRUE(checked.can_block_reload) << pl.body;
        EXPECT_FALSE(checked.preload_hint_uri.empty()) << pl.body;
        EXPECT_EQ(checked.map_uri, "init.mp4");
      }
      // The newest segment is served with the variant's content type and a cache lifetime.
      auto seg = http_request(rig.server.http_port, "GET", rig.path(checked.segments.back().uri));
      ASSERT_EQ(seg.status, 200) << checked.segments.back().uri;
      EXPECT_EQ(seg.headers["content-type"], variant == "mpegts" ? "video/mp2t" : "video/mp4");
      EXPECT_NE(seg.headers["cache-control"].find("max-age="), std::string::npos);
      EXPECT_EQ(seg.headers["access-control-allow-origin"], "*");
      if (variant == "mpegts") {
        ASSERT_FALSE(seg.body.empty());
        EXPECT_EQ(seg.body[0], 0x47);  // TS sync byte
      }
      std::this_thread::sleep_for(700ms);
    }
    // With 1 s segments and a window of 3, the first segment leaves the window within seconds: then it is 404.
    const std::string seg0 = rig.path(variant == "mpegts" ? "seg0.ts" : "seg0.m4s");
    EXPECT_TRUE(wait_until([&] { return http_request(rig.server.http_port, "GET", seg0).status == 404; }, 10s));
    EXPECT_EQ(http_request(rig.server.http_port, "GET", rig.path("seg999999.ts")).status, 404);
    EXPECT_EQ(http_request(rig.server.http_port, "GET", "/nosuchstream/index.m3u8").status, 404);
    if (variant == "mpegts") {
      EXPECT_EQ(http_request(rig.server.http_port, "GET", rig.path("init.mp4")).status, 404);
    } else {
      auto init = http_request(rig.server.http_port, "GET", rig.path("init.mp4"));
      EXPECT_EQ(init.status, 200);
      EXPECT_EQ(init.body.substr(4, 4), "ftyp");
    }
    auto metrics = http_request(rig.server.http_port, "GET", "/metrics");
    EXPECT_NE(metrics.body.find("streamgate_hls_muxers 1"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("streamgate_hls_requests_total{kind=\"media_playlist\"}"), std::string::npos);
  }
}

// The position a playlist is at: the segment being built and how many of its parts are out.
struct Position {
  uint64_t next_msn = 0;
  uint64_t parts = 0;
  double part_target = 0;
};
Position position_of(const std::string& playlist) {
  auto c = hls::test::check_media_playlist(playlist);
  return {c.media_sequence.value_or(0) + c.segments.size(), c.trailing_parts.size(), c.part_target.value_or(0)};
}

TEST(Hls, BlockingReloadAnswersWhenTheNextPartExistsAndRejectsTheFarFuture) {
  REQUIRE_PEERS();
  HlsRig rig("lowLatency");
  ASSERT_TRUE(rig.ready) << rig.logs();
  auto first = http_request(rig.server.http_port, "GET", rig.path("stream.m3u8"));
  ASSERT_EQ(first.status, 200) << rig.logs();

  std::vector<double> waits_ms;
  for (int i = 0; i < 10; ++i) {
    auto now = http_request(rig.server.http_port, "GET", rig.path("stream.m3u8"));
    ASSERT_EQ(now.status, 200);
    auto pos = position_of(now.body);
    ASSERT_GT(pos.part_target, 0) << now.body;
    // Ask for the part after the last published one: it does not exist yet.
    const auto t0 = Clock::now();
    auto blocked = http_request(rig.server.http_port, "GET",
                                rig.path("stream.m3u8?_HLS_msn=" + std::to_string(pos.next_msn) +
                                         "&_HLS_part=" + std::to_string(pos.parts)));
    const double waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ASSERT_EQ(blocked.status, 200) << blocked.body;
    auto after = position_of(blocked.body);
    EXPECT_TRUE(after.next_msn > pos.next_msn || after.parts > pos.parts) << blocked.body;
    // The part takes at most about one part target to be produced (plus one frame); the answer must follow it
    // closely (< 300 ms), not at a polling interval.
    EXPECT_LT(waited_ms, pos.part_target * 1000 * 1.5 + 300) << "waited " << waited_ms << " ms";
    waits_ms.push_back(waited_ms);
  }
  double sum = 0;
  for (double w : waits_ms) sum += w;
  std::cout << "[ hls ] blocking reload waits (ms), mean " << sum / waits_ms.size() << ":";
  for (double w : waits_ms) std::cout << " " << static_cast<int>(w);
  std::cout << "\n";

  auto now = position_of(http_request(rig.server.http_port, "GET", rig.path("stream.m3u8")).body);
  auto far = http_request(rig.server.http_port, "GET",
                          rig.path("stream.m3u8?_HLS_msn=" + std::to_string(now.next_msn + 5)));
  EXPECT_EQ(far.status, 400) << far.body;
  auto far_part = http_request(rig.server.http_port, "GET",
                               rig.path("stream.m3u8?_HLS_msn=" + std::to_string(now.next_msn) + "&_HLS_part=" +
                                        std::to_string(now.parts + 40)));
  EXPECT_EQ(far_part.status, 400) << far_part.body;
  EXPECT_EQ(http_request(rig.server.http_port, "GET", rig.path("stream.m3u8?_HLS_part=1")).status, 400);
  EXPECT_EQ(http_request(rig.server.http_port, "GET", rig.path("stream.m3u8?_HLS_msn=abc")).status, 400);

  // The preload hint names the next part; requesting it blocks until it exists.
  auto pl = http_request(rig.server.http_port, "GET", rig.path("stream.m3u8"));
  auto hint = hls::test::check_media_playlist(pl.body).preload_hint_uri;
  ASSERT_FALSE(hint.empty()) << pl.body;
  const auto t0 = Clock::now();
  auto part = http_request(rig.server.http_port, "GET", rig.path(hint));
  const double waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  EXPECT_EQ(part.status, 200) << hint;
  EXPECT_EQ(part.headers["content-type"], "video/mp4");
  EXPECT_LT(waited_ms, 1000);

  auto metrics = http_request(rig.server.http_port, "GET", "/metrics").body;
  std::smatch m_sum, m_count;
  if (std::regex_search(metrics, m_sum, std::regex("streamgate_hls_part_latency_seconds_sum ([0-9.]+)")) &&
      std::regex_search(metrics, m_count, std::regex("streamgate_hls_part_latency_seconds_count ([0-9]+)"))) {
    double n = std::stod(m_count[1]);
    if (n > 0)
      std::cout << "[ hls ] part latency (first frame arrival -> part served): mean "
                << std::stod(m_sum[1]) / n * 1000 << " ms over " << n << " parts\n";
  }
}

// ---- a real browser ----

TEST(Hls, ChromiumWithHlsJsPlaysTheStream) {
  REQUIRE_PEERS();
  const std::string dir = SG_SOURCE_DIR;
  if (!have_program("node") || !std::filesystem::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "node or chromium not installed";
  if (!std::filesystem::exists(dir + "/tests/e2e/node_modules/playwright-core"))
    GTEST_SKIP() << "playwright-core not installed (scripts/setup.sh)";
  if (!std::filesystem::exists(dir + "/web/node_modules/hls.js/dist/hls.min.js"))
    GTEST_SKIP() << "hls.js not installed (scripts/setup.sh)";
  HlsRig rig("lowLatency");
  ASSERT_TRUE(rig.ready) << rig.logs();
  auto page = http_request(rig.server.http_port, "GET", rig.path("hls"));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("/assets/hls.min.js"), std::string::npos);
  auto js = http_request(rig.server.http_port, "GET", "/assets/hls.min.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_GT(js.body.size(), 100000u);

  auto r = run({"node", dir + "/tests/e2e/hls_play.mjs", rig.url("hls")}, 60s, "hls_play");
  ASSERT_EQ(r.exit_code, 0) << r.output << rig.logs();
  auto line = r.output.substr(r.output.rfind('{'));
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  ASSERT_FALSE(ec) << r.output;
  EXPECT_TRUE(v.at("playing").as_bool()) << r.output;
  EXPECT_GT(v.at("currentTimeAdvance").to_number<double>(), 1.0) << r.output;
  EXPECT_GT(v.at("framesAdvance").to_number<double>(), 30.0) << r.output;
  std::cout << "[ hls ] chromium: " << line << "\n";
}

}  // namespace
}  // namespace sg::test
