#pragma once
// What an SRT caller asks for, from its stream id (SRTO_STREAMID, sent in the handshake).
//
// Two forms are accepted:
//  - MediaMTX's: `publish:{stream}`, `read:{stream}`, each optionally followed by `:{user}:{pass}`
//    (`publish:cam:alice:secret`).
//  - SRT's access control form (SRT "Access Control" guidelines, the `#!::` key=value list): `#!::r={stream},m=publish`;
//    `m=request` (or no m, the guidelines' default) reads, `u=` is the user, `s=` the password (MediaMTX's use of
//    the session-id key), `t=` must be `stream` when present. Unknown keys are ignored, as the guidelines ask;
//    `m=bidirectional` and the nested `#!:{...}` form are refused.
// An empty or malformed id is an error: the connection is rejected.
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::srt {

enum class Mode { Read, Publish };

struct StreamId {
  Mode mode = Mode::Read;
  std::string path;
  std::string user, pass;
};

inline constexpr size_t kMaxStreamIdLength = 512;  // SRTO_STREAMID's limit

Result<StreamId> parse_stream_id(std::string_view text);

}  // namespace sg::srt
