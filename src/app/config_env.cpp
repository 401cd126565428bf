#include "app/config_env.hpp"

#include <unistd.h>

#include <cctype>

namespace sg::app {

namespace {

constexpr std::string_view kOverridePrefix = "STREAMGATE_";

bool valid_variable_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Thrown inside the tree walk only.
struct WalkError {
  std::string message;
};

void expand_tree(YAML::Node node, const Environment& env, const std::string& file,
                 const std::vector<EnvOverride>& overrides) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.find('$') == std::string::npos) return;
    auto expanded = expand_variables(text, env);
    if (!expanded) {
      for (const auto& o : overrides)
        if (o.node.is(node)) throw WalkError{"environment " + o.variable + ": " + expanded.error()};
      int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
      throw WalkError{file + ":" + std::to_string(line) + ": " + expanded.error()};
    }
    // Assigning a string keeps the node (and its line for later errors).
    if (*expanded != text) node = *expanded;
  } else if (node.IsSequence()) {
    for (auto child : node) expand_tree(child, env, file, overrides);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) expand_tree(it->second, env, file, overrides);
  }
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<std::string> expand_variables(std::string_view text, const Environment& env) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with("$${")) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.substr(i).starts_with("${")) {
      out += text[i++];
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) return Error{"unterminated '${' in '" + std::string(text) + "'"};
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner, fallback;
    bool has_default = false;
    if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
      has_default = true;
    }
    if (!valid_variable_name(name))
      return Error{"bad variable name '" + std::string(name) + "' in '" + std::string(text) +
                   "' (use ${NAME} or ${NAME:-default})"};
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) {
      out += it->second;
    } else if (has_default) {
      out += fallback;
    } else {
      return Error{"environment variable '" + std::string(name) + "' is not set (or give a default: ${" +
                   std::string(name) + ":-value})"};
    }
    i = close + 1;
  }
  return out;
}

Result<std::vector<EnvOverride>> apply_environment(YAML::Node& root, const Environment& env,
                                                   const std::string& file) {
  std::vector<EnvOverride> overrides;
  try {
    for (const auto& [variable, value] : env) {
      if (!variable.starts_with(kOverridePrefix) || variable.size() == kOverridePrefix.size()) continue;
      std::vector<std::string> path;
      std::string_view rest = std::string_view(variable).substr(kOverridePrefix.size());
      for (;;) {
        auto sep = rest.find("__");
        std::string key(rest.substr(0, sep));
        for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (key.empty()) return Error{"environment " + variable + ": empty key (levels are separated by '__')"};
        path.push_back(std::move(key));
        if (sep == std::string_view::npos) break;
        rest = rest.substr(sep + 2);
      }
      YAML::Node parsed;
      try {
        parsed = YAML::Load(value);
      } catch (const YAML::Exception& e) {
        return Error{"environment " + variable + ": " + e.msg};
      }
      if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
      if (!root.IsMap()) return Error{"environment " + variable + ": the config file is not a mapping of keys"};
      YAML::Node at = root;
      for (size_t i = 0; i + 1 < path.size(); ++i) {
        if (!at.IsMap()) return Error{"environment " + variable + ": '" + path[i - 1] + "' is not a mapping"};
        YAML::Node next = at[path[i]];
        if (!next.IsDefined() || next.IsNull()) at[path[i]] = YAML::Node(YAML::NodeType::Map);
        at.reset(at[path[i]]);
      }
      if (!at.IsMap()) return Error{"environment " + variable + ": '" + path[path.size() - 2] + "' is not a mapping"};
      at[path.back()] = parsed;
      overrides.push_back({at[path.back()], variable});
    }
    expand_tree(root, env, file, overrides);
  } catch (const WalkError& e) {
    return Error{e.message};
  }
  return overrides;
}

}  // namespace sg::app
