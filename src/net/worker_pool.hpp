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

 private:
  struct Worker {
    std::unique_ptr<boost::asio::io_context> context;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
    std::thread thread;
    std::unique_ptr<SendBatch> batch = std::make_unique<SendBatch>();
  };
  static std::unique_ptr<Worker> make_worker();
  HandoffPool handoff_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Worker> acceptor_ = make_worker();
  std::atomic<size_t> next_{0};
  bool started_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace sg::net
