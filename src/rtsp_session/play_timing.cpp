#include "rtsp_session/play_timing.hpp"

#include "rtp/rtcp.hpp"

namespace sg::rtsp_session {

std::vector<std::optional<uint32_t>> play_start_timestamps(const media::Reader& reader,
                                                           const std::vector<media::Stream::TrackClock>& clocks,
                                                           int64_t now_ns) {
  std::vector<std::optional<uint32_t>> out(clocks.size());
  std::vector<const media::Unit*> first(clocks.size(), nullptr);
  for (size_t i = 0; i < reader.queued(); ++i) {
    const auto& u = *reader.peek(i);
    if (u.track < first.size() && !first[u.track]) first[u.track] = &u;
  }
  const int64_t start_ns = reader.queued() > 0 ? reader.peek(0)->ingest_ns : now_ns;
  for (size_t t = 0; t < clocks.size(); ++t) {
    const uint32_t rate = clocks[t].clock_rate;
    if (first[t]) {
      out[t] = rtp::timestamp_at(first[t]->rtp_timestamp, first[t]->ingest_ns, start_ns, rate);
    } else if (clocks[t].valid) {
      out[t] = rtp::timestamp_at(clocks[t].rtp_timestamp, clocks[t].ingest_ns, start_ns, rate);
    }
  }
  return out;
}

void PlayReports::configure(size_t tracks, std::string cname) {
  tracks_.assign(tracks, {});
  cname_ = std::move(cname);
  next_ns_ = 0;
  first_media_ = false;
}

void PlayReports::set_track(size_t track, uint32_t ssrc, uint32_t clock_rate) {
  if (track >= tracks_.size()) return;
  auto& t = tracks_[track];
  t.active = true;
  t.ssrc = ssrc;
  t.clock_rate = clock_rate == 0 ? 90000 : clock_rate;
}

const std::vector<PlayReports::Report>& PlayReports::build(int64_t now_ns, int64_t now_unix_ns) {
  buffer_.clear();
  reports_.clear();
  std::vector<std::pair<size_t, size_t>> spans;  // (offset, size) per report: buffer_ may move while growing
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const auto& t = tracks_[i];
    if (!t.active || !t.reporter.sent_any()) continue;
    const size_t start = buffer_.size();
    buffer_.resize(start + 4);
    rtp::append_sender_report(buffer_, t.reporter.report(t.ssrc, t.clock_rate, now_ns, now_unix_ns));
    rtp::append_sdes_cname(buffer_, t.ssrc, cname_);
    spans.emplace_back(start, buffer_.size() - start);
    reports_.push_back({i, {}});
  }
  for (size_t r = 0; r < reports_.size(); ++r)
    reports_[r].framed = MutableBytes(buffer_).subspan(spans[r].first, spans[r].second);
  next_ns_ = now_ns + kIntervalNs;
  first_media_ = false;
  return reports_;
}

}  // namespace sg::rtsp_session
