// Fuzzes the MPEG-TS demux-lite: packet headers, adaptation fields, PAT/PMT sections and PES headers.
#include <cstddef>
#include <cstdint>

#include "mpegts/demux.hpp"
#include "mpegts/muxer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sg::Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
  const sg::Bytes whole = bytes.first(size - size % sg::mpegts::kPacketSize);
  for (size_t off = 0; off < whole.size(); off += sg::mpegts::kPacketSize) {
    auto p = sg::mpegts::parse_packet(whole.subspan(off, sg::mpegts::kPacketSize));
    if (p && p->payload.size() > 184) __builtin_trap();
  }
  auto d = sg::mpegts::demux(whole);
  if (d && d->packets != whole.size() / sg::mpegts::kPacketSize) __builtin_trap();
  (void)sg::mpegts::parse_pes_header(bytes);
  (void)sg::mpegts::parse_pat(bytes);
  (void)sg::mpegts::parse_pmt(bytes);
  return 0;
}
