#pragma once
// Bursts of connections leave glibc's malloc holding the memory they freed: each worker thread has its own arena,
// and an arena only shrinks from its top, so a few live allocations above the freed ones keep the RSS up (4 rounds
// of 8000 idle connections: 6 MB -> 80 MB). Every 2 s the main thread (never a worker) reads the process's resident
// size and malloc's free bytes; when either grew 1 MiB past its value at the last trim (or its lowest since) and
// malloc holds at least that much free, the free pages go back to the kernel (malloc_trim). Free bytes alone miss
// a burst that comes and goes between two looks (malloc_trim leaves its free lists as they were, so after the first
// trim they read the same before and after such a burst); the resident size alone misses a trim that ran while a
// burst was still being freed.
// Pages that still hold a live allocation stay: Asio keeps one small descriptor state per socket ever open at once
// (its object pool never shrinks), so a burst leaves about one resident page per connection of its peak that was
// allocated between them; per-connection buffers are therefore allocated only when a connection has data.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <functional>

namespace sg::app {

class HeapTrimmer {
 public:
  // `release` runs first at every look: memory kept outside malloc that can go back now (the hand-over slab).
  explicit HeapTrimmer(boost::asio::io_context& context, std::function<void()> release = {})
      : timer_(context), release_(std::move(release)) {}
  void start();
  void stop();

  // Trims done (for tests and debugging).
  size_t trims() const { return trims_; }

 private:
  void schedule();
  void check();
  boost::asio::steady_timer timer_;
  std::function<void()> release_;
  bool stopped_ = false;
  size_t resident_after_trim_ = 0;  // resident bytes right after the last trim (or lower, since)
  size_t free_after_trim_ = 0;      // malloc's free bytes at the last trim (or lower, since)
  size_t trims_ = 0;
};

}  // namespace sg::app
