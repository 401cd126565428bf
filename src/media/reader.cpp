#include "media/reader.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/log.hpp"
#include "media/stream.hpp"

namespace sg::media {

namespace asio = boost::asio;

Reader::Reader(std::shared_ptr<Stream> stream, size_t worker, asio::any_io_executor executor, size_t capacity,
               std::string session)
    : stream_(std::move(stream)),
      worker_(worker),
      session_(std::move(session)),
      signal_(executor),
      ring_(std::max<size_t>(capacity, 1)) {}

Reader::~Reader() { stream_->detach(this); }

void Reader::push(const UnitPtr& unit) {
  if (closed_ || unit->seq <= last_seq_) return;
  last_seq_ = unit->seq;
  if (wait_keyframe_) {
    if (!(unit->video && unit->keyframe)) return;
    wait_keyframe_ = false;
  }
  // Nothing queued ahead of it: the sink may send it now, in order.
  if (count_ == 0 && sink_ != nullptr && sink_->take(unit)) {
    ++delivered_;
    return;
  }
  if (count_ == ring_.size()) {
    // Full: drop the oldest. Logged once per episode, not per unit.
    ring_[head_].reset();
    head_ = (head_ + 1) % ring_.size();
    --count_;
    ++dropped_;
    stream_->slots_[worker_].drops.fetch_add(1, std::memory_order_relaxed);
    if (!dropping_) {
      dropping_ = true;
      log::warn("reader too slow, dropping oldest units",
                {{"stream", stream_->id()}, {"session", session_}, {"queue", ring_.size()}});
    }
  }
  ring_[(head_ + count_) % ring_.size()] = unit;
  ++count_;
  ++delivered_;
  if (waiting_) signal_.cancel();
}

void Reader::close() {
  if (closed_) return;
  closed_ = true;
  if (waiting_) signal_.cancel();
}

void Reader::wake() {
  woken_ = true;
  if (waiting_) signal_.cancel();
}

asio::awaitable<bool> Reader::wait() {
  while (count_ == 0 && !closed_ && !woken_) {
    signal_.expires_at(asio::steady_timer::time_point::max());
    waiting_ = true;
    boost::system::error_code ec;
    co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting_ = false;
    if (ec && ec != asio::error::operation_aborted) co_return false;
  }
  woken_ = false;
  co_return !closed_;
}

size_t Reader::pop(std::vector<UnitPtr>& out, size_t max) {
  size_t n = 0;
  while (count_ > 0 && n < max) {
    out.push_back(std::move(ring_[head_]));
    head_ = (head_ + 1) % ring_.size();
    --count_;
    ++n;
  }
  // The queue drained: a later overflow is a new episode.
  if (count_ < ring_.size() / 2) dropping_ = false;
  return n;
}

void Reader::add_sent(uint64_t bytes, uint64_t packets) {
  auto& slot = stream_->slots_[worker_];
  slot.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  slot.packets_out.fetch_add(packets, std::memory_order_relaxed);
}

}  // namespace sg::media
