// Fuzzes the incremental MPEG-TS demuxer: the input is fed in pieces whose sizes the first byte chooses, so sync
// recovery, packets split across calls and PES reassembly are all reached.
#include <cstddef>
#include <cstdint>

#include "mpegts/stream_demuxer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 200;
  const sg::Bytes bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  sg::mpegts::StreamDemuxer d;
  size_t total = 0;
  auto on_frame = [&total](const sg::mpegts::Frame& f) {
    for (sg::Bytes u : f.units) total += u.size();
    if (f.codec == sg::mpegts::StreamCodec::AAC && f.audio_config.size() != 2) __builtin_trap();
  };
  for (size_t at = 0; at < bytes.size(); at += piece)
    d.feed(bytes.subspan(at, std::min(piece, bytes.size() - at)), on_frame);
  (void)sg::mpegts::parse_adts(bytes);
  (void)sg::mpegts::split_annex_b(bytes);
  (void)total;
  return 0;
}
