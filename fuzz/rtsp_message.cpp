// Fuzzes RTSP/interleaved framing: parse every message of the input, then check that what was parsed serializes
// to bytes that parse back to the same message.
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "rtsp/message.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

sg::rtsp::Limits big_limits() {
  sg::rtsp::Limits l;
  l.max_header_bytes = 1 << 20;
  l.max_header_count = 1 << 16;
  l.max_body_bytes = 1 << 20;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::Bytes rest(reinterpret_cast<const std::byte*>(data), size);
  sg::rtsp::Limits limits;
  if (size > 0 && data[0] == 'L') {  // exercise small limits too
    limits.max_header_bytes = 64;
    limits.max_header_count = 2;
    limits.max_body_bytes = 8;
  }
  for (int guard = 0; guard < 100000; ++guard) {
    auto r = sg::rtsp::parse_next(rest, limits);
    check(r.consumed <= rest.size());
    if (r.error()) break;
    if (r.need_more()) break;
    check(r.consumed > 0);
    if (const auto* req = r.request()) {
      auto again = sg::rtsp::parse_next(req->serialize(), big_limits());
      check(again.request() != nullptr);
      check(again.request()->method == req->method && again.request()->uri == req->uri &&
            again.request()->body == req->body && again.request()->cseq() == req->cseq());
    } else if (const auto* resp = r.response()) {
      auto again = sg::rtsp::parse_next(resp->serialize(), big_limits());
      check(again.response() != nullptr);
      check(again.response()->status == resp->status && again.response()->body == resp->body);
    } else if (const auto* il = r.interleaved()) {
      check(il->payload.size() + 4 <= r.consumed);
    }
    rest = rest.subspan(r.consumed);
  }
  return 0;
}
