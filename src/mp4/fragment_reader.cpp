#include "mp4/fragment_reader.hpp"

#include "mp4/box_parser.hpp"

namespace sg::mp4 {

namespace {

constexpr uint32_t kNonSyncSample = 0x10000;  // 8.8.3.1 sample_is_non_sync_sample

Status parse_trak(Bytes trak, RecordedTrack& t) {
  auto tkhd = find_box(trak, "tkhd");
  if (!tkhd) return make_error("MP4: trak without tkhd");
  auto th = parse_full_box(tkhd->payload);
  if (!th) return make_error(th.error());
  // tkhd: ... track_ID after the times; width/height are the last 8 bytes.
  const size_t id_at = th->version == 1 ? 16 : 8;
  if (th->body.size() < id_at + 4 || th->body.size() < 8) return make_error("MP4: tkhd too short");
  t.track_id = be32(th->body, id_at);
  t.width = be32(th->body, th->body.size() - 8);
  t.height = be32(th->body, th->body.size() - 4);
  auto mdhd = find_box(trak, "mdia/mdhd");
  if (!mdhd) return make_error("MP4: trak without mdhd");
  auto mh = parse_full_box(mdhd->payload);
  if (!mh) return make_error(mh.error());
  const size_t ts_at = mh->version == 1 ? 16 : 8;
  if (mh->body.size() < ts_at + 4) return make_error("MP4: mdhd too short");
  t.timescale = be32(mh->body, ts_at);
  if (t.timescale == 0) return make_error("MP4: mdhd timescale 0");
  auto hdlr = find_box(trak, "mdia/hdlr");
  if (!hdlr || hdlr->payload.size() < 12) return make_error("MP4: trak without hdlr");
  t.handler = std::string(as_string_view(hdlr->payload.subspan(8, 4)));
  auto stbl = find_box(trak, "mdia/minf/stbl");
  if (!stbl) return make_error("MP4: trak without stbl");
  auto boxes = parse_boxes(stbl->payload);
  if (!boxes) return make_error(boxes.error());
  for (const Box& b : *boxes) {
    if (b.type != "stsd") continue;
    // The whole box, header included: its bytes are contiguous in the stbl payload.
    const Bytes whole = stbl->payload.subspan(b.offset, b.header_size + b.payload.size());
    t.stsd = to_vector(whole);
  }
  if (t.stsd.empty()) return make_error("MP4: trak without stsd");
  if (auto elst = find_box(trak, "edts/elst")) {
    auto eh = parse_full_box(elst->payload);
    if (!eh) return make_error(eh.error());
    if (eh->body.size() < 4) return make_error("MP4: elst too short");
    const uint32_t count = be32(eh->body, 0);
    const size_t entry = eh->version == 1 ? 20 : 12;
    for (uint32_t i = 0; i < count && 4 + (i + 1) * size_t{entry} <= eh->body.size(); ++i) {
      const size_t at = 4 + i * size_t{entry};
      const int64_t media_time = eh->version == 1 ? static_cast<int64_t>(be64(eh->body, at + 8))
                                                  : int64_t{static_cast<int32_t>(be32(eh->body, at + 4))};
      if (media_time >= 0) {
        t.edit_media_time = media_time;
        break;
      }
    }
  }
  return Ok{};
}

}  // namespace

Result<std::vector<RecordedTrack>> parse_moov(Bytes moov) {
  auto boxes = parse_boxes(moov);
  if (!boxes) return make_error(boxes.error());
  std::vector<RecordedTrack> tracks;
  for (const Box& b : *boxes) {
    if (b.type != "trak") continue;
    RecordedTrack t;
    if (auto s = parse_trak(b.payload, t); !s) return make_error(s.error());
    tracks.push_back(std::move(t));
  }
  if (tracks.empty()) return make_error("MP4: moov without tracks");
  if (auto mvex = find_box(moov, "mvex")) {
    for (const Box& trex : find_all(mvex->payload, "trex")) {
      auto full = parse_full_box(trex.payload);
      if (!full || full->body.size() < 20) return make_error("MP4: trex too short");
      const uint32_t id = be32(full->body, 0);
      for (auto& t : tracks) {
        if (t.track_id != id) continue;
        t.default_duration = be32(full->body, 8);
        t.default_size = be32(full->body, 12);
        t.default_flags = be32(full->body, 16);
      }
    }
  }
  return tracks;
}

Status parse_moof(Bytes moof, uint64_t moof_offset, const std::vector<RecordedTrack>& tracks,
                  std::vector<FragmentSample>& out) {
  auto boxes = parse_boxes(moof);
  if (!boxes) return make_error(boxes.error());
  for (const Box& traf : *boxes) {
    if (traf.type != "traf") continue;
    auto tfhd_box = find_box(traf.payload, "tfhd");
    if (!tfhd_box) return make_error("MP4: traf without tfhd");
    auto tfhd = parse_full_box(tfhd_box->payload);
    if (!tfhd) return make_error(tfhd.error());
    const Bytes h = tfhd->body;
    size_t pos = 0;
    auto field = [&](size_t n, uint64_t& v) {
      if (h.size() - pos < n) return false;
      v = n == 8 ? be64(h, pos) : be32(h, pos);
      pos += n;
      return true;
    };
    uint64_t id = 0;
    if (!field(4, id)) return make_error("tfhd: missing track_ID");
    const RecordedTrack* track = nullptr;
    for (const auto& t : tracks)
      if (t.track_id == id) track = &t;
    if (!track) continue;
    uint64_t base = moof_offset, index = 0, dur = track->default_duration, size = track->default_size,
             flags = track->default_flags;
    const uint32_t f = tfhd->flags;
    if ((f & 0x1) && !field(8, base)) return make_error("tfhd: missing base_data_offset");
    if ((f & 0x2) && !field(4, index)) return make_error("tfhd: missing sample_description_index");
    if ((f & 0x8) && !field(4, dur)) return make_error("tfhd: missing default_sample_duration");
    if ((f & 0x10) && !field(4, size)) return make_error("tfhd: missing default_sample_size");
    if ((f & 0x20) && !field(4, flags)) return make_error("tfhd: missing default_sample_flags");
    uint64_t dts = 0;
    if (auto tfdt = find_box(traf.payload, "tfdt")) {
      auto t = parse_tfdt(tfdt->payload);
      if (!t) return make_error(t.error());
      dts = *t;
    }
    uint64_t data = base;
    for (const Box& tb : find_all(traf.payload, "trun")) {
      auto trun = parse_trun(tb.payload);
      if (!trun) return make_error(trun.error());
      if (trun->data_offset) data = base + static_cast<uint64_t>(int64_t{*trun->data_offset});
      for (size_t i = 0; i < trun->entries.size(); ++i) {
        const TrunEntry& e = trun->entries[i];
        FragmentSample s;
        s.track_id = track->track_id;
        s.dts = dts;
        s.duration = (trun->flags & 0x100) ? e.duration : static_cast<uint32_t>(dur);
        s.size = (trun->flags & 0x200) ? e.size : static_cast<uint32_t>(size);
        uint32_t sf = static_cast<uint32_t>(flags);
        if (trun->flags & 0x400)
          sf = e.flags;
        else if (i == 0 && trun->first_sample_flags)
          sf = *trun->first_sample_flags;
        s.keyframe = !(sf & kNonSyncSample);
        s.cts_offset = static_cast<int32_t>(e.composition_offset);
        s.offset = data;
        out.push_back(s);
        data += s.size;
        dts += s.duration;
      }
    }
  }
  return Ok{};
}

}  // namespace sg::mp4
