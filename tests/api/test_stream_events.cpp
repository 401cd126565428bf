// The console's event stream without sockets: the diff between two snapshots of the stream list and the
// text/event-stream framing.
#include <gtest/gtest.h>

#include "api/stream_events.hpp"

namespace sg::api {
namespace {

TEST(StreamEvents, FirstEventCarriesTheWholeListInIdOrder) {
  StreamSnapshot s{{"b", R"({"id":"b"})"}, {"a", R"({"id":"a"})"}};
  EXPECT_EQ(snapshot_event(s), "event: streams\ndata: {\"items\":[{\"id\":\"a\"},{\"id\":\"b\"}]}\n\n");
  EXPECT_EQ(snapshot_event({}), "event: streams\ndata: {\"items\":[]}\n\n");
}

TEST(StreamEvents, UnchangedListGivesNoEvent) {
  StreamSnapshot s{{"a", R"({"id":"a","state":"idle"})"}};
  auto d = diff_streams(s, s);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(diff_event(d), "");
}

TEST(StreamEvents, OnlyTheChangedStreamIsSent) {
  StreamSnapshot before, after;
  for (int i = 0; i < 500; ++i) {
    std::string id = "cam" + std::to_string(i);
    before[id] = R"({"id":")" + id + R"(","state":"idle"})";
  }
  after = before;
  after["cam250"] = R"({"id":"cam250","state":"ready"})";
  auto d = diff_streams(before, after);
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0], R"({"id":"cam250","state":"ready"})");
  EXPECT_TRUE(d.removed.empty());
  EXPECT_EQ(diff_event(d), "event: update\ndata: {\"changed\":[{\"id\":\"cam250\",\"state\":\"ready\"}],\"removed\":[]}\n\n");
}

TEST(StreamEvents, AddedAndRemovedStreamsAreReported) {
  StreamSnapshot before{{"a", "{1}"}, {"c", "{3}"}, {"e", "{5}"}};
  StreamSnapshot after{{"b", "{2}"}, {"c", "{3}"}, {"f", "{6}"}};
  auto d = diff_streams(before, after);
  EXPECT_EQ(d.changed, (std::vector<std::string_view>{"{2}", "{6}"}));
  EXPECT_EQ(d.removed, (std::vector<std::string_view>{"a", "e"}));
}

TEST(StreamEvents, RemovedIdsAreJsonEscaped) {
  StreamSnapshot before{{"a\"b", "{}"}};
  EXPECT_EQ(diff_event(diff_streams(before, {})), "event: update\ndata: {\"changed\":[],\"removed\":[\"a\\\"b\"]}\n\n");
}

}  // namespace
}  // namespace sg::api
