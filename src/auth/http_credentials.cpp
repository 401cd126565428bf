#include "auth/http_credentials.hpp"

#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "base/bytes.hpp"

namespace sg::auth {

namespace {

constexpr size_t kMaxHeader = 16 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded value; nullopt on a bad escape.
std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      if (s.size() - i < 3) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

// RFC 7235 2.1: auth-scheme 1*SP token68. Fills `out` from a Basic or Bearer header; false if neither.
bool from_header(std::string_view header, Credentials& out) {
  header = trim(header);
  if (header.empty() || header.size() > kMaxHeader) return false;
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return false;
  const auto scheme = header.substr(0, space);
  const auto value = trim(header.substr(space + 1));
  if (value.empty() || value.find_first_of(" \t,") != std::string_view::npos) return false;
  if (iequals(scheme, "Bearer")) {
    out.token = std::string(value);
    return true;
  }
  if (iequals(scheme, "Basic")) {
    // RFC 7617 2: base64(user-id ":" password); the user-id cannot contain ':'.
    ByteVector decoded;
    if (!base64_decode(value, decoded)) return false;
    const auto text = as_string_view(decoded);
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    out.user = std::string(text.substr(0, colon));
    out.password = std::string(text.substr(colon + 1));
    return true;
  }
  return false;
}

struct QueryCredentials {
  std::optional<std::string> user, pass, jwt;
};

QueryCredentials query_credentials(std::string_view target) {
  QueryCredentials out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  auto query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos) {
      const auto name = pair.substr(0, eq);
      auto* slot = name == "user" ? &out.user : name == "pass" ? &out.pass : name == "jwt" ? &out.jwt : nullptr;
      // The first occurrence counts; a bad escape leaves the field empty.
      if (slot && !*slot) *slot = form_decode(pair.substr(eq + 1)).value_or("");
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

void from_query(std::string_view target, Credentials& out) {
  auto q = query_credentials(target);
  out.user = q.user.value_or("");
  out.password = q.pass.value_or("");
  out.token = q.jwt.value_or("");
}

// RFC 3986 2.3: unreserved characters as they are, every other byte percent-encoded.
void append_percent_encoded(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

Credentials credentials_from_http(std::string_view authorization_header, std::string_view target) {
  Credentials c;
  if (from_header(authorization_header, c)) return c;
  if (target.size() <= kMaxHeader) from_query(target, c);
  return c;
}

std::string credential_query(std::string_view target) {
  auto q = query_credentials(target);
  std::string out;
  for (const auto& [name, value] : {std::pair{"jwt", &q.jwt}, {"user", &q.user}, {"pass", &q.pass}}) {
    if (!*value || (*value)->empty()) continue;
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    append_percent_encoded(out, **value);
  }
  return out;
}

}  // namespace sg::auth
