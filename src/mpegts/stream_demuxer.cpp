#include "mpegts/stream_demuxer.hpp"

#include <algorithm>

#include "mpegts/muxer.hpp"

namespace sg::mpegts {

namespace {

constexpr uint8_t kSync = 0x47;

// ISO/IEC 14496-3 Table 1.18: sampling_frequency_index.
constexpr uint32_t kAdtsRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};

std::optional<StreamCodec> carried(uint8_t stream_type) {
  switch (stream_type) {
    case kStreamTypeH264: return StreamCodec::H264;
    case kStreamTypeH265: return StreamCodec::H265;
    case kStreamTypeAacAdts: return StreamCodec::AAC;
    default: return std::nullopt;
  }
}

}  // namespace

std::vector<Bytes> split_annex_b(Bytes data) {
  std::vector<Bytes> out;
  const size_t n = data.size();
  size_t i = 0;
  std::optional<size_t> start;
  auto close = [&](size_t end) {
    if (!start) return;
    while (end > *start && u8(data, end - 1) == 0) --end;  // trailing_zero_8bits / the next 4-byte start code
    if (end > *start) out.push_back(data.subspan(*start, end - *start));
  };
  while (i + 3 <= n) {
    if (u8(data, i) == 0 && u8(data, i + 1) == 0 && u8(data, i + 2) == 1) {
      close(i);
      start = i + 3;
      i += 3;
    } else {
      ++i;
    }
  }
  close(n);
  return out;
}

Result<AdtsFrames> parse_adts(Bytes data) {
  AdtsFrames out;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 7) return make_error("ADTS: truncated header at " + std::to_string(at));
    if (u8(data, at) != 0xff || (u8(data, at + 1) & 0xf6) != 0xf0) return make_error("ADTS: no syncword at " + std::to_string(at));
    const bool protection_absent = u8(data, at + 1) & 0x01;
    const uint8_t profile = u8(data, at + 2) >> 6;
    const uint8_t freq = (u8(data, at + 2) >> 2) & 0x0f;
    const uint8_t channels = static_cast<uint8_t>((u8(data, at + 2) & 0x01) << 2 | u8(data, at + 3) >> 6);
    const size_t length = (size_t{u8(data, at + 3)} & 0x03) << 11 | size_t{u8(data, at + 4)} << 3 | u8(data, at + 5) >> 5;
    const size_t header = protection_absent ? 7 : 9;
    if (freq >= std::size(kAdtsRates)) return make_error("ADTS: bad sampling frequency index");
    if (length < header || length > data.size() - at) return make_error("ADTS: frame length " + std::to_string(length) + " out of range");
    if (out.frames.empty()) {
      // AudioSpecificConfig (14496-3 1.6.2.1): 5 bits object type, 4 bits frequency index, 4 bits channels.
      const uint16_t asc = static_cast<uint16_t>((profile + 1) << 11 | freq << 7 | (channels & 0x0f) << 3);
      append16(out.audio_config, asc);
      out.sample_rate = kAdtsRates[freq];
    }
    if (length > header) out.frames.push_back(data.subspan(at + header, length - header));
    at += length;
  }
  return out;
}

void StreamDemuxer::feed(Bytes data, const FrameHandler& on_frame) {
  // Complete the packet left over from the previous call.
  if (!partial_.empty()) {
    const size_t need = std::min(kPacketSize - partial_.size(), data.size());
    append(partial_, data.first(need));
    data = data.subspan(need);
    if (partial_.size() < kPacketSize) return;
    ByteVector whole = std::move(partial_);
    partial_.clear();
    if (u8(whole, 0) == kSync) {
      packet(whole, on_frame);
    } else {
      ++sync_losses_;
      // Resync inside the held bytes: keep from the next sync byte on and re-feed with the rest.
      auto it = std::find(whole.begin() + 1, whole.end(), std::byte{kSync});
      ByteVector rest(it, whole.end());
      append(rest, data);
      feed(rest, on_frame);
      return;
    }
  }
  size_t at = 0;
  while (at < data.size()) {
    if (u8(data, at) != kSync) {
      ++sync_losses_;
      while (at < data.size() && u8(data, at) != kSync) ++at;
      continue;
    }
    if (data.size() - at < kPacketSize) {
      partial_.assign(data.begin() + static_cast<ptrdiff_t>(at), data.end());
      return;
    }
    packet(data.subspan(at, kPacketSize), on_frame);
    at += kPacketSize;
  }
}

StreamDemuxer::Assembly* StreamDemuxer::assembly(uint16_t pid) {
  for (auto& a : assemblies_)
    if (a.pid == pid) return &a;
  return nullptr;
}

void StreamDemuxer::packet(Bytes bytes, const FrameHandler& on_frame) {
  auto p = parse_packet(bytes);
  if (!p) {
    ++bad_packets_;
    return;
  }
  ++packets_;
  if (p->pid == 0) {
    if (!p->payload_unit_start) return;
    auto pmt_pid = parse_pat(p->payload);
    if (!pmt_pid) {
      ++bad_packets_;
      return;
    }
    pmt_pid_ = *pmt_pid;
    return;
  }
  if (pmt_pid_ != 0 && p->pid == pmt_pid_) {
    if (!p->payload_unit_start) return;
    auto pmt = parse_pmt(p->payload);
    if (!pmt) {
      ++bad_packets_;
      return;
    }
    std::vector<ElementaryStream> streams;
    for (const auto& s : pmt->streams)
      if (auto c = carried(s.stream_type)) streams.push_back({s.pid, *c});
    const bool same = std::equal(streams.begin(), streams.end(), streams_.begin(), streams_.end(),
                                 [](const auto& a, const auto& b) { return a.pid == b.pid && a.codec == b.codec; });
    if (!same) {
      streams_ = std::move(streams);
      assemblies_.clear();
      for (const auto& s : streams_) {
        Assembly a;
        a.pid = s.pid;
        a.codec = s.codec;
        assemblies_.push_back(std::move(a));
      }
      ++generation_;
    }
    return;
  }
  Assembly* a = assembly(p->pid);
  if (!a) return;
  if (p->payload.empty()) return;  // adaptation field only: the counter does not advance (13818-1 2.4.3.3)
  const bool gap = a->last_cc && ((*a->last_cc + 1) & 0x0f) != p->continuity_counter;
  const bool duplicate = a->last_cc && *a->last_cc == p->continuity_counter;
  a->last_cc = p->continuity_counter;
  if (duplicate && !p->payload_unit_start) return;  // 2.4.3.3: a packet may be sent twice
  if (gap) {
    ++continuity_errors_;
    if (a->open) {
      ++dropped_frames_;
      a->open = false;
      a->data.clear();
    }
  }
  if (p->payload_unit_start) {
    if (a->open) finish(*a, on_frame);
    a->open = true;
    a->random_access = p->random_access;
    a->data.assign(p->payload.begin(), p->payload.end());
  } else if (a->open) {
    if (a->data.size() + p->payload.size() > kMaxPesBytes) {
      ++dropped_frames_;
      a->open = false;
      a->data.clear();
      return;
    }
    append(a->data, p->payload);
  } else {
    return;  // the middle of a PES whose start we did not see
  }
  // A bounded PES is complete once its length is in (6 bytes of start code, stream id and length come first).
  if (a->data.size() >= 6) {
    const size_t length = be16(a->data, 4);
    if (length != 0 && a->data.size() >= 6 + length) finish(*a, on_frame);
  }
}

void StreamDemuxer::finish(Assembly& a, const FrameHandler& on_frame) {
  a.open = false;
  auto h = parse_pes_header(a.data);
  if (!h || !h->pts) {
    ++bad_packets_;
    ++dropped_frames_;
    a.data.clear();
    return;
  }
  Bytes payload = h->payload;
  if (h->packet_length != 0) {
    const size_t header = static_cast<size_t>(payload.data() - a.data.data());
    const size_t end = 6 + size_t{h->packet_length};
    if (end < header) {
      ++dropped_frames_;
      a.data.clear();
      return;
    }
    payload = payload.first(std::min(payload.size(), end - header));
  }
  Frame& f = frame_;
  f.pid = a.pid;
  f.codec = a.codec;
  f.pts = *h->pts;
  f.dts = h->dts.value_or(*h->pts);
  f.random_access = a.random_access;
  f.units.clear();
  f.audio_config.clear();
  f.sample_rate = 0;
  f.keyframe = false;
  if (a.codec == StreamCodec::AAC) {
    auto adts = parse_adts(payload);
    if (!adts || adts->frames.empty()) {
      ++dropped_frames_;
      a.data.clear();
      return;
    }
    f.units = std::move(adts->frames);
    f.audio_config = std::move(adts->audio_config);
    f.sample_rate = adts->sample_rate;
  } else {
    for (Bytes n : split_annex_b(payload)) {
      if (a.codec == StreamCodec::H264) {
        const uint8_t type = u8(n, 0) & 0x1f;
        if (type == 9) continue;  // access unit delimiter: RTP and FLV carry none
        f.keyframe |= type == 5;
      } else {
        if (n.size() < 2) continue;
        const uint8_t type = (u8(n, 0) >> 1) & 0x3f;
        if (type == 35) continue;
        f.keyframe |= type >= 16 && type <= 23;
      }
      f.units.push_back(n);
    }
    if (f.units.empty()) {
      ++dropped_frames_;
      a.data.clear();
      return;
    }
  }
  on_frame(f);
  a.data.clear();
}

}  // namespace sg::mpegts
