// HLS interop end to end with real encoders and readers: ffmpeg publishes what encoders produce by default
// (libx264 with B-frames; libx265 with AAC or Opus) over RTSP, and ffprobe / ffmpeg read the server's HLS back.
//  - B-frames: in every variant, DTS strictly increase, DTS <= PTS, and ffmpeg prints no timestamp warning.
//  - H.265 with the mpegts variant: served as fMP4 (EXT-X-MAP, .m4s), video and audio both present, B-frames
//    timed as above.
//  - AAC published as MP4A-LATM by GStreamer's rtspclientsink: the audio is in the HLS stream (mpegts and fMP4)
//    and decodes.
// Each test starts its own server and publisher; every process is killed when the test ends.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "../support/process.hpp"
#include "gst_publisher.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;

enum class Source { H264BFramesAac, H265Aac, H265Opus, GstH264Latm };

std::vector<std::string> publisher_argv(Source source, const std::string& url) {
  if (source == Source::GstH264Latm) return gst_publisher_argv("aac", url);
  std::vector<std::string> a = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                                "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"};
  if (source == Source::H264BFramesAac) {
    // ultrafast alone turns B-frames off; libx264's defaults (and the README's exec: example) have them.
    for (auto s : {"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "keyint=25:bframes=2:b-pyramid=normal",
                   "-b:v", "500k"})
      a.push_back(s);
  } else {
    for (auto s : {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:log-level=error", "-b:v",
                   "500k"})
      a.push_back(s);
  }
  for (auto s : {"-c:a", source == Source::H265Opus ? "libopus" : "aac", "-b:a", "64k", "-f", "rtsp",
                 "-rtsp_transport", "tcp"})
    a.push_back(s);
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

// Lines in which ffmpeg / ffprobe complain about timestamps ("Invalid timestamps", "DTS discontinuity",
// "non monotonically increasing dts", "Non-monotonous DTS", "pts < dts" ...).
std::vector<std::string> timestamp_warnings(const std::string& output) {
  static const std::regex bad("timestamp|\\bdts\\b|\\bpts\\b|discontinuity|monoton", std::regex::icase);
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, bad)) out.push_back(line);
  return out;
}

class InteropRig {
 public:
  InteropRig(const std::string& variant, Source source)
      : server("hls:\n  variant: " + variant + "\n  segment_duration: 1s\n") {
    if (!server.ready) return;
    publisher.start(publisher_argv(source, server.rtsp_url("live")),
                    ::testing::TempDir() + "sg_hls_interop_pub_" + std::to_string(server.http_port) + ".log");
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

// Reads about 4 s of the live stream's video packets (decoding order, as ffmpeg's HLS demuxer sees them) and checks
// DTS strictly increase, DTS <= PTS, and that most frames really are reordered (the publisher's B-frames arrived).
void expect_b_frames_well_timed(const InteropRig& rig) {
  auto probe = run({"ffprobe", "-v", "warning", "-select_streams", "v:0", "-read_intervals", "%+4", "-show_entries",
                    "packet=pts,dts", "-of", "csv=p=0", rig.url("index.m3u8")},
                   30s, "hls_bframes_probe");
  ASSERT_EQ(probe.exit_code, 0) << probe.output << rig.logs();
  std::vector<std::pair<int64_t, int64_t>> packets;  // pts, dts
  std::istringstream in(probe.output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex("(-?[0-9]+),(-?[0-9]+),?")))
      packets.emplace_back(std::stoll(m[1]), std::stoll(m[2]));
  }
  ASSERT_GE(packets.size(), 50u) << probe.output;
  size_t reordered = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    const auto [pts, dts] = packets[i];
    EXPECT_LE(dts, pts) << "packet " << i;
    if (i > 0) {
      EXPECT_GT(dts, packets[i - 1].second) << "packet " << i;
    }
    if (pts > dts) ++reordered;
  }
  EXPECT_GT(reordered, packets.size() / 3) << "the publisher's B-frames did not reach HLS";
  EXPECT_TRUE(timestamp_warnings(probe.output).empty()) << probe.output;
}

class HlsBFrames : public ::testing::TestWithParam<std::string> {};

TEST_P(HlsBFrames, DtsStrictlyIncreaseAndNeverExceedPtsAndFfmpegReadsWithoutTimestampWarnings) {
  REQUIRE_PEERS();
  InteropRig rig(GetParam(), Source::H264BFramesAac);
  ASSERT_TRUE(rig.ready) << rig.logs();

  expect_b_frames_well_timed(rig);

  // Decoding: no timestamp warnings either.
  auto read = run({"ffmpeg", "-nostdin", "-hide_banner", "-v", "warning", "-i", rig.url("index.m3u8"), "-t", "4",
                   "-f", "null", "-"},
                  30s, "hls_bframes_read");
  EXPECT_EQ(read.exit_code, 0) << read.output << rig.logs();
  EXPECT_TRUE(timestamp_warnings(read.output).empty()) << read.output;
}

INSTANTIATE_TEST_SUITE_P(Variants, HlsBFrames, ::testing::Values("mpegts", "fmp4", "lowLatency"),
                         [](const auto& info) { return info.param; });

struct H265Case {
  Source source;
  std::string audio_codec;  // as ffprobe names it
  std::string audio_codecs_attribute;
};

class HlsH265MpegTs : public ::testing::TestWithParam<H265Case> {};

TEST_P(HlsH265MpegTs, IsServedAsFmp4WithVideoAndAudio) {
  REQUIRE_PEERS();
  const auto& p = GetParam();
  InteropRig rig("mpegts", p.source);
  ASSERT_TRUE(rig.ready) << rig.logs();

  // libx265 is slow to start on a busy machine: the first segment may take longer than the cold-start wait (503).
  HttpReply mv;
  wait_until([&] { return (mv = http_request(rig.server.http_port, "GET", rig.path("index.m3u8"))).status != 503; },
             15s);
  ASSERT_EQ(mv.status, 200) << mv.body << rig.logs();
  EXPECT_NE(mv.body.find("hvc1."), std::string::npos) << mv.body;
  EXPECT_NE(mv.body.find(p.audio_codecs_attribute), std::string::npos) << mv.body;
  auto media = http_request(rig.server.http_port, "GET", rig.path("stream.m3u8"));
  ASSERT_EQ(media.status, 200) << media.body;
  EXPECT_NE(media.body.find("#EXT-X-MAP:URI=\"init.mp4\""), std::string::npos) << media.body;
  EXPECT_NE(media.body.find(".m4s"), std::string::npos) << media.body;
  EXPECT_EQ(media.body.find(".ts"), std::string::npos) << media.body;
  auto init = http_request(rig.server.http_port, "GET", rig.path("init.mp4"));
  EXPECT_EQ(init.status, 200);
  EXPECT_EQ(init.headers["content-type"], "video/mp4");

  auto probe = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact",
                    rig.url("index.m3u8")},
                   30s, "hls_h265_probe");
  ASSERT_EQ(probe.exit_code, 0) << probe.output << rig.logs();
  EXPECT_NE(probe.output.find("codec_name=hevc|width=320|height=180"), std::string::npos) << probe.output;
  EXPECT_NE(probe.output.find("codec_name=" + p.audio_codec), std::string::npos) << probe.output;
  expect_b_frames_well_timed(rig);  // libx265's ultrafast preset has B-frames too
  // The choice is stated once, at info level, not a warning per request.
  EXPECT_NE(rig.server.log().find("serving fMP4 segments"), std::string::npos) << rig.logs();
}

INSTANTIATE_TEST_SUITE_P(Audio, HlsH265MpegTs,
                         ::testing::Values(H265Case{Source::H265Aac, "aac", "mp4a.40.2"},
                                           H265Case{Source::H265Opus, "opus", "opus"}),
                         [](const auto& info) { return info.param.audio_codec; });

class HlsLatm : public ::testing::TestWithParam<std::string> {};

TEST_P(HlsLatm, GStreamerRtspClientSinkAacIsInTheHlsStreamAndDecodes) {
  REQUIRE_PEERS();
  if (!have_rtspclientsink()) GTEST_SKIP() << "GStreamer rtspclientsink / x264enc / avenc_aac missing";
  InteropRig rig(GetParam(), Source::GstH264Latm);
  ASSERT_TRUE(rig.ready) << rig.logs();
  HttpReply mv;
  wait_until([&] { return (mv = http_request(rig.server.http_port, "GET", rig.path("index.m3u8"))).status != 503; },
             15s);
  ASSERT_EQ(mv.status, 200) << mv.body << rig.logs();
  EXPECT_NE(mv.body.find("mp4a.40.2"), std::string::npos) << mv.body;

  auto probe = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels", "-of",
                    "compact", rig.url("index.m3u8")},
                   30s, "hls_latm_probe");
  ASSERT_EQ(probe.exit_code, 0) << probe.output << rig.logs();
  EXPECT_NE(probe.output.find("codec_name=h264"), std::string::npos) << probe.output;
  EXPECT_NE(probe.output.find("codec_name=aac"), std::string::npos) << probe.output;
  EXPECT_NE(probe.output.find("sample_rate=44100"), std::string::npos) << probe.output;

  // 3 s of the audio decode without a complaint.
  const std::string wav = ::testing::TempDir() + "sg_hls_latm_" + std::to_string(rig.server.http_port) + ".wav";
  auto decode = run({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", rig.url("index.m3u8"), "-t", "3",
                     "-map", "0:a:0", "-ac", "1", "-c:a", "pcm_s16le", "-y", wav},
                    30s, "hls_latm_decode");
  EXPECT_EQ(decode.exit_code, 0) << decode.output << rig.logs();
  EXPECT_EQ(decode.output.find("rror"), std::string::npos) << decode.output;
  std::ifstream f(wav, std::ios::binary | std::ios::ate);
  const auto bytes = f ? static_cast<int64_t>(f.tellg()) : 0;
  EXPECT_GE(bytes, 44100 * 2 * 2) << "decoded audio: at least 2 of the 3 s at 44.1 kHz";
  std::remove(wav.c_str());
}

INSTANTIATE_TEST_SUITE_P(Variants, HlsLatm, ::testing::Values("mpegts", "fmp4"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sg::test
