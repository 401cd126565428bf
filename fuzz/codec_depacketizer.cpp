// Fuzzes the RTP depacketizers. Byte 0 picks the codec; the rest is a sequence of packets, each
// [len:1][flags:1][seq delta:1][ts delta:1] + len payload bytes (flags bit 0 = marker). Emitted access units must
// be well formed (slices inside the buffer).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "codec/rtp_payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  using namespace sg::codec;
  if (size < 1) return 0;
  static const char* kEncodings[] = {"H264", "H265", "MPEG4-GENERIC", "MPEG4-GENERIC", "OPUS", "PCMU", "MP4A-LATM"};
  const size_t pick = data[0] % 7;
  FmtpParams fmtp;
  if (pick == 2) fmtp = {{"mode", "AAC-hbr"}, {"sizelength", "13"}, {"indexlength", "3"}, {"indexdeltalength", "3"}};
  if (pick == 3) fmtp = {{"mode", "AAC-lbr"}, {"sizelength", "6"}, {"indexlength", "2"}, {"indexdeltalength", "2"}};
  if (pick == 6) fmtp = {{"cpresent", "0"}, {"config", "40002410adca00"}};  // GStreamer rtpmp4apay
  auto made = make_depacketizer(kEncodings[pick], fmtp);
  if (!made.ok()) __builtin_trap();
  Depacketizer& d = **made;
  uint16_t seq = 0;
  uint32_t ts = 0;
  std::vector<AccessUnit> out;
  size_t pos = 1;
  while (pos + 4 <= size) {
    const size_t len = data[pos];
    const uint8_t flags = data[pos + 1];
    seq = static_cast<uint16_t>(seq + data[pos + 2]);
    ts += data[pos + 3];
    pos += 4;
    const size_t n = len < size - pos ? len : size - pos;
    if (flags & 0x80) d.reset();
    d.push(Bytes(reinterpret_cast<const std::byte*>(data + pos), n), ts, seq, (flags & 1) != 0, out);
    pos += n;
  }
  for (const AccessUnit& au : out) {
    for (const FrameSlice& s : au.frames) {
      if (s.size == 0 || uint64_t{s.offset} + s.size > au.data.size()) __builtin_trap();
    }
  }
  if (d.stats().units != out.size()) __builtin_trap();
  return 0;
}
