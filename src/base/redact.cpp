#include "base/redact.hpp"

#include <array>
#include <cctype>

namespace sg {

namespace {

bool url_end(char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '`'; }

bool is_secret_key(std::string_view key) {
  static constexpr std::array<std::string_view, 8> kKeys{"pass",  "password", "passwd", "passphrase",
                                                         "jwt", "token",    "key",    "secret"};
  for (auto k : kKeys) {
    if (key.size() != k.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size(); ++i)
      same &= std::tolower(static_cast<unsigned char>(key[i])) == k[i];
    if (same) return true;
  }
  return false;
}

// An SRT stream id carries credentials too: MediaMTX's `read:cam:user:pass` (everything after the user) and the
// access control form's `s=` value (`#!::r=cam,u=user,s=pass`, '#' possibly written %23).
void redact_stream_id(std::string_view value, std::string& out) {
  if (value.starts_with("read:") || value.starts_with("publish:")) {
    size_t colon = value.find(':');
    colon = value.find(':', colon + 1);                                              // after the stream
    if (colon != std::string_view::npos) colon = value.find(':', colon + 1);          // after the user
    if (colon == std::string_view::npos) return out.append(value), void();
    out.append(value.substr(0, colon + 1));
    out.append("***");
    return;
  }
  if (!value.starts_with("#!::") && !value.starts_with("%23!::")) return out.append(value), void();
  size_t i = 0;
  for (;;) {
    size_t key = value.find("s=", i);
    while (key != std::string_view::npos && value[key - 1] != ',' && value[key - 1] != ':') key = value.find("s=", key + 1);
    if (key == std::string_view::npos) return out.append(value.substr(i)), void();
    out.append(value.substr(i, key + 2 - i));
    out.append("***");
    i = value.find(',', key);
    if (i == std::string_view::npos) return;
  }
}

// Redacts one URL (from its scheme to its end) into out.
void redact_url(std::string_view url, std::string& out) {
  auto scheme_end = url.find("://");
  out.append(url.substr(0, scheme_end + 3));
  auto rest = url.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    auto colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon));
      out.append(":***");
    } else {
      out.append(userinfo);
    }
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  if (authority_end == std::string_view::npos) return;
  rest.remove_prefix(authority_end);
  auto q = rest.find('?');
  out.append(rest.substr(0, q));
  if (q == std::string_view::npos) return;
  rest.remove_prefix(q);
  // "?a=1&pass=x#frag": redact secret values.
  size_t i = 0;
  while (i < rest.size()) {
    char c = rest[i];
    out.push_back(c);
    ++i;
    if (c != '?' && c != '&' && c != ';') continue;
    auto end = rest.find_first_of("&;#", i);
    auto pair = rest.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && is_secret_key(pair.substr(0, eq))) {
      out.append(pair.substr(0, eq + 1));
      out.append("***");
    } else if (eq != std::string_view::npos && pair.substr(0, eq) == "streamid") {
      out.append(pair.substr(0, eq + 1));
      redact_stream_id(pair.substr(eq + 1), out);
    } else {
      out.append(pair);
    }
    i += pair.size();
  }
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    auto sep = text.find("://", pos);
    if (sep == std::string_view::npos) break;
    // The scheme: letters, digits, + - . before "://".
    size_t start = sep;
    while (start > pos && (std::isalnum(static_cast<unsigned char>(text[start - 1])) || text[start - 1] == '+' ||
                           text[start - 1] == '-' || text[start - 1] == '.'))
      --start;
    size_t end = sep + 3;
    while (end < text.size() && !url_end(text[end])) ++end;
    out.append(text.substr(pos, start - pos));
    redact_url(text.substr(start, end - start), out);
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace sg

namespace sg {

namespace {

bool secret_config_key(std::string_view key) {
  if (is_secret_key(key)) return true;
  for (std::string_view suffix : {"_pass", "_password", "_passwd", "_secret", "_token", "_key"})
    if (key.size() > suffix.size() && key.substr(key.size() - suffix.size()) == suffix) return true;
  return false;
}

}  // namespace

std::string redact_config_text(std::string_view yaml) {
  std::string out;
  out.reserve(yaml.size());
  while (!yaml.empty()) {
    auto nl = yaml.find('\n');
    std::string_view line = yaml.substr(0, nl);
    yaml = nl == std::string_view::npos ? std::string_view{} : yaml.substr(nl + 1);
    // "  - pass: x", "pass: x", "'pass': x": the key is what precedes the first ": " (or a final ':').
    size_t i = line.find_first_not_of(' ');
    if (i != std::string_view::npos && line.substr(i).starts_with("- ")) i = line.find_first_not_of(' ', i + 2);
    size_t colon = i == std::string_view::npos ? std::string_view::npos : line.find(':', i);
    bool redacted = false;
    if (colon != std::string_view::npos && line[i] != '#' && (colon + 1 == line.size() || line[colon + 1] == ' ')) {
      std::string_view key = line.substr(i, colon - i);
      if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front())
        key = key.substr(1, key.size() - 2);
      std::string_view value = line.substr(colon + 1);
      bool has_value = value.find_first_not_of(' ') != std::string_view::npos;
      if (has_value && secret_config_key(key)) {
        out.append(line.substr(0, colon + 1));
        out += " \"***\"";
        redacted = true;
      }
    }
    if (!redacted) out += redact_secrets(line);
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

}  // namespace sg
