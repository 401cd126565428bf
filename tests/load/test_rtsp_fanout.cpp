// RTSP fan-out under load: one ffmpeg publisher (~2 Mb/s H.264), 200 concurrent readers (bench/rtsp_readers) and,
// at the same time, one ffmpeg reader. Every reader receives data, ffmpeg reads without error, and the API counts
// all 201 readers at once.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "../support/process.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;

constexpr int kReaders = 200;

std::string rtsp_readers_binary() {
  return (std::filesystem::path(SG_BINARY).parent_path() / "bench" / "rtsp_readers").string();
}

std::string tail(const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; }

json::value stream_info(const Server& s, const std::string& path) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/" + path);
  boost::system::error_code ec;
  auto v = r.status == 200 ? json::parse(r.body, ec) : json::value(nullptr);
  return ec ? json::value(nullptr) : v;
}

void fan_out(const std::string& transport) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  if (!std::filesystem::exists(rtsp_readers_binary())) GTEST_SKIP() << rtsp_readers_binary() << " not built";
  Server server;
  ASSERT_TRUE(server.ready) << server.log();
  const std::string dir = ::testing::TempDir();
  const std::string tag = std::to_string(::getpid()) + "_" + transport;
  const std::string url = server.rtsp_url("fanout");

  Child publisher({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi", "-i",
                   "testsrc2=size=1280x720:rate=30", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                   "-b:v", "2M", "-maxrate", "2M", "-bufsize", "1M", "-g", "30", "-f", "rtsp", "-rtsp_transport",
                   "tcp", url},
                  dir + "sg_fanout_publisher_" + tag + ".log");
  ASSERT_TRUE(wait_until(
      [&] {
        auto v = stream_info(server, "fanout");
        return (v.is_object() && v.at("state") == "ready") || !publisher.running();
      },
      20s) && publisher.running())
      << "publisher:\n" << tail(publisher.log()) << "\nserver:\n" << tail(server.log());

  const int seconds = 15;
  Child readers({rtsp_readers_binary(), "--url", url, "--readers", std::to_string(kReaders), "--duration",
                 std::to_string(seconds), "--transport", transport, "--ramp-ms", "5", "--min-packets", "200",
                 "--json"},
                dir + "sg_fanout_readers_" + tag + ".log");
  // ffmpeg joins once the 200 readers are in (ramp: 1 s).
  std::this_thread::sleep_for(1500ms);
  Child ffmpeg_reader({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-rtsp_transport", transport, "-i", url,
                       "-t", "8", "-c", "copy", "-f", "null", "-"},
                      dir + "sg_fanout_ffmpeg_" + tag + ".log");

  uint64_t max_readers = 0;
  wait_until(
      [&] {
        auto v = stream_info(server, "fanout");
        if (v.is_object()) max_readers = std::max(max_readers, v.at("readers").to_number<uint64_t>());
        return max_readers >= kReaders + 1;
      },
      10s);
  EXPECT_EQ(max_readers, uint64_t{kReaders + 1}) << "readers counted by the API";

  int ffmpeg_code = ffmpeg_reader.wait(30s);
  EXPECT_EQ(ffmpeg_code, 0) << tail(ffmpeg_reader.log());
  EXPECT_EQ(ffmpeg_reader.log().find("rror"), std::string::npos) << tail(ffmpeg_reader.log());

  int readers_code = readers.wait(std::chrono::seconds(seconds + 30));
  auto out = readers.log();
  EXPECT_EQ(readers_code, 0) << out << "\nserver:\n" << tail(server.log());
  auto brace = out.find('{');
  ASSERT_NE(brace, std::string::npos) << out;
  boost::system::error_code ec;
  auto summary = json::parse(out.substr(brace), ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(summary.at("connected").to_number<int>(), kReaders) << out;
  EXPECT_EQ(summary.at("ok").to_number<int>(), kReaders) << out;
  EXPECT_EQ(summary.at("not_keyframe_start").to_number<int>(), 0) << "readers must start at a keyframe: " << out;
  // Every reader gets close to the source rate (2 Mb/s): none is starved.
  EXPECT_GT(summary.at("kbps").at("min").to_number<double>(), 1000.0) << out;
  EXPECT_TRUE(publisher.running()) << tail(publisher.log());
}

TEST(RtspFanOut, TwoHundredTcpReadersAndFfmpegAllReceiveTheStream) { fan_out("tcp"); }

TEST(RtspFanOut, TwoHundredUdpReadersAndFfmpegAllReceiveTheStream) { fan_out("udp"); }

}  // namespace
}  // namespace sg::test
