#pragma once
// A reader of a stream: a bounded queue of units on one worker thread. When the queue is full the oldest unit is
// dropped and counted, so a slow reader never blocks the source or other readers. The reader's session awaits
// wait() and drains with pop().
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "media/unit.hpp"

namespace sg::media {

class Stream;

// A consumer that can take a unit at once, on the fan-out's own call: no queue, no wake-up of the session. The RTSP
// TCP sender and the RTMP player write the unit straight to their socket from here. take() returns false when it
// cannot right now (a write of its own is pending): the unit is then queued and the session woken, as for a reader
// without a sink. A sink may leave its write queued in its worker's batch (net/send_batch.hpp): whoever pushes to a
// reader with a sink flushes that batch before returning to the event loop (Stream::deliver does, after its pass).
class UnitSink {
 public:
  virtual bool take(const UnitPtr& unit) = 0;

 protected:
  ~UnitSink() = default;
};

class Reader {
 public:
  // Made by Stream::attach, on the worker thread `worker` that will run the reader's session.
  Reader(std::shared_ptr<Stream> stream, size_t worker, boost::asio::any_io_executor executor, size_t capacity,
         std::string session);
  ~Reader();  // detaches from the stream; call on the reader's worker thread
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Producer side (the stream's fan-out, on this reader's thread). With an empty queue and a sink, the unit goes
  // to the sink first.
  void push(const UnitPtr& unit);
  // The sink (borrowed; nullptr to remove) must outlive its use by this reader.
  void set_sink(UnitSink* sink) { sink_ = sink; }
  // A hint for the fan-out: start loading the sink's memory (it is written next).
  void prefetch_sink() const {
    if (sink_) __builtin_prefetch(sink_);
  }
  void close();  // wakes the session; wait() then returns false
  // Wakes a pending wait() even with nothing queued (the session has other work, e.g. a response to send).
  void wake();

  // Consumer side.
  // Waits until a unit is queued or wake() was called (true), or the reader is closed (false).
  boost::asio::awaitable<bool> wait();
  // Moves up to max queued units into out (appending); returns how many.
  size_t pop(std::vector<UnitPtr>& out, size_t max = SIZE_MAX);
  bool closed() const { return closed_; }
  size_t queued() const { return count_; }
  // The i-th queued unit, oldest first (i < queued()), without taking it.
  const UnitPtr& peek(size_t i) const { return ring_[(head_ + i) % ring_.size()]; }

  // Counters, also summed into the stream's per-worker stats.
  void add_sent(uint64_t bytes, uint64_t packets);
  uint64_t delivered() const { return delivered_; }
  uint64_t dropped() const { return dropped_; }
  const std::string& session() const { return session_; }
  Stream& stream() { return *stream_; }
  const std::shared_ptr<Stream>& stream_ptr() const { return stream_; }
  size_t worker() const { return worker_; }

  // Units with seq <= this were already delivered (GOP cache replay and live fan-out may overlap).
  void set_last_seq(uint64_t seq) { last_seq_ = seq; }
  void set_wait_keyframe(bool wait) { wait_keyframe_ = wait; }

 private:
  std::shared_ptr<Stream> stream_;
  size_t worker_;
  std::string session_;
  boost::asio::steady_timer signal_;
  UnitSink* sink_ = nullptr;
  std::vector<UnitPtr> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t last_seq_ = 0;
  uint64_t delivered_ = 0;
  uint64_t dropped_ = 0;
  bool dropping_ = false;  // inside a drop episode (logged once)
  bool wait_keyframe_ = false;
  bool waiting_ = false;
  bool woken_ = false;
  bool closed_ = false;
};

}  // namespace sg::media
