// Ingest -> Stream track parameter sets: the SDP's sprop sets are replaced by the ones a keyframe carries in band
// when the source changes them (a WebRTC peer gets the track's sets in front of keyframes that come without any),
// and kept when keyframes carry none.
#include <gtest/gtest.h>

#include "media/stream.hpp"
#include "net/worker_pool.hpp"
#include "rtsp_session/ingest.hpp"

namespace sg::rtsp_session {
namespace {

ByteVector bytes(std::initializer_list<int> v) {
  ByteVector out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

// A single NAL unit packet (RFC 6184 5.6 / RFC 7798 4.4.1), payload type 96, SSRC 0x12345678.
ByteVector packet(uint16_t seq, uint32_t timestamp, bool marker, const ByteVector& nal) {
  ByteVector p = bytes({0x80, (marker ? 0x80 : 0) | 96, seq >> 8, seq & 0xff, static_cast<int>(timestamp >> 24),
                        static_cast<int>((timestamp >> 16) & 0xff), static_cast<int>((timestamp >> 8) & 0xff),
                        static_cast<int>(timestamp & 0xff), 0x12, 0x34, 0x56, 0x78});
  p.insert(p.end(), nal.begin(), nal.end());
  return p;
}

media::Track video_track(media::CodecId codec) {
  media::Track t;
  t.kind = media::MediaKind::Video;
  t.codec = codec;
  t.encoding_name = codec == media::CodecId::H264 ? "H264" : "H265";
  t.fmtp = codec == media::CodecId::H264 ? "packetization-mode=1" : "";
  t.width = 640;  // as if the SDP's SPS said so
  t.height = 360;
  return t;
}

class IngestParameterSets : public ::testing::Test {
 protected:
  void SetUp() override { pool.start(); }
  void TearDown() override { pool.stop(); }
  std::shared_ptr<media::Stream> stream_with(const media::Track& t) {
    media::StreamOptions o;
    o.source = "publisher";
    auto s = std::make_shared<media::Stream>("cam", o, pool, nullptr);
    s->set_tracks({t});
    return s;
  }
  // One access unit of `nals` at `timestamp`, the last packet marked.
  static void send(Ingest& in, uint16_t& seq, uint32_t timestamp, const std::vector<ByteVector>& nals) {
    for (size_t i = 0; i < nals.size(); ++i) in.on_rtp(0, packet(seq++, timestamp, i + 1 == nals.size(), nals[i]));
  }

  net::WorkerPool pool{1};
};

// H.264 NAL headers: SPS 0x67, PPS 0x68, IDR slice 0x65, non-IDR slice 0x41.
const ByteVector kSdpSps = bytes({0x67, 0x42, 0xc0, 0x1e, 0x01});
const ByteVector kSdpPps = bytes({0x68, 0xce, 0x01});
const ByteVector kNewSps = bytes({0x67, 0x64, 0x00, 0x1f, 0x02});
const ByteVector kNewPps = bytes({0x68, 0xee, 0x02});
const ByteVector kIdr = bytes({0x65, 0x88, 0x84, 0x00});
const ByteVector kSlice = bytes({0x41, 0x9a, 0x02});

TEST_F(IngestParameterSets, H264TrackFollowsSetsChangedInBand) {
  auto t = video_track(media::CodecId::H264);
  t.sps = kSdpSps;
  t.pps = kSdpPps;
  auto stream = stream_with(t);
  Ingest in(stream, *stream->tracks());
  uint16_t seq = 1;
  send(in, seq, 0, {kIdr});  // a keyframe without sets: the SDP's stay
  send(in, seq, 3000, {kSlice});
  EXPECT_EQ((*stream->tracks())[0].sps, kSdpSps);
  EXPECT_EQ((*stream->tracks())[0].pps, kSdpPps);
  send(in, seq, 6000, {kNewSps, kNewPps, kIdr});  // the source changes them in band
  send(in, seq, 9000, {kSlice});
  EXPECT_EQ((*stream->tracks())[0].sps, kNewSps);
  EXPECT_EQ((*stream->tracks())[0].pps, kNewPps);
  send(in, seq, 12000, {kIdr});  // and they stay after the keyframes that come without them
  send(in, seq, 15000, {kSlice});
  EXPECT_EQ((*stream->tracks())[0].sps, kNewSps);
}

// H.265 NAL headers (two bytes): VPS 0x40 0x01, SPS 0x42 0x01, PPS 0x44 0x01, IDR_W_RADL 0x26 0x01, TRAIL_R 0x02 0x01.
TEST_F(IngestParameterSets, H265TrackFollowsSetsChangedInBand) {
  const ByteVector vps = bytes({0x40, 0x01, 0x0c, 0x01}), sps = bytes({0x42, 0x01, 0x01, 0x01});
  const ByteVector pps = bytes({0x44, 0x01, 0xc1, 0x72}), new_pps = bytes({0x44, 0x01, 0xc0, 0xf3});
  const ByteVector idr = bytes({0x26, 0x01, 0xaf, 0x08}), trail = bytes({0x02, 0x01, 0xd0, 0x01});
  auto t = video_track(media::CodecId::H265);
  t.vps = vps;
  t.sps = sps;
  t.pps = pps;
  auto stream = stream_with(t);
  Ingest in(stream, *stream->tracks());
  uint16_t seq = 1;
  send(in, seq, 0, {idr});
  send(in, seq, 3000, {trail});
  EXPECT_EQ((*stream->tracks())[0].pps, pps);
  send(in, seq, 6000, {vps, sps, new_pps, idr});
  send(in, seq, 9000, {trail});
  EXPECT_EQ((*stream->tracks())[0].vps, vps);
  EXPECT_EQ((*stream->tracks())[0].sps, sps);
  EXPECT_EQ((*stream->tracks())[0].pps, new_pps);
}

}  // namespace
}  // namespace sg::rtsp_session
