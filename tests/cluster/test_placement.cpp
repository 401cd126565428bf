#include <gtest/gtest.h>

#include <map>

#include "cluster/placement.hpp"

namespace sg::cluster {
namespace {

std::vector<std::string> cameras(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("cam" + std::to_string(i));
  return out;
}

TEST(Placement, EveryNodeComputesTheSameOwnerWhateverTheOrder) {
  std::vector<std::string> a{"n1", "n2", "n3"}, b{"n3", "n1", "n2"};
  for (const auto& cam : cameras(100)) EXPECT_EQ(pick_owner(cam, a), pick_owner(cam, b)) << cam;
  EXPECT_EQ(pick_owner("cam", {}), "");
  EXPECT_EQ(pick_owner("cam", {"only"}), "only");
}

TEST(Placement, StreamsSpreadOverTheNodes) {
  std::map<std::string, int> count;
  std::vector<std::string> nodes{"n1", "n2", "n3"};
  for (const auto& cam : cameras(3000)) ++count[pick_owner(cam, nodes)];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [node, n] : count) EXPECT_NEAR(n, 1000, 150) << node;
}

TEST(Placement, AJoiningNodeTakesOnlyItsShareAndALeavingNodeMovesOnlyItsOwn) {
  std::vector<std::string> three{"n1", "n2", "n3"}, four{"n1", "n2", "n3", "n4"}, two{"n1", "n3"};
  int moved_join = 0, to_new = 0, moved_leave = 0;
  for (const auto& cam : cameras(4000)) {
    auto before = pick_owner(cam, three);
    auto joined = pick_owner(cam, four);
    if (joined != before) {
      ++moved_join;
      if (joined == "n4") ++to_new;
    }
    auto left = pick_owner(cam, two);
    if (before != "n2") {
      if (left != before) ++moved_leave;  // a stream not on the leaving node never moves
    }
  }
  EXPECT_EQ(moved_join, to_new);  // only to the new node, none between old ones
  EXPECT_NEAR(moved_join, 1000, 150);
  EXPECT_EQ(moved_leave, 0);
}

TEST(Placement, WeightsSeparateNodeFromStream) {
  EXPECT_NE(placement_weight("ab", "c"), placement_weight("a", "bc"));
  EXPECT_EQ(placement_weight("n1", "cam"), placement_weight("n1", "cam"));
}

}  // namespace
}  // namespace sg::cluster
