#include "app/config.hpp"

#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include "app/config_env.hpp"
#include "app/log.hpp"
#include "cluster/redis_url.hpp"
#include "media/stream_registry.hpp"
#include "record/path_pattern.hpp"

namespace sg::app {

RecordSettings RecordOverrides::over(const RecordSettings& d) const {
  RecordSettings r = d;
  if (record) r.record = *record;
  if (path) r.path = *path;
  if (format) r.format = *format;
  if (segment_ms) r.segment_ms = *segment_ms;
  if (part_ms) r.part_ms = *part_ms;
  if (delete_after_ms) r.delete_after_ms = *delete_after_ms;
  return r;
}

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return make_error("bad address '" + std::string(text) + "': expected [ipv6]:port");
    e.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return make_error("bad address '" + std::string(text) + "': expected host:port");
    e.host = colon == 0 ? "0.0.0.0" : std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535 || port_text.empty())
    return make_error("bad port in address '" + std::string(text) + "'");
  e.port = static_cast<uint16_t>(port);
  return e;
}

namespace {

// Thrown inside the parser only, turned into a Result at the boundary.
struct ConfigError {
  std::string message;
};

class Parser {
 public:
  Parser(std::string file, std::vector<EnvOverride> overrides)
      : file_(std::move(file)), overrides_(std::move(overrides)) {}

  // file:line, or the environment variable that set the node (config_env.hpp).
  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    for (const auto& o : overrides_)
      if (o.node.is(at)) throw ConfigError{"environment " + o.variable + ": " + what};
    int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw ConfigError{file_ + ":" + std::to_string(line) + ": " + what};
  }

  // Rejects keys not in `allowed`, naming the key and its line.
  void check_keys(const YAML::Node& map, const std::string& where, std::initializer_list<std::string_view> allowed) {
    if (!map.IsMap()) fail(map, "'" + where + "' must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      auto key = it->first.as<std::string>();
      bool ok = false;
      for (auto a : allowed) ok |= a == key;
      if (!ok) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        // A key an override created has no line: name its variable through the value.
        fail(it->first.Mark().is_null() ? it->second : it->first, "unknown key '" + key + "'" + (where.empty() ? "" : " in '" + where + "'") +
                            " (expected one of: " + list + ")");
      }
    }
  }

  std::string string(const YAML::Node& n, const std::string& name) {
    if (!n.IsScalar()) fail(n, "'" + name + "' must be a string");
    return n.as<std::string>();
  }

  bool boolean(const YAML::Node& n, const std::string& name) {
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(n, "'" + name + "' must be true or false");
    return v;
  }

  long long integer(const YAML::Node& n, const std::string& name, long long min, long long max) {
    if (!n.IsScalar()) fail(n, "'" + name + "' must be an integer");
    const auto& s = n.Scalar();
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) fail(n, "'" + name + "' must be an integer, got '" + s + "'");
    if (v < min || v > max)
      fail(n, "'" + name + "' must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    return v;
  }

  Endpoint endpoint(const YAML::Node& n, const std::string& name) {
    auto r = parse_endpoint(string(n, name));
    if (!r) fail(n, "'" + name + "': " + r.error());
    return *r;
  }

  std::string one_of(const YAML::Node& n, const std::string& name, std::initializer_list<std::string_view> values) {
    auto v = string(n, name);
    for (auto a : values)
      if (a == v) return v;
    std::string list;
    for (auto a : values) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(n, "'" + name + "' must be one of: " + list + "; got '" + v + "'");
  }

  // "2s", "200ms", "1.5s" or a plain number of seconds -> milliseconds in [min_ms, max_ms].
  int duration_ms(const YAML::Node& n, const std::string& name, int min_ms, int max_ms) {
    auto s = string(n, name);
    std::string_view v = s;
    double scale = 1000;
    if (v.ends_with("ms")) {
      scale = 1;
      v.remove_suffix(2);
    } else if (v.ends_with("s")) {
      v.remove_suffix(1);
    }
    double x = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
      fail(n, "'" + name + "' must be a duration like 2s or 200ms, got '" + s + "'");
    double ms = x * scale;
    if (!(ms >= min_ms && ms <= max_ms))
      fail(n, "'" + name + "' must be between " + std::to_string(min_ms) + "ms and " + std::to_string(max_ms) +
                  "ms, got '" + s + "'");
    return static_cast<int>(ms);
  }

  // "500ms", "10s", "30m", "1h", "7d" or a plain number of seconds -> milliseconds in [min_ms, max_ms].
  int64_t long_duration_ms(const YAML::Node& n, const std::string& name, int64_t min_ms, int64_t max_ms) {
    auto s = string(n, name);
    std::string_view v = s;
    double scale = 1000;
    for (auto [suffix, factor] : {std::pair{"ms", 1.0}, std::pair{"s", 1000.0}, std::pair{"m", 60000.0},
                                  std::pair{"h", 3600000.0}, std::pair{"d", 86400000.0}}) {
      if (v.ends_with(suffix)) {
        scale = factor;
        v.remove_suffix(std::string_view(suffix).size());
        break;
      }
    }
    double x = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
      fail(n, "'" + name + "' must be a duration like 500ms, 10s, 30m, 1h or 7d, got '" + s + "'");
    const double ms = x * scale;
    if (!(ms >= static_cast<double>(min_ms) && ms <= static_cast<double>(max_ms)))
      fail(n, "'" + name + "' must be between " + std::to_string(min_ms) + "ms and " + std::to_string(max_ms) +
                  "ms, got '" + s + "'");
    return static_cast<int64_t>(ms);
  }

  // The record* keys of a stream entry or of stream_defaults.
  RecordOverrides record_keys(const YAML::Node& n, const std::string& where) {
    RecordOverrides o;
    if (n["record"]) o.record = boolean(n["record"], where + ".record");
    if (n["record_path"]) {
      o.path = string(n["record_path"], where + ".record_path");
      if (auto ok = record::check_record_path(*o.path); !ok) fail(n["record_path"], "'" + where + ".record_path': " + ok.error());
    }
    if (n["record_format"]) o.format = one_of(n["record_format"], where + ".record_format", {"fmp4", "mpegts"});
    if (n["record_segment"]) o.segment_ms = long_duration_ms(n["record_segment"], where + ".record_segment", 1000, 86400000);
    if (n["record_part"]) o.part_ms = long_duration_ms(n["record_part"], where + ".record_part", 100, 60000);
    if (n["record_delete_after"])
      o.delete_after_ms = long_duration_ms(n["record_delete_after"], where + ".record_delete_after", 0, 100LL * 365 * 86400000);
    if (o.part_ms && o.segment_ms && *o.part_ms > *o.segment_ms)
      fail(n, "'" + where + ".record_part' must not exceed '" + where + ".record_segment'");
    return o;
  }

  Credentials credentials(const YAML::Node& n, const std::string& name) {
    check_keys(n, name, {"user", "pass"});
    Credentials c;
    if (n["user"]) c.user = string(n["user"], name + ".user");
    if (n["pass"]) c.pass = string(n["pass"], name + ".pass");
    if (c.user.empty()) fail(n, "'" + name + "' needs a non-empty 'user'");
    return c;
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& name) {
    if (!n.IsSequence()) fail(n, "'" + name + "' must be a list");
    std::vector<std::string> out;
    for (const auto& x : n) out.push_back(string(x, name));
    return out;
  }

  auth::Permission permission(const YAML::Node& n, const std::string& name) {
    std::string action, path;
    if (n.IsScalar()) {
      action = n.Scalar();
    } else {
      check_keys(n, name, {"action", "path"});
      if (!n["action"]) fail(n, "'" + name + "' needs an 'action'");
      action = string(n["action"], name + ".action");
      if (n["path"]) path = string(n["path"], name + ".path");
    }
    auto p = auth::Permission::make(action, path);
    if (!p) fail(n, "'" + name + "': " + p.error());
    return std::move(*p);
  }

  std::vector<auth::UserEntry> users(const YAML::Node& n) {
    if (!n.IsSequence()) fail(n, "'auth.internal_users' must be a list of users");
    std::vector<auth::UserEntry> out;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node u = n[i];
      std::string where = "auth.internal_users[" + std::to_string(i) + "]";
      check_keys(u, where, {"user", "pass", "ips", "permissions"});
      auth::UserEntry e;
      if (!u["user"]) fail(u, "'" + where + "' needs a 'user' (\"any\" for anyone)");
      e.user = string(u["user"], where + ".user");
      if (e.user.empty()) fail(u["user"], "'" + where + ".user' must not be empty (\"any\" for anyone)");
      if (u["pass"]) {
        auto pw = auth::StoredPassword::make(string(u["pass"], where + ".pass"));
        if (!pw) fail(u["pass"], "'" + where + ".pass': " + pw.error());
        e.pass = std::move(*pw);
      }
      if (auto ips = u["ips"]) {
        for (const auto& text : string_list(ips, where + ".ips")) {
          auto r = auth::IpRange::parse(text);
          if (!r) fail(ips, "'" + where + ".ips': " + r.error());
          e.ips.push_back(*r);
        }
      }
      if (auto perms = u["permissions"]) {
        if (!perms.IsSequence()) fail(perms, "'" + where + ".permissions' must be a list");
        for (size_t j = 0; j < perms.size(); ++j)
          e.permissions.push_back(permission(perms[j], where + ".permissions[" + std::to_string(j) + "]"));
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  void auth_section(const YAML::Node& a, auth_session::AuthOptions& o) {
    check_keys(a, "auth", {"method", "internal_users", "http_address", "http_timeout", "http_cache", "jwt_jwks",
                           "jwt_claim_key", "jwt_refresh", "max_failures", "block_time"});
    if (a["method"]) o.method = one_of(a["method"], "auth.method", {"internal", "http", "jwt"});
    if (a["internal_users"]) o.users = users(a["internal_users"]);
    if (a["http_address"]) o.http_address = string(a["http_address"], "auth.http_address");
    if (a["http_timeout"]) o.http_timeout = std::chrono::milliseconds(duration_ms(a["http_timeout"], "auth.http_timeout", 100, 60000));
    if (a["http_cache"]) o.http_cache = std::chrono::milliseconds(duration_ms(a["http_cache"], "auth.http_cache", 0, 3600000));
    if (a["jwt_jwks"]) o.jwt_jwks = string(a["jwt_jwks"], "auth.jwt_jwks");
    if (a["jwt_claim_key"]) o.jwt_claim_key = string(a["jwt_claim_key"], "auth.jwt_claim_key");
    if (a["jwt_refresh"]) o.jwt_refresh = std::chrono::milliseconds(duration_ms(a["jwt_refresh"], "auth.jwt_refresh", 1000, 86400000));
    if (a["max_failures"]) o.max_failures = static_cast<int>(integer(a["max_failures"], "auth.max_failures", 1, 1000000));
    if (a["block_time"]) o.block_time = std::chrono::seconds(duration_ms(a["block_time"], "auth.block_time", 1000, 86400000) / 1000);
    auto http_url = [&](const char* key, const std::string& v) {
      if (!v.starts_with("http://"))
        fail(a[key], std::string("'auth.") + key + "' must be an http:// URL, got '" + v + "'");
    };
    if (o.method == "http") {
      if (o.http_address.empty()) fail(a, "'auth.method: http' needs 'auth.http_address'");
      http_url("http_address", o.http_address);
    }
    if (o.method == "jwt") {
      if (o.jwt_jwks.empty()) fail(a, "'auth.method: jwt' needs 'auth.jwt_jwks'");
      http_url("jwt_jwks", o.jwt_jwks);
    }
  }

  // rtsp.publish_auth / rtsp.read_auth (older configs) become internal users: the named user replaces "anyone" for
  // that action.
  static void legacy_rtsp_users(Config& c) {
    const auto& o = c.rtsp_options;
    if (o.publish_auth.empty() && o.read_auth.empty()) return;
    auto add = [&](const Credentials& cr, std::initializer_list<std::string_view> actions) {
      auth::UserEntry e;
      e.user = cr.user;
      e.pass = *auth::StoredPassword::make(cr.pass);
      for (auto a : actions) e.permissions.push_back(*auth::Permission::make(a, ""));
      c.auth.users.push_back(std::move(e));
    };
    c.auth.users.clear();
    auth::UserEntry anyone;
    anyone.user = "any";
    if (o.publish_auth.empty()) anyone.permissions.push_back(*auth::Permission::make("publish", ""));
    if (o.read_auth.empty()) {
      anyone.permissions.push_back(*auth::Permission::make("read", ""));
      anyone.permissions.push_back(*auth::Permission::make("playback", ""));
    }
    if (!anyone.permissions.empty()) c.auth.users.push_back(std::move(anyone));
    for (auto& d : auth::default_users()) {
      bool local_api = false;
      for (const auto& p : d.permissions)
        for (auto a : p.actions) local_api |= a == auth::Action::ApiRead || a == auth::Action::Metrics;
      if (local_api) c.auth.users.push_back(std::move(d));
    }
    if (!o.publish_auth.empty()) add(o.publish_auth, {"publish"});
    if (!o.read_auth.empty()) add(o.read_auth, {"read", "playback"});
  }

  Config parse(const YAML::Node& root) {
    Config c;
    c.file = file_;
    if (root.IsNull()) return c;  // an empty file: all defaults
    check_keys(root, "",
               {"server", "workers", "log", "reader_queue", "rtsp", "rtmp", "srt", "streams", "hls", "webrtc", "api", "auth", "limits",
                "tls", "shutdown_grace", "reader_timeout", "publisher_timeout", "record_path", "stream_defaults", "cluster"});
    if (auto r = root["record_path"]) {
      c.record_path = string(r, "record_path");
      if (c.record_path.empty() || c.record_path.find("%stream") == std::string::npos)
        fail(r, "'record_path' must contain %stream");
      if (auto ok = record::check_record_path(c.record_path); !ok) fail(r, "'record_path': " + ok.error());
      c.record_defaults.path = c.record_path;
    }
    if (auto d = root["stream_defaults"]) {
      check_keys(d, "stream_defaults", {"record", "record_path", "record_format", "record_segment", "record_part",
                                        "record_delete_after"});
      c.record_defaults = record_keys(d, "stream_defaults").over(c.record_defaults);
      if (c.record_defaults.part_ms > c.record_defaults.segment_ms)
        fail(d, "'stream_defaults.record_part' must not exceed 'stream_defaults.record_segment'");
      // Playback (src/playback) looks for recordings where the default pattern puts them.
      c.record_path = c.record_defaults.path;
    }
    if (auto g = root["shutdown_grace"]) c.shutdown_grace_ms = duration_ms(g, "shutdown_grace", 0, 3600000);
    if (auto r = root["cluster"]) {
      if (!r.IsMap()) fail(r, "'cluster' must be a mapping (redis, node, advertise, lease)");
      check_keys(r, "cluster", {"redis", "node", "advertise", "lease"});
      auto& k = c.cluster;
      k.enabled = true;
      if (!r["redis"]) fail(r, "'cluster.redis' is required (redis://host:6379/0)");
      k.redis = string(r["redis"], "cluster.redis");
      if (auto u = cluster::parse_redis_url(k.redis); !u) fail(r["redis"], "'cluster.redis': " + u.error());
      if (!r["advertise"])
        fail(r, "'cluster.advertise' is required: the address the other nodes reach this node's RTSP port on");
      k.advertise = string(r["advertise"], "cluster.advertise");
      if (k.advertise.empty() || k.advertise.find_first_of(" /@?#[]") != std::string::npos)
        fail(r["advertise"], "'cluster.advertise' must be a host name or an IP address");
      if (r["node"]) {
        k.node = string(r["node"], "cluster.node");
        if (!media::valid_stream_id(k.node))
          fail(r["node"], "'cluster.node' must be 1..128 characters of A-Z a-z 0-9 . _ ~ -");
      } else {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        k.node = host;
        if (!media::valid_stream_id(k.node)) fail(r, "'cluster.node' is required: the host name '" + k.node + "' is not a valid node name");
      }
      if (r["lease"]) k.lease_ms = duration_ms(r["lease"], "cluster.lease", 1000, 60000);
    }
    if (auto a = root["api"]) {
      check_keys(a, "api", {"allow_exec", "allowed_sources"});
      if (a["allow_exec"]) c.api.allow_exec = boolean(a["allow_exec"], "api.allow_exec");
      if (a["allowed_sources"]) {
        c.api.allowed_sources = string_list(a["allowed_sources"], "api.allowed_sources");
        for (const auto& p : c.api.allowed_sources)
          if (auto perm = auth::Permission::make("read", p); !perm)
            fail(a["allowed_sources"], "'api.allowed_sources': " + perm.error());
      }
    }
    bool explicit_users = false;
    if (auto a = root["auth"]) {
      auth_section(a, c.auth);
      explicit_users = static_cast<bool>(a["internal_users"]);
    }
    if (auto t = root["tls"]) {
      check_keys(t, "tls", {"cert", "key", "reload_interval"});
      if (t["cert"]) c.tls.cert = string(t["cert"], "tls.cert");
      if (t["key"]) c.tls.key = string(t["key"], "tls.key");
      if (c.tls.cert.empty() != c.tls.key.empty()) fail(t, "'tls' needs both 'cert' and 'key' (PEM file paths)");
      if (t["reload_interval"])
        c.tls.reload_interval_ms = duration_ms(t["reload_interval"], "tls.reload_interval", 0, 86400000);
    }
    if (auto s = root["server"]) {
      check_keys(s, "server", {"http", "rtsp", "webrtc_udp", "https", "rtsps", "allowed_hosts", "cors_origins",
                               "request_timeout"});
      if (s["allowed_hosts"]) {
        c.http_policy.allowed_hosts = string_list(s["allowed_hosts"], "server.allowed_hosts");
        for (auto& h : c.http_policy.allowed_hosts)
          for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (s["cors_origins"]) c.http_policy.cors_origins = string_list(s["cors_origins"], "server.cors_origins");
      if (s["http"]) c.http = endpoint(s["http"], "server.http");
      if (s["rtsp"]) c.rtsp = endpoint(s["rtsp"], "server.rtsp");
      if (s["webrtc_udp"]) c.webrtc_udp = endpoint(s["webrtc_udp"], "server.webrtc_udp");
      for (auto [key, out] : {std::pair{"https", &c.https}, std::pair{"rtsps", &c.rtsps}}) {
        if (!s[key]) continue;
        *out = endpoint(s[key], std::string("server.") + key);
        if (!c.tls.enabled()) fail(s[key], std::string("'server.") + key + "' needs 'tls.cert' and 'tls.key'");
      }
      if (s["request_timeout"])
        c.request_timeout_ms = duration_ms(s["request_timeout"], "server.request_timeout", 500, 600000);
    }
    c.rtsp_options.request_timeout_ms = c.request_timeout_ms;
    if (auto w = root["workers"]) c.workers = static_cast<unsigned>(integer(w, "workers", 0, 256));
    if (auto l = root["log"]) {
      check_keys(l, "log", {"level", "format"});
      if (l["level"]) c.log_level = one_of(l["level"], "log.level", {"trace", "debug", "info", "warn", "error", "off"});
      if (l["format"]) c.log_format = one_of(l["format"], "log.format", {"json", "text"});
    }
    if (auto q = root["reader_queue"]) c.reader_queue = static_cast<size_t>(integer(q, "reader_queue", 8, 1 << 20));
    if (auto t = root["reader_timeout"]) c.reader_timeout_ms = duration_ms(t, "reader_timeout", 500, 3600000);
    if (auto t = root["publisher_timeout"]) c.publisher_timeout_ms = duration_ms(t, "publisher_timeout", 500, 3600000);
    c.rtsp_options.reader_timeout_ms = c.reader_timeout_ms;
    if (auto r = root["rtmp"]) {
      if (!r.IsMap() && !r.IsNull()) fail(r, "'rtmp' must be a mapping (address, enabled)");
      c.rtmp.enabled = true;
      if (r.IsMap()) {
        check_keys(r, "rtmp", {"address", "enabled"});
        if (r["address"]) c.rtmp.address = endpoint(r["address"], "rtmp.address");
        if (r["enabled"]) c.rtmp.enabled = boolean(r["enabled"], "rtmp.enabled");
      }
    }
    if (auto r = root["srt"]) {
      if (!r.IsMap() && !r.IsNull()) fail(r, "'srt' must be a mapping (address, enabled, passphrase, latency)");
      c.srt.enabled = true;
      if (r.IsMap()) {
        check_keys(r, "srt", {"address", "enabled", "passphrase", "latency"});
        if (r["address"]) c.srt.address = endpoint(r["address"], "srt.address");
        if (r["enabled"]) c.srt.enabled = boolean(r["enabled"], "srt.enabled");
        if (r["passphrase"]) {
          c.srt.passphrase = string(r["passphrase"], "srt.passphrase");
          // SRTO_PASSPHRASE: 10 to 79 characters (an empty one means no encryption).
          if (!c.srt.passphrase.empty() && (c.srt.passphrase.size() < 10 || c.srt.passphrase.size() > 79))
            fail(r["passphrase"], "'srt.passphrase' must be 10 to 79 characters long");
        }
        if (r["latency"]) c.srt.latency_ms = duration_ms(r["latency"], "srt.latency", 20, 10000);
      }
    }
    if (auto r = root["rtsp"]) {
      check_keys(r, "rtsp", {"publish_conflict", "publish_auth", "read_auth", "auth_method", "session_timeout",
                             "source_timeout", "allow_any_publish", "loss_threshold", "loss_window"});
      auto& o = c.rtsp_options;
      if (r["publish_conflict"]) o.publish_conflict = one_of(r["publish_conflict"], "rtsp.publish_conflict", {"refuse", "replace"});
      if (r["publish_auth"]) o.publish_auth = credentials(r["publish_auth"], "rtsp.publish_auth");
      if (r["read_auth"]) o.read_auth = credentials(r["read_auth"], "rtsp.read_auth");
      if (r["auth_method"]) o.auth_method = one_of(r["auth_method"], "rtsp.auth_method", {"digest", "basic"});
      if (r["session_timeout"]) o.session_timeout_s = static_cast<int>(integer(r["session_timeout"], "rtsp.session_timeout", 5, 3600));
      if (r["source_timeout"]) o.source_timeout_s = static_cast<int>(integer(r["source_timeout"], "rtsp.source_timeout", 1, 3600));
      if (r["allow_any_publish"]) o.allow_any_publish = boolean(r["allow_any_publish"], "rtsp.allow_any_publish");
      if (r["loss_threshold"])
        o.loss_threshold_percent = static_cast<int>(integer(r["loss_threshold"], "rtsp.loss_threshold", 0, 100));
      if (r["loss_window"]) o.loss_window_ms = duration_ms(r["loss_window"], "rtsp.loss_window", 1000, 600000);
    }
    if (!explicit_users) legacy_rtsp_users(c);
    if (auto h = root["hls"]) {
      check_keys(h, "hls", {"variant", "segment_duration", "part_duration", "segment_count", "directory"});
      auto& o = c.hls;
      if (h["variant"]) o.variant = one_of(h["variant"], "hls.variant", {"mpegts", "fmp4", "lowLatency"});
      if (h["segment_duration"]) o.segment_duration_ms = duration_ms(h["segment_duration"], "hls.segment_duration", 100, 60000);
      if (h["part_duration"]) o.part_duration_ms = duration_ms(h["part_duration"], "hls.part_duration", 50, 5000);
      if (h["segment_count"]) o.segment_count = static_cast<size_t>(integer(h["segment_count"], "hls.segment_count", 3, 100));
      if (h["directory"]) o.directory = string(h["directory"], "hls.directory");
      if (o.part_duration_ms > o.segment_duration_ms)
        fail(h, "'hls.part_duration' must not exceed 'hls.segment_duration'");
    }
    if (auto w = root["webrtc"]) {
      check_keys(w, "webrtc", {"additional_hosts", "interface_discovery", "consent_timeout", "max_sessions",
                               "setup_timeout", "max_pending_per_address"});
      if (w["setup_timeout"])
        c.webrtc.setup_timeout_ms = duration_ms(w["setup_timeout"], "webrtc.setup_timeout", 500, 600000);
      if (w["max_pending_per_address"])
        c.webrtc.max_pending_per_address =
            static_cast<size_t>(integer(w["max_pending_per_address"], "webrtc.max_pending_per_address", 1, 100000));
      if (w["consent_timeout"])
        c.webrtc.consent_timeout_ms = duration_ms(w["consent_timeout"], "webrtc.consent_timeout", 1000, 600000);
      if (w["max_sessions"])
        c.webrtc.max_sessions = static_cast<size_t>(integer(w["max_sessions"], "webrtc.max_sessions", 1, 100000));
      if (auto hosts = w["additional_hosts"]) {
        if (!hosts.IsSequence()) fail(hosts, "'webrtc.additional_hosts' must be a list of IP addresses");
        for (const auto& h : hosts) {
          auto ip = string(h, "webrtc.additional_hosts");
          unsigned char buf[16];
          if (::inet_pton(AF_INET, ip.c_str(), buf) != 1 && ::inet_pton(AF_INET6, ip.c_str(), buf) != 1)
            fail(h, "'webrtc.additional_hosts' entry '" + ip + "' is not an IP address");
          c.webrtc.additional_hosts.push_back(ip);
        }
      }
      if (w["interface_discovery"]) c.webrtc.interface_discovery = boolean(w["interface_discovery"], "webrtc.interface_discovery");
    }
    if (auto l = root["limits"]) {
      check_keys(l, "limits", {"max_streams", "http_connections", "http_connections_per_address", "rtsp_connections",
                               "rtsp_connections_per_address", "per_address_exempt"});
      if (l["max_streams"]) c.max_streams = static_cast<size_t>(integer(l["max_streams"], "limits.max_streams", 1, 1000000));
      auto count = [&](const char* key, size_t& out) {
        if (l[key]) out = static_cast<size_t>(integer(l[key], std::string("limits.") + key, 1, 10000000));
      };
      count("http_connections", c.limits.http_connections);
      count("http_connections_per_address", c.limits.http_connections_per_address);
      count("rtsp_connections", c.limits.rtsp_connections);
      count("rtsp_connections_per_address", c.limits.rtsp_connections_per_address);
      if (auto ex = l["per_address_exempt"]) {
        c.limits.per_address_exempt.clear();
        for (const auto& text : string_list(ex, "limits.per_address_exempt")) {
          auto r = auth::IpRange::parse(text);
          if (!r) fail(ex, "'limits.per_address_exempt': " + r.error());
          c.limits.per_address_exempt.push_back(*r);
        }
      }
    }
    if (auto streams = root["streams"]) {
      if (streams.IsNull()) return c;
      if (!streams.IsMap()) fail(streams, "'streams' must be a mapping of stream id to settings");
      std::set<std::string> seen;
      for (auto it = streams.begin(); it != streams.end(); ++it) {
        StreamConfig sc;
        sc.id = it->first.as<std::string>();
        if (auto ok = media::check_stream_id(sc.id); !ok) fail(it->first, ok.error());
        if (!seen.insert(sc.id).second) fail(it->first, "duplicate stream id '" + sc.id + "'");
        const YAML::Node v = it->second;  // a copy: it-> yields a temporary proxy
        std::string where = "streams." + sc.id;
        check_keys(v, where, {"source", "on_demand", "rtsp_transport", "record", "record_path", "record_format",
                              "record_segment", "record_part", "record_delete_after"});
        if (auto ro = record_keys(v, where); ro != RecordOverrides{}) c.stream_record[sc.id] = std::move(ro);
        if (!v["source"]) fail(v, "'" + where + "' needs a 'source'");
        sc.source = string(v["source"], where + ".source");
        if (auto s = media::validate_source(sc.source); !s) fail(v["source"], "'" + where + ".source': " + s.error());
        if (v["on_demand"]) sc.on_demand = boolean(v["on_demand"], where + ".on_demand");
        if (v["rtsp_transport"]) sc.rtsp_transport = one_of(v["rtsp_transport"], where + ".rtsp_transport", {"auto", "udp", "tcp"});
        c.streams.push_back(std::move(sc));
        if (c.streams.size() > c.max_streams)
          fail(it->first, "more streams than limits.max_streams (" + std::to_string(c.max_streams) + ")");
      }
    }
    return c;
  }

 private:
  std::string file_;
  std::vector<EnvOverride> overrides_;
};

// "section.key" (or "key" for a top-level scalar) -> the setting's YAML text, for every setting but the streams.
std::map<std::string, std::string> setting_texts(const YAML::Node& root) {
  std::map<std::string, std::string> out;
  if (!root.IsMap()) return out;
  for (auto it = root.begin(); it != root.end(); ++it) {
    auto key = it->first.as<std::string>();
    if (key == "streams") continue;
    const YAML::Node v = it->second;
    if (!v.IsMap()) {
      out[key] = YAML::Dump(v);
      continue;
    }
    for (auto c = v.begin(); c != v.end(); ++c) out[key + "." + c->first.as<std::string>()] = YAML::Dump(c->second);
  }
  return out;
}

}  // namespace

Result<Config> parse_config(std::string_view yaml, const std::string& file, const Environment& env) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    auto overrides = apply_environment(root, env, file);
    if (!overrides) return make_error(overrides.error());
    Config config = Parser(file, std::move(*overrides)).parse(root);
    // After the environment is applied, so a changed variable counts as a changed setting on reload.
    config.setting_texts = setting_texts(root);
    return config;
  } catch (const ConfigError& e) {
    return make_error(e.message);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return make_error(file + ": " + e.msg);
    return make_error(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<Config> load_config(const std::string& path, const Environment& env) {
  std::ifstream in(path);
  if (!in) return make_error(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, env);
}

}  // namespace sg::app
