#pragma once
// GStreamer as an RTSP publisher for end-to-end tests: gst-launch-1.0 with rtspclientsink (ANNOUNCE/RECORD), the
// client that publishes AAC as MP4A-LATM (rtpmp4apay).
#include <cstdlib>
#include <string>
#include <vector>

#include "../support/process.hpp"

namespace sg::test {

// GStreamer with rtspclientsink (gst-plugins-rtsp-server) and the encoders the tests use.
inline bool have_rtspclientsink() {
  static const bool have = have_program("gst-launch-1.0") && have_program("gst-inspect-1.0") &&
                           std::system("gst-inspect-1.0 rtspclientsink >/dev/null 2>&1") == 0 &&
                           std::system("gst-inspect-1.0 x264enc >/dev/null 2>&1") == 0 &&
                           std::system("gst-inspect-1.0 avenc_aac >/dev/null 2>&1") == 0;
  return have;
}

// rtspclientsink publishing live H.264 and, as `audio`, the elements of the second track: "aac" (avenc_aac, which
// rtspclientsink payloads with rtpmp4apay as MP4A-LATM) or "l16" (raw 16-bit PCM, RTP L16: not carried).
inline std::vector<std::string> gst_publisher_argv(const std::string& audio, const std::string& url) {
  std::vector<std::string> a;
  for (auto e : {"gst-launch-1.0", "-e", "videotestsrc", "is-live=true", "!", "video/x-raw,format=I420", "!", "x264enc",
                 "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=30", "!", "h264parse", "!", "s.sink_0",
                 "audiotestsrc", "is-live=true", "!"})
    a.push_back(e);
  if (audio == "aac") {
    for (auto e : {"avenc_aac", "!", "aacparse"}) a.push_back(e);
  } else {
    for (auto e : {"audioconvert", "!", "audio/x-raw,format=S16BE,rate=8000,channels=1"}) a.push_back(e);
  }
  for (auto e : {"!", "s.sink_1", "rtspclientsink", "name=s", "protocols=tcp"}) a.push_back(e);
  a.push_back("location=" + url);
  return a;
}

}  // namespace sg::test
