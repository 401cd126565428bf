#include "srt/stream_id.hpp"

namespace sg::srt {

namespace {

Result<StreamId> parse_access_control(std::string_view list) {
  StreamId id;
  bool have_mode = false;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return make_error("SRT stream id: bad key=value item '" + std::string(item) + "'");
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "r") {
      id.path = std::string(value);
    } else if (key == "u") {
      id.user = std::string(value);
    } else if (key == "s") {
      id.pass = std::string(value);
    } else if (key == "m") {
      if (value == "publish") {
        id.mode = Mode::Publish;
      } else if (value == "request") {
        id.mode = Mode::Read;
      } else {
        return make_error("SRT stream id: mode '" + std::string(value) + "' is not supported (publish or request)");
      }
      have_mode = true;
    } else if (key == "t") {
      if (value != "stream") return make_error("SRT stream id: type '" + std::string(value) + "' is not supported");
    }
    // h (host) and others: not used here.
  }
  (void)have_mode;
  if (id.path.empty()) return make_error("SRT stream id: no resource (r=)");
  return id;
}

}  // namespace

Result<StreamId> parse_stream_id(std::string_view text) {
  if (text.empty()) return make_error("SRT stream id: empty");
  if (text.size() > kMaxStreamIdLength) return make_error("SRT stream id: longer than 512 bytes");
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return make_error("SRT stream id: control character");
  if (text.starts_with("#!::")) return parse_access_control(text.substr(4));
  if (text.starts_with("#!")) return make_error("SRT stream id: only the '#!::' access control form is supported");

  StreamId id;
  std::string_view rest;
  if (text.starts_with("publish:")) {
    id.mode = Mode::Publish;
    rest = text.substr(8);
  } else if (text.starts_with("read:")) {
    id.mode = Mode::Read;
    rest = text.substr(5);
  } else {
    return make_error("SRT stream id: must start with 'publish:' or 'read:' (or be '#!::r=...,m=...')");
  }
  const size_t c1 = rest.find(':');
  id.path = std::string(rest.substr(0, c1));
  if (id.path.empty()) return make_error("SRT stream id: no stream name");
  if (c1 != std::string_view::npos) {
    const std::string_view creds = rest.substr(c1 + 1);
    const size_t c2 = creds.find(':');
    if (c2 == std::string_view::npos) return make_error("SRT stream id: a user needs a password ('{mode}:{stream}:{user}:{pass}')");
    id.user = std::string(creds.substr(0, c2));
    id.pass = std::string(creds.substr(c2 + 1));
    if (id.user.empty()) return make_error("SRT stream id: empty user");
  }
  return id;
}

}  // namespace sg::srt
