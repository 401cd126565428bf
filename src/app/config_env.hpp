#pragma once
// The environment's part in the config (containers and Kubernetes configure through it):
//  - `${VAR}` and `${VAR:-default}` in any value are replaced by the variable (the default when it is unset or
//    empty); `$${` is a literal `${`. An unset variable without a default is an error naming file:line.
//  - STREAMGATE_<KEY>[__<KEY>...]=<YAML value> sets one key, `__` separating the levels and the key names
//    lower-cased: STREAMGATE_LOG__LEVEL=debug is log.level, STREAMGATE_WEBRTC__ADDITIONAL_HOSTS='[10.0.0.7]' is
//    webrtc.additional_hosts. It wins over the file; errors in it name the variable.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/result.hpp"

namespace sg::app {

using Environment = std::map<std::string, std::string, std::less<>>;

// The process's environment (environ).
Environment process_environment();

// `${VAR}` / `${VAR:-default}` / `$${` in one value.
Result<std::string> expand_variables(std::string_view text, const Environment& env);

// A node set from the environment and the variable that set it (for error messages).
struct EnvOverride {
  YAML::Node node;
  std::string variable;
};

// Applies the STREAMGATE_* overrides to `root` (creating mappings as needed), then expands variables in every
// scalar value. Errors: "file:line: ..." or "environment STREAMGATE_X: ...".
Result<std::vector<EnvOverride>> apply_environment(YAML::Node& root, const Environment& env, const std::string& file);

}  // namespace sg::app
