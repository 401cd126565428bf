#include "cluster/redis_url.hpp"

#include <cctype>
#include <charconv>

#include "base/uri.hpp"

namespace sg::cluster {

Result<RedisUrl> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.size() >= 9 && (url.substr(0, 9) == "rediss://" || url.substr(0, 9) == "REDISS://"))
    return Error{"redis URL: rediss:// (TLS) is not supported; use redis:// on a private network"};
  if (url.size() < kScheme.size()) return Error{"redis URL must start with redis://"};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(url[i]))) != kScheme[i])
      return Error{"redis URL must start with redis://"};
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view{};
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = info.find(':');
    if (colon == std::string_view::npos) return Error{"redis URL: user info must be [user]:password"};
    auto user = percent_decode(info.substr(0, colon));
    auto pass = percent_decode(info.substr(colon + 1));
    if (!user || !pass) return Error{"redis URL has a bad percent escape in its user info"};
    if (pass->empty()) return Error{"redis URL has an empty password"};
    out.user = std::move(*user);
    out.password = std::move(*pass);
  }
  if (authority.empty()) return Error{"redis URL has no host"};
  auto hp = parse_host_port(authority, "redis URL");
  if (!hp) return Error{hp.error()};
  if (hp->host.empty()) return Error{"redis URL has no host"};
  for (char c : hp->host)
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f)
      return Error{"redis URL has a bad host"};
  out.host = std::move(hp->host);
  if (hp->port) {
    if (*hp->port == 0) return Error{"redis URL has a bad port"};
    out.port = *hp->port;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) {
    int db = -1;
    auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc{} || p != path.data() + path.size() || db < 0 || db > 15)
      return Error{"redis URL: the path must be a database number 0..15"};
    out.db = db;
  }
  return out;
}

}  // namespace sg::cluster
