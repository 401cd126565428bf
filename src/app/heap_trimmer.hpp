#pragma once
// Bursts of connections leave glibc's malloc holding the memory they freed: each worker thread has its own arena,
// and an arena only shrinks from its top, so a few live allocations above the freed ones keep the RSS up (4 rounds
// of 8000 idle connections: 6 MB -> 80 MB). Every 2 s the main thread (never a worker) asks malloc how much free
// memory it holds and, when 8 MiB more than at the last trim, gives the free pages back to the kernel (malloc_trim).
// Pages that still hold a live allocation stay: Asio keeps one small descriptor state per socket ever open at once
// (its object pool never shrinks), so a burst leaves about one resident page per connection of its peak that was
// allocated between them; per-connection buffers are therefore allocated only when a connection has data.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>

namespace sg::app {

class HeapTrimmer {
 public:
  explicit HeapTrimmer(boost::asio::io_context& context) : timer_(context) {}
  void start();
  void stop();

 private:
  void schedule();
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  size_t trimmed_at_ = 0;  // malloc's free bytes at the last trim (or lower, since)
};

}  // namespace sg::app
