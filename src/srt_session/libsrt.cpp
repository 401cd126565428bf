#include "srt_session/libsrt.hpp"

#include <srt/srt.h>
#include <syslog.h>

#include "app/log.hpp"

namespace sg::srt_session {

namespace {

// libsrt logs to stderr by default; its errors go to our log instead, the rest is dropped.
void srt_log(void*, int level, const char*, int, const char* area, const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  log::write(level <= LOG_ERR ? log::Level::Warn : log::Level::Debug, "libsrt", {{"area", area ? area : ""}, {"message", text}});
}

}  // namespace

Status startup() {
  if (srt_startup() < 0) return make_error("SRT: startup failed: " + last_error());
  srt_setloglevel(LOG_ERR);
  srt_setloghandler(nullptr, &srt_log);
  return Ok{};
}

void cleanup() { srt_cleanup(); }

std::string last_error() { return srt_getlasterror_str(); }

}  // namespace sg::srt_session
