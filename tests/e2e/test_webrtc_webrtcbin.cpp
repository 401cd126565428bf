// WebRTC with GStreamer's webrtcbin as the viewer (tests/e2e/whep_webrtcbin.py, WHEP, bundle-policy max-bundle):
// - ffmpeg publishes H.265 over RTSP with its parameter sets only in the SDP (libx265's default with a global
//   header): the server puts VPS/SPS/PPS in front of keyframes, or webrtcbin's decoder never starts;
// - with max-bundle webrtcbin offers the second m= section as port 0 + a=bundle-only (RFC 8843): the server
//   answers it as bundled, or the viewer loses that track (and webrtcbin refuses an answer that rejects it).
// - a section the server cannot fill (audio of a stream without audio) is rejected with its ICE and DTLS attributes:
//   without them webrtcbin refuses the whole answer, video too.
// One server and three ffmpeg publishers (H.265 + Opus, H.264 + AAC transcoded to Opus, H.264 alone) for the suite.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "../support/http_client.hpp"
#include "../support/process.hpp"

namespace sg::test {
namespace {

const std::string kClient = SG_SOURCE_DIR "/tests/e2e/whep_webrtcbin.py";

bool have_webrtcbin() {
  static const bool ok = [] {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    auto r = run({"/usr/bin/python3", "-c",
                  "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); "
                  "gi.require_version('GstSdp', '1.0'); from gi.repository import Gst, GstWebRTC, GstSdp; "
                  "Gst.init(None); assert all(Gst.ElementFactory.find(e) for e in "
                  "('webrtcbin', 'nicesrc', 'avdec_h265', 'avdec_h264', 'opusdec'))"},
                 20s, "webrtcbin_probe");
    return r.exit_code == 0;
  }();
  return ok;
}

class WebrtcbinE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("ffmpeg")) return;
    server_ = std::make_unique<Server>();
    auto publish = [](const std::vector<std::string>& codecs, const std::string& path, bool audio = true) {
      std::vector<std::string> argv = {
          "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning",
          "-re",    "-f",       "lavfi",        "-i",        "testsrc2=size=640x360:rate=30"};
      if (audio)
        for (const char* a : {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-b:a", "64k"})
          argv.push_back(a);
      for (const char* a : {"-g", "30", "-b:v", "1M"}) argv.push_back(a);
      argv.insert(argv.end(), codecs.begin(), codecs.end());
      for (const char* a : {"-f", "rtsp", "-rtsp_transport", "tcp"}) argv.push_back(a);
      argv.push_back(server_->rtsp_url(path));
      return std::make_unique<Child>(argv, ::testing::TempDir() + "sg_webrtcbin_ffmpeg_" + path + ".log");
    };
    // No -bsf:v and a global header for RTSP: the parameter sets go only into the SDP's sprop-vps/sps/pps.
    h265_publisher_ = publish({"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-x265-params",
                               "log-level=warning", "-c:a", "libopus"},
                              "h265");
    h264_publisher_ =
        publish({"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-c:a", "aac"}, "h264");
    video_publisher_ = publish({"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"}, "video", false);
    auto ready = [](const std::string& path, const std::string& codec) {
      auto r = http_request(server_->http_port, "GET", "/api/v1/streams/" + path);
      return r.status == 200 && r.body.find("\"ready\"") != std::string::npos &&
             r.body.find(codec) != std::string::npos;
    };
    wait_until([&] { return ready("h265", "H265") && ready("h264", "AAC") && ready("video", "H264"); }, 20s);
  }
  static void TearDownTestSuite() {
    h265_publisher_.reset();
    h264_publisher_.reset();
    video_publisher_.reset();
    server_.reset();
  }
  void SetUp() override {
    if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    if (!have_webrtcbin()) GTEST_SKIP() << "GStreamer webrtcbin, libnice or decoders missing (python3-gi)";
    ASSERT_TRUE(server_->ready) << server_->log();
  }

  // Runs the webrtcbin viewer on `stream` with `args`; it prints the offer, the answer and a JSON summary.
  static RunResult view(const std::string& stream, std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "/usr/bin/python3", kClient, server_->http_url(stream + "/whep"), "--bundle", "max-bundle", "--timeout", "40"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, 90s, "webrtcbin_" + stream);
  }

  static std::unique_ptr<Server> server_;
  static std::unique_ptr<Child> h265_publisher_, h264_publisher_, video_publisher_;
};
std::unique_ptr<Server> WebrtcbinE2e::server_;
std::unique_ptr<Child> WebrtcbinE2e::h265_publisher_;
std::unique_ptr<Child> WebrtcbinE2e::h264_publisher_;
std::unique_ptr<Child> WebrtcbinE2e::video_publisher_;

// Issue #12 item 4, alone: a video-only offer, so nothing but the missing parameter sets can stop the decoder.
TEST_F(WebrtcbinE2e, DecodesH265WhoseParameterSetsAreOnlyInThePublishersSdp) {
  auto r = view("h265", {"--expect-video", "h265"});
  EXPECT_EQ(r.exit_code, 0) << r.output << h265_publisher_->log();
  EXPECT_NE(r.output.find("video/x-raw"), std::string::npos) << r.output;
}

// Item 5, alone: H.264 video and AAC sent as Opus, the audio section offered as bundle-only.
TEST_F(WebrtcbinE2e, PlaysVideoAndAudioOfferedWithMaxBundle) {
  auto r = view("h264", {"--expect-video", "h264", "--expect-audio", "opus"});
  ASSERT_NE(r.output.find("a=bundle-only"), std::string::npos) << "webrtcbin's offer changed:\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("a=group:BUNDLE video0 audio1"), std::string::npos) << r.output;
}

// Both: the acceptance, H.265 + Opus from ffmpeg to webrtcbin with max-bundle.
TEST_F(WebrtcbinE2e, PlaysH265AndOpusFromFfmpegWithMaxBundle) {
  auto r = view("h265", {"--expect-video", "h265", "--expect-audio", "opus"});
  EXPECT_EQ(r.exit_code, 0) << r.output << h265_publisher_->log();
}

// A viewer that offers audio for a stream without audio still gets the video.
TEST_F(WebrtcbinE2e, PlaysVideoOfAStreamWithoutAudioWhenOfferedAudioToo) {
  auto r = view("video", {"--expect-video", "h264", "--offer-audio", "opus"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("m=audio 0 "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sg::test
