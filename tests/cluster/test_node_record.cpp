#include <gtest/gtest.h>

#include "cluster/node_record.hpp"

namespace sg::cluster {
namespace {

TEST(NodeRecord, RoundTripsThroughTheHashFields) {
  NodeInfo n;
  n.name = "n1";
  n.advertise = "10.0.0.5";
  n.rtsp_port = 8554;
  n.http_port = 8080;
  n.owned = {"cam1", "cam2"};
  n.relays = {"cam3"};
  n.readers = 42;
  n.load = 0.25;
  auto back = decode_node("n1", encode_node(n));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, n);
}

TEST(NodeRecord, MissingOrMalformedFieldsAreErrorsAndUnknownOnesAreIgnored) {
  Fields ok{{"advertise", "h"}, {"rtsp_port", "8554"}, {"future", "x"}};
  EXPECT_TRUE(decode_node("n", ok).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", "h"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"rtsp_port", "8554"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", "h"}, {"rtsp_port", "70000"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", "h"}, {"rtsp_port", "0"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", ""}, {"rtsp_port", "1"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", "h"}, {"rtsp_port", "1"}, {"load", "nan"}}).ok());
  EXPECT_FALSE(decode_node("n", Fields{{"advertise", "h"}, {"rtsp_port", "1"}, {"readers", "-1"}}).ok());
}

TEST(NodeRecord, IdListsDropEmptyAndOverlongItems) {
  EXPECT_EQ(split_ids(""), std::vector<std::string>{});
  EXPECT_EQ(split_ids("a,,b,"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_ids(std::string(129, 'x') + ",ok"), std::vector<std::string>{"ok"});
  EXPECT_EQ(join_ids({"a", "b"}), "a,b");
}

}  // namespace
}  // namespace sg::cluster
