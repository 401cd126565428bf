#include "app/heap_trimmer.hpp"

#include <malloc.h>

#include "app/log.hpp"

namespace sg::app {

namespace {
constexpr auto kInterval = std::chrono::seconds(2);
constexpr size_t kFreeBytesKept = 8u << 20;
}  // namespace

void HeapTrimmer::start() { schedule(); }

void HeapTrimmer::stop() {
  stopped_ = true;
  timer_.cancel();
}

void HeapTrimmer::schedule() {
  if (stopped_) return;
  timer_.expires_after(kInterval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    const struct mallinfo2 info = ::mallinfo2();
    if (info.fordblks > kFreeBytesKept) {
      ::malloc_trim(0);
      log::debug("heap trimmed", {{"free_bytes", static_cast<uint64_t>(info.fordblks)},
                                  {"free_after", static_cast<uint64_t>(::mallinfo2().fordblks)}});
    }
    schedule();
  });
}

}  // namespace sg::app
