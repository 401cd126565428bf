#pragma once
// A blocking Redis connection (hiredis' synchronous API) for the cluster thread, never a worker: every call waits
// at most the timeout given to connect(). Commands go out as argument vectors (no string formatting), several at
// once in one round trip (pipeline()).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "cluster/redis_url.hpp"

struct redisContext;

namespace sg::cluster_session {

struct Reply {
  enum class Type { Nil, Integer, String, Array, Status, Error };
  Type type = Type::Nil;
  long long integer = 0;
  std::string str;  // String, Status, Error
  std::vector<Reply> elements;
  bool nil() const { return type == Type::Nil; }
  bool error() const { return type == Type::Error; }
};

using Command = std::vector<std::string>;

class RedisClient {
 public:
  // Connects, authenticates (AUTH) and selects the database; `timeout` bounds the connect and every later call.
  static Result<std::unique_ptr<RedisClient>> connect(const cluster::RedisUrl& url, std::chrono::milliseconds timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends every command, then reads every reply. An error (I/O, timeout, protocol) means the connection is no
  // longer usable; a command Redis refused is a reply of type Error, not an error here.
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands);
  Result<Reply> command(const Command& command);

 private:
  explicit RedisClient(redisContext* c) : c_(c) {}
  redisContext* c_;
};

}  // namespace sg::cluster_session
