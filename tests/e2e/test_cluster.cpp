// The Redis cluster end to end (tests/e2e/cluster_rig.hpp: network namespaces as hosts, a bridge, redis-server,
// the GStreamer camera and three streamgate nodes with the same `streams` and a `cluster` section): the camera is
// pulled once and every node serves it (RTSP and WebRTC); a SIGKILLed owner's stream moves to another node while
// the readers of the relays stay connected and their timestamps continue; a Redis outage keeps every stream served
// and ends with one owner; the owner sends a stream once per relay node, not once per remote reader.
// Needs root (ip netns), redis-server, python3-gi (GstRtspServer) and the bench tools (rtsp_readers,
// webrtc_viewers).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_rig.hpp"
#include "gst_peers.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr double kLeaseSeconds = 2.0;

std::string bench_tool(const std::string& name) {
  return (fs::path(SG_BINARY).parent_path() / "bench" / name).string();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The last line of a bench tool's output that is a JSON object (its --json summary); null if none.
json::value tool_json(const std::string& output) {
  json::value result = nullptr;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec) result = v;
  }
  return result;
}

std::string str_field(const json::value& v, const char* key) {
  if (!v.is_object()) return {};
  auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

double num_field(const json::value& v, const char* key) {
  if (!v.is_object()) return -1;
  auto* f = v.as_object().if_contains(key);
  return f && f->is_number() ? f->to_number<double>() : -1;
}

// The cluster's view of `cam` from node i: {owner, cluster_role} ("" when the node does not answer).
struct StreamView {
  std::string owner, role, state;
};
StreamView stream_view(ClusterRig& rig, int i) {
  auto v = rig.api_json(i, "/api/v1/streams/cam");
  return {str_field(v, "owner"), str_field(v, "cluster_role"), str_field(v, "state")};
}

// The nodes that say they own `cam` (of the running ones).
std::vector<int> owners(ClusterRig& rig) {
  std::vector<int> out;
  for (int i = 0; i < rig.nodes(); ++i)
    if (rig.node_running(i) && stream_view(rig, i).role == "owner") out.push_back(i);
  return out;
}

std::string views(ClusterRig& rig) {
  std::string out;
  for (int i = 0; i < rig.nodes(); ++i) {
    if (!rig.node_running(i)) {
      out += rig.node_name(i) + ": (killed)\n";
      continue;
    }
    auto s = stream_view(rig, i);
    out += rig.node_name(i) + ": owner=\"" + s.owner + "\" role=" + s.role + " state=" + s.state +
           " nodes=" + rig.api(i, "/api/v1/cluster/nodes").body + "\n";
  }
  return out;
}

// A raw RTSP reader of `cam` on node i's loopback, reading in its own thread until stop().
class NodeReader {
 public:
  NodeReader(ClusterRig& rig, int node) {
    reader_ = in_netns(rig.node_ns(node), [&] {
      auto r = std::make_unique<RawRtspReader>("127.0.0.1", ClusterRig::kRtspPort,
                                               "rtsp://127.0.0.1:" + std::to_string(ClusterRig::kRtspPort) + "/cam",
                                               true);
      return r;
    });
    if (!reader_) {
      error_ = "cannot enter " + rig.node_ns(node);
      return;
    }
    if (!reader_->play()) {
      error_ = reader_->error();
      return;
    }
    playing_ = true;
    thread_ = std::thread([this] {
      while (!stop_ && !reader_->eof()) {
        reader_->read_until(
            [this] {
              count_ = reader_->packets().size();
              return stop_.load();
            },
            std::chrono::milliseconds(200));
      }
    });
  }
  ~NodeReader() { stop(); }
  bool playing() const { return playing_; }
  const std::string& error() const { return error_; }
  size_t count() const { return count_; }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // After stop().
  const RawRtspReader& reader() const { return *reader_; }

 private:
  std::unique_ptr<RawRtspReader> reader_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> count_{0};
  bool playing_ = false;
  std::string error_;
};

uint16_t rtp_seq(const ByteVector& d) {
  return static_cast<uint16_t>(std::to_integer<unsigned>(d[2]) << 8 | std::to_integer<unsigned>(d[3]));
}
uint32_t rtp_u32(const ByteVector& d, size_t at) {
  return std::to_integer<uint32_t>(d[at]) << 24 | std::to_integer<uint32_t>(d[at + 1]) << 16 |
         std::to_integer<uint32_t>(d[at + 2]) << 8 | std::to_integer<uint32_t>(d[at + 3]);
}

// The video (track 0, 90 kHz) RTP packets of a reader, and what they say about continuity.
struct VideoTrace {
  size_t packets = 0;
  double max_gap_ms = 0;           // largest arrival gap between consecutive packets (from `from` on)
  Clock::time_point gap_start{};   // arrival of the packet before it
  double gap_rtp_ms = 0;           // RTP timestamp advance across that gap, in ms
  int gap_seq_step = 0;            // sequence number step across it
  int backwards = 0;               // consecutive packets whose timestamp went back
  int seq_breaks = 0;              // steps other than +1, the gap's included
  std::set<uint32_t> ssrcs;
  double drift_ms = 0;             // (RTP time - arrival time) of the last packet minus that a second in
  double last_arrival_after_ms = 0;  // last packet's arrival, ms after `from`
  // The largest jump of (RTP time - arrival time) between consecutive packets other than across the gap, and when
  // (ms after `from`; negative: before it).
  double other_jump_ms = 0, other_jump_at_ms = 0;
};

VideoTrace trace_video(const std::vector<RawPacket>& packets, Clock::time_point from) {
  VideoTrace t;
  const RawPacket* prev = nullptr;
  const RawPacket* first = nullptr;
  const RawPacket* steady = nullptr;
  for (const auto& p : packets) {
    if (p.track != 0 || p.rtcp || p.data.size() < 12) continue;
    ++t.packets;
    t.ssrcs.insert(rtp_u32(p.data, 8));
    if (!first) first = &p;
    // The reference for the drift: the first packet a second after the first (past a GOP replayed at PLAY).
    if (!steady && ms_between(first->arrival, p.arrival) >= 1000) steady = &p;
    if (prev) {
      const auto dts = static_cast<int32_t>(rtp_u32(p.data, 4) - rtp_u32(prev->data, 4));
      const int step = static_cast<uint16_t>(rtp_seq(p.data) - rtp_seq(prev->data));
      if (dts < 0) ++t.backwards;
      if (step != 1) ++t.seq_breaks;
      const double gap = ms_between(prev->arrival, p.arrival);
      const double jump = dts / 90.0 - gap;
      if (std::abs(jump) > std::abs(t.other_jump_ms) && ms_between(first->arrival, prev->arrival) > 1000) {
        t.other_jump_ms = jump;
        t.other_jump_at_ms = ms_between(from, p.arrival);
      }
      if (p.arrival >= from && gap > t.max_gap_ms) {
        t.max_gap_ms = gap;
        t.gap_start = prev->arrival;
        t.gap_rtp_ms = dts / 90.0;
        t.gap_seq_step = step;
      }
    }
    prev = &p;
  }
  if (steady && prev) {
    const double rtp = static_cast<int32_t>(rtp_u32(prev->data, 4) - rtp_u32(steady->data, 4)) / 90.0;
    t.drift_ms = rtp - ms_between(steady->arrival, prev->arrival);
  }
  if (prev) t.last_arrival_after_ms = ms_between(from, prev->arrival);
  return t;
}

class ClusterE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces (ip netns)";
    if (!have_program("ip")) GTEST_SKIP() << "iproute2 (ip) not installed";
    if (!have_program("redis-server")) GTEST_SKIP() << "redis-server not installed (apt-get install redis-server)";
    if (!have_gst_rtsp_server()) GTEST_SKIP() << "GStreamer RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0) missing";
  }
  void TearDown() override {
    if (!rig_) return;
    if (HasFailure()) std::printf("%s\n", rig_->logs().c_str());
    const std::string dir = rig_->log_dir();
    rig_.reset();
    // The logs stay after a failure (their directory is printed above), else they go.
    if (!HasFailure() && std::getenv("SG_KEEP_LOGS") == nullptr) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  // Starts the rig and waits until one node owns `cam` and it is ready there.
  void start(ClusterRigOptions options = {}) {
    rig_ = std::make_unique<ClusterRig>(std::move(options));
    ASSERT_TRUE(rig_->ok()) << rig_->error();
    auto r = rig_->api(0, "/api/v1/cluster/nodes");
    ASSERT_EQ(r.status, 200) << "GET /api/v1/cluster/nodes: " << r.status << " " << r.body
                             << " (no cluster support in this build?)";
    ASSERT_TRUE(wait_until(
        [&] {
          for (int i = 0; i < rig_->nodes(); ++i) {
            auto v = rig_->api_json(i, "/api/v1/cluster/nodes");
            auto* nodes = v.is_object() ? v.as_object().if_contains("items") : nullptr;
            if (!nodes || !nodes->is_array() || nodes->as_array().size() != static_cast<size_t>(rig_->nodes()))
              return false;
          }
          // One owner, ready, the same for a second (nodes joining may move the stream once, placement).
          auto o = owners(*rig_);
          if (o.size() != 1 || stream_view(*rig_, o[0]).state != "ready") return false;
          std::this_thread::sleep_for(1s);
          return owners(*rig_) == o;
        },
        20s))
        << "no single ready owner of cam with every node seeing 3 nodes\n"
        << views(*rig_);
    connects_at_start_ = rig_->camera_connects();
    std::printf("cluster up: %s", views(*rig_).c_str());
  }
  // A raw RTSP reader on each of `nodes`, playing and past its first 100 packets (a fatal failure otherwise).
  void start_readers(const std::vector<int>& nodes, std::vector<std::unique_ptr<NodeReader>>& readers) {
    auto& rig = *rig_;
    for (int i : nodes) {
      readers.push_back(std::make_unique<NodeReader>(rig, i));
      ASSERT_TRUE(readers.back()->playing()) << rig.node_name(i) << ": " << readers.back()->error();
    }
    ASSERT_TRUE(wait_until(
        [&] {
          for (auto& r : readers)
            if (r->count() < 100) return false;
          return true;
        },
        10s))
        << "the readers get no media\n"
        << views(rig);
  }
  std::unique_ptr<ClusterRig> rig_;
  int connects_at_start_ = 0;
};

TEST_F(ClusterE2e, CameraPulledOnceAndEveryNodeServesIt) {
  for (auto tool : {"rtsp_readers", "webrtc_viewers"})
    if (!fs::exists(bench_tool(tool))) GTEST_SKIP() << bench_tool(tool) << " not built";
  start();
  if (HasFatalFailure()) return;
  auto& rig = *rig_;
  constexpr int kReaders = 3;
  const std::string rtsp_url = "rtsp://127.0.0.1:" + std::to_string(ClusterRig::kRtspPort) + "/cam";
  std::vector<std::unique_ptr<Child>> readers, viewers;
  for (int i = 0; i < rig.nodes(); ++i) {
    // WHEP to the node's address (its ICE candidate), so the viewer's UDP socket is not bound to loopback.
    const std::string whep_url = "http://" + rig.node_ip(i) + ":" + std::to_string(ClusterRig::kHttpPort) + "/cam/whep";
    readers.push_back(std::make_unique<Child>(
        rig.in_node(i, {bench_tool("rtsp_readers"), "--url", rtsp_url, "--readers", std::to_string(kReaders),
                        "--duration", "10", "--min-packets", "100", "--timeout", "10", "--json"}),
        rig.log_dir() + "rtsp_readers_" + rig.node_name(i) + ".log"));
    viewers.push_back(std::make_unique<Child>(
        rig.in_node(i, {bench_tool("webrtc_viewers"), "--url", whep_url, "--viewers", "1", "--duration", "10",
                        "--min-ratio", "0.99", "--timeout", "10", "--json"}),
        rig.log_dir() + "webrtc_viewers_" + rig.node_name(i) + ".log"));
  }
  // While they read: the camera has one client, and every node names the same owner (owner on one, relay on two).
  int max_camera_clients = 0;
  std::optional<std::vector<StreamView>> seen;
  const auto began = Clock::now();
  while (Clock::now() < began + 11s) {
    max_camera_clients = std::max(max_camera_clients, rig.camera_clients());
    if (!seen && Clock::now() > began + 5s) {
      seen.emplace();
      for (int i = 0; i < rig.nodes(); ++i) seen->push_back(stream_view(rig, i));
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(seen);
  std::set<std::string> owner_names;
  int owner_roles = 0, relay_roles = 0;
  for (const auto& s : *seen) {
    owner_names.insert(s.owner);
    owner_roles += s.role == "owner";
    relay_roles += s.role == "relay";
  }
  EXPECT_EQ(owner_names.size(), 1u) << views(rig);
  EXPECT_FALSE(owner_names.begin()->empty()) << views(rig);
  EXPECT_EQ(owner_roles, 1) << views(rig);
  EXPECT_EQ(relay_roles, rig.nodes() - 1) << views(rig);
  const int owner = rig.node_index(*owner_names.begin());
  ASSERT_GE(owner, 0) << "owner \"" << *owner_names.begin() << "\" is no node name";
  EXPECT_EQ((*seen)[static_cast<size_t>(owner)].role, "owner");

  for (int i = 0; i < rig.nodes(); ++i) {
    auto& r = *readers[static_cast<size_t>(i)];
    auto& v = *viewers[static_cast<size_t>(i)];
    const int rc = r.wait(30s), vc = v.wait(30s);
    auto rj = tool_json(r.log()), vj = tool_json(v.log());
    ASSERT_TRUE(rj.is_object()) << rig.node_name(i) << " rtsp_readers: " << r.log();
    ASSERT_TRUE(vj.is_object()) << rig.node_name(i) << " webrtc_viewers: " << v.log();
    const double packets_min = num_field(rj.as_object().at("packets"), "min"), lost = num_field(rj, "lost");
    std::printf("%s: rtsp_readers ok=%g/%d packets.min=%g lost=%g; webrtc_viewers ok=%g packets=%g lost=%g\n",
                rig.node_name(i).c_str(), num_field(rj, "ok"), kReaders, packets_min, lost, num_field(vj, "ok"),
                num_field(vj, "packets"), num_field(vj, "lost"));
    EXPECT_EQ(rc, 0) << r.log();
    EXPECT_EQ(num_field(rj, "ok"), kReaders) << r.log();
    // Every reader got >= 99 % of the packets: all the losses together are under 1 % of the smallest reader's.
    EXPECT_GT(packets_min, 0) << r.log();
    EXPECT_LE(lost, 0.01 * packets_min) << r.log();
    EXPECT_EQ(vc, 0) << v.log();  // exit 0: the viewer got media and >= 99 % of it (--min-ratio)
    EXPECT_EQ(num_field(vj, "ok"), 1) << v.log();
  }
  EXPECT_EQ(max_camera_clients, 1) << "the camera had more than one client (or none) while every node served it";
  EXPECT_EQ(rig.camera_clients(), 1);
  EXPECT_EQ(rig.camera_connects(), connects_at_start_) << "the camera was connected to again while nodes served it";
}

TEST_F(ClusterE2e, OwnerKilledReadersStayAndMediaResumes) {
  start();
  if (HasFatalFailure()) return;
  auto& rig = *rig_;
  const int owner = owners(rig).at(0);
  std::vector<int> others;
  for (int i = 0; i < rig.nodes(); ++i)
    if (i != owner) others.push_back(i);
  std::vector<std::unique_ptr<NodeReader>> readers;
  start_readers(others, readers);
  if (HasFatalFailure()) return;
  for (int i : others) EXPECT_EQ(stream_view(rig, i).role, "relay") << views(rig);
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(rig.camera_clients(), 1);

  const auto killed_at = Clock::now();
  rig.kill_node(owner);
  // Media resumes within lease + 2 s; the readers go on for a few seconds more.
  const auto budget = std::chrono::milliseconds(static_cast<int>(kLeaseSeconds * 1000 + 2000));
  const double budget_ms = kLeaseSeconds * 1000 + 2000;
  std::vector<size_t> at_kill;
  for (auto& r : readers) at_kill.push_back(r->count());
  const bool resumed = wait_until(
      [&] {
        for (size_t k = 0; k < readers.size(); ++k)
          if (readers[k]->count() < at_kill[k] + 50) return false;
        return true;
      },
      budget + 3s);
  std::this_thread::sleep_for(3s);
  const bool one_camera_client = wait_until([&] { return rig.camera_clients() == 1; }, 3s);
  for (auto& r : readers) r->stop();
  std::printf("new owner: %s\n", views(rig).c_str());

  EXPECT_TRUE(resumed) << "media did not resume on every relay node\n" << views(rig);
  EXPECT_TRUE(one_camera_client) << "camera clients: " << rig.camera_clients();
  EXPECT_EQ(rig.camera_connects(), connects_at_start_ + 1) << "expected one new connection, by the successor";
  auto new_owners = owners(rig);
  EXPECT_EQ(new_owners.size(), 1u) << views(rig);
  std::set<std::string> named;
  for (int i : others) named.insert(stream_view(rig, i).owner);
  EXPECT_EQ(named.size(), 1u) << views(rig);
  EXPECT_NE(*named.begin(), rig.node_name(owner)) << views(rig);

  for (size_t k = 0; k < readers.size(); ++k) {
    const auto& reader = readers[k]->reader();
    const auto t = trace_video(reader.packets(), killed_at);
    const std::string who = rig.node_name(others[k]);
    std::printf("failover gap: %.0f ms (%s; RTP advance across it %.0f ms, seq step %d, %zu packets, drift %.0f ms, "
                "largest RTP-vs-arrival jump %.0f ms at %.0f ms after the kill)\n",
                t.max_gap_ms, who.c_str(), t.gap_rtp_ms, t.gap_seq_step, t.packets, t.drift_ms, t.other_jump_ms,
                t.other_jump_at_ms);
    EXPECT_FALSE(reader.eof()) << who << ": the server closed the reader's RTSP connection";
    EXPECT_LE(t.max_gap_ms, budget_ms) << who;
    EXPECT_GT(t.last_arrival_after_ms, t.max_gap_ms) << who << ": no media after the gap";
    // Timestamps continue: across the gap the RTP clock advanced as much as the wall clock, and never went back.
    EXPECT_NEAR(t.gap_rtp_ms, t.max_gap_ms, 300) << who;
    EXPECT_NEAR(t.drift_ms, 0, 300) << who << ": RTP time and arrival time drifted apart over the recording";
    EXPECT_EQ(t.backwards, 0) << who;
    // Sequence numbers continue: one SSRC, every step +1 except possibly across the gap (a small step forward).
    EXPECT_EQ(t.ssrcs.size(), 1u) << who;
    EXPECT_LE(t.seq_breaks, 1) << who;
    EXPECT_GE(t.gap_seq_step, 1) << who;
    EXPECT_LE(t.gap_seq_step, 100) << who;
  }
}

TEST_F(ClusterE2e, RedisOutageKeepsStreamsAndNoDoubleOwner) {
  start();
  if (HasFatalFailure()) return;
  auto& rig = *rig_;
  std::vector<std::unique_ptr<NodeReader>> readers;
  std::vector<int> all(static_cast<size_t>(rig.nodes()));
  for (int i = 0; i < rig.nodes(); ++i) all[static_cast<size_t>(i)] = i;
  start_readers(all, readers);
  if (HasFatalFailure()) return;
  const auto from = Clock::now();
  rig.stop_redis();
  const auto stopped_at = Clock::now();
  std::vector<bool> readyz_down(static_cast<size_t>(rig.nodes())), metric_down(static_cast<size_t>(rig.nodes()));
  std::vector<int> readyz_status(static_cast<size_t>(rig.nodes()));
  // For a failure's diagnosis: each node's bytes received for the stream (from the camera or its owner) over the
  // outage, and its worker stalls. A media gap with the bytes still coming is the fan-out's; with them stopped, it
  // is upstream (the camera, or a node that stopped reading).
  std::vector<std::string> received(static_cast<size_t>(rig.nodes()));
  while (Clock::now() < stopped_at + 10s) {
    for (int i = 0; i < rig.nodes(); ++i) {
      const auto metrics = rig.api(i, "/metrics").body;
      const auto bytes = metric_value(metrics, "streamgate_stream_bytes_received_total{stream=\"cam\"}");
      const auto stalls = metric_value(metrics, "streamgate_worker_stalls_total");
      received[static_cast<size_t>(i)] += " " + std::to_string(static_cast<int>(ms_between(stopped_at, Clock::now()))) +
                                          "ms:" + (bytes ? std::to_string(static_cast<int64_t>(*bytes / 1000)) : "?") +
                                          "kB/" + (stalls ? std::to_string(static_cast<int>(*stalls)) : "?");
      auto r = rig.api(i, "/readyz");
      readyz_status[static_cast<size_t>(i)] = r.status;
      boost::system::error_code ec;
      auto v = json::parse(r.body, ec);
      if (!ec && v.is_object() && v.as_object().if_contains("cluster") &&
          str_field(v.as_object().at("cluster"), "redis") == "down")
        readyz_down[static_cast<size_t>(i)] = true;
      if (metric_value(metrics, "streamgate_cluster_redis_up") == 0.0) metric_down[static_cast<size_t>(i)] = true;
    }
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(rig.start_redis()) << rig.error();
  const auto back_at = Clock::now();
  // Within two leases (the reconnect backoff grows to one lease, then a heartbeat): exactly one owner, the others
  // relay, everyone says up.
  const bool settled = wait_until(
      [&] {
        int owner_roles = 0, relay_roles = 0;
        std::set<std::string> named;
        for (int i = 0; i < rig.nodes(); ++i) {
          auto s = stream_view(rig, i);
          owner_roles += s.role == "owner";
          relay_roles += s.role == "relay";
          named.insert(s.owner);
          if (str_field(rig.api_json(i, "/api/v1/cluster/nodes"), "redis") != "up") return false;
        }
        return owner_roles == 1 && relay_roles == rig.nodes() - 1 && named.size() == 1;
      },
      std::chrono::milliseconds(static_cast<int>(kLeaseSeconds * 2000 + 1000)));
  const double settle_ms = ms_between(back_at, Clock::now());
  std::printf("after Redis returned: settled=%d in %.0f ms\n%s", settled, settle_ms, views(rig).c_str());
  EXPECT_TRUE(settled) << "not exactly one owner (and relays) within two leases after Redis returned\n" << views(rig);
  // And it stays so: never two owners.
  size_t most_owners = 0;
  for (auto end = Clock::now() + 3s; Clock::now() < end; std::this_thread::sleep_for(200ms))
    most_owners = std::max(most_owners, owners(rig).size());
  EXPECT_EQ(most_owners, 1u) << views(rig);
  EXPECT_TRUE(wait_until([&] { return rig.camera_clients() == 1; }, 2s)) << "camera clients: " << rig.camera_clients();
  for (auto& r : readers) r->stop();

  for (int i = 0; i < rig.nodes(); ++i) {
    const auto u = static_cast<size_t>(i);
    std::printf("%s during the outage: /readyz %d, redis down in /readyz %d, in metrics %d\n", rig.node_name(i).c_str(),
                readyz_status[u], static_cast<int>(readyz_down[u]), static_cast<int>(metric_down[u]));
    EXPECT_TRUE(readyz_down[u]) << rig.node_name(i) << ": /readyz never said cluster.redis down";
    EXPECT_TRUE(metric_down[u]) << rig.node_name(i) << ": streamgate_cluster_redis_up never 0";
    const auto t = trace_video(readers[u]->reader().packets(), from);
    std::printf("%s: largest gap %.0f ms over the outage (%zu packets)\n", rig.node_name(i).c_str(), t.max_gap_ms,
                t.packets);
    EXPECT_FALSE(readers[u]->reader().eof()) << rig.node_name(i);
    EXPECT_LE(t.max_gap_ms, 1000) << rig.node_name(i) << ": bytes received for the stream / worker stalls, by time "
                                  << "since Redis stopped:" << received[u];
    EXPECT_GT(t.last_arrival_after_ms, 12000) << rig.node_name(i) << ": media stopped";
  }
}

TEST_F(ClusterE2e, OwnerSendsOncePerRelayNodeNotPerRemoteReader) {
  if (!fs::exists(bench_tool("rtsp_readers"))) GTEST_SKIP() << bench_tool("rtsp_readers") << " not built";
  // 300 per node is the target; SG_CLUSTER_READERS sets another number (what this machine can carry).
  int readers_per_node = 300;
  if (const char* e = std::getenv("SG_CLUSTER_READERS")) readers_per_node = std::max(1, std::atoi(e));
  ClusterRigOptions options;
  options.camera_path = "h264-2m";
  options.log_level = "info";
  start(options);
  if (HasFatalFailure()) return;
  auto& rig = *rig_;
  const int owner = owners(rig).at(0);
  const std::string rtsp_url = "rtsp://127.0.0.1:" + std::to_string(ClusterRig::kRtspPort) + "/cam";
  std::vector<std::unique_ptr<Child>> readers;
  for (int i = 0; i < rig.nodes(); ++i)
    readers.push_back(std::make_unique<Child>(
        rig.in_node(i, {bench_tool("rtsp_readers"), "--url", rtsp_url, "--readers", std::to_string(readers_per_node),
                        "--duration", "12", "--ramp-ms", "2", "--min-packets", "100", "--timeout", "10", "--json"}),
        rig.log_dir() + "rtsp_readers_" + rig.node_name(i) + ".log"));
  std::this_thread::sleep_for(10s);
  auto sessions = rig.api_json(owner, "/api/v1/rtsp/sessions?stream=cam");
  ASSERT_TRUE(sessions.is_object()) << rig.api(owner, "/api/v1/rtsp/sessions").body;
  std::map<std::string, std::vector<double>> by_ip;  // remote address -> bytes_sent of each session
  for (const auto& s : sessions.as_object().at("items").as_array()) {
    if (str_field(s, "role") != "read") continue;
    auto remote = str_field(s, "remote");
    by_ip[remote.substr(0, remote.rfind(':'))].push_back(num_field(s, "bytes_sent"));
  }
  double own_total = 0;
  size_t own_count = 0;
  for (auto& [ip, bytes] : by_ip) {
    if (ip != "127.0.0.1" && ip != "::ffff:127.0.0.1") continue;
    for (double b : bytes) own_total += b;
    own_count += bytes.size();
  }
  const double per_reader = own_count ? own_total / static_cast<double>(own_count) : 0;
  std::printf("owner %s: %zu own readers, %.0f bytes sent to them (%.0f per reader)\n",
              rig.node_name(owner).c_str(), own_count, own_total, per_reader);
  int remote_sessions = 0;
  for (int i = 0; i < rig.nodes(); ++i) {
    if (i == owner) continue;
    for (const auto& [ip, bytes] : by_ip) {
      if (ip != rig.node_ip(i) && ip != "::ffff:" + rig.node_ip(i)) continue;
      for (double b : bytes) {
        ++remote_sessions;
        std::printf("relay session from %s (%s): %.0f bytes sent = %.2f x a local reader's, %.5f of all local\n",
                    rig.node_name(i).c_str(), ip.c_str(), b, per_reader ? b / per_reader : 0.0,
                    own_total ? b / own_total : 0.0);
        EXPECT_GT(b, 0.5 * per_reader) << rig.node_name(i);
        EXPECT_LT(b, 2.0 * per_reader) << rig.node_name(i) << ": more than one stream's worth to a relay node";
      }
    }
  }
  EXPECT_EQ(remote_sessions, rig.nodes() - 1) << "sessions from other nodes: " << json::serialize(sessions).substr(0, 3000);
  EXPECT_EQ(own_count, static_cast<size_t>(readers_per_node));
  EXPECT_GT(per_reader, 0);
  for (int i = 0; i < rig.nodes(); ++i) {
    auto& r = *readers[static_cast<size_t>(i)];
    r.wait(30s);
    auto j = tool_json(r.log());
    std::printf("%s: %s\n", rig.node_name(i).c_str(), json::serialize(j).substr(0, 600).c_str());
    EXPECT_EQ(num_field(j, "ok"), readers_per_node) << rig.node_name(i) << ": " << r.log().substr(0, 3000);
  }
  EXPECT_EQ(rig.camera_clients(), 1);
}

}  // namespace
}  // namespace sg::test
