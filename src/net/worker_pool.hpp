#pragma once
// N worker threads, each running its own io_context. A session is placed on one worker for its whole life, so
// its state needs no locks; cross-thread work is posted.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace sg::net {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);  // 0 = number of cores
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return workers_.size(); }
  boost::asio::io_context& context(size_t index) { return *workers_[index]->context; }
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
  };
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> next_{0};
  bool started_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace sg::net
