#pragma once
// What the browser e2e tests share: where their node scripts live, and whether headless Chromium can run here
// (node, Debian's chromium and playwright-core from tests/e2e/node_modules).
#include <fstream>
#include <string>

#include "../support/process.hpp"

namespace sg::test {

inline const std::string kE2eDir = SG_SOURCE_DIR "/tests/e2e";

inline bool have_browser() {
  return have_program("node") && have_program("chromium") &&
         std::ifstream(kE2eDir + "/node_modules/playwright-core/package.json").good();
}

}  // namespace sg::test
