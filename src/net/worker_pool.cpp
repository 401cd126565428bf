#include "net/worker_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "app/log.hpp"

namespace sg::net {

namespace {
thread_local int tls_worker_index = -1;

// A worker asks the scheduler for a 0.3 ms slice instead of the default (0.7 ms x (1 + log2 CPUs), 1.4 ms on 2
// cores). Since Linux 6.12 (EEVDF) a fair-class task's slice sets its virtual deadline, so a worker woken by a unit
// is picked ahead of a long-running task on its core rather than waiting out that task's slice: measured with 1000
// RTSP readers and the load tool on 2 cores (4 interleaved runs each way), the readers' median latency went from
// 4.8 to 4.0 ms (p99 unchanged within noise). It changes no share of CPU (that is the weight, i.e. nice), needs no privilege, and older kernels
// ignore it.
void request_short_slice() {
  // struct sched_attr of <linux/sched/types.h> (its first version, 48 bytes), which cannot be included beside
  // glibc's <sched.h>; glibc 2.36 has no wrapper.
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr{};
  static_assert(sizeof attr == 48);
  attr.size = sizeof attr;
  attr.policy = SCHED_OTHER;
  attr.runtime = 300'000;  // ns
  (void)::syscall(SYS_sched_setattr, 0, &attr, 0);
}
}  // namespace

std::unique_ptr<WorkerPool::Worker> WorkerPool::make_worker() {
  auto w = std::make_unique<Worker>();
  // concurrency hint 1: each context is run by exactly one thread, so Asio can skip internal locking.
  w->context = std::make_unique<boost::asio::io_context>(1);
  w->guard = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      w->context->get_executor());
  return w;
}

WorkerPool::WorkerPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) workers_.push_back(make_worker());
}

WorkerPool::~WorkerPool() {
  stop();
  // Destroys the contexts (and with them the coroutines still suspended in them) one by one while the pool itself
  // is still intact. Sockets and timers owned by servers must be gone by now (App destroys its servers after
  // stop() and before the pool), or they would outlive the context they are registered with.
  acceptor_->context.reset();  // listening sockets first: nothing is accepted onto a worker being destroyed
  for (auto& w : workers_) {
    w->probe.reset();
    w->context.reset();
  }
}

void WorkerPool::start() {
  if (started_) return;
  started_ = true;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    w->probe = std::make_unique<boost::asio::steady_timer>(*w->context);
    arm_probe(i);
    w->thread = std::thread([w, i] {
      tls_worker_index = static_cast<int>(i);
      std::string name = "sg-worker-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      request_short_slice();
      w->context->run();
    });
  }
  acceptor_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "sg-accept");
    acceptor_->context->run();
  });
}

void WorkerPool::stop() {
  if (stopped_.exchange(true)) return;
  acceptor_->guard.reset();
  acceptor_->context->stop();
  if (acceptor_->thread.joinable()) acceptor_->thread.join();
  for (auto& w : workers_) {
    w->guard.reset();
    w->context->stop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

int WorkerPool::current() { return tls_worker_index; }

void WorkerPool::arm_probe(size_t index) {
  auto& timer = *workers_[index]->probe;
  timer.expires_after(kProbe);
  timer.async_wait([this, index](boost::system::error_code ec) {
    if (!ec) on_probe(index);
  });
}

// On the worker's own thread: how late did its timer fire?
void WorkerPool::on_probe(size_t index) {
  Worker& w = *workers_[index];
  const auto now = std::chrono::steady_clock::now();
  const auto late = now - w.probe->expiry();
  if (late > kStall) {
    stalls_.fetch_add(1, std::memory_order_relaxed);
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(late).count();
    int64_t longest = longest_stall_ns_.load(std::memory_order_relaxed);
    while (ns > longest && !longest_stall_ns_.compare_exchange_weak(longest, ns, std::memory_order_relaxed)) {
    }
    if (now - w.last_stall_log >= kStallLogEvery) {
      log::warn("worker event loop stalled: its sessions got no service meanwhile",
                {{"worker", index},
                 {"stalled_ms", static_cast<int64_t>(ns / 1'000'000)},
                 {"unlogged_stalls_before", w.unlogged_stalls}});
      w.last_stall_log = now;
      w.unlogged_stalls = 0;
    } else {
      ++w.unlogged_stalls;
    }
  }
  arm_probe(index);
}

double WorkerPool::longest_stall_seconds() const {
  return static_cast<double>(longest_stall_ns_.load(std::memory_order_relaxed)) / 1e9;
}

}  // namespace sg::net
