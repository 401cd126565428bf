// Drives the HLS segmenter with fuzzed sample timings, flags and sizes, and checks that everything it publishes
// stays valid: every playlist passes the RFC 8216 checker, every segment/part parses as TS or ISO BMFF, the window
// stays bounded and blocking-reload decisions agree with the playlist.
#include <cstddef>
#include <cstdint>

#include "../tests/hls/playlist_checker.hpp"
#include "hls/segmenter.hpp"
#include "mp4/box_parser.hpp"
#include "mpegts/demux.hpp"

namespace {

using sg::ByteVector;
using sg::mp4::Sample;
using sg::mp4::TrackInfo;

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint32_t u16() { return uint32_t{byte()} << 8 | byte(); }
};

void check(const sg::hls::Segmenter& seg) {
  const std::string text = seg.media_playlist();
  auto checked = sg::hls::test::check_media_playlist(text);
  if (!checked.problems.empty()) {
    fprintf(stderr, "%s\n%s\n", checked.problems.front().c_str(), text.c_str());
    __builtin_trap();
  }
  if (seg.segments().size() > seg.config().window) __builtin_trap();
  if (checked.segments.size() != seg.segments().size()) __builtin_trap();
  const auto pos = seg.position();
  if (sg::hls::decide_reload(pos, pos.next_msn, pos.parts_in_next) != sg::hls::ReloadDecision::Wait) __builtin_trap();
  if (pos.next_msn > 0 && sg::hls::decide_reload(pos, pos.next_msn - 1, std::nullopt) != sg::hls::ReloadDecision::Ready)
    __builtin_trap();
}

void check_bytes(const sg::hls::Segmenter& seg) {
  for (const auto& s : seg.segments()) {
    if (!s.data) __builtin_trap();
    if (seg.config().variant == sg::hls::Variant::MpegTs) {
      auto d = sg::mpegts::demux(*s.data);
      if (!d || d->continuity_errors != 0) __builtin_trap();
    } else {
      auto b = sg::mp4::parse_boxes(*s.data);
      if (!b || b->empty()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, size};
  const uint8_t mode = in.byte();
  sg::hls::SegmenterConfig cfg;
  cfg.variant = static_cast<sg::hls::Variant>(mode % 3);
  cfg.target_duration = 0.5 + (mode >> 2 & 3);
  cfg.part_target = cfg.variant == sg::hls::Variant::LowLatency ? 0.1 * (1 + (mode >> 4 & 3)) : 0.2;
  cfg.max_segment_duration = cfg.target_duration * 4;
  cfg.window = 1 + (in.byte() & 7);
  const bool audio_only = mode & 0x80;

  TrackInfo v;
  v.codec = TrackInfo::Codec::H264;
  v.width = 64;
  v.height = 36;
  v.sps = {std::byte{0x67}, std::byte{0x42}, std::byte{0xc0}, std::byte{0x0b}};
  v.pps = {std::byte{0x68}, std::byte{0xce}};
  v.codec_config = {std::byte{1},    std::byte{0x42}, std::byte{0xc0}, std::byte{0x0b},
                    std::byte{0xff}, std::byte{0xe0}, std::byte{0}};
  TrackInfo a;
  a.codec = TrackInfo::Codec::AAC;
  a.timescale = 48000;
  a.sample_rate = 48000;
  a.channels = 2;
  a.codec_config = {std::byte{0x11}, std::byte{0x90}};
  std::vector<TrackInfo> tracks = audio_only ? std::vector<TrackInfo>{a} : std::vector<TrackInfo>{v, a};
  auto made = sg::hls::Segmenter::create(tracks, cfg);
  if (!made) __builtin_trap();
  sg::hls::Segmenter& seg = *made;

  int64_t dts[2] = {0, 0};
  int64_t wall = 1'700'000'000'000;
  for (int steps = 0; in.n > 0 && steps < 1500; ++steps) {
    const uint8_t op = in.byte();
    const size_t track = audio_only ? 0 : op & 1;
    const bool key = op & 2;
    dts[track] += (op & 4) ? in.u16() : (track == 0 && !audio_only ? 3000 : 1024);
    if (op & 8) dts[track] -= in.byte();  // sometimes not increasing
    const uint32_t duration = (op & 16) ? in.u16() : 0;
    const size_t payload = in.byte();
    Sample s;
    s.dts = dts[track];
    s.cts_offset = (op & 32) ? static_cast<int8_t>(in.byte()) * 100 : 0;
    s.duration = duration;
    s.keyframe = key;
    if (tracks[track].is_video()) {
      const bool broken = op & 64;
      sg::append32(s.data, static_cast<uint32_t>(payload + 1 + (broken ? 5 : 0)));
      sg::append8(s.data, key ? 0x65 : 0x41);
      s.data.resize(s.data.size() + payload, std::byte{0xab});
    } else {
      s.data.assign(payload, std::byte{0x21});
    }
    wall += in.byte();
    (void)seg.push(track, s, wall);
    if (op & 128) check(seg);
  }
  check(seg);
  check_bytes(seg);
  seg.finish();
  check(seg);
  check_bytes(seg);
  return 0;
}
