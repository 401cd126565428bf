#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "rtp/reorder_buffer.hpp"

namespace sg::rtp {
namespace {

struct Collector {
  std::vector<uint16_t> seqs;
  std::vector<int> items;
  auto emit() {
    return [this](uint16_t s, int item) {
      seqs.push_back(s);
      items.push_back(item);
    };
  }
};

void push_all(ReorderBuffer<int>& buf, Collector& out, std::initializer_list<uint16_t> seqs) {
  for (uint16_t s : seqs) buf.push(s, s, out.emit());
}

TEST(ReorderBuffer, InOrderPacketsPassStraightThrough) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {5, 6, 7});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{5, 6, 7}));
  EXPECT_EQ(buf.held(), 0u);
  EXPECT_EQ(buf.next_sequence(), 8);
}

TEST(ReorderBuffer, HoldsPacketsUntilTheGapFills) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {10, 12, 13});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{10}));
  EXPECT_EQ(buf.held(), 2u);
  push_all(buf, out, {11});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{10, 11, 12, 13}));
  EXPECT_EQ(out.items, (std::vector<int>{10, 11, 12, 13}));
  EXPECT_EQ(buf.stats().lost, 0u);
}

TEST(ReorderBuffer, WindowOverflowSkipsTheGapAndCountsLoss) {
  ReorderBuffer<int> buf(4);
  Collector out;
  push_all(buf, out, {0, 2, 3, 4});  // 1 missing; 2..4 held
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{0}));
  push_all(buf, out, {5});  // 5 - 1 >= 4: give up on 1
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{0, 2, 3, 4, 5}));
  EXPECT_EQ(buf.stats().lost, 1u);
  push_all(buf, out, {1});  // too late now
  EXPECT_EQ(buf.stats().late, 1u);
  EXPECT_EQ(out.seqs.size(), 5u);
}

TEST(ReorderBuffer, ForwardGapBeyondTheWindowGivesUpAllButTheLastWindow) {
  ReorderBuffer<int> buf(4);
  Collector out;
  push_all(buf, out, {0, 100});
  // 1..96 cannot fit in the window any more; 97..99 may still arrive out of order.
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{0}));
  EXPECT_EQ(buf.stats().lost, 96u);
  push_all(buf, out, {98});
  buf.skip_gap(out.emit());
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{0, 98}));
  buf.skip_gap(out.emit());
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{0, 98, 100}));
  EXPECT_EQ(buf.stats().lost, 98u);
}

TEST(ReorderBuffer, HandlesSequenceWrapAround) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {65533, 65535, 0, 65534, 2, 1});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{65533, 65534, 65535, 0, 1, 2}));
  EXPECT_EQ(buf.stats().lost, 0u);
}

TEST(ReorderBuffer, DropsAndCountsDuplicates) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {1, 1, 3, 3, 2});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(buf.stats().duplicates, 2u);  // 1 after emission, 3 while held
}

TEST(ReorderBuffer, BigJumpConfirmedBySuccessorResyncs) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {100, 102, 40000});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{100}));  // 40000 waits for confirmation
  push_all(buf, out, {40001, 40002});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{100, 102, 40000, 40001, 40002}));
  EXPECT_EQ(buf.stats().resyncs, 1u);
  EXPECT_EQ(buf.stats().lost, 1u);  // 101 was still missing when the run ended
}

TEST(ReorderBuffer, SenderRestartBackwardsResyncs) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {5000, 5001, 7, 8, 9});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{5000, 5001, 7, 8, 9}));
  EXPECT_EQ(buf.stats().resyncs, 1u);
}

TEST(ReorderBuffer, UnconfirmedStrayPacketIsDropped) {
  ReorderBuffer<int> buf(8);
  Collector out;
  push_all(buf, out, {1, 30000, 2, 3});
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(buf.stats().stray, 1u);
  EXPECT_EQ(buf.stats().resyncs, 0u);
}

TEST(ReorderBuffer, SkipGapReleasesWhatFollowsTheHole) {
  ReorderBuffer<int> buf(16);
  Collector out;
  push_all(buf, out, {1, 4, 5, 7});
  buf.skip_gap(out.emit());
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{1, 4, 5}));
  EXPECT_EQ(buf.stats().lost, 2u);
  EXPECT_EQ(buf.held(), 1u);
  buf.flush(out.emit());
  EXPECT_EQ(out.seqs, (std::vector<uint16_t>{1, 4, 5, 7}));
  EXPECT_EQ(buf.stats().lost, 3u);
  EXPECT_EQ(buf.next_sequence(), 8);
}

TEST(ReorderBuffer, WorksWithMoveOnlyItems) {
  ReorderBuffer<std::unique_ptr<int>> buf(4);
  std::vector<int> got;
  auto emit = [&](uint16_t, std::unique_ptr<int> p) { got.push_back(*p); };
  buf.push(2, std::make_unique<int>(20), emit);
  buf.push(4, std::make_unique<int>(40), emit);
  buf.push(3, std::make_unique<int>(30), emit);
  EXPECT_EQ(got, (std::vector<int>{20, 30, 40}));
}

TEST(ReorderBuffer, AccountsForEveryPushedPacket) {
  ReorderBuffer<int> buf(4);
  Collector out;
  push_all(buf, out, {10, 12, 12, 11, 20, 9, 15, 14, 13, 50000, 16});
  const auto& s = buf.stats();
  EXPECT_EQ(s.pushed, s.emitted + buf.held() + s.duplicates + s.late + s.stray);
  for (size_t i = 1; i < out.seqs.size(); ++i) EXPECT_GT(static_cast<int16_t>(out.seqs[i] - out.seqs[i - 1]), 0);
}

}  // namespace
}  // namespace sg::rtp
