// The receive side of a WHIP session (webrtc::Publisher) without sockets: RTP in, units on a real Stream, and the
// RTCP it answers with (NACK, PLI, RR + SDES + REMB), with the times passed in.
#include <gtest/gtest.h>

#include "media/stream.hpp"
#include "net/worker_pool.hpp"
#include "rtp/rtcp.hpp"
#include "webrtc/publisher.hpp"

namespace sg::webrtc {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kVideoSsrc = 0x11111111, kAudioSsrc = 0x22222222, kOwnSsrc = 0x33333333;

ReceivedTrack opus_track() {
  ReceivedTrack t;
  t.mid = "0";
  t.track.kind = media::MediaKind::Audio;
  t.track.codec = media::CodecId::Opus;
  t.track.payload_type = 111;
  t.track.encoding_name = "opus";
  t.track.clock_rate = 48000;
  t.track.channels = 2;
  return t;
}

ReceivedTrack h264_track() {
  ReceivedTrack t;
  t.mid = "1";
  t.video = true;
  t.track.kind = media::MediaKind::Video;
  t.track.codec = media::CodecId::H264;
  t.track.payload_type = 108;
  t.track.encoding_name = "H264";
  t.track.clock_rate = 90000;
  t.track.fmtp = "packetization-mode=1;profile-level-id=42e01f";
  return t;
}

ByteVector rtp(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker, std::string_view payload_hex) {
  ByteVector p;
  append8(p, 0x80);
  append8(p, static_cast<uint8_t>((marker ? 0x80 : 0) | pt));
  append16(p, seq);
  append32(p, ts);
  append32(p, ssrc);
  append(p, from_hex(payload_hex));
  return p;
}

// An IDR access unit as three single-NAL packets: SPS, PPS, IDR slice (marker).
ByteVector video(uint16_t seq, uint32_t ts) {
  switch (seq % 3) {
    case 0: return rtp(108, seq, ts, kVideoSsrc, false, "6742c01e");
    case 1: return rtp(108, seq, ts, kVideoSsrc, false, "68ce3c80");
    default: return rtp(108, seq, ts, kVideoSsrc, true, "65888400aabbcc");
  }
}

std::vector<rtp::RtcpMessage> parse(const ByteVector& rtcp) {
  if (rtcp.empty()) return {};
  auto m = rtp::parse_rtcp(rtcp);
  EXPECT_TRUE(m.ok()) << m.error();
  return m.ok() ? *m : std::vector<rtp::RtcpMessage>{};
}

template <class T>
std::vector<T> all(const std::vector<rtp::RtcpMessage>& ms) {
  std::vector<T> out;
  for (const auto& m : ms)
    if (auto* t = std::get_if<T>(&m)) out.push_back(*t);
  return out;
}

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool.start();
    media::StreamOptions o;
    o.source = "publisher";
    stream = std::make_shared<media::Stream>("whip", o, pool, nullptr);
    stream->set_tracks({opus_track().track, h264_track().track});
    publisher = std::make_unique<Publisher>(stream, std::vector<ReceivedTrack>{opus_track(), h264_track()},
                                            PublisherOptions{}, kOwnSsrc);
    publisher->start();
  }
  void TearDown() override {
    publisher.reset();
    pool.stop();
  }
  ByteVector receive(const ByteVector& packet, int64_t now) {
    ByteVector out;
    publisher->on_rtp(packet, now, out);
    return out;
  }
  ByteVector tick(int64_t now) {
    ByteVector out;
    publisher->tick(now, out);
    return out;
  }
  size_t keyframes() {
    size_t n = 0;
    for (const auto& u : stream->gop_snapshot()) n += u->keyframe && u->frames.size() == 3;
    return n;
  }

  net::WorkerPool pool{1};
  std::shared_ptr<media::Stream> stream;
  std::unique_ptr<Publisher> publisher;
};

TEST_F(PublisherTest, ALostVideoPacketIsNackedAndItsRetransmissionCompletesTheFrame) {
  EXPECT_EQ(all<rtp::Pli>(parse(receive(video(30, 1000), 0))).size(), 1u);  // the start's PLI
  auto nack = parse(receive(video(32, 1000), 1 * kMs));  // 31 lost
  auto nacks = all<rtp::Nack>(nack);
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].media_ssrc, kVideoSsrc);
  EXPECT_EQ(nacks[0].sender_ssrc, kOwnSsrc);
  EXPECT_EQ(nacks[0].lost_sequences(), (std::vector<uint16_t>{31}));
  EXPECT_EQ(keyframes(), 0u);  // held behind the gap
  receive(video(31, 1000), 5 * kMs);  // the retransmission
  EXPECT_EQ(keyframes(), 1u);
  EXPECT_EQ(publisher->counters().nacks_sent, 1u);
  EXPECT_EQ(publisher->counters().recovered, 1u);
  EXPECT_EQ(publisher->counters().unrecovered, 0u);
}

TEST_F(PublisherTest, NackRetriesAreSpacedAndAGapNeverFilledIsSkippedWithAPli) {
  EXPECT_EQ(all<rtp::Pli>(parse(receive(video(30, 1000), 0))).size(), 1u);  // the start's PLI, with the SSRC
  receive(video(32, 1000), 1 * kMs);
  EXPECT_TRUE(all<rtp::Nack>(parse(receive(video(33, 4000), 10 * kMs))).empty());  // asked 9 ms ago
  EXPECT_EQ(all<rtp::Nack>(parse(receive(video(34, 4000), 40 * kMs))).size(), 1u);  // 30 ms later: again
  EXPECT_EQ(keyframes(), 0u);
  // Past max_hold (400 ms) the packets behind the gap go on without it: the broken unit is dropped, the next
  // keyframe is published, and a PLI (500 ms after the first) asks the browser for a fresh one.
  receive(video(35, 4000), 50 * kMs);
  EXPECT_EQ(keyframes(), 0u);
  auto rtcp = parse(tick(520 * kMs));
  EXPECT_EQ(keyframes(), 1u);
  EXPECT_EQ(all<rtp::Pli>(rtcp).size(), 1u);
  EXPECT_GE(publisher->counters().unrecovered, 1u);
  EXPECT_EQ(publisher->counters().plis_sent, 2u);
}

TEST_F(PublisherTest, KeyframeRequestsAreRateLimited) {
  auto first = parse(receive(video(30, 1000), 0));
  ASSERT_EQ(all<rtp::Pli>(first).size(), 1u);
  EXPECT_EQ(all<rtp::Pli>(first)[0].media_ssrc, kVideoSsrc);
  publisher->request_keyframe();
  EXPECT_TRUE(all<rtp::Pli>(parse(tick(100 * kMs))).empty());
  EXPECT_EQ(all<rtp::Pli>(parse(tick(500 * kMs))).size(), 1u);
  EXPECT_TRUE(all<rtp::Pli>(parse(tick(600 * kMs))).empty());  // nothing asked since
}

TEST_F(PublisherTest, ReportsCarryBothSourcesAndRemb) {
  receive(video(30, 1000), 0);
  receive(rtp(111, 7, 960, kAudioSsrc, false, "fc0102"), 1 * kMs);
  auto rtcp = parse(tick(2 * kMs));
  auto rrs = all<rtp::ReceiverReport>(rtcp);
  ASSERT_EQ(rrs.size(), 1u);
  EXPECT_EQ(rrs[0].ssrc, kOwnSsrc);
  ASSERT_EQ(rrs[0].reports.size(), 2u);
  EXPECT_EQ(all<rtp::Sdes>(rtcp).size(), 1u);
  auto rembs = all<rtp::Remb>(rtcp);
  ASSERT_EQ(rembs.size(), 1u);
  EXPECT_NEAR(static_cast<double>(rembs[0].bitrate), 2.5e6, 2.5e6 / 100000);
  EXPECT_EQ(rembs[0].ssrcs, (std::vector<uint32_t>{kAudioSsrc, kVideoSsrc}));
  // About once per second.
  EXPECT_TRUE(all<rtp::ReceiverReport>(parse(tick(500 * kMs))).empty());
  EXPECT_EQ(all<rtp::ReceiverReport>(parse(tick(1100 * kMs))).size(), 1u);
}

TEST_F(PublisherTest, OpusPacketsBecomeUnitsAndUnknownPayloadTypesAreCounted) {
  receive(rtp(111, 7, 960, kAudioSsrc, false, "fc0102"), 0);
  receive(rtp(96, 1, 0, kVideoSsrc, true, "00"), 0);  // VP8: not negotiated
  EXPECT_EQ(publisher->counters().packets, 1u);
  EXPECT_EQ(publisher->counters().bad_packets, 1u);
  EXPECT_EQ(stream->stats().units_in, 1u);
}

}  // namespace
}  // namespace sg::webrtc
