#include "cluster_session/coordinator.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "app/log.hpp"
#include "base/process.hpp"
#include "base/prometheus.hpp"
#include "cluster/placement.hpp"
#include "cluster_session/redis_client.hpp"
#include "rtsp_session/client_source.hpp"

namespace sg::cluster_session {

namespace json = boost::json;
using namespace std::chrono_literals;
using cluster::Role;
using Clock = std::chrono::steady_clock;

namespace {

// Lease scripts: renew or release only a lease this node still holds (another node may hold it since it expired).
constexpr const char* kRenewScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
constexpr const char* kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

std::string node_key(const std::string& name) { return "sg:node:" + name; }
std::string lease_key(const std::string& stream) { return "sg:own:" + stream; }

std::string rtsp_url(const cluster::NodeInfo& n, const std::string& stream) {
  std::string host = n.advertise.find(':') != std::string::npos ? "[" + n.advertise + "]" : n.advertise;
  return "rtsp://" + host + ":" + std::to_string(n.rtsp_port) + "/" + stream;
}

}  // namespace

struct StreamRole {
  Role role = Role::None;
  std::string owner;  // Relay: the node relayed from; Owner: this node
  std::string url;    // Relay: rtsp://owner/stream
  bool operator==(const StreamRole&) const = default;
};

// A stream's Source in a cluster: what runs inside depends on the role. Owner: the stream's own source (`local`:
// the camera pull, exec...; nothing for a publisher stream, whose publisher feeds it). Relay: an RTSP pull from the
// owner. None: nothing (the stream waits, readers stay). The stream keeps its readers across changes.
class ClusterSource : public media::Source {
 public:
  ClusterSource(std::shared_ptr<RoleTable> table, const std::shared_ptr<media::Stream>& stream,
                media::SourceFactory local)
      : table_(std::move(table)), stream_(stream), id_(stream->id()), local_(std::move(local)) {}
  ~ClusterSource() override;

  void stop() override {
    std::unique_ptr<media::Source> old;
    {
      std::lock_guard lk(mu_);
      stopped_ = true;
      old = std::move(inner_);
    }
    if (old) old->stop();
  }

  // With the table's lock held.
  void apply(const StreamRole& role, net::WorkerPool& pool);

  bool relaying() const {
    std::lock_guard lk(mu_);
    return !stopped_ && role_.role == Role::Relay && inner_;
  }

 private:
  std::shared_ptr<RoleTable> table_;
  std::weak_ptr<media::Stream> stream_;
  const std::string id_;
  media::SourceFactory local_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  bool applied_ = false;
  StreamRole role_;
  std::unique_ptr<media::Source> inner_;
};

struct RoleTable {
  std::mutex mu;
  std::map<std::string, StreamRole, std::less<>> roles;  // what the coordinator decided, per stream
  std::map<std::string, ClusterSource*, std::less<>> sources;
  net::WorkerPool* pool = nullptr;
  std::function<void()> wake;
};

ClusterSource::~ClusterSource() {
  stop();
  std::lock_guard lk(table_->mu);
  auto it = table_->sources.find(id_);
  if (it != table_->sources.end() && it->second == this) table_->sources.erase(it);
}

void ClusterSource::apply(const StreamRole& role, net::WorkerPool& pool) {
  auto stream = stream_.lock();
  std::unique_ptr<media::Source> old;
  {
    std::lock_guard lk(mu_);
    if (stopped_ || !stream || (applied_ && role == role_)) return;
    applied_ = true;
    role_ = role;
    old = std::move(inner_);
  }
  if (old) old->stop();  // before the next one feeds the stream
  std::unique_ptr<media::Source> next;
  if (role.role == Role::Owner) {
    if (stream->options().source != "publisher" && local_) next = local_(stream);
  } else if (role.role == Role::Relay) {
    rtsp_session::ClientOptions o;
    o.url = role.url;
    o.transport = "tcp";
    o.source_timeout = 5s;
    o.request_timeout = 3s;
    o.backoff_initial = 250ms;
    o.backoff_max = 2s;
    o.loss_threshold = 0;  // TCP between nodes: loss episodes do not apply
    next = std::make_unique<rtsp_session::ClientSource>(pool.context(pool.next()), stream, std::move(o));
  } else {
    stream->set_state(media::StreamState::Connecting, "waiting for the stream's owner in the cluster");
  }
  std::lock_guard lk(mu_);
  if (stopped_ || !(role_ == role)) {
    if (next) next->stop();
    return;
  }
  inner_ = std::move(next);
}

struct Coordinator::Snapshot {
  std::vector<cluster::NodeInfo> nodes;         // live nodes as last read, this one included
  std::map<std::string, std::string> holders;  // stream -> lease holder as last read ("" = free)
};

Coordinator::Coordinator(net::WorkerPool& pool, media::StreamRegistry& registry, CoordinatorOptions options)
    : pool_(pool), registry_(registry), options_(std::move(options)), table_(std::make_shared<RoleTable>()),
      snap_(std::make_unique<Snapshot>()) {
  table_->pool = &pool_;
  table_->wake = [this] { wake(); };
}

Coordinator::~Coordinator() {
  stop();
  std::lock_guard lk(table_->mu);
  table_->wake = nullptr;
}

media::SourceFactory Coordinator::wrap(media::SourceFactory local) {
  return [table = table_, local = std::move(local)](const std::shared_ptr<media::Stream>& stream)
             -> std::unique_ptr<media::Source> {
    auto source = std::make_unique<ClusterSource>(table, stream, local);
    std::lock_guard lk(table->mu);
    table->sources[stream->id()] = source.get();
    auto it = table->roles.find(stream->id());
    source->apply(it != table->roles.end() ? it->second : StreamRole{}, *table->pool);
    // A first reader: decide now rather than at the next heartbeat. (Under the lock: the coordinator clears `wake`
    // under it before it goes away.)
    if (table->wake) table->wake();
    return source;
  };
}

bool Coordinator::may_publish(const std::string& stream) const {
  std::string holder;
  bool first_refusal = false;
  {
    std::lock_guard lk(snap_mu_);
    if (auto it = snap_->holders.find(stream); it != snap_->holders.end()) holder = it->second;
    if (holder.empty() || holder == options_.node) {
      refusing_.erase(stream);
      return true;
    }
    // Logged once per episode (a publisher retrying every second must not flood the log): again only after a
    // publisher was let in, or when the owner changed. Keys are streams the snapshot holds: bounded.
    auto& logged = refusing_[stream];
    first_refusal = logged != holder;
    logged = holder;
  }
  publishers_refused_.fetch_add(1, std::memory_order_relaxed);
  if (first_refusal)
    log::warn("publisher refused: the stream is owned by another cluster node (logged once until one is let in)",
              {{"stream", stream}, {"owner", holder}});
  return false;
}

void Coordinator::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sg-cluster");
    run();
  });
}

void Coordinator::stop() {
  {
    std::lock_guard lk(wait_mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wait_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Coordinator::wake() {
  {
    std::lock_guard lk(wait_mu_);
    woken_ = true;
  }
  wait_cv_.notify_all();
}

bool Coordinator::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lk(wait_mu_);
  wait_cv_.wait_for(lk, d, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void Coordinator::set_redis_down(const std::string& error) {
  const uint64_t errors = redis_errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  // Once per outage, and once when Redis cannot be reached from the start.
  if (redis_up_.exchange(false) || (!ever_connected_ && errors == 1))
    log::error("cluster: Redis unreachable; serving on with the roles this node has, retrying",
               {{"redis", options_.redis_text}, {"error", error}});
}

void Coordinator::run() {
  const auto tick = std::max<std::chrono::milliseconds>(100ms, options_.lease / 5);
  // Reconnect backoff: 0.5 s doubling up to the lease (1 s .. 5 s), so that a node notices Redis is back within
  // about one lease.
  const auto max_backoff = std::clamp<std::chrono::milliseconds>(options_.lease, 1s, 5s);
  auto backoff = 500ms;
  while (true) {
    {
      std::lock_guard lk(wait_mu_);
      if (stopping_) break;
    }
    if (!redis_) {
      auto c = RedisClient::connect(options_.redis, std::max<std::chrono::milliseconds>(500ms, options_.lease / 2));
      if (!c) {
        set_redis_down(c.error());
        if (!wait_for(backoff)) break;
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
        continue;
      }
      redis_ = std::move(*c);
      reconnected_ = ever_connected_;
      ever_connected_ = true;
      connected_at_ = Clock::now();
      backoff = 500ms;
      redis_up_ = true;
      log::info(reconnected_ ? "cluster: Redis reachable again, reconciling" : "cluster: joined",
                {{"redis", options_.redis_text}, {"node", options_.node}, {"advertise", options_.advertise}});
    }
    if (auto s = heartbeat(); !s) {
      redis_.reset();
      set_redis_down(s.error());
      continue;
    }
    if (!wait_for(tick)) break;
  }
  if (!redis_) return;
  // A clean stop hands this node's streams over at once instead of after the lease.
  std::vector<Command> cmds;
  {
    std::lock_guard lk(table_->mu);
    for (const auto& [id, r] : table_->roles)
      if (r.role == Role::Owner) cmds.push_back({"EVAL", kReleaseScript, "1", lease_key(id), options_.node});
  }
  cmds.push_back({"DEL", node_key(options_.node)});
  cmds.push_back({"SREM", "sg:nodes", options_.node});
  if (auto r = redis_->pipeline(cmds); r) log::info("cluster: left, leases released", {{"node", options_.node}});
  redis_.reset();
}

Status Coordinator::heartbeat() {
  const auto now = Clock::now();
  const std::string& self = options_.node;
  const std::string lease_ms = std::to_string(options_.lease.count());

  std::vector<Command> cmds;
  {
    std::lock_guard lk(wait_mu_);
    for (auto& [id, text] : pending_) {
      if (text.empty()) {
        cmds.push_back({"HDEL", "sg:streams", id});
        from_redis_.erase(id);
      } else {
        cmds.push_back({"HSET", "sg:streams", id, text});
        from_redis_.insert(id);
      }
    }
    pending_.clear();
  }

  // 1. Heartbeat, node list, API streams.
  auto streams = registry_.list();
  cluster::NodeInfo me;
  me.name = self;
  me.advertise = options_.advertise;
  me.rtsp_port = options_.rtsp_port ? options_.rtsp_port() : 0;
  me.http_port = options_.http_port ? options_.http_port() : 0;
  {
    std::lock_guard lk(table_->mu);
    for (const auto& [id, r] : table_->roles)
      if (r.role == Role::Owner) me.owned.push_back(id);
    for (const auto& [id, s] : table_->sources)
      if (s->relaying()) me.relays.push_back(id);
  }
  for (const auto& s : streams) me.readers += s->readers();
  const double cpu = process_cpu_seconds();
  if (last_cpu_at_ != Clock::time_point{}) {
    double wall = std::chrono::duration<double>(now - last_cpu_at_).count();
    if (wall > 0) me.load = (cpu - last_cpu_) / wall;
  }
  last_cpu_ = cpu;
  last_cpu_at_ = now;
  Command hset{"HSET", node_key(self)};
  for (auto& [k, v] : cluster::encode_node(me)) {
    hset.push_back(k);
    hset.push_back(v);
  }
  cmds.push_back(std::move(hset));
  cmds.push_back({"PEXPIRE", node_key(self), lease_ms});
  cmds.push_back({"SADD", "sg:nodes", self});
  cmds.push_back({"SMEMBERS", "sg:nodes"});
  cmds.push_back({"HGETALL", "sg:streams"});
  auto r1 = redis_->pipeline(cmds);
  if (!r1) return Error{r1.error()};
  for (const auto& r : *r1)
    if (r.error()) return Error{"redis: " + r.str};
  const Reply& members = (*r1)[r1->size() - 2];
  const Reply& api_streams = r1->back();

  // 2. Live nodes.
  std::vector<std::string> names;
  cmds.clear();
  for (const auto& m : members.elements) {
    if (m.type != Reply::Type::String) continue;
    names.push_back(m.str);
    cmds.push_back({"HGETALL", node_key(m.str)});
  }
  auto r2 = redis_->pipeline(cmds);
  if (!r2) return Error{r2.error()};
  std::vector<cluster::NodeInfo> nodes;
  std::vector<std::string> live, dead;
  for (size_t i = 0; i < names.size(); ++i) {
    const Reply& h = (*r2)[i];
    if (h.type != Reply::Type::Array || h.elements.empty()) {
      dead.push_back(names[i]);  // its heartbeat expired
      continue;
    }
    cluster::Fields fields;
    for (size_t k = 0; k + 1 < h.elements.size(); k += 2) fields.emplace_back(h.elements[k].str, h.elements[k + 1].str);
    auto n = cluster::decode_node(names[i], fields);
    if (!n) {
      log::debug("cluster: ignoring a malformed node record", {{"error", n.error()}});
      continue;
    }
    live.push_back(n->name);
    nodes.push_back(std::move(*n));
  }

  // 3. Streams created through any node's API.
  std::map<std::string, std::string> api_map;
  for (size_t k = 0; k + 1 < api_streams.elements.size(); k += 2)
    api_map[api_streams.elements[k].str] = api_streams.elements[k + 1].str;
  for (const auto& [id, text] : api_map) {
    if (registry_.find(id)) continue;
    media::StreamOptions o;
    o.reader_queue = options_.reader_queue;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object() || !v.as_object().contains("source") || !v.at("source").is_string()) {
      log::debug("cluster: ignoring a malformed stream record", {{"stream", id}});
      continue;
    }
    o.source = std::string(v.at("source").as_string());
    if (auto od = v.as_object().if_contains("on_demand"); od && od->is_bool()) o.on_demand = od->as_bool();
    if (auto tr = v.as_object().if_contains("rtsp_transport"); tr && tr->is_string())
      o.rtsp_transport = std::string(tr->as_string());
    if (options_.admit) {
      if (auto ok = options_.admit(o); !ok) {
        if (from_redis_.insert(id).second)  // logged once per stream
          log::warn("cluster: not serving a stream another node created", {{"stream", id}, {"error", ok.error()}});
        continue;
      }
    }
    if (auto created = registry_.create(id, std::move(o)); created) {
      from_redis_.insert(id);
      log::info("cluster: stream created from the cluster", {{"stream", id}});
    }
  }
  for (auto it = from_redis_.begin(); it != from_redis_.end();) {
    if (api_map.contains(*it)) {
      ++it;
      continue;
    }
    if (registry_.remove(*it)) log::info("cluster: stream deleted in the cluster", {{"stream", *it}});
    it = from_redis_.erase(it);
  }

  // 4. Streams published on other nodes: a local stream so that readers here find them.
  for (const auto& n : nodes) {
    if (n.name == self) continue;
    for (const auto& id : n.owned) {
      if (registry_.find(id) || !media::valid_stream_id(id)) continue;
      media::StreamOptions o;
      o.source = "publisher";
      o.reader_queue = options_.reader_queue;
      if (registry_.create(id, std::move(o))) mirrors_.insert(id);
    }
  }

  // 5. Leases.
  streams = registry_.list();
  cmds.clear();
  for (const auto& s : streams) cmds.push_back({"GET", lease_key(s->id())});
  for (const auto& d : dead) cmds.push_back({"SREM", "sg:nodes", d});
  auto r3 = redis_->pipeline(cmds);
  if (!r3) return Error{r3.error()};
  const bool settled = !reconnected_ || now - connected_at_ >= options_.lease;
  std::vector<cluster::StreamFacts> facts(streams.size());
  std::vector<cluster::Decision> decisions(streams.size());
  cmds.clear();
  std::vector<size_t> lease_of;  // command index -> stream index
  for (size_t i = 0; i < streams.size(); ++i) {
    const auto st = streams[i]->stats();
    facts[i].local_publisher = st.has_publisher;
    facts[i].ready = st.state == media::StreamState::Ready;
  }
  {
    std::lock_guard lk(table_->mu);
    for (size_t i = 0; i < streams.size(); ++i) {
      auto& f = facts[i];
      f.id = streams[i]->id();
      f.pull = streams[i]->options().source != "publisher";
      auto it = table_->roles.find(f.id);
      f.serving = it != table_->roles.end() && it->second.role == Role::Owner;
      if (it != table_->roles.end() && it->second.role == Role::Relay) f.relaying_from = it->second.owner;
      const Reply& g = (*r3)[i];
      if (g.type == Reply::Type::String) f.holder = g.str;
    }
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    decisions[i] = cluster::decide(facts[i], self, live, settled);
    const auto key = lease_key(facts[i].id);
    switch (decisions[i].lease) {
      case cluster::LeaseAction::Acquire: cmds.push_back({"SET", key, self, "NX", "PX", lease_ms}); break;
      case cluster::LeaseAction::Renew: cmds.push_back({"EVAL", kRenewScript, "1", key, self, lease_ms}); break;
      case cluster::LeaseAction::Release: cmds.push_back({"EVAL", kReleaseScript, "1", key, self}); break;
      case cluster::LeaseAction::None: continue;
    }
    lease_of.push_back(i);
  }
  auto r4 = redis_->pipeline(cmds);
  if (!r4) return Error{r4.error()};
  for (size_t c = 0; c < lease_of.size(); ++c) {
    const size_t i = lease_of[c];
    auto& d = decisions[i];
    const Reply& r = (*r4)[c];
    switch (d.lease) {
      case cluster::LeaseAction::Acquire:
        if (r.type == Reply::Type::Status) {
          leases_acquired_.fetch_add(1, std::memory_order_relaxed);
          facts[i].holder = self;
          log::info("cluster: lease taken, this node owns the stream", {{"stream", facts[i].id}, {"node", self}});
        } else {
          d = {};  // another node was first: relay from it after the next read
        }
        break;
      case cluster::LeaseAction::Renew:
        if (!(r.type == Reply::Type::Integer && r.integer == 1)) {
          leases_lost_.fetch_add(1, std::memory_order_relaxed);
          log::warn("cluster: lease lost (expired or taken), no longer the owner", {{"stream", facts[i].id}});
          facts[i].holder.clear();
          d = {};
        }
        break;
      case cluster::LeaseAction::Release:
        leases_released_.fetch_add(1, std::memory_order_relaxed);
        facts[i].holder.clear();
        log::info("cluster: lease released", {{"stream", facts[i].id}});
        break;
      case cluster::LeaseAction::None: break;
    }
  }

  // 6. Roles.
  std::map<std::string, const cluster::NodeInfo*> by_name;
  for (const auto& n : nodes) by_name[n.name] = &n;
  {
    std::lock_guard lk(table_->mu);
    std::map<std::string, StreamRole, std::less<>> next;
    for (size_t i = 0; i < streams.size(); ++i) {
      const auto& d = decisions[i];
      const auto& s = streams[i];
      StreamRole role;
      role.role = d.role;
      role.owner = d.owner;
      auto old = table_->roles.find(s->id());
      if (d.role == Role::Relay) {
        if (auto n = by_name.find(d.owner); n != by_name.end())
          role.url = rtsp_url(*n->second, s->id());
        else if (old != table_->roles.end() && old->second.role == Role::Relay && old->second.owner == d.owner)
          role = old->second;  // kept while its owner re-registers in a Redis that restarted empty (ownership.hpp)
        else
          role = {};
      }
      if (d.kick_publisher)
        log::warn("cluster: two publishers; the stream's owner is another node",
                  {{"stream", s->id()}, {"owner", d.owner}});
      const bool changed = old == table_->roles.end() || !(old->second == role);
      if (changed && (old != table_->roles.end() || role.role != Role::None))
        log::info("cluster: stream role", {{"stream", s->id()}, {"role", cluster::to_string(role.role)}, {"owner", role.owner}});
      if (changed)
        if (auto src = table_->sources.find(s->id()); src != table_->sources.end()) src->second->apply(role, pool_);
      // The owner of an always-on pull source keeps it running; everywhere else the stream runs for its readers.
      const bool pull = s->options().source != "publisher";
      s->set_on_demand(role.role == Role::Owner && pull ? s->options().on_demand : true);
      next[s->id()] = role;
    }
    table_->roles = std::move(next);
  }
  for (const auto& s : streams)
    if (!s->on_demand() && !s->started()) s->start();

  // 7. Mirrors nobody publishes any more, once unused.
  for (auto it = mirrors_.begin(); it != mirrors_.end();) {
    auto s = registry_.find(*it);
    bool owned = false;
    for (size_t i = 0; i < streams.size(); ++i)
      if (streams[i]->id() == *it) owned = !facts[i].holder.empty() || facts[i].local_publisher;
    if (!s) {
      unowned_since_.erase(*it);
      it = mirrors_.erase(it);
      continue;
    }
    if (owned || s->readers() > 0) {
      unowned_since_.erase(*it);
      ++it;
      continue;
    }
    auto [since, inserted] = unowned_since_.try_emplace(*it, now);
    if (now - since->second >= 2 * options_.lease) {
      registry_.remove(*it);
      unowned_since_.erase(*it);
      it = mirrors_.erase(it);
      continue;
    }
    ++it;
  }

  std::lock_guard lk(snap_mu_);
  snap_->nodes = std::move(nodes);
  snap_->holders.clear();
  for (const auto& f : facts) snap_->holders[f.id] = f.holder;
  return Ok{};
}

void Coordinator::stream_created(const std::string& id, const media::StreamOptions& o) {
  json::object rec{{"source", o.source}, {"on_demand", o.on_demand}, {"rtsp_transport", o.rtsp_transport}};
  {
    std::lock_guard lk(wait_mu_);
    pending_.emplace_back(id, json::serialize(rec));
  }
  wake();
}

void Coordinator::stream_deleted(const std::string& id) {
  {
    std::lock_guard lk(wait_mu_);
    pending_.emplace_back(id, std::string{});
  }
  wake();
}

void Coordinator::describe(const media::Stream& stream, json::object& out) const {
  std::string holder;
  {
    std::lock_guard lk(snap_mu_);
    if (auto it = snap_->holders.find(stream.id()); it != snap_->holders.end()) holder = it->second;
  }
  Role role = Role::None;
  {
    std::lock_guard lk(table_->mu);
    if (auto it = table_->roles.find(stream.id()); it != table_->roles.end()) role = it->second.role;
  }
  out["owner"] = holder;
  out["cluster_role"] = cluster::to_string(role);
}

boost::json::object Coordinator::readiness() const {
  return {{"node", options_.node}, {"redis", redis_up_.load() ? "up" : "down"}};
}

void Coordinator::add_routes(http::Router& router) {
  router.add(boost::beast::http::verb::get, "/api/v1/cluster/nodes", http::Access::api(),
             http::sync_handler([this](const http::Request& req, const http::Params&) -> http::Response {
               std::vector<cluster::NodeInfo> nodes;
               {
                 std::lock_guard lk(snap_mu_);
                 nodes = snap_->nodes;
               }
               json::array list;
               for (const auto& n : nodes) {
                 json::array owned(n.owned.begin(), n.owned.end()), relays(n.relays.begin(), n.relays.end());
                 list.push_back(json::object{{"name", n.name},
                                             {"advertise", n.advertise},
                                             {"rtsp_port", n.rtsp_port},
                                             {"http_port", n.http_port},
                                             {"owned", std::move(owned)},
                                             {"relays", std::move(relays)},
                                             {"readers", n.readers},
                                             {"load", n.load},
                                             {"self", n.name == options_.node}});
               }
               return http::json_response(boost::beast::http::status::ok,
                                          json::object{{"node", options_.node},
                                                       {"redis", redis_up_.load() ? "up" : "down"},
                                                       {"lease_ms", options_.lease.count()},
                                                       {"items", std::move(list)}},
                                          req);
             }));
}

void Coordinator::write_metrics(std::string& out) const {
  size_t nodes = 0, owned = 0, relays = 0;
  {
    std::lock_guard lk(snap_mu_);
    nodes = snap_->nodes.size();
  }
  {
    std::lock_guard lk(table_->mu);
    for (const auto& [id, r] : table_->roles) owned += r.role == Role::Owner;
    for (const auto& [id, s] : table_->sources) relays += s->relaying();
  }
  write_metric(out, "streamgate_cluster_redis_up", "gauge", "1 when this node reaches the cluster's Redis.",
               redis_up_.load());
  write_metric(out, "streamgate_cluster_nodes", "gauge", "Live cluster nodes as last read from Redis.", nodes);
  write_metric(out, "streamgate_cluster_owned_streams", "gauge", "Streams whose lease this node holds.", owned);
  write_metric(out, "streamgate_cluster_relays", "gauge", "Streams this node relays from their owner now.", relays);
  write_metric(out, "streamgate_cluster_redis_errors_total", "counter", "Failed Redis connections and heartbeats.",
               redis_errors_.load());
  write_metric(out, "streamgate_cluster_leases_acquired_total", "counter", "Stream leases this node took.",
               leases_acquired_.load());
  write_metric(out, "streamgate_cluster_leases_lost_total", "counter",
               "Leases this node could not renew (expired or taken).", leases_lost_.load());
  write_metric(out, "streamgate_cluster_leases_released_total", "counter", "Leases this node handed back.",
               leases_released_.load());
  write_metric(out, "streamgate_cluster_publishers_refused_total", "counter",
               "Publishers refused because another node owns the stream.", publishers_refused_.load());
}

}  // namespace sg::cluster_session
