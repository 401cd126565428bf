#include "webrtc/publisher.hpp"

#include "rtp/rtp_packet.hpp"
#include "rtsp_session/ingest.hpp"

namespace sg::webrtc {

namespace {
constexpr std::string_view kCname = "streamgate";
// Room for the packets of a round trip (and a keyframe's burst) behind a lost video packet: the gap is skipped by
// time (PublisherOptions::max_hold_ns), not by overflow.
constexpr size_t kVideoReorderCapacity = 1024;
}  // namespace

Publisher::Publisher(std::shared_ptr<media::Stream> stream, std::vector<ReceivedTrack> tracks,
                     PublisherOptions options, uint32_t own_ssrc)
    : stream_(std::move(stream)), options_(options), own_ssrc_(own_ssrc) {
  for (auto& t : tracks) {
    Track track{t, rtp::ReceiverReporter(t.track.clock_rate), nullptr, -1};
    if (t.video) track.nack = std::make_unique<rtp::NackList>(options_.nack);
    tracks_.push_back(std::move(track));
  }
}

Publisher::~Publisher() = default;

void Publisher::start() {
  if (ingest_) return;
  std::vector<media::Track> tracks;
  for (const auto& t : tracks_) tracks.push_back(t.info.track);
  ingest_ = std::make_unique<rtsp_session::Ingest>(stream_, tracks, kVideoReorderCapacity);
  stream_->set_state(media::StreamState::Ready);
}

void Publisher::on_rtp(Bytes packet, int64_t now_ns, ByteVector& rtcp) {
  auto p = rtp::RtpPacket::parse(packet);
  size_t index = tracks_.size();
  if (p)
    for (size_t i = 0; i < tracks_.size(); ++i)
      if (tracks_[i].info.track.payload_type == p->payload_type()) index = i;
  if (!ingest_ || index == tracks_.size()) {
    ++counters_.bad_packets;
    return;
  }
  ++counters_.packets;
  counters_.bytes += packet.size();
  auto& t = tracks_[index];
  t.reporter.on_rtp(p->ssrc(), p->sequence(), p->timestamp(), now_ns);
  if (t.nack) {
    t.nack->on_packet(p->sequence(), now_ns);
    send_nacks(t, now_ns, rtcp);
  }
  // Video goes through the reorder buffer (retransmissions arrive late); audio is taken as it comes (nothing asks
  // for it again, and a reorder buffer would hold it behind every loss).
  ingest_->on_rtp(index, packet, t.info.video);
  if (t.nack) {
    if (ingest_->held(index) == 0)
      t.held_since_ns = -1;
    else if (t.held_since_ns < 0)
      t.held_since_ns = now_ns;
  }
  maybe_pli(now_ns, rtcp);
}

void Publisher::send_nacks(Track& t, int64_t now_ns, ByteVector& rtcp) {
  lost_.clear();
  t.nack->due(now_ns, 0, lost_);
  if (lost_.empty()) return;
  auto ssrc = t.reporter.source_ssrc();
  if (!ssrc) return;
  rtp::append_nack(rtcp, own_ssrc_, *ssrc, lost_);
  counters_.nacks_sent += lost_.size();
}

void Publisher::maybe_pli(int64_t now_ns, ByteVector& rtcp) {
  for (auto& t : tracks_) {
    if (!t.nack) continue;
    // Loss NACK could not repair: the decoder of every reader breaks until the next keyframe.
    if (auto given_up = t.nack->take_given_up()) {
      counters_.unrecovered += given_up;
      keyframe_wanted_ = true;
    }
    counters_.recovered = t.nack->recovered();
    if (!keyframe_wanted_) continue;
    auto ssrc = t.reporter.source_ssrc();
    if (!ssrc) continue;  // no video packet yet: the PLI waits for the SSRC
    if (last_pli_ns_ >= 0 && now_ns - last_pli_ns_ < options_.pli_interval_ns) continue;
    rtp::append_pli(rtcp, own_ssrc_, *ssrc);
    last_pli_ns_ = now_ns;
    keyframe_wanted_ = false;
    ++counters_.plis_sent;
  }
}

void Publisher::on_rtcp(const rtp::RtcpMessage& message, int64_t now_ns) {
  if (auto* sr = std::get_if<rtp::SenderReport>(&message))
    for (auto& t : tracks_) t.reporter.on_sender_report(*sr, now_ns);
}

void Publisher::tick(int64_t now_ns, ByteVector& rtcp) {
  if (!ingest_) return;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    auto& t = tracks_[i];
    if (!t.nack) continue;
    send_nacks(t, now_ns, rtcp);
    // The retransmission did not come in time: the packets behind the gap go on (the unit with the hole is
    // dropped by the depacketizer, and a PLI asks for a fresh keyframe).
    while (t.held_since_ns >= 0 && now_ns - t.held_since_ns >= options_.max_hold_ns && ingest_->held(i) > 0) {
      ingest_->skip_gap(i);
      keyframe_wanted_ = true;
      t.held_since_ns = ingest_->held(i) > 0 ? now_ns : -1;
    }
  }
  maybe_pli(now_ns, rtcp);
  if (now_ns < next_report_ns_) return;
  next_report_ns_ = now_ns + options_.report_interval_ns;
  std::vector<rtp::ReportBlock> blocks;
  std::vector<uint32_t> ssrcs;
  for (auto& t : tracks_) {
    if (auto b = t.reporter.report_block(now_ns)) {
      blocks.push_back(*b);
      ssrcs.push_back(b->ssrc);
    }
  }
  auto compound = rtp::receiver_rtcp(own_ssrc_, kCname, blocks);
  if (!ssrcs.empty()) rtp::append_remb(compound, own_ssrc_, options_.remb_bitrate, ssrcs);
  rtcp.insert(rtcp.end(), compound.begin(), compound.end());
}

}  // namespace sg::webrtc
