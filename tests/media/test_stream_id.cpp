// The stream id syntax (media::valid_stream_id / check_stream_id), the one rule behind the config, the API and
// RTSP ANNOUNCE.
#include <gtest/gtest.h>

#include "media/stream_registry.hpp"

namespace sg::media {
namespace {

TEST(StreamId, AcceptsUrlSafeNames) {
  for (std::string_view id : {"cam1", "a", "Cam-1.main_hd~2", "api2", "myapi", "ws1", "metrics-east", "a.b", "a-"})
    EXPECT_TRUE(valid_stream_id(id)) << id;
  EXPECT_TRUE(valid_stream_id(std::string(128, 'x')));
}

TEST(StreamId, RefusesEmptyLongAndOtherCharacters) {
  for (std::string_view id : {"", "a/b", "a b", "a?b", "a%20", "a:b", "\xc3\xa9"}) EXPECT_FALSE(valid_stream_id(id)) << id;
  EXPECT_FALSE(valid_stream_id(std::string(129, 'x')));
}

TEST(StreamId, RefusesLeadingDashAndDot) {
  for (std::string_view id : {"-rf", "-", "--help", ".", "..", ".hidden"}) EXPECT_FALSE(valid_stream_id(id)) << id;
}

TEST(StreamId, RefusesTopLevelRouteNamesInAnyCase) {
  for (auto reserved : kReservedStreamIds) {
    std::string upper(reserved);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_FALSE(valid_stream_id(reserved)) << reserved;
    EXPECT_FALSE(valid_stream_id(upper)) << upper;
  }
  EXPECT_FALSE(valid_stream_id("Api"));
  EXPECT_FALSE(valid_stream_id("hEaLtHz"));
}

TEST(StreamId, OneMessageNamesTheIdAndTheRule) {
  EXPECT_TRUE(check_stream_id("cam"));
  auto e = check_stream_id("-rf");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(),
            "invalid stream id '-rf': use 1-128 of [A-Za-z0-9._~-], not starting with '-' or '.', and not one of "
            "api, assets, healthz, metrics, readyz, ws");
  std::string same = e.error();
  same.replace(same.find("-rf"), 3, "API");
  EXPECT_EQ(check_stream_id("API").error(), same);
}

}  // namespace
}  // namespace sg::media
