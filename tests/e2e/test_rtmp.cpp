// RTMP with real clients. ffmpeg publishes H.264 + AAC over RTMP (rtmp://host/live/cam and rtmp://host/cam);
// ffprobe reads it over RTSP and HLS, ffmpeg reads it back over RTMP and decodes it, Chromium plays it over WHEP;
// the API names the publisher's protocol. Enhanced RTMP H.265 (which Debian's ffmpeg 5.1 cannot send) is published
// by a raw client with tags built per the spec from libx265 output, and read over RTSP. Publishing needs
// the credentials the authorizer asks for. Garbage on the RTMP port leaves the server up with flat memory.
#include <dirent.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <random>

#include "../support/ffmpeg_source.hpp"
#include "../support/proc.hpp"
#include "../support/process.hpp"
#include "browser.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "rtmp/flv.hpp"
#include "rtmp_client.hpp"

namespace sg::test {
namespace {



std::string log_file(const std::string& tag) {
  return ::testing::TempDir() + "sg_rtmp_" + tag + "_" + std::to_string(::getpid()) + ".log";
}

std::string tail(const std::string& s, size_t n = 6000) { return s.size() > n ? s.substr(s.size() - n) : s; }

// The streamgate binary with RTMP on a free port.
struct RtmpServer {
  explicit RtmpServer(const std::string& yaml = "")
      : rtmp_port(free_port()), server(yaml, {"--rtmp", "127.0.0.1:" + std::to_string(rtmp_port)}) {}
  std::string url(const std::string& path) const {
    return "rtmp://127.0.0.1:" + std::to_string(rtmp_port) + "/" + path;
  }
  boost::json::object stream(const std::string& id) const {
    auto r = http_request(server.http_port, "GET", "/api/v1/streams/" + id);
    if (r.status != 200) return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{};
  }
  bool ready(const std::string& id, const std::string& video = "H264", const std::string& audio = "AAC") const {
    auto s = stream(id);
    auto* state = s.if_contains("state");
    if (!state || *state != "ready") return false;
    std::string body = boost::json::serialize(s);
    return body.find("\"" + video + "\"") != std::string::npos &&
           (audio.empty() || body.find("\"" + audio + "\"") != std::string::npos);
  }
  int64_t rss() const {
    auto r = http_request(server.http_port, "GET", "/metrics");
    const std::string key = "\nstreamgate_process_resident_memory_bytes ";
    auto at = r.body.find(key);
    return at == std::string::npos ? 0 : std::stoll(r.body.substr(at + key.size()));
  }
  uint64_t metric(const std::string& name) const {
    auto r = http_request(server.http_port, "GET", "/metrics");
    auto at = r.body.find("\n" + name + " ");
    return at == std::string::npos ? 0 : std::stoull(r.body.substr(at + name.size() + 2));
  }

  uint16_t rtmp_port;
  Server server;
};

std::vector<std::string> ffmpeg_publisher(const std::string& url) {
  return then(ffmpeg_source({.video_bitrate = "400k", .audio = true, .zerolatency = false}), {"-f", "flv", url});
}

// Lossless H.264 only (~5 Mb/s at 640x480): enough to fill a stalled player's socket within seconds.
std::vector<std::string> ffmpeg_lossless_publisher(const std::string& url) {
  return then(ffmpeg_source({.size = "640x480", .zerolatency = false}), {"-qp", "0", "-f", "flv", url});
}

// ffmpeg reads `url` for `seconds` and decodes it: the video frames and audio samples it got (from -progress).
struct Decoded {
  int exit_code = -1;
  int frames = 0;
  bool audio = false;
  std::string output;
};
Decoded decode(const std::string& url, int seconds, const std::string& tag) {
  std::string progress = log_file(tag + "_progress");
  std::remove(progress.c_str());
  auto r = run({"ffmpeg", "-nostdin", "-hide_banner", "-i", url, "-t", std::to_string(seconds), "-progress",
                progress, "-f", "null", "-"},
               std::chrono::seconds(seconds + 30), tag);
  Decoded d;
  d.exit_code = r.exit_code;
  d.output = r.output;
  std::ifstream f(progress);
  for (std::string line; std::getline(f, line);)
    if (line.rfind("frame=", 0) == 0) d.frames = std::max(d.frames, std::atoi(line.c_str() + 6));
  // ffmpeg lists the decoded output streams: "Stream #0:1: Audio: pcm_s16le ..." comes from a decoded AAC input.
  d.audio = r.output.find("Audio: aac") != std::string::npos && r.output.find("Audio: pcm_s16le") != std::string::npos;
  return d;
}

class RtmpE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg") || !have_program("ffprobe")) return;
    rig_ = std::make_unique<RtmpServer>();
    if (!rig_->server.ready) return;
    publisher_ = std::make_unique<Child>(ffmpeg_publisher(rig_->url("live/cam")), log_file("publisher"));
    wait_until([] { return rig_->ready("cam") || !publisher_->running(); }, 30s);
  }
  static void TearDownTestSuite() {
    publisher_.reset();
    rig_.reset();
  }
  void SetUp() override {
    if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
    ASSERT_TRUE(rig_ && rig_->server.ready) << (rig_ ? rig_->server.log() : "");
    ASSERT_TRUE(rig_->ready("cam")) << "publisher:\n" << publisher_->log() << "\nserver:\n" << tail(rig_->server.log());
  }
  std::string logs() const { return "\npublisher:\n" + publisher_->log() + "\nserver:\n" + tail(rig_->server.log()); }

  static std::unique_ptr<RtmpServer> rig_;
  static std::unique_ptr<Child> publisher_;
};
std::unique_ptr<RtmpServer> RtmpE2e::rig_;
std::unique_ptr<Child> RtmpE2e::publisher_;

TEST_F(RtmpE2e, ApiShowsTheRtmpPublisherAndItsTracks) {
  auto s = rig_->stream("cam");
  ASSERT_TRUE(s.contains("publisher")) << boost::json::serialize(s);
  auto& p = s.at("publisher");
  ASSERT_TRUE(p.is_object()) << boost::json::serialize(s);
  EXPECT_EQ(p.as_object().at("protocol"), "rtmp");
  EXPECT_TRUE(p.as_object().at("remote").as_string().starts_with("127.0.0.1:"));
  std::string body = boost::json::serialize(s);
  EXPECT_NE(body.find("\"width\":320"), std::string::npos) << body;
  EXPECT_GT(rig_->metric("streamgate_rtmp_publishes_total"), 0u);
}

TEST_F(RtmpE2e, FfprobeReadsVideoAndAudioOverRtsp) {
  auto r = run({"ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height",
                "-of", "compact", rig_->server.rtsp_url("cam")},
               30s, "rtmp_ffprobe_rtsp");
  EXPECT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_NE(r.output.find("codec_name=h264|width=320|height=240"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("codec_name=aac"), std::string::npos) << r.output;
  auto d = decode(rig_->server.rtsp_url("cam"), 3, "rtmp_decode_rtsp");
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_GE(d.frames, 3 * 25 * 6 / 10) << d.output;
  EXPECT_TRUE(d.audio) << d.output;
}

TEST_F(RtmpE2e, FfprobeReadsVideoAndAudioOverHls) {
  HttpReply mv;
  wait_until([&] { return (mv = http_request(rig_->server.http_port, "GET", "/cam/index.m3u8")).status == 200; }, 20s);
  ASSERT_EQ(mv.status, 200) << mv.body << logs();
  auto r = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact",
                rig_->server.http_url("cam/index.m3u8")},
               30s, "rtmp_ffprobe_hls");
  EXPECT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_NE(r.output.find("codec_name=h264|width=320|height=240"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("codec_name=aac"), std::string::npos) << r.output;
}

TEST_F(RtmpE2e, FfmpegReadsItBackOverRtmpAndDecodesIt) {
  auto d = decode(rig_->url("live/cam"), 4, "rtmp_decode_rtmp");
  EXPECT_EQ(d.exit_code, 0) << d.output << logs();
  EXPECT_GE(d.frames, 4 * 25 * 6 / 10) << d.output;
  EXPECT_TRUE(d.audio) << d.output;
  EXPECT_NE(d.output.find("Video: h264"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("320x240"), std::string::npos) << d.output;
  EXPECT_GT(rig_->metric("streamgate_rtmp_plays_total"), 0u);
}

TEST_F(RtmpE2e, ShortUrlFormIsTheSameStream) {
  // rtmp://host/cam reads the stream published as rtmp://host/live/cam; and publishing to rtmp://host/short
  // creates the stream "short".
  auto r = run({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "compact", rig_->url("cam")},
               30s, "rtmp_ffprobe_short");
  EXPECT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_NE(r.output.find("codec_name=h264"), std::string::npos) << r.output;
  Child second(ffmpeg_publisher(rig_->url("short")), log_file("short_publisher"));
  EXPECT_TRUE(wait_until([&] { return rig_->ready("short") || !second.running(); }, 30s))
      << second.log() << logs();
}

TEST_F(RtmpE2e, ASecondPublisherToABusyStreamIsRefused) {
  auto r = run({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                "testsrc2=size=160x120:rate=10", "-t", "3", "-c:v", "libx264", "-f", "flv", rig_->url("live/cam")},
               30s, "rtmp_second_publisher");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(rig_->ready("cam"));
  EXPECT_TRUE(publisher_->running());
}

TEST_F(RtmpE2e, ChromiumPlaysTheRtmpStreamOverWhep) {
  if (!have_browser()) GTEST_SKIP() << "node, chromium or playwright-core missing";
  auto r = run({"node", kE2eDir + "/webrtc_play.mjs", "http://127.0.0.1:" + std::to_string(rig_->server.http_port),
                "cam", "whep", "10"},
               60s, "rtmp_webrtc_play");
  EXPECT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_NE(r.output.find("\"width\":320"), std::string::npos) << r.output;
}

TEST_F(RtmpE2e, ARtmpPullSourceOfThisServerPlaysOverRtsp) {
  // A stream whose source is rtmp://: the pull client plays the RTMP-published stream back from this server.
  auto created = http_request(rig_->server.http_port, "POST", "/api/v1/streams",
                              R"({"id":"relay","source":")" + rig_->url("live/cam") + R"("})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(wait_until([&] { return rig_->ready("relay"); }, 20s)) << boost::json::serialize(rig_->stream("relay"))
                                                                      << logs();
  auto d = decode(rig_->server.rtsp_url("relay"), 3, "rtmp_pull_self_rtsp");
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_GE(d.frames, 3 * 25 * 6 / 10) << d.output;
  EXPECT_TRUE(d.audio) << d.output;
  EXPECT_EQ(http_request(rig_->server.http_port, "DELETE", "/api/v1/streams/relay").status, 204);
}

// A player that stops reading fills its socket. The fan-out writes a player's unit straight to its socket when
// nothing of the player's is pending; what the socket did not take must go out later, in order, ahead of anything
// else. So: another player goes on meanwhile at full rate, and the stalled one, reading again, parses whole
// messages (every chunk header where it belongs, every video message an H.264 FLV tag). The stream is lossless
// H.264 (~5 Mb/s) so that 6 s fill the server's send buffer, which grows to about a megabyte on loopback.
TEST(RtmpSlowPlayer, AStalledPlayerResumesWithWholeMessagesAndDoesNotHoldUpAnother) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  RtmpServer rig;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  Child publisher(ffmpeg_lossless_publisher(rig.url("live/big")), log_file("big_publisher"));
  ASSERT_TRUE(wait_until([&] { return rig.ready("big", "H264", "") || !publisher.running(); }, 30s))
      << publisher.log() << tail(rig.server.log());
  auto logs = [&] { return "\npublisher:\n" + publisher.log() + "\nserver:\n" + tail(rig.server.log()); };
  RtmpClient stalled(rig.rtmp_port, 4096), live(rig.rtmp_port);
  ASSERT_TRUE(stalled.play("live", "big")) << logs();
  ASSERT_TRUE(live.play("live", "big")) << logs();
  // Both read until the start's burst (the GOP) is out and units go straight to the sockets.
  ASSERT_TRUE(stalled.pump(2s)) << logs();
  ASSERT_TRUE(live.pump(100ms)) << logs();
  // Then 6 s of ~600 kB/s against a 4 kB window: the stalled player's socket fills.
  const size_t live_before = live.video();
  ASSERT_TRUE(live.pump(6s)) << logs();
  EXPECT_GE(live.video() - live_before, 6u * 25 * 8 / 10) << logs();
  EXPECT_EQ(live.bad_video(), 0u);
  ASSERT_TRUE(stalled.pump(4s)) << (stalled.broken() ? "a chunk did not parse" : "connection ended") << logs();
  EXPECT_GE(stalled.video(), 4u * 25) << logs();
  EXPECT_EQ(stalled.bad_video(), 0u);
  // And it is live again: more arrives after what had queued.
  const size_t got = stalled.video();
  ASSERT_TRUE(stalled.pump(2s)) << logs();
  EXPECT_GE(stalled.video() - got, 2u * 25 * 6 / 10);
  EXPECT_TRUE(publisher.running());
}

// An ffmpeg RTMP origin (`-listen 1`: ffmpeg serves one player) pulled by a configured `source: rtmp://...`
// stream; ffprobe reads it over RTSP; when the origin goes away the stream turns to error with the reason and
// reconnects to a new origin on the same URL.
TEST(RtmpPull, AnFfmpegOriginIsPulledReadOverRtspAndReconnectedAfterItGoesAway) {
  if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const uint16_t origin_port = free_port();
  const std::string origin_url = "rtmp://127.0.0.1:" + std::to_string(origin_port) + "/live/cam";
  auto origin_argv = [&] {
    auto a = ffmpeg_publisher(origin_url);
    a.insert(a.end() - 1, {"-listen", "1"});
    return a;
  };
  auto origin = std::make_unique<Child>(origin_argv(), log_file("origin"));
  // ffmpeg listens once its input is open; the server's first attempts may find nothing and back off (1 s).
  RtmpServer rig("streams:\n  pulled:\n    source: " + origin_url + "\n");
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  ASSERT_TRUE(wait_until([&] { return rig.ready("pulled"); }, 30s))
      << boost::json::serialize(rig.stream("pulled")) << origin->log() << tail(rig.server.log());
  auto r = run({"ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height",
                "-of", "compact", rig.server.rtsp_url("pulled")},
               30s, "rtmp_pull_ffprobe");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("codec_name=h264|width=320|height=240"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("codec_name=aac"), std::string::npos) << r.output;

  origin.reset();  // SIGTERM: the origin is gone
  EXPECT_TRUE(wait_until(
      [&] {
        auto s = rig.stream("pulled");
        return s.contains("state") && s.at("state") == "error";
      },
      20s))
      << boost::json::serialize(rig.stream("pulled"));
  auto s = rig.stream("pulled");
  ASSERT_TRUE(s.contains("last_error"));
  EXPECT_TRUE(s.at("last_error").is_string()) << boost::json::serialize(s);
  origin = std::make_unique<Child>(origin_argv(), log_file("origin2"));
  EXPECT_TRUE(wait_until([&] { return rig.ready("pulled"); }, 40s))
      << boost::json::serialize(rig.stream("pulled")) << origin->log() << tail(rig.server.log());
}

TEST(RtmpPull, BadRtmpSourcesAreRefusedWithTheReason) {
  RtmpServer rig;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  auto bad = http_request(rig.server.http_port, "POST", "/api/v1/streams", R"({"id":"x","source":"rtmp://host"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("app and a stream"), std::string::npos) << bad.body;
  // Nothing listens on the origin's port: the stream shows why.
  const uint16_t closed = free_port();
  auto created = http_request(rig.server.http_port, "POST", "/api/v1/streams",
                              R"({"id":"gone","source":"rtmp://127.0.0.1:)" + std::to_string(closed) + R"(/live/x"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(wait_until(
      [&] {
        auto s = rig.stream("gone");
        return s.contains("last_error") && s.at("last_error").is_string() &&
               s.at("last_error").as_string().find("cannot connect") != std::string::npos;
      },
      10s))
      << boost::json::serialize(rig.stream("gone"));
}

// ---- Enhanced RTMP H.265

// libx265 access units (one slice per picture, no B-frames): NAL units grouped so each VCL NAL unit ends one.
std::vector<std::vector<ByteVector>> x265_access_units(int frames, std::string& error) {
  std::string file = ::testing::TempDir() + "sg_rtmp_x265_" + std::to_string(::getpid()) + ".hevc";
  auto r = run({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                "testsrc2=size=320x240:rate=25", "-frames:v", std::to_string(frames), "-c:v", "libx265", "-preset",
                "ultrafast", "-x265-params", "bframes=0:keyint=25:log-level=error", "-f", "hevc", file},
               60s, "rtmp_x265");
  if (r.exit_code != 0) {
    error = r.output;
    return {};
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::vector<ByteVector>> units(1);
  for (Bytes nal : codec::h264::split_annexb(as_bytes(bytes))) {
    units.back().push_back(to_vector(nal));
    if (codec::h265::is_vcl(codec::h265::nal_type(nal))) units.emplace_back();
  }
  units.pop_back();
  return units;
}

TEST(RtmpEnhanced, H265PublishedWithEnhancedRtmpIsReadOverRtsp) {
  if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  std::string error;
  auto units = x265_access_units(250, error);
  if (units.empty() && error.find("Unknown encoder") != std::string::npos) GTEST_SKIP() << "no libx265";
  ASSERT_GT(units.size(), 100u) << error;
  RtmpServer rig;
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  RtmpClient client(rig.rtmp_port);
  ASSERT_TRUE(client.ok());
  auto status = client.publish("live", "hevc");
  ASSERT_EQ(status, "NetStream.Publish.Start") << tail(rig.server.log());

  // The sequence start (Enhanced RTMP: IsExHeader | keyframe | SequenceStart, 'hvc1', HEVCDecoderConfigurationRecord)
  // from the first access unit's parameter sets.
  std::vector<Bytes> vps, sps, pps;
  for (const auto& nal : units[0]) {
    auto t = codec::h265::nal_type(nal);
    if (t == 32) vps.emplace_back(nal);
    if (t == 33) sps.emplace_back(nal);
    if (t == 34) pps.emplace_back(nal);
  }
  auto hvcc = codec::h265::build_hvcc(vps, sps, pps);
  ASSERT_TRUE(hvcc.ok()) << hvcc.error();
  ByteVector start = from_hex("90 68766331");
  append(start, *hvcc);
  ASSERT_TRUE(client.message(6, 9, 1, 0, start));

  // Coded frames, paced at 25 fps in the background; CodedFrames (with composition time 0) and CodedFramesX
  // alternate, keyframes flagged.
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < units.size() && !stop; ++i) {
      bool key = false;
      ByteVector body;
      for (const auto& nal : units[i]) key |= codec::h265::is_irap(codec::h265::nal_type(nal));
      const bool x = i % 2 == 1;
      append8(body, static_cast<uint8_t>(0x80 | (key ? 1 : 2) << 4 | (x ? 3 : 1)));
      append(body, as_bytes("hvc1"));
      if (!x) append24(body, 0);
      for (const auto& nal : units[i]) {
        append32(body, static_cast<uint32_t>(nal.size()));
        append(body, nal);
      }
      if (!client.message(6, 9, 1, static_cast<uint32_t>(i * 40), body)) break;
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(40 * (i + 1)));
    }
  });
  struct Join {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{sender, stop};

  ASSERT_TRUE(wait_until([&] { return rig.ready("hevc", "H265", ""); }, 20s)) << tail(rig.server.log());
  auto probe = run({"ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                    "stream=codec_name,width,height", "-of", "compact", rig.server.rtsp_url("hevc")},
                   30s, "rtmp_hevc_probe");
  EXPECT_EQ(probe.exit_code, 0) << probe.output << tail(rig.server.log());
  EXPECT_NE(probe.output.find("codec_name=hevc|width=320|height=240"), std::string::npos) << probe.output;
  auto d = decode(rig.server.rtsp_url("hevc"), 2, "rtmp_hevc_decode");
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_GE(d.frames, 2 * 25 * 6 / 10) << d.output;
}

// ---- authorization

TEST(RtmpAuth, PublishNeedsTheCredentialsTheAuthorizerAsksFor) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  RtmpServer rig(
      "auth:\n"
      "  internal_users:\n"
      "    - user: any\n"
      "      permissions: [read, playback]\n"
      "    - user: any\n"
      "      ips: [127.0.0.0/8]\n"
      "      permissions: [api, metrics]\n"
      "    - user: pub\n"
      "      pass: secret\n"
      "      permissions: [publish]\n");
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  {
    RtmpClient anonymous(rig.rtmp_port);
    EXPECT_EQ(anonymous.publish("live", "cam"), "NetStream.Publish.Unauthorized");
    EXPECT_TRUE(anonymous.closed_by_server(5s));
  }
  {
    RtmpClient wrong(rig.rtmp_port);
    EXPECT_EQ(wrong.publish("live", "cam?user=pub&pass=nope"), "NetStream.Publish.Unauthorized");
  }
  Child publisher(ffmpeg_publisher(rig.url("live/cam?user=pub&pass=secret")), log_file("auth_publisher"));
  EXPECT_TRUE(wait_until([&] { return rig.ready("cam") || !publisher.running(); }, 30s))
      << publisher.log() << tail(rig.server.log());
  // The password never reaches the logs.
  EXPECT_EQ(rig.server.log().find("secret"), std::string::npos);
}

// ---- garbage

TEST(RtmpGarbage, FloodOfBadInputLeavesTheServerUpWithFlatMemory) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  RtmpServer rig("server:\n  request_timeout: 2s\n");
  ASSERT_TRUE(rig.server.ready) << rig.server.log();
  Child publisher(ffmpeg_publisher(rig.url("live/victim")), log_file("garbage_publisher"));
  ASSERT_TRUE(wait_until([&] { return rig.ready("victim") || !publisher.running(); }, 30s))
      << publisher.log() << tail(rig.server.log());
  std::this_thread::sleep_for(1s);
  const int64_t rss0 = rig.rss();
  const size_t fds0 = open_fds(rig.server.child.pid());
  std::mt19937 rng(1234);
  auto random_bytes = [&](size_t n) {
    ByteVector b(n);
    for (auto& x : b) x = std::byte(rng() & 0xff);
    return b;
  };
  for (int round = 0; round < 3; ++round) {
    // Random bytes before the handshake.
    for (int i = 0; i < 100; ++i) {
      RtmpClient c(rig.rtmp_port);
      ASSERT_TRUE(c.ok());
      c.send(random_bytes(1 + rng() % 8000));
    }
    // A valid handshake, then random chunks.
    for (int i = 0; i < 50; ++i) {
      RtmpClient c(rig.rtmp_port);
      ASSERT_TRUE(c.handshake());
      c.send(random_bytes(1 + rng() % 20000));
    }
    // Messages announcing 8 MiB each on many chunk streams, a huge chunk size, a command that is not AMF0.
    for (int i = 0; i < 20; ++i) {
      RtmpClient c(rig.rtmp_port);
      ASSERT_TRUE(c.handshake());
      c.set_chunk_size(1 << 20);
      for (uint32_t cs = 3; cs < 60; ++cs) {
        ByteVector head = from_hex("00 000000 7fffff 09 01000000");
        head[0] = std::byte(cs);
        append(head, random_bytes(4096));
        if (!c.send(head)) break;
      }
      RtmpClient d(rig.rtmp_port);
      ASSERT_TRUE(d.handshake());
      d.message(3, 20, 0, 0, random_bytes(300));
      EXPECT_TRUE(d.closed_by_server(5s));
    }
  }
  // A connection that never finishes its handshake is closed by the setup timeout.
  RtmpClient idle(rig.rtmp_port);
  idle.send(from_hex("03"));
  EXPECT_TRUE(idle.closed_by_server(10s));

  ASSERT_TRUE(rig.server.child.running()) << tail(rig.server.log());
  EXPECT_EQ(http_request(rig.server.http_port, "GET", "/healthz").status, 200);
  EXPECT_TRUE(rig.ready("victim")) << tail(rig.server.log());
  EXPECT_TRUE(publisher.running()) << publisher.log();
  EXPECT_GT(rig.metric("streamgate_rtmp_bad_connections_total"), 100u);
  const int64_t grown = rig.rss() - rss0;
  EXPECT_LT(grown, 48ll << 20) << "RSS grew by " << (grown >> 20) << " MB";
  size_t fds = 0;
  EXPECT_TRUE(wait_until([&] { return (fds = open_fds(rig.server.child.pid())) <= fds0 + 16; }, 15s))
      << fds << " fds, " << fds0 << " before";
  // One log line per episode, not one per connection.
  size_t lines = 0;
  for (size_t at = 0; (at = rig.server.log().find("RTMP connection closed: bad input", at)) != std::string::npos; ++at)
    ++lines;
  EXPECT_LT(lines, 30u);
  // A good publisher still gets in.
  Child again(ffmpeg_publisher(rig.url("live/after")), log_file("garbage_after"));
  EXPECT_TRUE(wait_until([&] { return rig.ready("after") || !again.running(); }, 30s)) << again.log();
}

}  // namespace
}  // namespace sg::test
