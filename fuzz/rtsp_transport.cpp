// Fuzzes the RTSP header parsers: Transport, Session, RTP-Info, Public, URLs and a=control resolution.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto t = sg::rtsp::parse_transport(in)) {
    auto built = sg::rtsp::build_transport(*t);
    (void)sg::rtsp::parse_transport(built);
  }
  if (auto s = sg::rtsp::parse_session(in)) {
    auto again = sg::rtsp::parse_session(s->to_string());
    check(again.ok() && again->id == s->id && again->timeout == s->timeout);
  }
  if (auto r = sg::rtsp::parse_rtp_info(in)) (void)sg::rtsp::build_rtp_info(*r);
  (void)sg::rtsp::parse_public(in);

  if (auto u = sg::rtsp::parse_url(in)) {
    auto again = sg::rtsp::parse_url(u->to_string());
    check(again.ok() && again->host == u->host && again->port == u->port && again->path == u->path &&
          again->query == u->query && !again->has_credentials);
    (void)u->stream_path();
  }
  auto nl = in.find('\n');
  if (nl != std::string_view::npos) (void)sg::rtsp::resolve_control(in.substr(0, nl), in.substr(nl + 1));
  (void)sg::rtsp::percent_decode(in);
  return 0;
}
