// Fuzzes the RTP packet view: accessors stay inside the packet, extension elements stay inside the extension,
// and a rewritten copy parses to the new header fields with the same payload.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtp/rtp_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sg;
  using namespace sg::rtp;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  (void)is_rtcp(input);
  (void)is_rtp_or_rtcp(input);
  auto p = RtpPacket::parse(input);
  if (!p) return 0;
  if (p->header_size() + p->padding_size() + p->payload().size() != size) __builtin_trap();
  uint32_t sum = 0;
  for (size_t i = 0; i < p->csrc_count(); ++i) sum += p->csrc(i);
  if (auto ext = p->extension()) {
    if (ext->data.data() < input.data() || ext->data.data() + ext->data.size() > input.data() + size) __builtin_trap();
    auto reader = p->extension_elements();
    while (auto e = reader.next()) {
      if (e->value.data() + e->value.size() > ext->data.data() + ext->data.size()) __builtin_trap();
      if (!p->extension_element(e->id)) __builtin_trap();
    }
  }
  std::vector<std::byte> copy(input.begin(), input.end());
  const HeaderRewrite rw{.ssrc = sum ^ 0x5a5a5a5a,
                         .sequence = static_cast<uint16_t>(p->sequence() + 1),
                         .timestamp = p->timestamp() + 3000,
                         .payload_type = static_cast<uint8_t>((p->payload_type() + 1) & 0x7f),
                         .marker = !p->marker()};
  if (!rewrite_header(copy, rw)) __builtin_trap();
  auto q = RtpPacket::parse(copy);
  if (!q || q->ssrc() != *rw.ssrc || q->sequence() != *rw.sequence || q->timestamp() != *rw.timestamp ||
      q->payload_type() != *rw.payload_type || q->marker() != *rw.marker ||
      q->payload().size() != p->payload().size() || q->header_size() != p->header_size())
    __builtin_trap();
  // Writing the parsed header back must reproduce the original header bytes.
  std::vector<uint32_t> csrcs;
  for (size_t i = 0; i < p->csrc_count(); ++i) csrcs.push_back(p->csrc(i));
  RtpHeader h{.marker = p->marker(),
              .payload_type = p->payload_type(),
              .sequence = p->sequence(),
              .timestamp = p->timestamp(),
              .ssrc = p->ssrc(),
              .csrcs = csrcs,
              .extension_profile = std::nullopt,
              .extension = {}};
  if (auto ext = p->extension()) {
    h.extension_profile = ext->profile;
    h.extension = ext->data;
  }
  std::vector<std::byte> header(p->header_size());
  auto n = write_header(header, h);
  if (!n || *n != p->header_size()) __builtin_trap();
  for (size_t i = 0; i < *n; ++i)
    if (i != 0 && header[i] != input[i]) __builtin_trap();
  if ((static_cast<uint8_t>(header[0]) & 0xdf) != (static_cast<uint8_t>(input[0]) & 0xdf)) __builtin_trap();
  return 0;
}
