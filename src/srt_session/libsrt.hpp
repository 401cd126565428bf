#pragma once
// What the SRT server and the SRT pull client share about libsrt itself: startup/cleanup (libsrt counts them) with
// its log routed to ours, and its last error as text.
#include <string>

#include "base/result.hpp"

namespace sg::srt_session {

// srt_startup(), and libsrt's errors go to our log as one JSON line each (the rest is dropped). Pair with cleanup().
Status startup();
void cleanup();
std::string last_error();

}  // namespace sg::srt_session
