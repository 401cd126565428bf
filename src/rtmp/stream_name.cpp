#include "rtmp/stream_name.hpp"

namespace sg::rtmp {

namespace {

std::pair<std::string_view, std::string_view> split_query(std::string_view s) {
  auto q = s.find('?');
  if (q == std::string_view::npos) return {s, {}};
  return {s.substr(0, q), s.substr(q + 1)};
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string decode_query_value(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size() && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
      out += static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? std::string{} : decode_query_value(pair.substr(eq + 1));
  }
  return {};
}

Result<StreamTarget> stream_target(std::string_view app, std::string_view name, std::string_view tc_url) {
  auto [app_path, app_query] = split_query(app);
  auto [name_path, name_query] = split_query(name);
  app_path = trim_slashes(app_path);
  name_path = trim_slashes(name_path);
  StreamTarget t;
  std::string_view source = name_path.empty() ? app_path : name_path;
  if (auto slash = source.rfind('/'); slash != std::string_view::npos) source = source.substr(slash + 1);
  t.path = std::string(source);
  if (t.path.empty()) return make_error("RTMP: no stream name (rtmp://host/{stream} or rtmp://host/{app}/{stream})");
  auto tc_query = split_query(tc_url).second;
  t.query = std::string(name_query);
  for (std::string_view q : {name_query, app_query, tc_query}) {
    std::string user = query_value(q, "user");
    if (user.empty()) continue;
    t.user = std::move(user);
    t.pass = query_value(q, "pass");
    t.query = std::string(q);
    break;
  }
  return t;
}

}  // namespace sg::rtmp
