#pragma once
// rtmp:// URLs of pull sources: rtmp://host[:port]/app[/more]/name[?query]. What a client sends for them:
// connect's `app` and `tcUrl`, and the stream name of `play`.
//
// Mapping (as ffmpeg and OBS split them): `app` is the first path segment, the stream name is the rest of the path
// with the query (nginx-rtmp and most servers read credentials and keys from there). With a single segment
// (rtmp://host/cam, as MediaMTX and streamgate serve) app and name are both that segment. An empty app is an error.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sg::rtmp {

struct RtmpUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 1935;
  std::string app;
  std::string name;    // play name, query included
  std::string tc_url;  // rtmp://host[:port]/app
};

Result<RtmpUrl> parse_rtmp_url(std::string_view url);

}  // namespace sg::rtmp
