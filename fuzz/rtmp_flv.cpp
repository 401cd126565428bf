// Fuzzes FLV audio/video tag bodies (legacy AVC/AAC and Enhanced RTMP), decoder configuration records and NAL unit
// splitting: every view must lie inside the input.
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtmp/flv.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
bool inside(sg::Bytes part, sg::Bytes whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::Bytes input(reinterpret_cast<const std::byte*>(data), size);
  if (auto v = sg::rtmp::parse_video_tag(input)) {
    check(inside(v->data, input));
    if (v->packet == sg::rtmp::VideoPacket::SequenceHeader) {
      (void)sg::rtmp::parse_avc_decoder_config(v->data);
      (void)sg::rtmp::parse_hevc_decoder_config(v->data);
    } else if (auto nalus = sg::rtmp::split_nal_units(v->data, 4)) {
      for (auto n : *nalus) check(inside(n, v->data));
    }
  }
  if (auto a = sg::rtmp::parse_audio_tag(input)) check(inside(a->data, input));
  for (int ls : {1, 2, 4})
    if (auto nalus = sg::rtmp::split_nal_units(input, ls))
      for (auto n : *nalus) check(inside(n, input));
  if (auto c = sg::rtmp::parse_hevc_decoder_config(input)) check(!c->sps.empty() && !c->vps.empty() && !c->pps.empty());
  if (auto c = sg::rtmp::parse_avc_decoder_config(input)) check(!c->sps.empty());
  return 0;
}
