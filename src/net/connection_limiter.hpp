#pragma once
// Limits on the open connections of one protocol (HTTP with HTTPS, RTSP with RTSPS): in all, and per client address.
// An accept loop asks admit() for each new connection; the Slot it gets back is held by the session and gives the
// place back when it goes. Addresses in `per_address_exempt` count in the total only (the machine itself by
// default: a reverse proxy in front sends every client from there).
//
// Refusals are counted (Prometheus) and logged once per episode: when the first refusal happens, and when the
// count has fallen back below 90 % of the limit (so a flood held at the limit is one episode, not one line per
// connection that closes). Thread-safe: accept loops admit, sessions on any worker release.
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/policy.hpp"

namespace sg::net {

struct ConnectionLimits {
  size_t total = 10000;
  size_t per_address = 500;
  std::vector<auth::IpRange> per_address_exempt;
};

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  enum class Refusal { None, Total, PerAddress };

  // A place taken by one connection; given back when the Slot goes (or is reset). Empty when refused.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : limiter_(std::move(o.limiter_)), address_(o.address_), counted_(o.counted_) {}
    Slot& operator=(Slot&& o) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { reset(); }
    explicit operator bool() const { return limiter_ != nullptr; }
    void reset();

   private:
    friend class ConnectionLimiter;
    std::shared_ptr<ConnectionLimiter> limiter_;
    boost::asio::ip::address address_;
    bool counted_ = false;  // in the per-address count
  };

  struct Admission {
    Slot slot;                         // set when admitted
    Refusal refusal = Refusal::None;  // why not, otherwise
  };

  // `protocol` names the limiter in logs and metrics ("http", "rtsp").
  static std::shared_ptr<ConnectionLimiter> make(std::string protocol, ConnectionLimits limits);

  Admission admit(const boost::asio::ip::address& address);

  const std::string& protocol() const { return protocol_; }
  const ConnectionLimits& limits() const { return limits_; }
  size_t open() const;
  size_t open_from(const boost::asio::ip::address& address) const;
  uint64_t refused(Refusal why) const;
  uint64_t episodes() const;

  // The metric families of every limiter given: connections open and refused, labelled by protocol.
  static void write_metrics(std::string& out, const std::vector<const ConnectionLimiter*>& limiters);

 private:
  ConnectionLimiter(std::string protocol, ConnectionLimits limits);
  void release(const boost::asio::ip::address& address, bool counted);
  bool limited(const boost::asio::ip::address& address) const;

  struct From {
    size_t open = 0;
    uint64_t refused = 0;  // in the current episode of this address
  };

  const std::string protocol_;
  const ConnectionLimits limits_;
  mutable std::mutex mu_;
  size_t open_ = 0;
  std::map<boost::asio::ip::address, From> from_;
  uint64_t total_refused_in_episode_ = 0;
  uint64_t refused_total_ = 0, refused_per_address_ = 0, episodes_ = 0;
};

}  // namespace sg::net
