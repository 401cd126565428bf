#pragma once
// Handing an accepted connection from the acceptor thread to its worker without leaving holes in the acceptor's
// heap. Accepting allocates the connection's Asio descriptor state on the acceptor thread, and Asio pools those for
// good; a plain asio::post would allocate its operation there too (and the worker frees it later), so each pooled
// descriptor state would end up between freed blocks and no page of a burst could go back to the kernel. Posting
// through a HandoffPool instead takes the operation's memory from a slab of its own (mapped once, outside malloc),
// so the acceptor thread allocates nothing per connection but the descriptor state, and those pack densely. The
// slab's pages that a burst touched go back to the kernel when no hand-over is in flight (release(), called by the
// heap trimmer every 2 s): after 4000 connections at once that is 320 KiB.
#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace sg::net {

class HandoffPool {
 public:
  static constexpr size_t kBlock = 320;   // an operation holding a socket, addresses, a connection slot, pointers
  static constexpr size_t kBlocks = 1024;  // in the slab; more hand-overs in flight at once take malloc's memory

  HandoffPool() = default;
  HandoffPool(const HandoffPool&) = delete;
  HandoffPool& operator=(const HandoffPool&) = delete;
  ~HandoffPool() {
    if (auto* slab = slab_.load()) ::munmap(slab, kSlabBytes);
  }

  void* allocate(size_t n) {
    if (n > kBlock) {
      oversized_.fetch_add(1, std::memory_order_relaxed);
      return ::operator new(n);
    }
    {
      std::lock_guard lk(mu_);
      if (map_slab()) {
        size_t index = kBlocks;
        if (!free_.empty()) {
          index = free_.back();
          free_.pop_back();
        } else if (used_ < kBlocks) {
          index = used_++;
        }
        if (index < kBlocks) {
          ++in_flight_;
          return slab_.load(std::memory_order_relaxed) + index * kBlock;
        }
      }
    }
    return ::operator new(kBlock);
  }

  void deallocate(void* p, size_t n) {
    auto* b = static_cast<std::byte*>(p);
    auto* slab = slab_.load(std::memory_order_acquire);
    if (n <= kBlock && slab && b >= slab && b < slab + kSlabBytes) {
      std::lock_guard lk(mu_);
      free_.push_back(static_cast<uint16_t>((b - slab) / kBlock));
      --in_flight_;
      return;
    }
    ::operator delete(p);
  }

  // Gives the pages of the slab back to the kernel when no hand-over is in flight and more than a few were
  // touched since the last time; true if it did. Any thread.
  bool release() {
    std::lock_guard lk(mu_);
    auto* slab = slab_.load(std::memory_order_relaxed);
    if (!slab || in_flight_ != 0 || used_ <= kReleaseAbove) return false;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t bytes = (used_ * kBlock + page - 1) / page * page;
    ::madvise(slab, bytes, MADV_DONTNEED);  // the pages read as zeros when touched again
    used_ = 0;
    free_.clear();
    return true;
  }

  // Blocks of the slab handed out since the last release (tests).
  size_t used() {
    std::lock_guard lk(mu_);
    return used_;
  }
  // Operations too large for a block (tests check there are none).
  size_t oversized() const { return oversized_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kSlabBytes = kBlock * kBlocks;
  static constexpr size_t kReleaseAbove = 32;  // blocks (10 KiB): the steady state reuses a handful

  bool map_slab() {
    if (slab_.load(std::memory_order_relaxed)) return true;
    if (map_failed_) return false;
    void* m = ::mmap(nullptr, kSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      map_failed_ = true;
      return false;
    }
    free_.reserve(kBlocks);
    slab_.store(static_cast<std::byte*>(m), std::memory_order_release);
    return true;
  }

  std::mutex mu_;
  std::atomic<std::byte*> slab_{nullptr};  // set once under mu_, unmapped by the destructor only
  bool map_failed_ = false;
  size_t used_ = 0;            // blocks [0, used_) were handed out since the last release
  size_t in_flight_ = 0;
  std::vector<uint16_t> free_;  // indices of blocks below used_ that are free, most recent last
  std::atomic<size_t> oversized_{0};
};

template <class T>
struct HandoffAllocator {
  using value_type = T;
  HandoffPool* pool;
  explicit HandoffAllocator(HandoffPool& p) : pool(&p) {}
  template <class U>
  HandoffAllocator(const HandoffAllocator<U>& other) : pool(other.pool) {}
  T* allocate(size_t n) { return static_cast<T*>(pool->allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { pool->deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const HandoffAllocator<U>& other) const { return pool == other.pool; }
};

// Runs `fn` on `context`'s thread, the operation's memory taken from `pool`.
template <class Context, class Fn>
void hand_off(HandoffPool& pool, Context& context, Fn&& fn) {
  boost::asio::post(context, boost::asio::bind_allocator(HandoffAllocator<void>(pool), std::forward<Fn>(fn)));
}

}  // namespace sg::net
