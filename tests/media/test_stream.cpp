// Stream fan-out, reader queues and the GOP cache, on real worker threads.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <set>
#include <future>
#include <thread>

#include "media/stream.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

namespace sg::media {
namespace {

// Runs f on worker w and waits for its result.
template <class F>
auto on_worker(net::WorkerPool& pool, size_t w, F f) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto fut = task.get_future();
  boost::asio::post(pool.context(w), [&task] { task(); });
  return fut.get();
}

// Waits until every unit posted so far has been delivered on worker w.
void drain(net::WorkerPool& pool, size_t w) {
  on_worker(pool, w, [] { return 0; });
}

std::shared_ptr<Unit> make_unit(bool video, bool keyframe, size_t size = 100) {
  auto u = std::make_shared<Unit>();
  u->video = video;
  u->keyframe = keyframe;
  u->track = video ? 0 : 1;
  ByteVector payload(size, std::byte{0x42});
  u->add_rtp_packet(payload);
  return u;
}

std::vector<Track> av_tracks() {
  Track v;
  v.kind = MediaKind::Video;
  v.codec = CodecId::H264;
  Track a;
  a.kind = MediaKind::Audio;
  a.codec = CodecId::AAC;
  a.clock_rate = 48000;
  return {v, a};
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override { pool.start(); }
  void TearDown() override {
    for (size_t w = 0; w < readers.size(); ++w)
      if (readers[w]) on_worker(pool, readers_worker[w], [&, w] { readers[w].reset(); return 0; });
    pool.stop();
  }

  std::shared_ptr<Stream> make_stream(size_t queue, std::vector<Track> tracks = av_tracks()) {
    StreamOptions o;
    o.source = "publisher";
    o.reader_queue = queue;
    auto s = std::make_shared<Stream>("cam", o, pool, nullptr);
    s->set_tracks(std::move(tracks));
    return s;
  }
  Reader* attach(const std::shared_ptr<Stream>& s, size_t worker) {
    auto r = on_worker(pool, worker, [&] { return s->attach(worker, "r" + std::to_string(readers.size())); });
    readers.push_back(std::move(r));
    readers_worker.push_back(worker);
    return readers.back().get();
  }
  std::vector<UnitPtr> pop_all(Reader* r, size_t worker) {
    return on_worker(pool, worker, [&] {
      std::vector<UnitPtr> out;
      r->pop(out);
      return out;
    });
  }

  net::WorkerPool pool{2};
  std::vector<std::unique_ptr<Reader>> readers;
  std::vector<size_t> readers_worker;
};

TEST_F(StreamTest, FullQueueDropsOldestAndCountsDrops) {
  auto s = make_stream(8);
  s->publish(make_unit(true, true));  // a keyframe so the reader has something to start at
  auto* r = attach(s, 0);
  for (int i = 0; i < 20; ++i) s->publish(make_unit(true, false));
  drain(pool, 0);
  EXPECT_EQ(r->queued(), 8u);
  EXPECT_EQ(r->dropped(), 21u - 8u);
  auto units = pop_all(r, 0);
  ASSERT_EQ(units.size(), 8u);
  // The newest 8 survive, in order.
  for (size_t i = 1; i < units.size(); ++i) EXPECT_EQ(units[i]->seq, units[i - 1]->seq + 1);
  EXPECT_EQ(units.back()->seq, 21u);
  EXPECT_EQ(s->stats().units_dropped, 13u);
}

TEST_F(StreamTest, NewReaderStartsAtCachedKeyframe) {
  auto s = make_stream(64);
  s->publish(make_unit(true, false));  // before any keyframe: not cached
  s->publish(make_unit(true, true));
  s->publish(make_unit(false, false));
  s->publish(make_unit(true, false));
  auto* r = attach(s, 1);
  auto units = pop_all(r, 1);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_TRUE(units[0]->keyframe);
  EXPECT_EQ(units[0]->seq, 2u);
  // Live units follow the cached ones without a gap or a repeat.
  s->publish(make_unit(true, false));
  drain(pool, 1);
  units = pop_all(r, 1);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0]->seq, 5u);
}

TEST_F(StreamTest, ReaderWithoutCachedGopWaitsForKeyframe) {
  auto s = make_stream(64);
  auto* r = attach(s, 0);
  s->publish(make_unit(true, false));
  s->publish(make_unit(false, false));
  s->publish(make_unit(true, true));
  s->publish(make_unit(true, false));
  drain(pool, 0);
  auto units = pop_all(r, 0);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_TRUE(units[0]->keyframe);
}

TEST_F(StreamTest, AudioOnlyStreamNeedsNoKeyframe) {
  Track a;
  a.kind = MediaKind::Audio;
  a.codec = CodecId::Opus;
  auto s = make_stream(64, {a});
  auto* r = attach(s, 0);
  s->publish(make_unit(false, false));
  drain(pool, 0);
  EXPECT_EQ(r->queued(), 1u);
}

TEST_F(StreamTest, FanOutReachesReadersOnEveryWorker) {
  auto s = make_stream(1024);
  std::vector<Reader*> rs;
  for (int i = 0; i < 10; ++i) rs.push_back(attach(s, i % 2));
  EXPECT_EQ(s->readers(), 10u);
  s->publish(make_unit(true, true));
  for (int i = 0; i < 99; ++i) s->publish(make_unit(true, false));
  drain(pool, 0);
  drain(pool, 1);
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i]->queued(), 100u) << "reader " << i;
    EXPECT_EQ(rs[i]->dropped(), 0u);
  }
  // Units are shared, not copied: every reader holds the same object.
  auto a = pop_all(rs[0], 0);
  auto b = pop_all(rs[1], 1);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0].get(), b[0].get());
}

TEST_F(StreamTest, SentCountersSumIntoStreamStats) {
  auto s = make_stream(16);
  auto* r0 = attach(s, 0);
  auto* r1 = attach(s, 1);
  on_worker(pool, 0, [&] { r0->add_sent(1000, 3); return 0; });
  on_worker(pool, 1, [&] { r1->add_sent(500, 2); return 0; });
  auto st = s->stats();
  EXPECT_EQ(st.bytes_out, 1500u);
  EXPECT_EQ(st.packets_out, 5u);
  EXPECT_EQ(st.readers, 2u);
}

TEST_F(StreamTest, DetachedReaderIsNoLongerCounted) {
  auto s = make_stream(16);
  attach(s, 0);
  attach(s, 1);
  EXPECT_EQ(s->readers(), 2u);
  on_worker(pool, 0, [&] { readers[0].reset(); return 0; });
  EXPECT_EQ(s->readers(), 1u);
}

TEST_F(StreamTest, TrackChangeClosesReaders) {
  auto s = make_stream(16);
  auto* r = attach(s, 0);
  auto tracks = av_tracks();
  tracks[0].codec = CodecId::H265;
  s->set_tracks(tracks);
  drain(pool, 0);
  EXPECT_TRUE(r->closed());
}

TEST_F(StreamTest, StopClosesReadersAndClearsGop) {
  auto s = make_stream(16);
  s->publish(make_unit(true, true));
  auto* r = attach(s, 1);
  s->stop();
  drain(pool, 1);
  EXPECT_TRUE(r->closed());
  auto* r2 = attach(s, 1);
  EXPECT_EQ(r2->queued(), 0u);
}

TEST_F(StreamTest, SecondPublisherIsRefusedUnlessReplacing) {
  auto s = make_stream(16);
  int kicked = 0;
  EXPECT_TRUE(s->acquire_publisher("p1", false, [&] { ++kicked; }));
  EXPECT_FALSE(s->acquire_publisher("p2", false, [] {}));
  EXPECT_TRUE(s->acquire_publisher("p3", true, [] {}));
  EXPECT_EQ(kicked, 1);
  s->release_publisher("p1");  // not the current one: no effect
  EXPECT_TRUE(s->stats().has_publisher);
  s->release_publisher("p3");
  EXPECT_FALSE(s->stats().has_publisher);
}

TEST_F(StreamTest, ReaderWaitWakesOnPublish) {
  auto s = make_stream(16);
  s->publish(make_unit(true, true));
  auto* r = attach(s, 0);
  std::promise<bool> woke;
  boost::asio::co_spawn(
      pool.context(0),
      [&]() -> boost::asio::awaitable<void> {
        std::vector<UnitPtr> out;
        r->pop(out);
        bool ok = co_await r->wait();
        woke.set_value(ok && r->queued() == 1);
      },
      boost::asio::detached);
  drain(pool, 0);
  s->publish(make_unit(true, false));
  auto fut = woke.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(fut.get());
}

std::shared_ptr<Unit> timed_unit(uint32_t source, uint32_t timestamp, int64_t ingest_ns) {
  auto u = std::make_shared<Unit>();
  u->track = 0;
  u->source = source;
  u->rtp_timestamp = timestamp;
  u->ingest_ns = ingest_ns;
  ByteVector packet(20, std::byte{0});
  packet[0] = std::byte{0x80};
  put32(packet, 4, timestamp);
  u->add_rtp_packet(packet);
  u->add_rtp_packet(packet);
  return u;
}

std::vector<Track> audio_track() {
  Track a;
  a.kind = MediaKind::Audio;
  a.codec = CodecId::Opus;
  a.clock_rate = 48000;
  return {a};  // no keyframes to wait for
}

TEST_F(StreamTest, NewSourceSessionContinuesTheTimestampsOfUnitAndPackets) {
  auto s = make_stream(64, audio_track());
  auto* r = attach(s, 0);
  const uint32_t first = s->begin_source();
  s->publish(timed_unit(first, 1000, 1'000'000'000));
  const uint32_t second = s->begin_source();
  s->publish(timed_unit(second, 0xdead0000u, 3'000'000'000));  // 2 s later, a new random base
  drain(pool, 0);
  auto units = pop_all(r, 0);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0]->rtp_timestamp, 1000u);
  EXPECT_EQ(units[1]->rtp_timestamp, 1000u + 2 * 48000u);
  for (size_t i = 0; i < units[1]->rtp_packets.size(); ++i) EXPECT_EQ(be32(units[1]->rtp_packet(i), 4), 97000u);
  auto clocks = s->track_clocks();
  ASSERT_EQ(clocks.size(), 1u);
  EXPECT_TRUE(clocks[0].valid);
  EXPECT_EQ(clocks[0].clock_rate, 48000u);
  EXPECT_EQ(clocks[0].rtp_timestamp, 97000u);
  EXPECT_EQ(clocks[0].ingest_ns, 3'000'000'000);
}

TEST_F(StreamTest, UnitsOfAReplacedSourceSessionAreDropped) {
  auto s = make_stream(64, audio_track());
  auto* r = attach(s, 0);
  const uint32_t old_source = s->begin_source();
  s->publish(timed_unit(old_source, 1000, 1'000'000'000));
  const uint32_t new_source = s->begin_source();
  s->publish(timed_unit(new_source, 5000, 1'100'000'000));
  s->publish(timed_unit(old_source, 1960, 1'120'000'000));  // the kicked publisher was still sending
  drain(pool, 0);
  auto units = pop_all(r, 0);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[1]->source, new_source);
}

// ---- publisher data timeout

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto end = SteadyClock::now() + timeout;
  while (SteadyClock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

// Feeds the stream a packet every 20 ms for `how_long`, as a live publisher would.
void keep_sending(Stream& s, std::chrono::milliseconds how_long) {
  const auto end = SteadyClock::now() + how_long;
  while (SteadyClock::now() < end) {
    s.add_received(1200, 1);
    std::this_thread::sleep_for(20ms);
  }
}

class PublisherTimeoutTest : public StreamTest {
 protected:
  static constexpr auto kTimeout = 300ms;
  std::shared_ptr<Stream> make_watched_stream() {
    StreamOptions o;
    o.source = "publisher";
    o.reader_queue = 16;
    o.publisher_timeout = kTimeout;
    auto s = std::make_shared<Stream>("cam", o, pool, nullptr);
    s->set_tracks(audio_track());
    return s;
  }
};

TEST_F(PublisherTimeoutTest, SilentPublisherIsDroppedAndItsReadersClosedAfterTheTimeout) {
  auto s = make_watched_stream();
  std::atomic<int> kicked{0};
  ASSERT_TRUE(s->acquire_publisher("p1", false, [&] { ++kicked; }));
  auto* r = attach(s, 1);
  s->set_state(StreamState::Ready);
  keep_sending(*s, 3 * kTimeout);  // sending: ready long past the timeout
  EXPECT_EQ(s->stats().state, StreamState::Ready);
  EXPECT_EQ(kicked.load(), 0);

  const auto silent_from = SteadyClock::now();
  ASSERT_TRUE(wait_for([&] { return s->stats().state != StreamState::Ready; }, 3s));
  const auto took = SteadyClock::now() - silent_from;
  EXPECT_GE(took, kTimeout - 25ms);   // the last packet may have come up to 20 ms before
  EXPECT_LT(took, kTimeout + 400ms);  // one sampling step (50 ms) late at most, plus a busy machine
  auto st = s->stats();
  EXPECT_EQ(st.state, StreamState::Idle);
  EXPECT_EQ(st.last_error, "publisher sent no data for 0.3 s");
  EXPECT_FALSE(st.has_publisher);
  EXPECT_EQ(st.publisher_timeouts, 1u);
  // The publisher is kicked right after the state changes (outside the stream's lock).
  EXPECT_TRUE(wait_for([&] { return kicked.load() == 1; }, 1s));
  EXPECT_TRUE(wait_for([&] {
    drain(pool, 1);
    return r->closed();
  }, 1s));
  // The slot is free: a new publisher takes over at once, even without publish_conflict: replace.
  EXPECT_TRUE(s->acquire_publisher("p2", false, [] {}));
}

TEST_F(PublisherTimeoutTest, PublisherIsNotTimedBeforeItMadeTheStreamReady) {
  auto s = make_watched_stream();
  std::atomic<int> kicked{0};
  ASSERT_TRUE(s->acquire_publisher("p1", false, [&] { ++kicked; }));  // ANNOUNCE, no RECORD yet
  std::this_thread::sleep_for(3 * kTimeout);
  EXPECT_EQ(kicked.load(), 0);
  EXPECT_TRUE(s->stats().has_publisher);
}

TEST_F(PublisherTimeoutTest, StreamReadyWithoutAPublisherIsNotTimed) {
  auto s = make_watched_stream();  // a pull source reports ready: its own source_timeout watches it
  s->set_state(StreamState::Ready);
  std::this_thread::sleep_for(3 * kTimeout);
  EXPECT_EQ(s->stats().state, StreamState::Ready);
  EXPECT_EQ(s->stats().publisher_timeouts, 0u);
}

TEST_F(PublisherTimeoutTest, WatchOfAPublisherThatLeftNeverDropsItsSuccessor) {
  auto s = make_watched_stream();
  ASSERT_TRUE(s->acquire_publisher("p1", false, [] {}));
  s->set_state(StreamState::Ready);
  s->release_publisher("p1");
  std::atomic<int> kicked{0};
  ASSERT_TRUE(s->acquire_publisher("p2", false, [&] { ++kicked; }));
  s->set_state(StreamState::Ready);
  keep_sending(*s, 3 * kTimeout);
  EXPECT_EQ(kicked.load(), 0);
  EXPECT_EQ(s->stats().state, StreamState::Ready);
  ASSERT_TRUE(wait_for([&] { return kicked.load() == 1; }, 3s));  // p2 falls silent: dropped, once
  std::this_thread::sleep_for(2 * kTimeout);
  EXPECT_EQ(kicked.load(), 1);
  EXPECT_EQ(s->stats().publisher_timeouts, 1u);
}

TEST(StreamRegistryTest, CreatedStreamsTakeTheRegistrysPublisherTimeout) {
  net::WorkerPool pool(1);
  StreamRegistry reg(pool, nullptr);
  reg.set_publisher_timeout(1500ms);
  auto s = reg.create("cam", StreamOptions{.source = "publisher"});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ((*s)->options().publisher_timeout, 1500ms);
}

TEST(StreamRegistryTest, CreateFindRemove) {
  net::WorkerPool pool(1);
  StreamRegistry reg(pool, nullptr);
  StreamOptions o;
  o.source = "publisher";
  ASSERT_TRUE(reg.create("b", o));
  ASSERT_TRUE(reg.create("a", o));
  auto dup = reg.create("a", o);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().find("already exists"), std::string::npos);
  auto list = reg.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->id(), "a");  // sorted by id
  EXPECT_TRUE(reg.find("b"));
  EXPECT_TRUE(reg.remove("b"));
  EXPECT_FALSE(reg.remove("b"));
  EXPECT_FALSE(reg.find("b"));
}

TEST(StreamRegistryTest, RejectsInvalidIdsAndSources) {
  net::WorkerPool pool(1);
  StreamRegistry reg(pool, nullptr);
  StreamOptions o;
  o.source = "publisher";
  EXPECT_FALSE(reg.create("", o));
  EXPECT_FALSE(reg.create("a/b", o));
  EXPECT_FALSE(reg.create("..", o));
  EXPECT_FALSE(reg.create(std::string(129, 'x'), o));
  o.source = "http://x";
  auto r = reg.create("ok", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("source must be"), std::string::npos);
  o.source = "exec:   ";
  EXPECT_FALSE(reg.create("ok", o));
  o.source = "rtsp://";
  EXPECT_FALSE(reg.create("ok", o));
}

}  // namespace
}  // namespace sg::media

namespace sg::media {
namespace {

TEST_F(StreamTest, KeyframeRequestWithoutAHandlerIsUnsupported) {
  auto s = make_stream(8);
  EXPECT_EQ(s->request_keyframe(), KeyframeRequest::Unsupported);
  auto c = s->stats().keyframe_requests;
  EXPECT_EQ(c.unsupported, 1u);
  EXPECT_EQ(c.sent, 0u);
}

TEST_F(StreamTest, KeyframeRequestsAreRateLimitedToOnePerIntervalPerStream) {
  auto s = make_stream(8);
  int calls = 0;
  s->set_keyframe_handler([&] { ++calls; });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s->request_keyframe(t0), KeyframeRequest::Sent);
  for (int i = 1; i < 20; ++i)
    EXPECT_EQ(s->request_keyframe(t0 + std::chrono::milliseconds(i * 45)), KeyframeRequest::RateLimited);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s->request_keyframe(t0 + Stream::kKeyframeRequestInterval), KeyframeRequest::Sent);
  EXPECT_EQ(calls, 2);
  auto c = s->stats().keyframe_requests;
  EXPECT_EQ(c.sent, 2u);
  EXPECT_EQ(c.rate_limited, 19u);
  EXPECT_EQ(c.unsupported, 0u);
}

TEST_F(StreamTest, AReaderWithoutACachedKeyframeAsksTheSourceForOne) {
  auto s = make_stream(8);
  int calls = 0;
  s->set_keyframe_handler([&] { ++calls; });
  attach(s, 0);  // not ready yet: nothing to ask
  EXPECT_EQ(calls, 0);
  s->set_state(StreamState::Ready);
  attach(s, 0);  // ready, no keyframe cached
  EXPECT_EQ(calls, 1);
  s->publish(make_unit(true, true));
  drain(pool, 0);
  attach(s, 1);  // the GOP cache serves this one
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s->stats().keyframe_requests.sent, 1u);
}

TEST_F(StreamTest, ClearingAnOlderKeyframeHandlerKeepsTheNewerOne) {
  auto s = make_stream(8);
  int first = 0, second = 0;
  auto id1 = s->set_keyframe_handler([&] { ++first; });
  auto id2 = s->set_keyframe_handler([&] { ++second; });
  s->clear_keyframe_handler(id1);  // the old connection ends after the new one registered
  EXPECT_EQ(s->request_keyframe(), KeyframeRequest::Sent);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  s->clear_keyframe_handler(id2);
  EXPECT_EQ(s->request_keyframe(std::chrono::steady_clock::now() + std::chrono::seconds(5)),
            KeyframeRequest::Unsupported);
}

TEST_F(StreamTest, KeyframeHandlerMayRequestAgainWithoutDeadlock) {
  // The handler runs with no lock held: a handler that touches the stream (stats, another request) must not hang.
  auto s = make_stream(8);
  KeyframeRequest inner = KeyframeRequest::Sent;
  s->set_keyframe_handler([&] { inner = s->request_keyframe(); });
  EXPECT_EQ(s->request_keyframe(), KeyframeRequest::Sent);
  EXPECT_EQ(inner, KeyframeRequest::RateLimited);
}

TEST_F(StreamTest, StoppingTheStreamDropsTheKeyframeHandler) {
  auto s = make_stream(8);
  s->set_keyframe_handler([] {});
  s->stop();
  EXPECT_EQ(s->request_keyframe(), KeyframeRequest::Unsupported);
}

// A sink that records which reader took each unit, in the order of the fan-out pass.
struct RecordingSink : UnitSink {
  RecordingSink(std::vector<std::pair<uint64_t, int>>& log, int id) : log(log), id(id) {}
  bool take(const UnitPtr& unit) override {
    if (!accept) return false;
    log.emplace_back(unit->seq, id);
    return true;
  }
  std::vector<std::pair<uint64_t, int>>& log;
  int id;
  bool accept = true;
};

TEST_F(StreamTest, SinkTakesUnitsInsteadOfTheQueue) {
  auto s = make_stream(8);
  s->publish(make_unit(true, true));
  auto* r = attach(s, 0);  // the cached keyframe is queued
  std::vector<std::pair<uint64_t, int>> log;
  RecordingSink sink(log, 0);
  on_worker(pool, 0, [&] { r->set_sink(&sink); return 0; });
  s->publish(make_unit(true, false));  // queue not empty: queued behind the keyframe, in order
  drain(pool, 0);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(r->queued(), 2u);
  pop_all(r, 0);
  s->publish(make_unit(true, false));  // queue empty: the sink takes it, nothing is queued
  drain(pool, 0);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].first, 3u);
  EXPECT_EQ(r->queued(), 0u);
  EXPECT_EQ(r->delivered(), 3u);
  sink.accept = false;  // a sink that cannot write now: the unit is queued as without one
  s->publish(make_unit(true, false));
  drain(pool, 0);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(r->queued(), 1u);
  on_worker(pool, 0, [&] { r->set_sink(nullptr); return 0; });
}

TEST_F(StreamTest, FanOutPassStartsAtADifferentReaderForEachUnit) {
  auto s = make_stream(8, {av_tracks()[1]});  // audio only: no keyframe wait
  std::vector<std::pair<uint64_t, int>> log;
  std::vector<std::unique_ptr<RecordingSink>> sinks;
  constexpr int kReaders = 3;
  for (int i = 0; i < kReaders; ++i) {
    auto* r = attach(s, 0);
    sinks.push_back(std::make_unique<RecordingSink>(log, i));
    on_worker(pool, 0, [&] { r->set_sink(sinks.back().get()); return 0; });
  }
  for (int u = 0; u < 6; ++u) {
    auto unit = make_unit(false, false);
    unit->track = 0;
    s->publish(unit);
  }
  drain(pool, 0);
  ASSERT_EQ(log.size(), 6u * kReaders);
  // Per unit, which reader was served first and which last: every reader is first (and last) in turn.
  std::set<int> first, last;
  for (size_t u = 0; u < 6; ++u) {
    first.insert(log[u * kReaders].second);
    last.insert(log[u * kReaders + kReaders - 1].second);
    for (size_t i = 0; i < kReaders; ++i) EXPECT_EQ(log[u * kReaders + i].first, u + 1);
  }
  EXPECT_EQ(first.size(), static_cast<size_t>(kReaders));
  EXPECT_EQ(last.size(), static_cast<size_t>(kReaders));
  for (auto& r : readers) on_worker(pool, 0, [&] { r->set_sink(nullptr); return 0; });
}

TEST_F(StreamTest, FanOutTimeIsCountedPerUnitAndWorkerWithReaders) {
  auto s = make_stream(64, {av_tracks()[1]});
  s->publish(make_unit(false, false));  // no readers: no fan-out, nothing counted
  attach(s, 0);
  attach(s, 1);
  for (int u = 0; u < 5; ++u) {
    auto unit = make_unit(false, false);
    unit->track = 0;
    s->publish(unit);
  }
  drain(pool, 0);
  drain(pool, 1);
  auto h = s->stats().fanout;
  EXPECT_EQ(h.count, 10u);  // 5 units x 2 workers
  uint64_t in_buckets = 0;
  for (auto c : h.counts) in_buckets += c;
  EXPECT_EQ(in_buckets, 10u);
  EXPECT_GT(h.sum_seconds, 0.0);
  EXPECT_LT(h.sum_seconds, 60.0);
}

TEST(FanoutHistogram, BucketsByUpperBoundInclusive) {
  EXPECT_EQ(FanoutHistogram::bucket(0), 0u);
  EXPECT_EQ(FanoutHistogram::bucket(500'000), 0u);  // 0.5 ms: le="0.0005"
  EXPECT_EQ(FanoutHistogram::bucket(500'001), 1u);
  EXPECT_EQ(FanoutHistogram::bucket(3'000'000), 3u);  // 3 ms: le="0.005"
  EXPECT_EQ(FanoutHistogram::bucket(10'000'000'000), FanoutHistogram::kBuckets - 1);  // +Inf
}

}  // namespace
}  // namespace sg::media
