#include "app/heap_trimmer.hpp"

#include <malloc.h>

#include <algorithm>

#include "app/log.hpp"
#include "base/process.hpp"

namespace sg::app {

namespace {
constexpr auto kInterval = std::chrono::seconds(2);
constexpr size_t kWorthATrim = 1u << 20;
}  // namespace

void HeapTrimmer::start() {
  resident_after_trim_ = process_rss_bytes();
  free_after_trim_ = ::mallinfo2().fordblks;
  schedule();
}

void HeapTrimmer::stop() {
  stopped_ = true;
  timer_.cancel();
}

void HeapTrimmer::check() {
  if (release_) release_();
  const size_t resident = process_rss_bytes();
  const size_t free_bytes = ::mallinfo2().fordblks;
  // Two signs that a trim would return memory: the process grew since the last trim (a burst came and went between
  // two looks), or malloc's free bytes grew since then (a trim caught a burst while it was still being freed).
  const bool grown = resident > resident_after_trim_ + kWorthATrim;
  const bool freed = free_bytes > free_after_trim_ + kWorthATrim;
  if ((grown || freed) && free_bytes >= kWorthATrim) {
    ::malloc_trim(0);
    resident_after_trim_ = process_rss_bytes();
    free_after_trim_ = free_bytes;  // malloc_trim does not take pages out of the free lists: this stays
    ++trims_;
    log::debug("heap trimmed", {{"free_bytes", static_cast<uint64_t>(free_bytes)},
                                {"resident_before", static_cast<uint64_t>(resident)},
                                {"resident_after", static_cast<uint64_t>(resident_after_trim_)}});
    return;
  }
  resident_after_trim_ = std::min(resident_after_trim_, resident);
  free_after_trim_ = std::min(free_after_trim_, free_bytes);
}

void HeapTrimmer::schedule() {
  if (stopped_) return;
  timer_.expires_after(kInterval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    check();
    schedule();
  });
}

}  // namespace sg::app
