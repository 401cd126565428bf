// WorkerPool's stall watch (net/worker_pool.hpp): a worker whose event loop is blocked is counted and measured.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "net/worker_pool.hpp"

namespace sg::net {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPoolStalls, ABlockedWorkerIsCountedWithHowLongItWasBlocked) {
  WorkerPool pool(2);
  pool.start();
  // Worker 1 blocks for 1.2 s, as a system call that waits would: its probe, due every 0.5 s, fires late.
  std::promise<void> done;
  boost::asio::post(pool.context(1), [&] {
    std::this_thread::sleep_for(1200ms);
    done.set_value();
  });
  done.get_future().wait();
  // The late probe runs right after the block; give it a moment on a loaded machine.
  for (int i = 0; i < 100 && pool.stalls() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GE(pool.stalls(), 1u);
  // Due at most 0.5 s into the block, it fired at least 0.7 s late.
  EXPECT_GE(pool.longest_stall_seconds(), 0.6);
  EXPECT_LT(pool.longest_stall_seconds(), 5.0);
  pool.stop();
}

TEST(WorkerPoolStalls, AnUnstartedPoolIsDestroyedWithoutItsProbes) {
  WorkerPool pool(1);
  EXPECT_EQ(pool.stalls(), 0u);
  EXPECT_EQ(pool.longest_stall_seconds(), 0.0);
}

}  // namespace
}  // namespace sg::net
