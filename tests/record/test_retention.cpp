#include <gtest/gtest.h>

#include "record/retention.hpp"

namespace sg::record {
namespace {

constexpr int64_t kS = 1'000'000;

RecordedFile file(std::string stream, int64_t start_s, int64_t mtime_s, int64_t max_age_s, bool open = false) {
  return {stream + "/" + std::to_string(start_s) + ".mp4", stream, start_s * kS, mtime_s * kS, max_age_s * kS, open};
}

TEST(Retention, AFileGoesWhenTheNextSegmentStartedBeforeTheLimit) {
  // Segments of 10 s at 0, 10, 20, 30; now 45 s, keep 20 s: content older than 25 s goes. Segment 0 ends at 10,
  // segment 10 ends at 20 (< 25): both go; segment 20 ends at 30: kept although it started before 25.
  std::vector<RecordedFile> files{file("a", 20, 30, 20), file("a", 0, 10, 20), file("a", 10, 20, 20),
                                  file("a", 30, 40, 20)};
  EXPECT_EQ(expired_files(files, 45 * kS), (std::vector<std::string>{"a/0.mp4", "a/10.mp4"}));
}

TEST(Retention, TheNewestFileOfAStreamEndsAtItsLastWrite) {
  std::vector<RecordedFile> files{file("a", 0, 50, 20)};
  EXPECT_TRUE(expired_files(files, 60 * kS).empty());
  EXPECT_EQ(expired_files(files, 71 * kS), (std::vector<std::string>{"a/0.mp4"}));
}

TEST(Retention, OpenFilesAndUnlimitedStreamsAreKept) {
  std::vector<RecordedFile> files{file("a", 0, 10, 5, true), file("b", 0, 10, 0), file("c", 0, 10, 5)};
  EXPECT_EQ(expired_files(files, 100 * kS), (std::vector<std::string>{"c/0.mp4"}));
}

TEST(Retention, StreamsAreJudgedSeparately) {
  // b's later segment must not shorten a's only segment.
  std::vector<RecordedFile> files{file("a", 0, 100, 30), file("b", 5, 10, 30), file("b", 50, 60, 30)};
  EXPECT_EQ(expired_files(files, 90 * kS), (std::vector<std::string>{"b/5.mp4"}));
}

}  // namespace
}  // namespace sg::record
