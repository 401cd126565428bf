// The RTSP sessions API's JSON (GET /api/v1/rtsp/sessions): every field of a session, the creation time in RFC 3339,
// and the ?stream= filter.
#include "rtsp_session/session_info.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sg::rtsp_session {
namespace {

SessionInfo reader(std::string id, std::string stream) {
  SessionInfo s;
  s.id = std::move(id);
  s.stream = std::move(stream);
  s.remote = "127.0.0.1:40000";
  s.role = "read";
  s.transport = "udp";
  s.state = "playing";
  s.created_unix_ns = 1764636525123456789;  // 2025-12-02T00:48:45.123456789Z
  s.bytes_sent = 1000;
  s.packets_sent = 10;
  s.bytes_received = 300;
  return s;
}

TEST(RtspSessionInfo, JsonCarriesEveryField) {
  auto o = session_json(reader("ab12", "cam"));
  EXPECT_EQ(boost::json::serialize(o),
            R"({"id":"ab12","stream":"cam","remote":"127.0.0.1:40000","role":"read","transport":"udp",)"
            R"("state":"playing","created":"2025-12-02T00:48:45.123Z","bytes_sent":1000,"packets_sent":10,)"
            R"("bytes_received":300,"packets_received":0})");
}

TEST(RtspSessionInfo, CreatedIsRfc3339Utc) {
  EXPECT_EQ(format_created(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_created(951782400999000000), "2000-02-29T00:00:00.999Z");  // leap day
}

TEST(RtspSessionInfo, NewConnectionHasNoRoleYet) {
  SessionInfo s;
  s.id = "x";
  auto o = session_json(s);
  EXPECT_EQ(o.at("role"), "none");
  EXPECT_EQ(o.at("state"), "connected");
  EXPECT_EQ(o.at("stream"), "");
  EXPECT_EQ(o.at("transport"), "tcp");
}

TEST(RtspSessionInfo, StreamFilterKeepsOnlyThatStreamsSessionsInOrder) {
  std::vector<SessionInfo> all = {reader("1", "cam"), reader("2", "cam2"), reader("3", "cam"), reader("4", "")};
  auto some = sessions_json(all, "cam");
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].at("id"), "1");
  EXPECT_EQ(some[1].at("id"), "3");
  EXPECT_EQ(sessions_json(all, "").size(), 4u);
  EXPECT_TRUE(sessions_json(all, "other").empty());
}

}  // namespace
}  // namespace sg::rtsp_session
