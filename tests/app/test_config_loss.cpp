// Config: the pull sources' packet-loss settings (rtsp.loss_threshold, rtsp.loss_window).
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace sg::app {
namespace {

TEST(ConfigLoss, DefaultsAreTenPercentOverTenSeconds) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->rtsp_options.loss_threshold_percent, 10);
  EXPECT_EQ(c->rtsp_options.loss_window_ms, 10000);
}

TEST(ConfigLoss, ParsesThresholdAndWindow) {
  auto c = parse_config("rtsp:\n  loss_threshold: 0\n  loss_window: 2500ms\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->rtsp_options.loss_threshold_percent, 0);
  EXPECT_EQ(c->rtsp_options.loss_window_ms, 2500);
}

TEST(ConfigLoss, OutOfRangeValuesNameFileLineAndKey) {
  auto a = parse_config("rtsp:\n  loss_threshold: 101\n", "test.yaml");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("test.yaml:2"), std::string::npos) << a.error();
  EXPECT_NE(a.error().find("rtsp.loss_threshold"), std::string::npos) << a.error();
  auto b = parse_config("rtsp:\n  loss_window: 100ms\n", "test.yaml");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("rtsp.loss_window"), std::string::npos) << b.error();
}

}  // namespace
}  // namespace sg::app
