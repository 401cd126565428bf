#pragma once
// N worker threads, each running its own io_context. A session is placed on one worker for its whole life, so
// its state needs no locks; cross-thread work is posted.
//
// Listening sockets live on one more thread, the acceptor thread, which only accepts: it takes the connection onto
// the chosen worker's context and posts the session's creation there. Why a thread of its own: accepting allocates
// the connection's Asio descriptor state in the accepting thread's malloc arena, and Asio keeps those in a pool for
// good. Were sessions (coroutine frames, buffers) allocated in the same arena, each pooled descriptor state would
// pin the page it shares with a dead session's memory, and a burst of 4000 connections would keep ~15 MB resident
// after it ended. Apart, the descriptor states pack densely and the workers' freed pages go back to the kernel.
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "net/handoff.hpp"
#include "net/send_batch.hpp"

namespace sg::net {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);  // 0 = number of cores
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return workers_.size(); }
  // The acceptor thread's context: listening sockets only (see above).
  boost::asio::io_context& accept_context() { return *acceptor_->context; }
  // Memory for handing accepted connections to workers (net/handoff.hpp); it outlives every context.
  HandoffPool& handoff() { return handoff_; }
  boost::asio::io_context& context(size_t index) { return *workers_[index]->context; }
  // The worker's batch of fan-out writes (net/send_batch.hpp): used on that worker's thread only.
  SendBatch& send_batch(size_t index) { return *workers_[index]->batch; }
  // Round-robin choice for a new session.
  size_t next() { return next_.fetch_add(1, std::memory_order_relaxed) % workers_.size(); }

  void start();
  // Stops every io_context and joins the threads. Idempotent. The contexts (and the coroutines still suspended in
  // them) are destroyed by the destructor, so objects that own sockets can be destroyed between the two.
  void stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  // Index of the worker the calling thread runs, or -1 on any other thread.
  static int current();

  // Stall watch: each worker runs a timer every kProbe; one that fires more than kStall late means the worker's
  // event loop was blocked (a system call that waited, a long computation) or starved of CPU for that long, and
  // every session on it with it. Each stall is counted, and logged as a warning (at most once per worker every
  // kStallLogEvery, with the stalls not logged since).
  static constexpr std::chrono::milliseconds kProbe{500};
  static constexpr std::chrono::milliseconds kStall{250};
  static constexpr std::chrono::seconds kStallLogEvery{10};
  uint64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }
  // The longest stall seen, in seconds.
  double longest_stall_seconds() const;

 private:
  struct Worker {
    std::unique_ptr<boost::asio::io_context> context;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
    std::thread thread;
    std::unique_ptr<SendBatch> batch = std::make_unique<SendBatch>();
    std::unique_ptr<boost::asio::steady_timer> probe;  // the stall watch (workers only, not the acceptor)
    std::chrono::steady_clock::time_point last_stall_log{};
    uint64_t unlogged_stalls = 0;
  };
  static std::unique_ptr<Worker> make_worker();
  void arm_probe(size_t index);
  void on_probe(size_t index);
  HandoffPool handoff_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Worker> acceptor_ = make_worker();
  std::atomic<size_t> next_{0};
  bool started_ = false;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> stalls_{0};
  std::atomic<int64_t> longest_stall_ns_{0};
};

}  // namespace sg::net
