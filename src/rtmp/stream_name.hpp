#pragma once
// Which stream an RTMP publish / play addresses, and the credentials it carries.
//
// Mapping: stream ids are one path segment ([A-Za-z0-9._~-], the same ids as rtsp://host/{id} and /{id}/ over
// HTTP), so the stream is the last segment of the publish/play stream name, and the connect command's `app` only
// when the name is empty. rtmp://host/live/cam (OBS: server rtmp://host/live, key cam; ffmpeg: app "live", name
// "cam") and rtmp://host/cam (ffmpeg: app "cam" or name "cam") both address the stream "cam". The app is a
// namespace the server does not keep: two apps with the same stream key are the same stream. Queries are not part
// of the name: `?user=..&pass=..` (or `?jwt=`) on the name, the app or the tcUrl carry credentials (the first one
// found wins).
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::rtmp {

struct StreamTarget {
  std::string path;
  std::string user, pass;
  std::string query;  // the query the credentials came from (or the name's), raw, for the authorization callout
};

Result<StreamTarget> stream_target(std::string_view app, std::string_view name, std::string_view tc_url = {});
// Percent-decoding of a query value ('+' is a space); malformed escapes are kept as written.
std::string decode_query_value(std::string_view value);
// The value of `key` in a raw query ("a=1&b=2"), decoded; empty when absent.
std::string query_value(std::string_view query, std::string_view key);

}  // namespace sg::rtmp
