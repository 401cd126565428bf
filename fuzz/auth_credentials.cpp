// Fuzzes what a client or a config hands to the authorization code. Input lines: Authorization header, request
// target, an IP range, a permission's action, its path, a request path. Checks round trips of addresses and that
// the policy never reports the stored password in a reason.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/http_credentials.hpp"
#include "auth/policy.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (lines.size() < 5) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    lines.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  lines.push_back(in);
  lines.resize(6);
  const auto header = lines[0], target = lines[1], range_text = lines[2], action = lines[3], path = lines[4],
             request_path = lines[5].substr(0, 64);

  auto credentials = sg::auth::credentials_from_http(header, target);
  auto range = sg::auth::IpRange::parse(range_text);
  if (range) {
    check(range->prefix >= 0 && range->prefix <= 128);
    check(range->contains(range->base));
    auto again = sg::auth::IpRange::parse(range->base.to_string());
    check(again.ok() && again->base == range->base);
  }
  if (auto address = sg::auth::IpAddress::parse(range_text)) {
    auto again = sg::auth::IpAddress::parse(address->to_string());
    check(again && *again == *address);
  }

  auto permission = sg::auth::Permission::make(action, path);
  if (!permission) return 0;
  for (auto a : permission->actions) (void)permission->covers(a, request_path);

  sg::auth::UserEntry user{"alice", {"S3cret-pass"}, {}, {*permission}};
  if (range) user.ips.push_back(*range);
  sg::auth::InternalPolicy policy({user});
  sg::auth::AccessRequest request;
  request.credentials = credentials;
  request.ip = range ? range->base : sg::auth::IpAddress{};
  request.action = permission->actions.front();
  request.path = std::string(request_path);
  auto decision = policy.evaluate(request);
  // The stored password is never in a reason (unless the client itself sent it as a name or path).
  if (credentials.user.find("S3cret") == std::string::npos && request.path.find("S3cret") == std::string::npos)
    check(decision.reason.find("S3cret-pass") == std::string::npos);
  return 0;
}
