// Fan-out cost per unit per reader: one stream, N readers spread over the worker threads, units published from
// another thread and delivered into every reader's queue, which the reader's thread then drains (as a session
// would). Reported as time per (unit x reader); flat from 100 to 10 000 readers means no O(n^2), no contention.
#include <benchmark/benchmark.h>

#include <boost/asio/post.hpp>
#include <future>

#include "media/stream.hpp"
#include "net/worker_pool.hpp"

namespace {

using namespace sg;

constexpr size_t kWorkers = 2;
constexpr int kBatch = 64;  // units published between drains

template <class F>
void on_worker(net::WorkerPool& pool, size_t w, F f) {
  std::promise<void> done;
  boost::asio::post(pool.context(w), [&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

void BM_FanOut(benchmark::State& state) {
  const auto readers = static_cast<size_t>(state.range(0));
  net::WorkerPool pool(kWorkers);
  pool.start();
  media::StreamOptions opts;
  opts.source = "publisher";
  opts.reader_queue = 512;
  auto stream = std::make_shared<media::Stream>("bench", opts, pool, nullptr);
  media::Track audio;  // audio-only: no keyframe gating, every unit goes to every reader
  audio.kind = media::MediaKind::Audio;
  audio.codec = media::CodecId::Opus;
  stream->set_tracks({audio});

  std::vector<std::vector<std::unique_ptr<media::Reader>>> by_worker(kWorkers);
  for (size_t w = 0; w < kWorkers; ++w) {
    on_worker(pool, w, [&, w] {
      for (size_t i = w; i < readers; i += kWorkers) by_worker[w].push_back(stream->attach(w, "r"));
    });
  }
  ByteVector payload(1200, std::byte{1});
  std::vector<std::shared_ptr<media::Unit>> units(kBatch);

  for (auto _ : state) {
    state.PauseTiming();
    for (auto& u : units) {
      u = std::make_shared<media::Unit>();
      u->add_rtp_packet(payload);
    }
    state.ResumeTiming();
    for (auto& u : units) stream->publish(std::move(u));
    // Each worker drains its readers after the batch: delivery + pop, as the sessions do.
    std::vector<std::promise<void>> done(kWorkers);
    for (size_t w = 0; w < kWorkers; ++w) {
      boost::asio::post(pool.context(w), [&, w] {
        std::vector<media::UnitPtr> out;
        out.reserve(kBatch);
        for (auto& r : by_worker[w]) {
          out.clear();
          r->pop(out);
          benchmark::DoNotOptimize(out.data());
        }
        done[w].set_value();
      });
    }
    for (auto& d : done) d.get_future().wait();
  }
  uint64_t dropped = 0;
  for (auto& v : by_worker)
    for (auto& r : v) dropped += r->dropped();
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["ns_per_unit_per_reader"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kBatch * static_cast<double>(readers),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  for (size_t w = 0; w < kWorkers; ++w) on_worker(pool, w, [&, w] { by_worker[w].clear(); });
  pool.stop();
}

}  // namespace

BENCHMARK(BM_FanOut)->Arg(1)->Arg(100)->Arg(1000)->Arg(10000)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
