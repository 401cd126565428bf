// Ingest -> Stream reception counts: per track, RTP packets received and lost by sequence number, as the API and
// /metrics show them.
#include <gtest/gtest.h>

#include <thread>

#include "media/stream.hpp"
#include "net/worker_pool.hpp"
#include "rtsp_session/ingest.hpp"

namespace sg::rtsp_session {
namespace {

using namespace std::chrono_literals;

// An RTP packet (RFC 3550 5.1): version 2, PCMU (pt 0), 160 bytes of payload (20 ms at 8 kHz).
ByteVector pcmu_packet(uint16_t seq) {
  ByteVector p(12 + 160, std::byte{0xff});
  auto put = [&p](size_t at, uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) p[at + i] = static_cast<std::byte>(value >> (8 * (bytes - 1 - i)));
  };
  put(0, 0x8000, 2);  // V=2, no padding/extension/CSRC, M=0, PT=0
  put(2, seq, 2);
  put(4, uint32_t{seq} * 160, 4);  // timestamp
  put(8, 0x12345678, 4);           // SSRC
  return p;
}

std::vector<media::Track> pcmu_tracks(size_t n) {
  media::Track t;
  t.kind = media::MediaKind::Audio;
  t.codec = media::CodecId::Unknown;
  t.encoding_name = "PCMU";
  t.payload_type = 0;
  t.clock_rate = 8000;
  t.channels = 1;
  return std::vector<media::Track>(n, t);
}

class IngestReception : public ::testing::Test {
 protected:
  void SetUp() override {
    pool.start();
    media::StreamOptions o;
    o.source = "publisher";
    stream = std::make_shared<media::Stream>("cam", o, pool, nullptr);
    stream->set_tracks(pcmu_tracks(2));
  }
  void TearDown() override { pool.stop(); }
  media::TrackReception track(size_t i) {
    auto s = stream->stats();
    return i < s.reception.size() ? s.reception[i] : media::TrackReception{};
  }

  net::WorkerPool pool{1};
  std::shared_ptr<media::Stream> stream;
};

TEST_F(IngestReception, GapsOverUdpAreLostPerTrack) {
  {
    Ingest in(stream, *stream->tracks());
    for (uint16_t s = 0; s < 1000; ++s) {
      if (s % 10 != 5) in.on_rtp(0, pcmu_packet(s), true);                // track 0 loses one in ten
      in.on_rtp(1, pcmu_packet(static_cast<uint16_t>(s + 60000)), true);  // track 1 none, across the wrap
    }
  }  // the connection ends: everything it counted is on the stream
  EXPECT_EQ(track(0).received, 900u);
  EXPECT_EQ(track(0).lost, 100u);
  EXPECT_EQ(track(1).received, 1000u);
  EXPECT_EQ(track(1).lost, 0u);
}

TEST_F(IngestReception, TcpPacketsAreCountedToo) {
  {
    Ingest in(stream, *stream->tracks());
    for (uint16_t s : {1, 2, 3, 6, 7}) in.on_rtp(0, pcmu_packet(s), false);
  }
  EXPECT_EQ(track(0).received, 5u);
  EXPECT_EQ(track(0).lost, 2u);
}

TEST_F(IngestReception, CountsAddUpOverReconnections) {
  for (int connection = 0; connection < 2; ++connection) {
    Ingest in(stream, *stream->tracks());
    for (uint16_t s = 0; s < 100; ++s)
      if (s != 50) in.on_rtp(0, pcmu_packet(static_cast<uint16_t>(s + connection * 7000)), true);
  }
  EXPECT_EQ(track(0).received, 198u);
  EXPECT_EQ(track(0).lost, 2u);
}

TEST_F(IngestReception, ReorderedPacketIsNeverShownAsLost) {
  Ingest in(stream, *stream->tracks());
  in.on_rtp(0, pcmu_packet(0), true);
  in.on_rtp(0, pcmu_packet(2), true);
  std::this_thread::sleep_for(std::chrono::nanoseconds(Ingest::kReceptionInterval_ns) + 10ms);
  in.on_rtp(0, pcmu_packet(3), true);  // a report to the stream is due: 1 is missing but may still come
  EXPECT_EQ(track(0).received, 3u);
  EXPECT_EQ(track(0).lost, 0u);
  in.on_rtp(0, pcmu_packet(1), true);
  for (uint16_t s = 4; s < 300; ++s) in.on_rtp(0, pcmu_packet(s), true);
  std::this_thread::sleep_for(std::chrono::nanoseconds(Ingest::kReceptionInterval_ns) + 10ms);
  in.on_rtp(0, pcmu_packet(300), true);
  EXPECT_EQ(track(0).received, 301u);
  EXPECT_EQ(track(0).lost, 0u);
}

TEST_F(IngestReception, OtherTracksResetTheCounts) {
  {
    Ingest in(stream, *stream->tracks());
    for (uint16_t s : {1, 3}) in.on_rtp(0, pcmu_packet(s), true);
  }
  EXPECT_EQ(track(0).lost, 1u);
  stream->set_tracks(pcmu_tracks(1));
  EXPECT_EQ(track(0).received, 0u);
  EXPECT_EQ(track(0).lost, 0u);
}

}  // namespace
}  // namespace sg::rtsp_session
