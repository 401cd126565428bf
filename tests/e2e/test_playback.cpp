// Playback of recorded segments end to end: ffmpeg writes fMP4 segments (10 s, a keyframe every second) named by
// the record_path pattern, as the recorder does; streamgate lists them and serves one MP4 over a span that crosses
// a segment boundary; ffprobe/ffmpeg check it, raw HTTP checks byte ranges, headless Chromium plays the page.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/process.hpp"
#include "mp4_probe.hpp"

namespace sg::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

// Segment names start at this time, 10 s apart (the pattern's %f is 000000).
constexpr const char* kBase = "2026-11-30_10-00-";
constexpr const char* kBaseRfc = "2026-11-30T10:00:";

struct Codecs {
  std::string name;
  std::vector<std::string> args;  // encoder options
  std::string video, audio;       // ffprobe codec names
};

void PrintTo(const Codecs& c, std::ostream* os) { *os << c.name; }

Codecs h264_aac() {
  return {"H264_AAC",
          {"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-c:a", "aac", "-b:a", "64k"},
          "h264",
          "aac"};
}
Codecs h265_opus() {
  return {"H265_Opus",
          {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:min-keyint=25:log-level=error", "-c:a",
           "libopus", "-b:a", "64k"},
          "hevc",
          "opus"};
}

// Writes 30 s as three 10 s segments under dir/cam/ with pattern names. Empty string on success, else the error.
std::string write_segments(const std::string& dir, const Codecs& c) {
  const std::string tmp = dir + "/tmp";
  fs::create_directories(tmp);
  fs::create_directories(dir + "/cam");
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                                   "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i",
                                   "sine=frequency=440:sample_rate=48000", "-t", "30"};
  for (const auto& a : c.args) argv.push_back(a);
  for (auto a : {"-f", "segment", "-segment_time", "10", "-reset_timestamps", "1", "-segment_format", "mp4",
                 "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof"})
    argv.push_back(a);
  argv.push_back(tmp + "/seg%d.mp4");
  auto r = run(argv, 120s, "playback_ffmpeg");
  if (r.exit_code != 0) return r.output;
  for (int i = 0; i < 3; ++i) {
    const std::string from = tmp + "/seg" + std::to_string(i) + ".mp4";
    if (!fs::exists(from)) return "missing " + from;
    char name[64];
    std::snprintf(name, sizeof name, "%s%02d-000000.mp4", kBase, i * 10);
    fs::rename(from, dir + "/cam/" + name);
  }
  return {};
}

std::string base_time(int second, int micros = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%02d.%06dZ", kBaseRfc, second, micros);
  return buf;
}

std::string get_header(const std::string& target, const std::string& header) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + header + "\r\n";
}

// A server whose record_path points at a temporary folder of segments: the top-level one, or (per_stream) only the
// stream's own `streams.cam.record_path`.
class PlaybackRig {
 public:
  explicit PlaybackRig(const Codecs& codecs, bool per_stream = false)
      : dir(::testing::TempDir() + "sg_playback_" + std::to_string(::getpid()) + "_" + codecs.name),
        server(!write(dir, codecs) ? ""
               : per_stream
                   ? "streams:\n  cam:\n    source: publisher\n    record_path: " + dir + "/%stream/%Y-%m-%d_%H-%M-%S-%f\n"
                   : "record_path: " + dir + "/%stream/%Y-%m-%d_%H-%M-%S-%f\n") {}
  ~PlaybackRig() { fs::remove_all(dir); }
  bool write(const std::string& d, const Codecs& c) {
    fs::remove_all(d);
    error = write_segments(d, c);
    return error.empty();
  }
  std::string dir, error;
  Server server;
};

#define REQUIRE_PEERS()                                                                            \
  do {                                                                                             \
    if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg not installed"; \
  } while (0)

class PlaybackCodecs : public ::testing::TestWithParam<Codecs> {};

TEST_P(PlaybackCodecs, FifteenSecondsAcrossASegmentBoundaryStartOnAKeyframeWithAudioInSync) {
  REQUIRE_PEERS();
  const Codecs& c = GetParam();
  PlaybackRig rig(c);
  ASSERT_TRUE(rig.error.empty()) << rig.error;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  const uint16_t port = rig.server.http_port;

  // Listing: the stream, and one span of 30 s (three segments merged).
  auto streams = http_request(port, "GET", "/api/v1/recordings");
  ASSERT_EQ(streams.status, 200) << streams.body;
  EXPECT_EQ(json::parse(streams.body).at("items"), json::parse(R"(["cam"])"));
  auto spans = http_request(port, "GET", "/api/v1/recordings/cam");
  ASSERT_EQ(spans.status, 200) << spans.body;
  auto list = json::parse(spans.body).at("spans").as_array();
  ASSERT_EQ(list.size(), 1u) << spans.body;
  EXPECT_EQ(list[0].at("start").as_string(), base_time(0));
  EXPECT_NEAR(list[0].at("duration").to_number<double>(), 30.0, 0.1) << spans.body;

  for (const std::string format : {"mp4", "fmp4"}) {
    SCOPED_TRACE(format);
    // 7.5 s into the first segment for 15 s: crosses the 10 s boundary.
    const std::string target = "/cam/playback?start=" + base_time(7, 500000) + "&duration=15s&format=" + format;
    auto reply = http_raw(port, get_header(target, ""), 20000);
    ASSERT_EQ(reply.status, 200) << reply.raw.substr(0, 500);
    EXPECT_EQ(reply.headers["content-type"], "video/mp4");
    EXPECT_EQ(reply.headers["accept-ranges"], "bytes");
    ASSERT_EQ(reply.body.size(), std::stoul(reply.headers["content-length"]));
    const std::string file = rig.dir + "/out_" + format + ".mp4";
    std::ofstream(file, std::ios::binary) << reply.body;

    auto p = probe_mp4(file);
    EXPECT_EQ(p.codec["video"], c.video) << p.output;
    EXPECT_EQ(p.codec["audio"], c.audio) << p.output;
    // 15 s from the keyframe at or before 7.5 s: 15 s plus up to one GOP (1 s).
    EXPECT_GE(p.duration, 15.0 - 0.1) << p.output;
    EXPECT_LE(p.duration, 16.0 + 0.1) << p.output;
    EXPECT_NEAR(p.start["video"], p.start["audio"], 0.05) << p.output;

    auto frames = run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame",
                       "-read_intervals", "%+#1", "-of", "csv=p=0", file},
                      30s, "playback_frames");
    EXPECT_EQ(frames.output.substr(0, 1), "1") << frames.output;
    // The whole file decodes without errors.
    auto decode = run({"ffmpeg", "-nostdin", "-v", "error", "-i", file, "-f", "null", "-"}, 60s, "playback_decode");
    EXPECT_EQ(decode.exit_code, 0) << decode.output;
    EXPECT_EQ(decode.output.find("rror"), std::string::npos) << decode.output;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, PlaybackCodecs, ::testing::Values(h264_aac(), h265_opus()),
                         [](const auto& info) { return info.param.name; });

TEST(Playback, ByteRangesAnswer206WithContentRangeAnd416BeyondTheEnd) {
  REQUIRE_PEERS();
  PlaybackRig rig(h264_aac());
  ASSERT_TRUE(rig.error.empty()) << rig.error;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  const uint16_t port = rig.server.http_port;
  const std::string target = "/cam/playback?start=" + base_time(5) + "&duration=20s";
  auto whole = http_raw(port, get_header(target, ""), 20000);
  ASSERT_EQ(whole.status, 200);
  const size_t size = whole.body.size();
  ASSERT_GT(size, 100000u);

  auto part = http_raw(port, get_header(target, "Range: bytes=100-199\r\n"), 20000);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.headers["content-range"], "bytes 100-199/" + std::to_string(size));
  EXPECT_EQ(part.body, whole.body.substr(100, 100));
  // A range deep in the samples (inside mdat, across pieces read from two segment files).
  const size_t from = size / 2;
  auto middle = http_raw(port, get_header(target, "Range: bytes=" + std::to_string(from) + "-\r\n"), 20000);
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, whole.body.substr(from));
  auto suffix = http_raw(port, get_header(target, "Range: bytes=-1000\r\n"), 20000);
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, whole.body.substr(size - 1000));
  auto beyond = http_raw(port, get_header(target, "Range: bytes=" + std::to_string(size) + "-\r\n"), 20000);
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.headers["content-range"], "bytes */" + std::to_string(size));

  // No recording there: 404; a bad start: 400.
  EXPECT_EQ(http_request(port, "GET", "/cam/playback?start=2020-01-01T00:00:00Z").status, 404);
  EXPECT_EQ(http_request(port, "GET", "/cam/playback?start=yesterday").status, 400);
  EXPECT_EQ(http_request(port, "GET", "/other/playback?start=" + base_time(5)).status, 404);
}

TEST(Playback, AMissingSegmentShowsAsAGapInTheSpans) {
  REQUIRE_PEERS();
  PlaybackRig rig(h264_aac());
  ASSERT_TRUE(rig.error.empty()) << rig.error;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  fs::remove(rig.dir + "/cam/" + std::string(kBase) + "10-000000.mp4");
  auto spans = http_request(rig.server.http_port, "GET", "/api/v1/recordings/cam");
  ASSERT_EQ(spans.status, 200) << spans.body;
  auto list = json::parse(spans.body).at("spans").as_array();
  ASSERT_EQ(list.size(), 2u) << spans.body;
  EXPECT_EQ(list[1].at("start").as_string(), base_time(20));
  // Playback from inside the gap starts at the next segment.
  auto reply = http_raw(rig.server.http_port, get_header("/cam/playback?start=" + base_time(15) + "&duration=10s", ""),
                        20000);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["x-playback-start"].substr(0, 19), std::string(kBaseRfc) + "20");
}

TEST(Playback, ChromiumPlaysTheRecordingsPageSpan) {
  REQUIRE_PEERS();
  const std::string dir = SG_SOURCE_DIR;
  if (!have_program("node") || !fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "node or chromium not installed";
  if (!fs::exists(dir + "/tests/e2e/node_modules/playwright-core"))
    GTEST_SKIP() << "playwright-core not installed (scripts/setup.sh)";
  PlaybackRig rig(h264_aac());
  ASSERT_TRUE(rig.error.empty()) << rig.error;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  auto page = http_request(rig.server.http_port, "GET", "/cam/recordings");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find(base_time(0)), std::string::npos) << "the spans are in the page";

  // The page plays its latest span (the whole 30 s) from a progressive MP4; the player script samples
  // currentTime and decoded frames.
  auto r = run({"node", dir + "/tests/e2e/hls_play.mjs", rig.server.http_url("cam/recordings")}, 60s, "playback_play");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto line = r.output.substr(r.output.rfind('{'));
  auto v = json::parse(line);
  EXPECT_TRUE(v.at("playing").as_bool()) << r.output;
  EXPECT_GT(v.at("currentTimeAdvance").to_number<double>(), 1.0) << r.output;
  EXPECT_GT(v.at("framesAdvance").to_number<double>(), 30.0) << r.output;
  std::cout << "[ playback ] chromium: " << line << "\n";
}

TEST(Playback, AStreamsOwnRecordPathIsFoundAndPlayedBack) {
  REQUIRE_PEERS();
  PlaybackRig rig(h264_aac(), /*per_stream=*/true);
  ASSERT_TRUE(rig.error.empty()) << rig.error;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  const uint16_t port = rig.server.http_port;
  auto streams = http_request(port, "GET", "/api/v1/recordings");
  ASSERT_EQ(streams.status, 200) << streams.body;
  EXPECT_EQ(json::parse(streams.body).at("items"), json::parse(R"(["cam"])"));
  auto reply = http_raw(port, get_header("/cam/playback?start=" + base_time(5) + "&duration=10s", ""), 20000);
  ASSERT_EQ(reply.status, 200) << reply.raw.substr(0, 300);
  EXPECT_GT(reply.body.size(), 10000u);
}

}  // namespace
}  // namespace sg::test
