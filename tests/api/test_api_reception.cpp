// /metrics: per stream and track, the source's RTP packets received and lost (Stream::add_reception).
#include <gtest/gtest.h>

#include "api/api.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

namespace sg::api {
namespace {

std::vector<media::Track> two_tracks() {
  media::Track v;
  v.kind = media::MediaKind::Video;
  v.codec = media::CodecId::H264;
  media::Track a;
  a.kind = media::MediaKind::Audio;
  a.codec = media::CodecId::AAC;
  a.clock_rate = 48000;
  return {v, a};
}

TEST(ApiReception, MetricsCountReceivedAndLostPerStreamAndTrack) {
  net::WorkerPool pool(1);
  media::StreamRegistry registry(pool, nullptr);
  media::StreamOptions o;
  o.source = "publisher";
  auto cam = registry.create("cam.1", o);
  ASSERT_TRUE(cam);
  (*cam)->set_tracks(two_tracks());
  (*cam)->add_reception(0, 700, 300);
  (*cam)->add_reception(0, 5, 1);
  (*cam)->add_reception(1, 40, 0);
  (*cam)->add_reception(2, 9, 9);           // no such track: ignored
  ASSERT_TRUE(registry.create("idle", o));  // no tracks yet: no per-track lines

  ApiContext ctx(registry);
  const std::string m = render_metrics(ctx);
  EXPECT_NE(m.find("# TYPE streamgate_stream_rtp_packets_received_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE streamgate_stream_rtp_packets_lost_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("streamgate_stream_rtp_packets_received_total{stream=\"cam.1\",track=\"0\"} 705\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("streamgate_stream_rtp_packets_lost_total{stream=\"cam.1\",track=\"0\"} 301\n"), std::string::npos);
  EXPECT_NE(m.find("streamgate_stream_rtp_packets_received_total{stream=\"cam.1\",track=\"1\"} 40\n"),
            std::string::npos);
  EXPECT_NE(m.find("streamgate_stream_rtp_packets_lost_total{stream=\"cam.1\",track=\"1\"} 0\n"), std::string::npos);
  EXPECT_EQ(m.find("track=\"2\""), std::string::npos);
  EXPECT_EQ(m.find("stream=\"idle\",track="), std::string::npos);
}

}  // namespace
}  // namespace sg::api
