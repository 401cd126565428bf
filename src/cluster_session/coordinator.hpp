#pragma once
// The cluster (config `cluster:`): nodes that share one Redis serve every stream, pull each source once, and take
// over the streams of a node that dies. See README "Cluster" for the picture and the measured failover.
//
// One thread per node, "sg-cluster", talks to Redis (hiredis, synchronous: a handful of commands per heartbeat do
// not need an event loop of their own, and nothing here ever blocks a worker). Every `lease / 5` it:
//  - writes its heartbeat: the hash sg:node:{name} (advertise address, ports, owned and relayed streams, readers,
//    load) with the lease as TTL, and its name in the set sg:nodes;
//  - reads the live nodes, the streams created through the API (hash sg:streams: id -> JSON) and each stream's lease
//    sg:own:{id} (a plain key holding the owner's name, taken with SET NX PX, renewed and released by Lua scripts
//    that check the name first);
//  - decides per stream (src/cluster/ownership.hpp) and carries it out: take, renew or release the lease, and set
//    the stream's role. The owner runs the stream's own source; other nodes get the stream through one internal
//    RTSP pull from the owner (a relay), started by their first reader and stopped after the last one (the stream
//    is on demand there).
// Every stream's Source is a ClusterSource (made by wrap()): the role decides what runs inside it, and a role change
// swaps the inside without touching the stream, so readers stay and timestamps continue (Stream::begin_source).
//
// Redis unreachable: nothing changes roles (every node keeps serving what it serves), the outage is logged once,
// shown in /readyz and metrics, and the connection is retried with backoff (0.5 s doubling to the lease, at most 5 s). When Redis is
// back -- possibly empty after a restart -- a node first takes back only the streams it serves; other free streams
// wait one lease, until every live node has written its heartbeat again.
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/node_record.hpp"
#include "cluster/ownership.hpp"
#include "cluster/redis_url.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"
#include "net/worker_pool.hpp"

namespace sg::cluster_session {

class RedisClient;
class ClusterSource;

struct CoordinatorOptions {
  cluster::RedisUrl redis;
  std::string redis_text;  // for logs, password hidden
  std::string node;
  std::string advertise;
  std::chrono::milliseconds lease{5000};
  std::function<uint16_t()> rtsp_port;  // the bound ports, asked on every heartbeat
  std::function<uint16_t()> http_port;
  size_t reader_queue = 512;  // streams created from Redis
  // Whether this node accepts a stream another node created through the API (the same rules as its own API:
  // api.allow_exec, api.allowed_sources); the error says why not.
  std::function<Status(const media::StreamOptions&)> admit;
};

// The roles' shared table: ClusterSources register here so the coordinator can reach them, and read their role
// when they start. Outlives both (shared_ptr).
struct RoleTable;

class Coordinator {
 public:
  Coordinator(net::WorkerPool& pool, media::StreamRegistry& registry, CoordinatorOptions options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // The registry's source factory: every stream gets a ClusterSource around what `local` would make.
  media::SourceFactory wrap(media::SourceFactory local);
  // StreamRegistry::set_cluster_hooks: a publisher may take `stream` unless another node holds its lease.
  bool may_publish(const std::string& stream) const;

  void start();
  // Releases this node's leases and heartbeat (a clean stop hands its streams over at once), then joins the
  // thread. Idempotent.
  void stop();

  // The REST API: GET /api/v1/cluster/nodes.
  void add_routes(http::Router& router);
  // Adds "owner" and "cluster_role" to a stream's JSON.
  void describe(const media::Stream& stream, boost::json::object& out) const;
  void write_metrics(std::string& out) const;
  // /readyz detail: {"redis": "up"|"down", "node": ...}.
  boost::json::object readiness() const;
  // A stream created or deleted through this node's API: stored in (removed from) Redis so every node has it.
  void stream_created(const std::string& id, const media::StreamOptions& options);
  void stream_deleted(const std::string& id);

  struct Snapshot;

 private:
  void run();
  Status heartbeat();
  void wake();
  void set_redis_down(const std::string& error);
  bool wait_for(std::chrono::milliseconds d);  // false: stopping

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  CoordinatorOptions options_;
  std::shared_ptr<RoleTable> table_;
  std::unique_ptr<RedisClient> redis_;  // the cluster thread only
  std::thread thread_;
  mutable std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool stopping_ = false;
  bool woken_ = false;

  // The cluster thread's own state.
  std::chrono::steady_clock::time_point connected_at_{};
  bool ever_connected_ = false;
  bool reconnected_ = false;                 // the current connection follows an outage
  std::set<std::string> from_redis_;         // streams this node created from sg:streams
  std::set<std::string> mirrors_;            // streams created here because another node's publisher feeds them
  std::map<std::string, std::chrono::steady_clock::time_point> unowned_since_;  // mirrors without an owner
  std::vector<std::pair<std::string, std::string>> pending_;  // API changes to store: id -> JSON ("" = delete)
  double last_cpu_ = 0;
  std::chrono::steady_clock::time_point last_cpu_at_{};

  std::unique_ptr<Snapshot> snap_;  // what the API shows; under snap_mu_
  mutable std::mutex snap_mu_;
  std::atomic<bool> redis_up_{false};
  std::atomic<uint64_t> redis_errors_{0}, leases_acquired_{0}, leases_lost_{0}, leases_released_{0};
  mutable std::atomic<uint64_t> publishers_refused_{0};  // counted by may_publish() (const: a query to callers)
  mutable std::map<std::string, std::string> refusing_;  // stream -> owner, refusals logged; under snap_mu_
};

}  // namespace sg::cluster_session
