#include <gtest/gtest.h>

#include "record/path_pattern.hpp"

namespace sg::record {
namespace {

// 2026-12-01T23:49:37.123456Z
constexpr int64_t kT = 1796168977123456;

TEST(PathPattern, DefaultPatternExpandsWithStreamAndUtcTime) {
  EXPECT_EQ(expand_record_path(kDefaultRecordPath, "cam1", kT), "./recordings/cam1/2026-12-01_23-49-37-123456");
}

TEST(PathPattern, ParseIsTheInverseOfExpand) {
  const std::string path = expand_record_path(kDefaultRecordPath, "cam-1_a.b", kT) + ".mp4";
  auto r = parse_record_path(kDefaultRecordPath, path);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stream, "cam-1_a.b");
  EXPECT_EQ(r->start_us, kT);
  EXPECT_EQ(r->format, RecordFormat::Fmp4);
  auto ts = parse_record_path(kDefaultRecordPath, expand_record_path(kDefaultRecordPath, "x", 0) + ".ts");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->format, RecordFormat::MpegTs);
  EXPECT_EQ(ts->start_us, 0);
}

TEST(PathPattern, StreamFollowedByCharactersAStreamIdMayHoldIsFoundByBacktracking) {
  const std::string pattern = "/r/%stream-%Y%m%d-%H%M%S-%f";
  const std::string path = expand_record_path(pattern, "a-b", kT) + ".mp4";
  EXPECT_EQ(path, "/r/a-b-20261201-234937-123456.mp4");
  auto r = parse_record_path(pattern, path);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stream, "a-b");
  EXPECT_EQ(r->start_us, kT);
}

TEST(PathPattern, UnixSecondsAndPercentLiteral) {
  const std::string pattern = "rec/%stream/100%%_%s.%f";
  const std::string path = expand_record_path(pattern, "s", kT);
  EXPECT_EQ(path, "rec/s/100%_1796168977.123456");
  auto r = parse_record_path(pattern, path + ".ts");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start_us, kT);
}

TEST(PathPattern, ForeignAndImpossibleNamesDoNotParse) {
  const auto p = std::string(kDefaultRecordPath);
  EXPECT_FALSE(parse_record_path(p, "./recordings/cam1/2026-12-01_23-49-37-123456.mp4.tmp"));
  EXPECT_FALSE(parse_record_path(p, "./recordings/cam1/2026-12-01_23-49-37-123456"));      // no extension
  EXPECT_FALSE(parse_record_path(p, "./recordings/cam1/2026-02-31_23-49-37-123456.mp4"));  // 31 February
  EXPECT_FALSE(parse_record_path(p, "./recordings/cam1/2026-12-01_24-00-00-000000.mp4"));
  EXPECT_FALSE(parse_record_path(p, "./recordings/cam1/2026-12-01_23-49-37-12345.mp4"));  // 5 digits
  EXPECT_FALSE(parse_record_path(p, "./recordings/ca/m1/2026-12-01_23-49-37-123456.mp4"));
  EXPECT_FALSE(parse_record_path(p, "./recordings/.hidden/2026-12-01_23-49-37-123456.mp4"));
  EXPECT_FALSE(parse_record_path("%stream/%s_%Y-%m-%d_%H-%M-%S", "x/5_2026-12-01_23-49-37.mp4"));  // disagree
  EXPECT_FALSE(parse_record_path("%stream/%stream_%s", "a/b_5.mp4"));                              // disagree
  EXPECT_TRUE(parse_record_path("%stream/%stream_%s", "a/a_5.mp4"));
}

TEST(PathPattern, CheckRefusesPatternsThatCannotBeParsedBack) {
  EXPECT_TRUE(check_record_path(kDefaultRecordPath));
  EXPECT_TRUE(check_record_path("/var/rec/%stream_%s"));
  EXPECT_FALSE(check_record_path(""));
  EXPECT_FALSE(check_record_path("/var/rec/%Y-%m-%d_%H-%M-%S"));            // no %stream
  EXPECT_FALSE(check_record_path("/var/rec/%stream/%Y-%m-%d_%H"));          // not to the second
  EXPECT_FALSE(check_record_path("/var/rec/%stream/%Y-%m-%d_%H-%M-%S%j"));  // unknown field
  EXPECT_FALSE(check_record_path("/var/rec/%stream/%s%"));
  EXPECT_FALSE(check_record_path("/var/rec/%stream/%s/"));
}

TEST(PathPattern, RootIsTheFolderBeforeTheFirstField) {
  EXPECT_EQ(record_root(kDefaultRecordPath), "./recordings/");
  EXPECT_EQ(record_root("/var/lib/sg/%stream/%s"), "/var/lib/sg/");
  EXPECT_EQ(record_root("/var/lib/sg/cam_%stream/%s"), "/var/lib/sg/");
  EXPECT_EQ(record_root("%stream/%s"), ".");
  EXPECT_EQ(record_root("/%stream_%s"), "/");
}

TEST(PathPattern, CivilCalendarRoundTrips) {
  for (int64_t days : {-1000000LL, -1LL, 0LL, 59LL, 11016LL, 20423LL, 2932896LL}) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    EXPECT_EQ(days_from_civil(y, m, d), days);
  }
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
}

}  // namespace
}  // namespace sg::record
