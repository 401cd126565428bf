// Recording settings: stream_defaults.record* for every stream, streams.<id>.record* over them, durations with
// units up to days, patterns that can be parsed back, and reload treating stream_defaults as a live setting.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/reload.hpp"

namespace sg::app {
namespace {

TEST(ConfigRecord, DefaultsAndPerStreamOverrides) {
  auto c = parse_config(R"(
stream_defaults:
  record: true
  record_path: /var/rec/%stream/%Y-%m-%d_%H-%M-%S-%f
  record_segment: 1h
  record_part: 500ms
  record_delete_after: 30d
streams:
  cam1:
    source: publisher
    record_format: mpegts
    record_segment: 10m
  cam2:
    source: publisher
    record: false
  cam3:
    source: publisher
)",
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->record_defaults.record);
  EXPECT_EQ(c->record_defaults.segment_ms, 3600000);
  EXPECT_EQ(c->record_defaults.part_ms, 500);
  EXPECT_EQ(c->record_defaults.delete_after_ms, 30LL * 86400000);
  ASSERT_EQ(c->stream_record.size(), 2u);  // cam3 sets nothing of its own
  const auto cam1 = c->stream_record.at("cam1").over(c->record_defaults);
  EXPECT_EQ(cam1.format, "mpegts");
  EXPECT_EQ(cam1.segment_ms, 600000);
  EXPECT_EQ(cam1.path, "/var/rec/%stream/%Y-%m-%d_%H-%M-%S-%f");
  EXPECT_FALSE(c->stream_record.at("cam2").over(c->record_defaults).record);
}

TEST(ConfigRecord, BuiltInDefaults) {
  auto c = parse_config("", "t.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->record_defaults.record);
  EXPECT_EQ(c->record_defaults.path, "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f");
  EXPECT_EQ(c->record_defaults.format, "fmp4");
  EXPECT_EQ(c->record_defaults.segment_ms, 3600000);
  EXPECT_EQ(c->record_defaults.part_ms, 1000);
  EXPECT_EQ(c->record_defaults.delete_after_ms, 7LL * 86400000);
}

TEST(ConfigRecord, ErrorsNameFileLineAndWhatIsWrong) {
  auto bad_path = parse_config("stream_defaults:\n  record_path: /var/rec/%Y\n", "t.yaml");
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(bad_path.error().find("t.yaml:2: 'stream_defaults.record_path'"), std::string::npos) << bad_path.error();
  auto bad_duration = parse_config("streams:\n  a:\n    source: publisher\n    record_part: 1y\n", "t.yaml");
  ASSERT_FALSE(bad_duration.ok());
  EXPECT_NE(bad_duration.error().find("t.yaml:4"), std::string::npos) << bad_duration.error();
  auto part_over_segment = parse_config("stream_defaults:\n  record_segment: 2s\n  record_part: 5s\n", "t.yaml");
  EXPECT_FALSE(part_over_segment.ok());
  auto bad_format = parse_config("stream_defaults:\n  record_format: mkv\n", "t.yaml");
  EXPECT_FALSE(bad_format.ok());
}

TEST(ConfigRecord, ReloadAppliesStreamDefaultsAndDoesNotRestartStreamsForRecordKeys) {
  auto a = parse_config("stream_defaults:\n  record: false\nstreams:\n  cam:\n    source: publisher\n", "t.yaml");
  auto b = parse_config(
      "stream_defaults:\n  record: true\nstreams:\n  cam:\n    source: publisher\n    record_part: 2s\n", "t.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  auto changes = diff_config(*a, *b);
  EXPECT_EQ(changes.applied, std::vector<std::string>{"stream_defaults.record"});
  EXPECT_TRUE(changes.restart_required.empty());
  EXPECT_TRUE(changes.changed.empty());  // the stream itself keeps running
  EXPECT_EQ(changes.unchanged, std::vector<std::string>{"cam"});
}

}  // namespace
}  // namespace sg::app
