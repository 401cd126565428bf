// Fuzzes RTCP compound parsing; every parsed message is rebuilt where a builder exists and must parse back equal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <variant>

#include "rtp/rtcp.hpp"

namespace {

using namespace sg;
using namespace sg::rtp;

template <class T>
void check_round_trip(const T& msg, const ByteVector& built) {
  auto back = parse_rtcp(built);
  if (!back.ok() || back->size() != 1 || !std::holds_alternative<T>(back->front()) ||
      !(std::get<T>(back->front()) == msg))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  RtcpReader reader(input);
  size_t total = 0;
  while (auto h = reader.next()) {
    total += h->packet.size();
    if (h->body.size() + 4 > h->packet.size()) __builtin_trap();
  }
  if (total > size) __builtin_trap();
  auto msgs = parse_rtcp(input);
  if (!msgs.ok()) return 0;
  for (const auto& m : *msgs) {
    ByteVector out;
    if (const auto* sr = std::get_if<SenderReport>(&m)) {
      append_sender_report(out, *sr);
      check_round_trip(*sr, out);
    } else if (const auto* rr = std::get_if<ReceiverReport>(&m)) {
      append_receiver_report(out, *rr);
      check_round_trip(*rr, out);
    } else if (const auto* nack = std::get_if<Nack>(&m)) {
      auto lost = nack->lost_sequences();
      if (lost.size() > nack->items.size() * 17) __builtin_trap();
      append_nack(out, nack->sender_ssrc, nack->media_ssrc, lost);
      auto back = parse_rtcp(out);
      if (!back.ok() || back->size() != 1 || !std::holds_alternative<Nack>(back->front())) __builtin_trap();
      // The rebuilt NACK may pack items differently but must name the same set of sequence numbers.
      auto again = std::get<Nack>(back->front()).lost_sequences();
      std::sort(lost.begin(), lost.end());
      lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
      std::sort(again.begin(), again.end());
      if (again != lost) __builtin_trap();
    } else if (const auto* pli = std::get_if<Pli>(&m)) {
      append_pli(out, pli->sender_ssrc, pli->media_ssrc);
      check_round_trip(*pli, out);
    } else if (const auto* sdes = std::get_if<Sdes>(&m)) {
      for (const auto& c : sdes->chunks) (void)c.cname();
    } else if (const auto* bye = std::get_if<Bye>(&m)) {
      append_bye(out, bye->ssrcs, bye->reason.value_or(""));
      auto back = parse_rtcp(out);
      if (!back.ok() || std::get<Bye>(back->front()).ssrcs != bye->ssrcs) __builtin_trap();
    }
  }
  return 0;
}
