#pragma once
// redis:// URLs of the cluster's Redis (config `cluster.redis`): redis://[[user]:password@]host[:port][/db].
// The port defaults to 6379 and the database to 0; user and password are percent-decoded (Redis 6 ACL users, or
// only a password for `requirepass`). rediss:// (TLS) is refused with a clear error: the server does not link
// hiredis_ssl.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::cluster {

struct RedisUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 6379;
  std::string user;      // "" = the default user
  std::string password;  // "" = no AUTH
  int db = 0;
};

Result<RedisUrl> parse_redis_url(std::string_view url);

}  // namespace sg::cluster
