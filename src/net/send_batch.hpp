#pragma once
// Gather writes to many sockets handed to the kernel together, for a fan-out pass over a worker's readers. Each
// write is a non-blocking sendmsg (MSG_DONTWAIT | MSG_NOSIGNAL): an RTSP reader's gather write (Connection::try_write)
// or an RTMP player's chunks. Queued writes go out in one io_uring submission per batch of up to kCapacity instead of
// one system call each. On this project's 2-vCPU guest a system call's entry and exit alone cost about 1 us, and the
// kernel floor (bench/kernel_floor --uring) spends 30-40 % less CPU per reader batched than with one sendmsg each.
//
// Where io_uring cannot be had (an older kernel, kernel.io_uring_disabled, a container's seccomp profile), each
// write is a sendmsg of its own at add(), as before: the results are the same, only the syscall count differs.
//
// One batch per worker thread, used only on that thread (WorkerPool::send_batch); no locks.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>

namespace sg::net {

class SendBatch {
 public:
  // Told how a queued write went: the bytes the kernel took (0 when the socket was full), or the error.
  class Sender {
   public:
    virtual void sent(boost::system::error_code ec, size_t bytes) = 0;

   protected:
    ~Sender() = default;
  };

  static constexpr size_t kCapacity = 64;  // writes per submission: 98 % of the system calls saved

  enum class Mode {
    Auto,    // io_uring when the kernel gives one (tried at the first add, on the thread that uses the batch)
    Direct,  // one sendmsg per write, at add()
  };
  explicit SendBatch(Mode mode = Mode::Auto);
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // Queues a non-blocking sendmsg of iov[0, count) to `fd`. `sender->sent()` is called by flush(), or by add()
  // itself (the batch was full, or writes are direct). iov, and the bytes it points to, must stay valid and
  // unchanged until then; `sender` must not add to this batch from sent().
  void add(int fd, const iovec* iov, size_t count, Sender* sender);
  // Sends everything queued and tells each sender, in the order the writes were added.
  void flush();

  // True once writes go through io_uring (false before the first add, and when direct).
  bool batching() const { return state_ == State::Ring; }
  size_t queued() const { return count_; }
  // Submissions to the kernel so far (one per flushed batch), for tests and benchmarks.
  uint64_t submissions() const { return submissions_; }

 private:
  struct Ring;
  enum class State { Untried, Ring, Direct };
  struct Entry {
    msghdr msg;
    int fd;
    Sender* sender;
  };
  void start_ring();
  void stop_ring(int error);
  void submit();
  void send_direct();
  static constexpr int kNoResult = -0x7fffffff;

  State state_;
  std::unique_ptr<Ring> ring_;
  std::array<Entry, kCapacity> entries_{};
  std::array<int, kCapacity> results_{};
  size_t count_ = 0;
  uint64_t submissions_ = 0;
};

}  // namespace sg::net
