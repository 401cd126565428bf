#pragma once
// A streamgate cluster on one machine, for end-to-end tests: network namespaces as hosts. A "switch" namespace holds
// a Linux bridge; one namespace each for Redis, the camera (tests/e2e/gst_rtsp_server.py) and three streamgate nodes
// is plugged into it with a veth pair. The subnet is a random /24 of 10.0.0.0/8 (.2 Redis, .3 camera, .11-.13 the
// nodes); nothing is added to the root namespace, so runs in parallel (other namespaces, other bridges) cannot
// collide even on the same subnet. The namespaces are named after this process and a counter; the destructor kills
// every child and deletes the namespaces (also after a failed assertion), and a new rig first deletes the
// namespaces of rigs whose process is gone (a run that was killed).
//
// The test process stays in the root namespace. It reaches the hosts from a thread that entered a namespace
// (setns, in_netns() below): sockets made there stay in that namespace, so a node's API is asked on the node's own
// loopback (no credentials needed) and RawRtspReader objects are made there. Programs (the bench tools) run with
// `ip netns exec`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "gst_peers.hpp"

namespace sg::test {

// Runs f() in a new thread that entered the network namespace `ns` (ip netns name) and returns its result; a
// default-constructed result when the namespace cannot be entered.
template <class F>
auto in_netns(const std::string& ns, F&& f) -> decltype(f()) {
  using R = decltype(f());
  std::optional<R> result;
  std::thread t([&] {
    int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) result.emplace(f());
  });
  t.join();
  return result ? std::move(*result) : R{};
}

inline std::string file_tail(const std::string& path, size_t bytes = 6000) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto s = ss.str();
  return s.size() > bytes ? "..." + s.substr(s.size() - bytes) : s;
}

// The value of a Prometheus sample `name` (with its labels, if any, as written) in a /metrics body; nullopt if absent.
inline std::optional<double> metric_value(const std::string& body, const std::string& name) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size() || line[name.size()] != ' ') continue;
    try {
      return std::stod(line.substr(name.size() + 1));
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

struct ClusterRigOptions {
  bool cluster = true;             // the `cluster:` section (false: three independent servers, each pulls the camera)
  std::string camera_path = "h264";  // the camera's mount the stream `cam` pulls
  std::string lease = "2s";
  std::string log_level = "debug";
  int nodes = 3;
};

class ClusterRig {
 public:
  static constexpr uint16_t kHttpPort = 8080, kRtspPort = 8554, kWebrtcPort = 8189, kRedisPort = 6379,
                            kCameraPort = 8554;

  explicit ClusterRig(ClusterRigOptions options = {}) : options_(std::move(options)) {
    static std::atomic<int> counter{0};
    const auto pid = static_cast<uint32_t>(::getpid());
    prefix_ = "sgc" + std::to_string(pid) + "x" + std::to_string(counter++) + "-";
    std::mt19937 rng(pid ^ static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    net_ = "10." + std::to_string(100 + rng() % 150) + "." + std::to_string(rng() % 256) + ".";
    dir_ = ::testing::TempDir() + prefix_ + "logs/";
    std::filesystem::create_directories(dir_);
    remove_stale();
    for (int i = 0; i < options_.nodes; ++i) node_names_.push_back("n" + std::to_string(i + 1));
    nodes_.resize(static_cast<size_t>(options_.nodes));
    if (!build_network()) return;
    if (!start_redis()) return;
    if (!start_camera()) return;
    for (int i = 0; i < options_.nodes; ++i)
      if (!start_node(i)) return;
    ok_ = true;
  }
  ~ClusterRig() {
    for (auto& n : nodes_) n.reset();
    camera_.reset();
    redis_.reset();
    for (const auto& ns : namespaces_) run({"ip", "netns", "del", ns}, 10s, "netns");
  }
  ClusterRig(const ClusterRig&) = delete;
  ClusterRig& operator=(const ClusterRig&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& log_dir() const { return dir_; }
  int nodes() const { return options_.nodes; }

  std::string redis_ip() const { return net_ + "2"; }
  std::string camera_ip() const { return net_ + "3"; }
  std::string node_ip(int i) const { return net_ + std::to_string(11 + i); }
  const std::string& node_name(int i) const { return node_names_[static_cast<size_t>(i)]; }
  std::string node_ns(int i) const { return prefix_ + node_name(i); }
  std::string redis_ns() const { return prefix_ + "redis"; }
  std::string camera_ns() const { return prefix_ + "cam"; }
  std::string node_log(int i) const { return dir_ + node_name(i) + ".log"; }
  // The index of a node by name (-1 if none).
  int node_index(const std::string& name) const {
    for (int i = 0; i < options_.nodes; ++i)
      if (node_name(i) == name) return i;
    return -1;
  }
  bool node_running(int i) { return nodes_[static_cast<size_t>(i)] && nodes_[static_cast<size_t>(i)]->running(); }

  // The streamgate binary the nodes run: this build's, or $SG_CLUSTER_BINARY (another build of the server).
  static std::string binary() {
    const char* b = std::getenv("SG_CLUSTER_BINARY");
    return b && *b ? b : SG_BINARY;
  }

  // HTTP to node i's API, on the node's own loopback.
  HttpReply api(int i, const std::string& path, const std::string& method = "GET") {
    return in_netns(node_ns(i), [&] { return http_request(kHttpPort, method, path); });
  }
  // The JSON of GET path on node i (null when it does not answer 200 with JSON).
  boost::json::value api_json(int i, const std::string& path) {
    auto r = api(i, path);
    if (r.status != 200) return nullptr;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    return ec ? boost::json::value(nullptr) : v;
  }
  std::optional<double> metric(int i, const std::string& name) { return metric_value(api(i, "/metrics").body, name); }

  // A command line run inside node i's namespace (`ip netns exec`).
  std::vector<std::string> in_node(int i, std::vector<std::string> argv) const {
    std::vector<std::string> a = {"ip", "netns", "exec", node_ns(i)};
    a.insert(a.end(), argv.begin(), argv.end());
    return a;
  }

  void kill_node(int i) {
    auto& n = nodes_[static_cast<size_t>(i)];
    if (!n) return;
    n->signal(SIGKILL);
    n->wait(5s);
  }
  bool start_node(int i) {
    const std::string config = dir_ + node_name(i) + ".yaml";
    {
      std::ofstream f(config);
      if (options_.cluster) {
        f << "cluster:\n"
          << "  redis: \"redis://" << redis_ip() << ":" << kRedisPort << "/0\"\n"
          << "  node: \"" << node_name(i) << "\"\n"
          << "  advertise: \"" << node_ip(i) << "\"\n"
          << "  lease: " << options_.lease << "\n";
      }
      f << "streams:\n"
        << "  cam: { source: \"rtsp://" << camera_ip() << ":" << kCameraPort << "/" << options_.camera_path
        << "\", rtsp_transport: tcp }\n";
    }
    auto& n = nodes_[static_cast<size_t>(i)];
    n.reset();
    const int restarts = restarts_[node_name(i)]++;
    n = std::make_unique<Child>(
        in_node(i, {binary(), "--config", config, "--http", "0.0.0.0:" + std::to_string(kHttpPort), "--rtsp",
                    "0.0.0.0:" + std::to_string(kRtspPort), "--webrtc-udp", "0.0.0.0:" + std::to_string(kWebrtcPort),
                    "--log-level", options_.log_level}),
        restarts == 0 ? node_log(i) : node_log(i) + "." + std::to_string(restarts));
    const bool ready = wait_until([&] { return api(i, "/readyz").status == 200 || !n->running(); }, 15s) &&
                       n->running();
    if (!ready) error_ = node_name(i) + " not ready: " + file_tail(node_log(i));
    return ready;
  }

  // Redis: SIGKILL (it comes back empty: no persistence).
  void stop_redis() {
    if (redis_) redis_->signal(SIGKILL);
    if (redis_) redis_->wait(5s);
    redis_.reset();
  }
  bool start_redis() {
    redis_.reset();
    const int n = redis_starts_++;
    redis_ = std::make_unique<Child>(
        std::vector<std::string>{"ip", "netns", "exec", redis_ns(), "redis-server", "--bind", redis_ip(), "--port",
                                 std::to_string(kRedisPort), "--save", "", "--appendonly", "no", "--protected-mode",
                                 "no", "--dir", dir_},
        dir_ + "redis" + (n ? "." + std::to_string(n) : "") + ".log");
    const bool up = wait_until(
        [&] {
          return in_netns(redis_ns(), [&] { return tcp_exchange(redis_ip(), kRedisPort, "PING\r\n"); }).find("PONG") !=
                 std::string::npos;
        },
        10s);
    if (!up) error_ = "redis-server not answering: " + file_tail(dir_ + "redis.log");
    return up;
  }

  // The number of RTSP clients connected to the camera (its last "clients N" line; 0 before any).
  int camera_clients() const {
    std::ifstream f(dir_ + "camera.log");
    int n = 0;
    for (std::string line; std::getline(f, line);)
      if (line.rfind("clients ", 0) == 0) n = std::atoi(line.c_str() + 8);
    return n;
  }
  // How many times the camera saw a client connect (its "clients N" lines going up).
  int camera_connects() const {
    std::ifstream f(dir_ + "camera.log");
    int n = 0, last = 0;
    for (std::string line; std::getline(f, line);) {
      if (line.rfind("clients ", 0) != 0) continue;
      const int v = std::atoi(line.c_str() + 8);
      if (v > last) n += v - last;
      last = v;
    }
    return n;
  }

  // Tails of every log, for a failure message.
  std::string logs(size_t bytes = 4000) const {
    std::string out = "logs in " + dir_ + "\n";
    for (int i = 0; i < options_.nodes; ++i)
      out += "---- " + node_name(i) + " (" + node_ip(i) + ") ----\n" + file_tail(node_log(i), bytes) + "\n";
    out += "---- camera ----\n" + file_tail(dir_ + "camera.log", 1500) + "\n";
    out += "---- redis ----\n" + file_tail(dir_ + "redis.log", 1500) + "\n";
    return out;
  }

 private:
  // Sends `text` to ip:port and returns what comes back within 1 s (the caller's namespace).
  static std::string tcp_exchange(const std::string& ip, uint16_t port, const std::string& text) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size())) {
      pollfd p{fd, POLLIN, 0};
      char buf[256];
      if (::poll(&p, 1, 1000) > 0) {
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) out.assign(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    return out;
  }

  bool cmd(const std::vector<std::string>& argv) {
    auto r = run(argv, 10s, "netns");
    if (r.exit_code == 0) return true;
    std::string line;
    for (auto& a : argv) line += a + " ";
    error_ = line + ": " + r.output;
    return false;
  }
  bool add_ns(const std::string& ns) {
    if (!cmd({"ip", "netns", "add", ns})) return false;
    namespaces_.push_back(ns);
    return cmd({"ip", "-n", ns, "link", "set", "lo", "up"});
  }
  // A host namespace plugged into the bridge with address net_.host.
  bool add_host(const std::string& ns, int host) {
    const std::string port = "p" + std::to_string(host);
    return add_ns(ns) &&
           cmd({"ip", "-n", sw_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns}) &&
           cmd({"ip", "-n", sw_, "link", "set", port, "master", "br0"}) &&
           cmd({"ip", "-n", sw_, "link", "set", port, "up"}) &&
           cmd({"ip", "-n", ns, "addr", "add", net_ + std::to_string(host) + "/24", "dev", "eth0"}) &&
           cmd({"ip", "-n", ns, "link", "set", "eth0", "up"});
  }
  bool build_network() {
    sw_ = prefix_ + "sw";
    if (!add_ns(sw_) || !cmd({"ip", "-n", sw_, "link", "add", "br0", "type", "bridge"}) ||
        !cmd({"ip", "-n", sw_, "link", "set", "br0", "up"}))
      return false;
    if (!add_host(redis_ns(), 2) || !add_host(camera_ns(), 3)) return false;
    for (int i = 0; i < options_.nodes; ++i)
      if (!add_host(node_ns(i), 11 + i)) return false;
    return true;
  }
  bool start_camera() {
    camera_ = std::make_unique<Child>(
        std::vector<std::string>{"ip", "netns", "exec", camera_ns(), "env", "GST_RTSP_ADDRESS=" + camera_ip(),
                                 "/usr/bin/python3", kGstCameraScript,
                                 std::to_string(kCameraPort)},
        dir_ + "camera.log");
    const bool up = wait_until([&] { return file_tail(dir_ + "camera.log").find("ready") != std::string::npos; }, 15s);
    if (!up) error_ = "camera not ready: " + file_tail(dir_ + "camera.log");
    return up;
  }
  // Namespaces of earlier rigs whose process is gone.
  static void remove_stale() {
    auto r = run({"ip", "netns", "list"}, 10s, "netns");
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
      auto name = line.substr(0, line.find(' '));
      if (name.rfind("sgc", 0) != 0) continue;
      auto x = name.find('x');
      if (x == std::string::npos) continue;
      const std::string pid = name.substr(3, x - 3);
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!std::filesystem::exists("/proc/" + pid)) run({"ip", "netns", "del", name}, 10s, "netns");
    }
  }

  ClusterRigOptions options_;
  std::string prefix_, net_, dir_, sw_, error_;
  std::vector<std::string> node_names_, namespaces_;
  std::vector<std::unique_ptr<Child>> nodes_;
  std::unique_ptr<Child> redis_, camera_;
  std::map<std::string, int> restarts_;
  int redis_starts_ = 0;
  bool ok_ = false;
};

}  // namespace sg::test
