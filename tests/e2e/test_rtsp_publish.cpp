// RTSP publishing end to end with real ffmpeg: ffmpeg publishes (ANNOUNCE/SETUP mode=record/RECORD) H.264 + AAC
// and H.265 + Opus over TCP interleaved and over UDP; the API shows the stream ready with the right tracks; ffprobe
// and ffmpeg read it back over TCP and UDP with the right codecs and resolution and no errors. GStreamer's
// rtspclientsink publishes AAC as MP4A-LATM (RFC 6416): both tracks are carried and the audio decodes; a track the
// server cannot carry makes its ANNOUNCE fail (415 with the reason), never a stream published without it. One
// server for the whole suite; each test publishes to its own path.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "gst_publisher.hpp"
#include "media/stream_registry.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;

struct Media {
  std::string video_codec;   // ffmpeg encoder args
  std::string api_video;     // codec as the API names it
  std::string probe_video;   // codec_name ffprobe reports
  std::string api_audio;
  std::string probe_audio;
  int width = 0, height = 0;
};

const Media kH264Aac{"h264", "H264", "h264", "AAC", "aac", 640, 360};
const Media kH265Opus{"h265", "H265", "hevc", "Opus", "opus", 320, 240};
const Media kGstH264Aac{"x264enc", "H264", "h264", "AAC", "aac", 320, 240};  // videotestsrc's default size

std::vector<std::string> publisher_argv(const Media& m, const std::string& transport, const std::string& url) {
  std::string size = std::to_string(m.width) + "x" + std::to_string(m.height);
  std::vector<std::string> a = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                                "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30",
                                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"};
  if (m.api_video == "H264") {
    for (auto s : {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-b:v", "1M"})
      a.push_back(s);
  } else {
    for (auto s : {"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-x265-params",
                   "keyint=30:log-level=error", "-b:v", "1M"})
      a.push_back(s);
  }
  if (m.api_audio == "AAC") {
    for (auto s : {"-c:a", "aac", "-b:a", "64k"}) a.push_back(s);
  } else {
    for (auto s : {"-c:a", "libopus", "-b:a", "64k"}) a.push_back(s);
  }
  for (auto s : {"-f", "rtsp", "-rtsp_transport"}) a.push_back(s);
  a.push_back(transport);
  a.push_back(url);
  return a;
}

// GET /api/v1/streams/<path> as JSON (null when not 200 or not JSON).
json::value stream_info(const Server& s, const std::string& path) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/" + path);
  if (r.status != 200) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return ec ? json::value(nullptr) : v;
}

bool stream_ready(const Server& s, const std::string& path) {
  auto v = stream_info(s, path);
  return v.is_object() && v.as_object().contains("state") && v.at("state") == "ready";
}

std::string log_tail(const std::string& log, size_t n = 3000) {
  return log.size() > n ? log.substr(log.size() - n) : log;
}

// Lines of ffmpeg -v error output that name a problem.
std::vector<std::string> error_lines(const std::string& output) {
  static const std::regex bad("error|corrupt|missing|invalid|non[- ]monoton|concealing|decode",
                              std::regex::icase);
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, bad)) out.push_back(line);
  }
  return out;
}

class RtspPublish : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg") || !have_program("ffprobe")) return;
    server_ = std::make_unique<Server>();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (!have_program("ffmpeg") || !have_program("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
    ASSERT_TRUE(server_ && server_->ready) << (server_ ? log_tail(server_->log()) : "");
  }

  std::string log_file(const std::string& tag) {
    return ::testing::TempDir() + "sg_rtsp_publish_" + tag + "_" + std::to_string(::getpid()) + ".log";
  }

  // Starts ffmpeg publishing to `path` and waits until the stream is ready.
  std::unique_ptr<Child> publish(const Media& m, const std::string& transport, const std::string& path) {
    auto child = std::make_unique<Child>(publisher_argv(m, transport, server_->rtsp_url(path)), log_file(path));
    bool ok = wait_until([&] { return stream_ready(*server_, path) || !child->running(); }, 20s) &&
              child->running();
    EXPECT_TRUE(ok) << "publisher log:\n" << log_tail(child->log()) << "\nserver log:\n" << log_tail(server_->log());
    return child;
  }

  // The API lists exactly a video and an audio track with the expected codecs and the video size.
  void expect_tracks(const std::string& path, const Media& m) {
    // Width/height come from the SPS, which may arrive with the first keyframe after "ready".
    json::value v;
    wait_until(
        [&] {
          v = stream_info(*server_, path);
          return v.is_object() && json::serialize(v).find("\"width\"") != std::string::npos;
        },
        5s);
    ASSERT_TRUE(v.is_object()) << "no stream " << path;
    SCOPED_TRACE(json::serialize(v));
    EXPECT_EQ(v.at("state"), "ready");
    const auto& tracks = v.at("tracks").as_array();
    ASSERT_EQ(tracks.size(), 2u);
    const json::object* video = nullptr;
    const json::object* audio = nullptr;
    for (const auto& t : tracks) {
      if (t.at("kind") == "video") video = &t.as_object();
      if (t.at("kind") == "audio") audio = &t.as_object();
    }
    ASSERT_TRUE(video && audio);
    EXPECT_EQ(video->at("codec"), m.api_video.c_str());
    EXPECT_EQ(audio->at("codec"), m.api_audio.c_str());
    ASSERT_TRUE(video->contains("width"));
    EXPECT_EQ(video->at("width").to_number<int>(), m.width);
    EXPECT_EQ(video->at("height").to_number<int>(), m.height);
  }

  void expect_probe(const std::string& path, const Media& m, const std::string& transport) {
    SCOPED_TRACE("ffprobe over " + transport);
    auto r = run({"ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries",
                  "stream=codec_name,width,height", "-of", "compact", server_->rtsp_url(path)},
                 20s, "ffprobe");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("codec_name=" + m.probe_video + "|width=" + std::to_string(m.width) +
                            "|height=" + std::to_string(m.height)),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("codec_name=" + m.probe_audio), std::string::npos) << r.output;
  }

  // ffmpeg reads `seconds` over TCP and over UDP at the same time (-c copy), exits 0, prints no error lines, and
  // gets about the frames it should.
  void expect_reads(const std::string& path, int seconds) {
    struct Read {
      std::string transport;
      std::string progress;
      std::unique_ptr<Child> child;
    };
    std::vector<Read> reads;
    for (std::string transport : {"tcp", "udp"}) {
      Read r;
      r.transport = transport;
      r.progress = log_file(path + "_progress_" + transport);
      std::remove(r.progress.c_str());
      r.child = std::make_unique<Child>(
          std::vector<std::string>{"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-rtsp_transport", transport,
                                   "-i", server_->rtsp_url(path), "-t", std::to_string(seconds), "-c", "copy",
                                   "-progress", r.progress, "-f", "null", "-"},
          log_file(path + "_read_" + transport));
      reads.push_back(std::move(r));
    }
    for (auto& r : reads) {
      SCOPED_TRACE("ffmpeg read over " + r.transport);
      int code = r.child->wait(std::chrono::seconds(seconds + 20));
      auto out = r.child->log();
      EXPECT_EQ(code, 0) << out << "\nserver log:\n" << log_tail(server_->log());
      auto errors = error_lines(out);
      EXPECT_TRUE(errors.empty()) << out;
      std::ifstream f(r.progress);
      int frames = 0;
      for (std::string line; std::getline(f, line);) {
        if (line.rfind("frame=", 0) == 0) frames = std::max(frames, std::atoi(line.c_str() + 6));
      }
      EXPECT_GE(frames, seconds * 30 * 8 / 10) << "video frames read in " << seconds << " s";
    }
  }

  void check_all(const Media& m, const std::string& publish_transport, const std::string& path, int read_seconds) {
    auto publisher = publish(m, publish_transport, path);
    if (HasFailure()) return;
    expect_tracks(path, m);
    expect_probe(path, m, "tcp");
    expect_probe(path, m, "udp");
    expect_reads(path, read_seconds);
    EXPECT_TRUE(publisher->running()) << log_tail(publisher->log());
    EXPECT_TRUE(stream_ready(*server_, path));
  }

  static std::unique_ptr<Server> server_;
};
std::unique_ptr<Server> RtspPublish::server_;

TEST_F(RtspPublish, H264AacPublishedOverTcpIsReadableOverTcpAndUdp) { check_all(kH264Aac, "tcp", "h264_aac_tcp", 10); }

TEST_F(RtspPublish, H264AacPublishedOverUdpIsReadableOverTcpAndUdp) { check_all(kH264Aac, "udp", "h264_aac_udp", 10); }

TEST_F(RtspPublish, H265OpusPublishedOverTcpIsReadableOverTcpAndUdp) { check_all(kH265Opus, "tcp", "h265_opus_tcp", 3); }

TEST_F(RtspPublish, H265OpusPublishedOverUdpIsReadableOverTcpAndUdp) { check_all(kH265Opus, "udp", "h265_opus_udp", 3); }

TEST_F(RtspPublish, SecondPublisherToBusyPathIsRefusedAndFirstKeepsPublishing) {
  auto first = publish(kH264Aac, "tcp", "busy");
  ASSERT_FALSE(HasFailure());
  auto before = stream_info(*server_, "busy");
  auto second_argv = publisher_argv(kH264Aac, "tcp", server_->rtsp_url("busy"));
  second_argv.insert(second_argv.end() - 5, {"-t", "5"});  // bounded even if it were (wrongly) accepted
  auto second = run(second_argv, 30s, "second_publisher");
  EXPECT_NE(second.exit_code, 0) << "a second publisher to a busy path was accepted:\n" << second.output;
  EXPECT_TRUE(first->running()) << log_tail(first->log());
  ASSERT_TRUE(stream_ready(*server_, "busy"));
  // The first publisher's data still flows.
  auto received = [&](const json::value& v) { return v.at("bytes_received").to_number<uint64_t>(); };
  uint64_t b0 = received(before);
  EXPECT_TRUE(wait_until([&] { return received(stream_info(*server_, "busy")) > b0 + 10000; }, 5s));
  expect_probe("busy", kH264Aac, "tcp");
}

TEST_F(RtspPublish, GStreamerRtspClientSinkH264AacIsReadableWithBothTracks) {
  if (!have_rtspclientsink()) GTEST_SKIP() << "GStreamer rtspclientsink / x264enc / avenc_aac missing";
  const std::string path = "gst_h264_aac";
  Child publisher(gst_publisher_argv("aac", server_->rtsp_url(path)), log_file(path));
  ASSERT_TRUE(wait_until([&] { return stream_ready(*server_, path) || !publisher.running(); }, 30s) &&
              publisher.running())
      << "publisher log:\n"
      << log_tail(publisher.log()) << "\nserver log:\n"
      << log_tail(server_->log());

  // The publisher did announce MP4A-LATM, and readers are offered it as published (the packets are passed through).
  RawRtspReader describe(server_->rtsp_port, server_->rtsp_url(path), true);
  auto sdp = describe.request("DESCRIBE " + server_->rtsp_url(path) + " RTSP/1.0\r\nCSeq: 1\r\n\r\n");
  EXPECT_NE(sdp.find("MP4A-LATM/44100"), std::string::npos) << sdp;

  expect_tracks(path, kGstH264Aac);
  expect_probe(path, kGstH264Aac, "tcp");
  expect_probe(path, kGstH264Aac, "udp");
  expect_reads(path, 3);

  // The audio decodes: 3 s of it, as 16-bit mono PCM, without a decoder complaint.
  const std::string wav = log_file(path + "_audio") + ".wav";
  auto decode = run({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-rtsp_transport", "tcp", "-i",
                     server_->rtsp_url(path), "-t", "3", "-map", "0:a:0", "-ac", "1", "-c:a", "pcm_s16le", "-y", wav},
                    30s, "gst_audio_decode");
  EXPECT_EQ(decode.exit_code, 0) << decode.output;
  EXPECT_TRUE(error_lines(decode.output).empty()) << decode.output;
  std::ifstream f(wav, std::ios::binary | std::ios::ate);
  const auto bytes = f ? static_cast<int64_t>(f.tellg()) : 0;
  EXPECT_GE(bytes, 44100 * 2 * 2) << "decoded audio: at least 2 of the 3 s at 44.1 kHz";
  std::remove(wav.c_str());
  EXPECT_TRUE(publisher.running()) << log_tail(publisher.log());
}

TEST_F(RtspPublish, AnnounceWithATrackTheServerCannotCarryIsRefusedWithTheReason) {
  // The real client: H.264 + L16 audio. Its ANNOUNCE fails, so it stops with an error instead of publishing a
  // stream that silently lacks its audio.
  if (have_rtspclientsink()) {
    const std::string path = "gst_h264_l16";
    auto r = run(gst_publisher_argv("l16", server_->rtsp_url(path)), 30s, "gst_l16");
    EXPECT_NE(r.exit_code, 0) << r.output;
    // GStreamer shows the answer: "Got error response: 415 (Unsupported Media Type (audio L16: ...))".
    EXPECT_NE(r.output.find("415"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("audio L16"), std::string::npos) << r.output;
    EXPECT_FALSE(stream_ready(*server_, path));
    EXPECT_NE(server_->log().find("ANNOUNCE refused: a track cannot be carried"), std::string::npos)
        << log_tail(server_->log());
  }
  // The answer says which track and why.
  const std::string url = server_->rtsp_url("raw_l16");
  const std::string body =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nt=0 0\r\n"
      "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:stream=0\r\n"
      "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 L16/8000/1\r\na=control:stream=1\r\n";
  RawRtspReader client(server_->rtsp_port, url, true);
  auto res = client.request("ANNOUNCE " + url + " RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n" +
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string status_line = res.substr(0, res.find("\r\n"));
  EXPECT_EQ(status_line.rfind("RTSP/1.0 415 ", 0), 0u) << res;
  EXPECT_NE(status_line.find("audio L16"), std::string::npos) << status_line;
  EXPECT_FALSE(stream_ready(*server_, "raw_l16"));
}

// ffmpeg publishing to a route name (any case) or an option-like path fails; ANNOUNCE answers 400 with the common
// stream id message in its reason phrase; no stream is created and the route still answers.
TEST_F(RtspPublish, PublishingToAReservedOrInvalidIdIsRefused) {
  for (std::string id : {"api", "Metrics", "-rf"}) {
    auto argv = publisher_argv(kH264Aac, "tcp", server_->rtsp_url(id));
    argv.insert(argv.end() - 5, {"-t", "5"});  // bounded even if it were (wrongly) accepted
    auto r = run(argv, 30s, "reserved_publisher");
    EXPECT_NE(r.exit_code, 0) << id << ": publishing was accepted:\n" << r.output;
    EXPECT_EQ(http_request(server_->http_port, "GET", "/api/v1/streams/" + id).status, 404) << id;
    EXPECT_NE(server_->log().find("invalid stream id '" + id + "'"), std::string::npos)
        << id << ": the server log does not give the reason\n" << log_tail(server_->log());
  }
  const std::string sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                          "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n";
  auto reply = http_raw(server_->rtsp_port,
                        "ANNOUNCE " + server_->rtsp_url("api") + " RTSP/1.0\r\nCSeq: 1\r\n"
                        "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
                        "\r\n\r\n" + sdp, 3000);
  EXPECT_EQ(reply.raw.rfind("RTSP/1.0 400 Bad Request (" + media::check_stream_id("api").error() + ")\r\n", 0), 0u)
      << reply.raw;
  EXPECT_EQ(http_request(server_->http_port, "GET", "/metrics").status, 200);
}

}  // namespace
}  // namespace sg::test
