// The pages and hls.js embedded in the binary, and SG_WEB_DIR overriding them file by file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "web/assets.hpp"

namespace {

TEST(WebAssets, PagesAndHlsJsAreEmbedded) {
  unsetenv("SG_WEB_DIR");
  auto names = sg::web::embedded_names();
  for (const char* n : {"player/index.html", "player/streams.html", "hls.html", "node_modules/hls.js/dist/hls.min.js"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n << " not embedded (npm install in web/?)";
  auto hls = sg::web::asset("node_modules/hls.js/dist/hls.min.js");
  ASSERT_TRUE(hls);
  EXPECT_GT(hls->size(), 100000u);
  auto page = sg::web::asset("player/index.html");
  ASSERT_TRUE(page);
  EXPECT_NE(page->find("<"), std::string::npos);
  EXPECT_FALSE(sg::web::asset("nope.html"));
  EXPECT_FALSE(sg::web::asset("../CMakeLists.txt"));
}

TEST(WebAssets, WebDirOverridesFileByFile) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "sg_web_dir";
  std::filesystem::create_directories(dir / "player");
  std::ofstream(dir / "player" / "index.html") << "dev page";
  setenv("SG_WEB_DIR", dir.c_str(), 1);
  EXPECT_EQ(sg::web::asset("player/index.html").value_or(""), "dev page");
  EXPECT_TRUE(sg::web::asset("hls.html"));  // not in the folder: the embedded copy
  unsetenv("SG_WEB_DIR");
  EXPECT_NE(sg::web::asset("player/index.html").value_or("dev page"), "dev page");
  std::filesystem::remove_all(dir);
}

}  // namespace
