#include "net/send_batch.hpp"

#include <liburing.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "app/log.hpp"

namespace sg::net {

namespace {
// Logged once per process, not once per worker.
std::atomic<bool> g_reported{false};

// Info, not a warning, when io_uring is unavailable: that is expected under a container runtime's default seccomp
// profile, and the direct path gives the same results.
void report(const char* message, int error) {
  if (g_reported.exchange(true)) return;
  if (error == 0) {
    log::info(message, {{"batch", SendBatch::kCapacity}});
  } else {
    log::info(message, {{"error", std::strerror(error)}});
  }
}
}  // namespace

struct SendBatch::Ring {
  io_uring ring{};
};

SendBatch::SendBatch(Mode mode) : state_(mode == Mode::Direct ? State::Direct : State::Untried) {}

SendBatch::~SendBatch() {
  if (ring_) io_uring_queue_exit(&ring_->ring);
}

void SendBatch::start_ring() {
  auto ring = std::make_unique<Ring>();
  io_uring_params params{};
  // One thread submits, and it reaps its own completions when it submits (no interrupting task work): the cheapest
  // setup (Linux 6.1); older kernels refuse the flags and get a plain ring.
  // SUBMIT_ALL: a write that fails at submission fails alone (its completion says why), the others still go.
  params.flags =
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
  params.cq_entries = 2 * kCapacity;
  int rc = io_uring_queue_init_params(kCapacity, &ring->ring, &params);
  if (rc == -EINVAL) {
    params = io_uring_params{};
    params.cq_entries = 2 * kCapacity;
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    rc = io_uring_queue_init_params(kCapacity, &ring->ring, &params);
  }
  if (rc < 0) {
    state_ = State::Direct;
    report("io_uring unavailable: fan-out writes one sendmsg per reader", -rc);
    return;
  }
  ring_ = std::move(ring);
  state_ = State::Ring;
  report("fan-out writes batched through io_uring", 0);
}

// The ring failed after it was set up (a submission refused): every write from now on is direct. The queued writes
// not yet sent are sent directly by the caller; destroying the ring drops whatever it had not consumed.
void SendBatch::stop_ring(int error) {
  io_uring_queue_exit(&ring_->ring);
  ring_.reset();
  state_ = State::Direct;
  // At most once per worker: its batch stays direct.
  log::warn("io_uring submission failed: this worker's fan-out writes one sendmsg per reader from now on",
            {{"error", std::strerror(error)}});
}

void SendBatch::add(int fd, const iovec* iov, size_t count, Sender* sender) {
  if (state_ == State::Untried) start_ring();
  auto& e = entries_[count_];
  e.msg = msghdr{};
  e.msg.msg_iov = const_cast<iovec*>(iov);
  e.msg.msg_iovlen = count;
  e.fd = fd;
  e.sender = sender;
  ++count_;
  if (state_ == State::Direct || count_ == kCapacity) flush();
}

// Sends, one sendmsg each, the queued writes that have no result yet.
void SendBatch::send_direct() {
  for (size_t i = 0; i < count_; ++i) {
    if (results_[i] != kNoResult) continue;
    ssize_t n;
    do {
      n = ::sendmsg(entries_[i].fd, &entries_[i].msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    results_[i] = n < 0 ? -errno : static_cast<int>(n);
  }
}

void SendBatch::flush() {
  if (count_ == 0) return;
  const size_t n = count_;
  std::fill_n(results_.begin(), n, kNoResult);
  if (state_ == State::Ring) submit();
  if (state_ == State::Direct) send_direct();
  count_ = 0;
  for (size_t i = 0; i < n; ++i) {
    const int r = results_[i];
    if (r >= 0) {
      entries_[i].sender->sent({}, static_cast<size_t>(r));
    } else if (r == -EAGAIN || r == -EWOULDBLOCK) {
      entries_[i].sender->sent({}, 0);
    } else {
      entries_[i].sender->sent(boost::system::error_code(-r, boost::system::system_category()), 0);
    }
  }
}

void SendBatch::submit() {
  io_uring& ring = ring_->ring;
  for (size_t i = 0; i < count_; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);  // never null: kCapacity entries, all reaped by the last flush
    io_uring_prep_sendmsg(sqe, entries_[i].fd, &entries_[i].msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i);
  }
  // MSG_DONTWAIT: each send completes while it is submitted (sent, partly sent, or EAGAIN), so this waits for
  // nothing but the submission itself.
  int rc;
  do {
    rc = io_uring_submit_and_wait(&ring, static_cast<unsigned>(count_));
  } while (rc == -EINTR);  // interrupted before it took any write: the retry submits them
  ++submissions_;
  if (rc < 0) {
    // Refused without taking a write (the ring belongs to another thread, out of memory): the writes go out
    // directly, and so does every one after.
    stop_ring(-rc);
    return;
  }
  size_t reported = 0;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      results_[io_uring_cqe_get_data64(cqe)] = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
    reported += seen;
    if (reported >= count_) return;
    do {
      rc = io_uring_submit_and_wait(&ring, 1);  // submits any write the kernel left in the queue, waits for one
    } while (rc == -EINTR);
    if (rc < 0) {
      // Not seen with sends that cannot block. The writes the ring took but did not report may have been sent:
      // sending them again would repeat bytes in a TCP stream, so they fail (their connections close).
      for (size_t i = 0; i < count_; ++i) {
        if (results_[i] == kNoResult) results_[i] = -EIO;
      }
      stop_ring(-rc);
      return;
    }
  }
}

}  // namespace sg::net
