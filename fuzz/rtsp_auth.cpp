// Fuzzes RTSP authentication. Input lines: WWW-Authenticate value, Authorization value, user, password.
// Also checks that whatever challenge the client picks, its own answer verifies on the server side.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtsp/auth.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (lines.size() < 3) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    lines.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  lines.push_back(in);
  lines.resize(4);
  const auto www = lines[0], authorization = lines[1], user = lines[2], pass = lines[3];

  (void)sg::rtsp::parse_challenges(www);
  std::vector<std::string_view> values = {www, authorization};
  if (auto c = sg::rtsp::select_challenge(values)) {
    sg::rtsp::ClientAuth client(*c, std::string(user), std::string(pass));
    auto header = client.authorization("DESCRIBE", "rtsp://h/s");
    sg::rtsp::ServerAuth server{c->realm, c->nonce, true, c->qop_auth};
    auto st = server.verify(header, "DESCRIBE", user, pass);
    // Basic cannot carry a ':' in the user name (RFC 2617 2).
    if (c->scheme == sg::rtsp::AuthScheme::Digest || user.find(':') == std::string_view::npos) check(st.ok());
  }

  (void)sg::rtsp::parse_authorization(authorization);
  sg::rtsp::ServerAuth server{std::string(user), std::string(pass), true, false};
  (void)server.verify(authorization, "SETUP", user, pass);
  return 0;
}
