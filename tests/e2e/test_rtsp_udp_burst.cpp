// The GOP cache replay a new UDP reader gets at PLAY, against a real publisher: ffmpeg publishes 3 Mb/s H.264 with
// a keyframe every 10 s, so a reader joining a few seconds in gets 1-2 MB at once. The server paces that replay, so
// a raw UDP reader with a small receive buffer (64 KiB asked, as on many systems by default) loses (almost) nothing.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "../support/process.hpp"
#include "../support/stream_api.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

int64_t units_dropped(const Server& server, const std::string& id) {
  auto r = http_request(server.http_port, "GET", "/api/v1/streams/" + id);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (r.status != 200 || ec || !v.is_object()) return -1;
  auto* d = v.as_object().if_contains("units_dropped");
  return d && d->is_number() ? d->to_number<int64_t>() : -1;
}

std::string tail(const std::string& log) { return log.size() > 4000 ? log.substr(log.size() - 4000) : log; }

TEST(RtspUdpBurst, GopReplayToAReaderWithASmallReceiveBufferArrivesWithoutLoss) {
  if (!have_program("ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  Server server;
  ASSERT_TRUE(server.ready) << server.log();
  // 3 Mb/s constant bitrate, one keyframe every 10 s (no scene-cut keyframes), no audio.
  std::vector<std::string> argv;
  std::istringstream words(
      "ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i testsrc2=size=640x360:rate=25 -c:v libx264 "
      "-preset ultrafast -tune zerolatency -x264-params keyint=250:min-keyint=250:scenecut=0:nal-hrd=cbr -b:v 3M "
      "-minrate 3M -maxrate 3M -bufsize 1M -f rtsp -rtsp_transport tcp");
  for (std::string w; words >> w;) argv.push_back(w);
  argv.push_back(server.rtsp_url("big"));
  Child publisher(argv, ::testing::TempDir() + "sg_udp_burst_ffmpeg_" + std::to_string(::getpid()) + ".log");
  // 4 s after the first keyframe the GOP cache holds about 1.5 MB; the next keyframe comes at 10 s.
  double uptime = 0;
  ASSERT_TRUE(wait_until([&] { return (uptime = ready_uptime(server, "big")) >= 4 || !publisher.running(); }, 30s) &&
              publisher.running())
      << tail(publisher.log()) << "\n"
      << tail(server.log());
  ASSERT_LT(uptime, 8) << "the machine is too slow to join before the next keyframe";

  RawRtspReader reader(server.rtsp_port, server.rtsp_url("big"), false);
  reader.set_udp_receive_buffer(64 * 1024);
  ASSERT_TRUE(reader.play()) << reader.error();
  ASSERT_EQ(reader.rtp_info().size(), 1u) << reader.play_response();
  // Long enough for the paced replay (4x the stream's bitrate) to end and live units to follow.
  reader.read_until([] { return false; }, 3s);

  // Sequence numbers from the one RTP-Info announced: every one missing was lost.
  // The server numbers packets as it sends them, so units dropped from the reader's queue would not show as gaps:
  // the stream counts those, and the RTP timestamps (no B-frames: ultrafast) must never go back.
  uint16_t expected = reader.rtp_info()[0].seq;
  size_t received = 0, lost = 0, backwards = 0;
  uint32_t last_timestamp = 0;
  for (const auto& p : reader.packets()) {
    if (p.rtcp || p.track != 0 || p.data.size() < 12) continue;
    uint16_t seq = be16(p.data, 2);
    lost += static_cast<uint16_t>(seq - expected);  // loopback does not reorder
    expected = static_cast<uint16_t>(seq + 1);
    uint32_t timestamp = be32(p.data, 4);
    if (received > 0 && static_cast<int32_t>(timestamp - last_timestamp) < 0) ++backwards;
    last_timestamp = timestamp;
    ++received;
  }
  EXPECT_EQ(backwards, 0u);
  EXPECT_EQ(units_dropped(server, "big"), 0);
  // The replay alone is over 1000 packets; at most 1 % of them may go missing.
  EXPECT_GE(received, 1000u);
  EXPECT_LE(lost * 100, received) << "lost " << lost << " of " << received + lost << " packets";
}

}  // namespace
}  // namespace sg::test
