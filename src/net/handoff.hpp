#pragma once
// Handing an accepted connection from the acceptor thread to its worker without leaving holes in the acceptor's
// heap. Accepting allocates the connection's Asio descriptor state on the acceptor thread, and Asio pools those for
// good; a plain asio::post would allocate its operation there too (and the worker frees it later), so each pooled
// descriptor state would end up between freed blocks and no page of a burst could go back to the kernel. Posting
// through a HandoffPool instead takes the operation's memory from a small free list that is never returned to
// malloc, so the acceptor thread allocates nothing per connection but the descriptor state, and those pack densely.
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace sg::net {

class HandoffPool {
 public:
  static constexpr size_t kBlock = 320;  // an operation holding a socket, addresses, a connection slot, pointers
  static constexpr size_t kKept = 1024;  // blocks kept for reuse (320 KiB); more in flight at once are freed when done

  HandoffPool() = default;
  HandoffPool(const HandoffPool&) = delete;
  HandoffPool& operator=(const HandoffPool&) = delete;
  ~HandoffPool() {
    for (void* p : free_) ::operator delete(p);
  }

  void* allocate(size_t n) {
    if (n > kBlock) {
      oversized_.fetch_add(1, std::memory_order_relaxed);
      return ::operator new(n);
    }
    {
      std::lock_guard lk(mu_);
      if (!free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(kBlock);
  }
  size_t kept() {
    std::lock_guard lk(mu_);
    return free_.size();
  }
  // Operations too large for a block (tests check there are none).
  size_t oversized() const { return oversized_.load(std::memory_order_relaxed); }

  void deallocate(void* p, size_t n) {
    if (n <= kBlock) {
      std::lock_guard lk(mu_);
      if (free_.size() < kKept) {
        if (free_.capacity() == 0) free_.reserve(kKept);
        free_.push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }

 private:
  std::mutex mu_;
  std::vector<void*> free_;
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
