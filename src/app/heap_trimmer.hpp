#pragma once
// Bursts of connections leave glibc's malloc holding the memory they freed: each worker thread has its own arena,
// and an arena only shrinks from its top, so a few live allocations above the freed ones keep the RSS up (4 rounds
// of 8000 idle connections: 6 MB -> 80 MB). Every 2 s the main thread (never a worker) asks malloc how much free
// memory it holds and, above 8 MiB, gives it back to the kernel (malloc_trim).
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
};

}  // namespace sg::app
