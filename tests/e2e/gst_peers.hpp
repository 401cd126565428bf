#pragma once
// GStreamer peers of the e2e tests, run with Debian's /usr/bin/python3 (python3-gi): the RTSP camera
// (gst_rtsp_server.py, gst-rtsp-server) and the WHEP viewer (whep_webrtcbin.py, webrtcbin).
#include <unistd.h>

#include <string>
#include <vector>

#include "../support/process.hpp"

namespace sg::test {

inline const std::string kGstCameraScript = SG_SOURCE_DIR "/tests/e2e/gst_rtsp_server.py";
inline const std::string kWebrtcbinViewerScript = SG_SOURCE_DIR "/tests/e2e/whep_webrtcbin.py";

inline bool have_gst_rtsp_server() {
  static const bool ok = [] {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    auto r = run({"/usr/bin/python3", "-c",
                  "import gi; gi.require_version('GstRtspServer', '1.0'); "
                  "from gi.repository import GstRtspServer"},
                 std::chrono::seconds(20), "gst_probe");
    return r.exit_code == 0;
  }();
  return ok;
}

inline bool have_webrtcbin() {
  static const bool ok = [] {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    auto r = run({"/usr/bin/python3", "-c",
                  "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); "
                  "gi.require_version('GstSdp', '1.0'); from gi.repository import Gst, GstWebRTC, GstSdp; "
                  "Gst.init(None); assert all(Gst.ElementFactory.find(e) for e in "
                  "('webrtcbin', 'nicesrc', 'avdec_h265', 'avdec_h264', 'opusdec'))"},
                 std::chrono::seconds(20), "webrtcbin_probe");
    return r.exit_code == 0;
  }();
  return ok;
}

// The GStreamer RTSP camera (tests/e2e/gst_rtsp_server.py) on `port`, optionally with digest credentials.
class GstServer {
 public:
  GstServer(uint16_t port, const std::string& user = {}, const std::string& pass = {}) : port_(port) {
    argv_ = {"/usr/bin/python3", kGstCameraScript, std::to_string(port)};
    if (!user.empty()) {
      argv_.push_back(user);
      argv_.push_back(pass);
    }
    start();
  }
  bool start() {
    static int n = 0;
    child_.start(argv_,
                 ::testing::TempDir() + "sg_gst_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".log");
    ready_ = wait_until([&] { return child_.log().find("ready") != std::string::npos || !child_.running(); },
                        std::chrono::seconds(15)) &&
             child_.running();
    return ready_;
  }
  void kill() { child_.kill(); }
  bool ready() const { return ready_; }
  std::string log() const { return child_.log(); }
  std::string url(const std::string& path, const std::string& userinfo = {}) const {
    return "rtsp://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  uint16_t port_;
  std::vector<std::string> argv_;
  Child child_;
  bool ready_ = false;
};

}  // namespace sg::test
