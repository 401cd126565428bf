#include "web/assets.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "web/embedded.hpp"

namespace sg::web {

std::optional<std::string> asset(std::string_view name) {
  // Names come from route code, never from a request; still, nothing outside the folder is read.
  if (name.empty() || name.starts_with('/') || name.find("..") != std::string_view::npos) return std::nullopt;
  if (const char* dir = std::getenv("SG_WEB_DIR"); dir && *dir) {
    std::ifstream f(std::filesystem::path(dir) / name, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      return ss.str();
    }
  }
  for (const auto& e : embedded_files())
    if (e.name == name) return std::string(e.data);
  return std::nullopt;
}

std::vector<std::string_view> embedded_names() {
  std::vector<std::string_view> out;
  for (const auto& e : embedded_files()) out.push_back(e.name);
  return out;
}

}  // namespace sg::web
