#include "app/heap_trimmer.hpp"

#include <malloc.h>

#include <algorithm>

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
    // malloc_trim returns free pages without taking them out of malloc's free lists (fordblks stays): trim again
    // only after another kFreeBytesKept were freed, not every interval.
    const size_t free_bytes = ::mallinfo2().fordblks;
    if (free_bytes > trimmed_at_ + kFreeBytesKept) {
      ::malloc_trim(0);
      log::debug("heap trimmed", {{"free_bytes", static_cast<uint64_t>(free_bytes)}});
      trimmed_at_ = free_bytes;
    } else {
      trimmed_at_ = std::min(trimmed_at_, free_bytes);
    }
    schedule();
  });
}

}  // namespace sg::app
