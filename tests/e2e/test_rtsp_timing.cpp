// RTSP timing as readers see it, against a real GStreamer camera (tests/e2e/gst_rtsp_server.py) pulled by the
// server: RTP-Info in the PLAY response matches the first packets, RTCP sender reports map RTP time to wall time
// consistently with the RTP stream (TCP and UDP), and a camera restart under a connected reader keeps timestamps
// and sequence numbers continuous (no jump beyond the real gap).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "../support/process.hpp"
#include "../support/stream_api.hpp"
#include "rtp/rtcp.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kScript = std::string(SG_SOURCE_DIR) + "/tests/e2e/gst_rtsp_server.py";
constexpr uint32_t kVideoRate = 90000;
constexpr uint32_t kAudioRate = 44100;  // the camera's AAC

bool have_gst_rtsp_server() {
  static const bool ok = [] {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    auto r = test::run({"/usr/bin/python3", "-c",
                        "import gi; gi.require_version('GstRtspServer', '1.0'); "
                        "from gi.repository import GstRtspServer"},
                       20s, "gst_probe");
    return r.exit_code == 0;
  }();
  return ok;
}

// The GStreamer camera on a free port; start() again after kill() restarts it on the same port.
class Camera {
 public:
  Camera() : port_(test::free_port()) { start(); }
  bool start() {
    static int n = 0;
    child_.start(
        {"/usr/bin/python3", kScript, std::to_string(port_)},
        ::testing::TempDir() + "sg_timing_gst_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".log");
    ready_ =
        test::wait_until([&] { return child_.log().find("ready") != std::string::npos || !child_.running(); }, 15s) &&
        child_.running();
    return ready_;
  }
  void kill() { child_.kill(); }
  bool ready() const { return ready_; }
  std::string log() const { return child_.log(); }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/h264"; }

 private:
  uint16_t port_;
  test::Child child_;
  bool ready_ = false;
};

// The camera pulled over TCP as stream "cam"; ready and past its first keyframe (the camera's GOP is 1 s).
struct PulledCamera {
  Camera camera;
  test::Server server{"rtsp:\n  source_timeout: 5\nstreams:\n  cam: { source: \"" + camera.url() +
                      "\", rtsp_transport: tcp }\n"};
  bool ready() {
    return camera.ready() && server.ready &&
           test::wait_until([&] { return test::ready_uptime(server, "cam") > 1.5; }, 20s);
  }
};

struct Rtp {
  uint16_t seq;
  uint32_t timestamp;
  uint32_t ssrc;
  Clock::time_point arrival;
};
struct Sr {
  rtp::SenderReport report;
  std::string cname;
  size_t rtp_before;  // RTP packets of the track received before this report
  uint32_t last_timestamp_before;
  int64_t unix_ns_at_arrival;
};

std::vector<Rtp> rtp_of(const test::RawRtspReader& r, size_t track) {
  std::vector<Rtp> out;
  for (const auto& p : r.packets()) {
    if (p.track != track || p.rtcp || p.data.size() < 12) continue;
    out.push_back({be16(p.data, 2), be32(p.data, 4), be32(p.data, 8), p.arrival});
  }
  return out;
}

int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reader-side bookkeeping of sender reports, per track, in arrival order.
class SrLog {
 public:
  void scan(const test::RawRtspReader& r) {
    for (; scanned_ < r.packets().size(); ++scanned_) {
      const auto& p = r.packets()[scanned_];
      if (!p.rtcp) {
        if (p.data.size() >= 12) {
          ++rtp_count_[p.track];
          last_ts_[p.track] = be32(p.data, 4);
        }
        continue;
      }
      auto msgs = rtp::parse_rtcp(p.data);
      if (!msgs.ok()) {
        errors_.push_back(msgs.error());
        continue;
      }
      Sr sr{};
      bool have = false;
      for (const auto& m : *msgs) {
        if (auto* s = std::get_if<rtp::SenderReport>(&m)) {
          sr.report = *s;
          have = true;
        } else if (auto* sdes = std::get_if<rtp::Sdes>(&m)) {
          if (!sdes->chunks.empty() && sdes->chunks[0].cname()) sr.cname = *sdes->chunks[0].cname();
        }
      }
      if (!have) continue;
      sr.rtp_before = rtp_count_[p.track];
      sr.last_timestamp_before = last_ts_[p.track];
      sr.unix_ns_at_arrival =
          unix_ns_now() - std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - p.arrival).count();
      reports_[p.track].push_back(sr);
    }
  }
  const std::vector<Sr>& of(size_t track) { return reports_[track]; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  size_t scanned_ = 0;
  std::map<size_t, size_t> rtp_count_;
  std::map<size_t, uint32_t> last_ts_;
  std::map<size_t, std::vector<Sr>> reports_;
  std::vector<std::string> errors_;
};

double ntp_seconds(uint64_t ntp) {
  return static_cast<double>(ntp >> 32) + static_cast<double>(ntp & 0xffffffff) / 4294967296.0;
}
double unix_as_ntp_seconds(int64_t unix_ns) { return static_cast<double>(unix_ns) / 1e9 + 2208988800.0; }
double ticks_to_s(int64_t ticks, uint32_t rate) { return static_cast<double>(ticks) / rate; }

#define REQUIRE_CAMERA()                                                                       \
  do {                                                                                         \
    if (!have_gst_rtsp_server()) GTEST_SKIP() << "GStreamer RTSP server (python3-gi) missing"; \
  } while (0)

// RTP-Info and sender reports seen by a raw reader over `transport`.
void expect_rtp_info_and_sender_reports(bool tcp) {
  PulledCamera cam;
  ASSERT_TRUE(cam.ready()) << cam.camera.log() << "\n" << cam.server.log();
  test::RawRtspReader reader(cam.server.rtsp_port, cam.server.rtsp_url("cam"), tcp);
  ASSERT_TRUE(reader.play()) << reader.error();

  // Two reports per track (the first comes with the first media, the next ~2 s later).
  SrLog srs;
  EXPECT_TRUE(reader.read_until(
      [&] {
        srs.scan(reader);
        return srs.of(0).size() >= 2 && srs.of(1).size() >= 2;
      },
      10s))
      << "reports: video " << srs.of(0).size() << ", audio " << srs.of(1).size();
  EXPECT_TRUE(srs.errors().empty()) << srs.errors().front();

  // RTP-Info: one entry per track, with the URL of its SETUP; seq is the first packet's; rtptime is the RTP time
  // play starts at: the first (key)frame's exactly, the audio's at that same instant, before its first packet.
  ASSERT_EQ(reader.rtp_info().size(), 2u) << reader.play_response();
  const uint32_t rates[2] = {kVideoRate, kAudioRate};
  for (size_t t = 0; t < 2; ++t) {
    SCOPED_TRACE("track " + std::to_string(t));
    const auto& info = reader.rtp_info()[t];
    EXPECT_EQ(info.url, reader.track_urls()[t]);
    auto rtp = rtp_of(reader, t);
    ASSERT_FALSE(rtp.empty());
    EXPECT_EQ(info.seq, rtp.front().seq);
    ASSERT_TRUE(info.rtptime.has_value()) << reader.play_response();
    const int32_t ahead = static_cast<int32_t>(rtp.front().timestamp - *info.rtptime);
    if (t == 0) {
      EXPECT_EQ(ahead, 0);
    } else {
      EXPECT_GE(ahead, 0);
      EXPECT_LT(ticks_to_s(ahead, rates[t]), 0.3);
    }
  }

  std::string cname;
  for (size_t t = 0; t < 2; ++t) {
    SCOPED_TRACE("track " + std::to_string(t));
    const auto& reports = srs.of(t);
    ASSERT_GE(reports.size(), 2u);
    auto rtp = rtp_of(reader, t);
    for (const auto& sr : reports) {
      EXPECT_EQ(sr.report.ssrc, rtp.front().ssrc);  // the reader's SSRC for the track
      // Wall clock: the server runs on this machine.
      EXPECT_NEAR(ntp_seconds(sr.report.ntp_timestamp), unix_as_ntp_seconds(sr.unix_ns_at_arrival), 0.5);
      EXPECT_FALSE(sr.cname.empty());
      if (cname.empty()) cname = sr.cname;
      EXPECT_EQ(sr.cname, cname);  // one CNAME for the session: receivers lip-sync its tracks
      EXPECT_GT(sr.report.packet_count, 0u);
      // Over TCP a report follows the packets it counts on the same connection.
      if (tcp) {
        EXPECT_EQ(sr.report.packet_count, sr.rtp_before);
      }
    }
    // RTP time in the report agrees with the stream: the latest packet was sent just before the report...
    const auto& last = reports.back();
    const double lead =
        ticks_to_s(static_cast<int32_t>(last.report.rtp_timestamp - last.last_timestamp_before), rates[t]);
    EXPECT_GT(lead, -0.1);
    EXPECT_LT(lead, 0.5);
    // ... and the NTP <-> RTP mapping advances at the clock rate from one report to the next.
    const auto& first = reports.front();
    const double rtp_elapsed =
        ticks_to_s(static_cast<int32_t>(last.report.rtp_timestamp - first.report.rtp_timestamp), rates[t]);
    const double ntp_elapsed = ntp_seconds(last.report.ntp_timestamp) - ntp_seconds(first.report.ntp_timestamp);
    EXPECT_GT(ntp_elapsed, 1.0);
    EXPECT_NEAR(rtp_elapsed, ntp_elapsed, 0.1);
  }
}

TEST(RtspTiming, TcpReaderGetsRtpInfoOfItsFirstPacketsAndSenderReportsOnRtcpChannels) {
  REQUIRE_CAMERA();
  expect_rtp_info_and_sender_reports(true);
}

TEST(RtspTiming, UdpReaderGetsRtpInfoOfItsFirstPacketsAndSenderReportsOnItsRtcpPorts) {
  REQUIRE_CAMERA();
  expect_rtp_info_and_sender_reports(false);
}

// GStreamer's rtspsrc lip-syncs a session's tracks from their sender reports: rtpbin associates every SSRC with the
// session's CNAME and, once each has an SR, reports "all sync 1" (gstrtpbin.c gst_rtp_bin_associate).
void expect_rtspsrc_syncs(const std::string& protocol) {
  if (!test::have_program("gst-launch-1.0")) GTEST_SKIP() << "gst-launch-1.0 missing";
  PulledCamera cam;
  ASSERT_TRUE(cam.ready()) << cam.camera.log() << "\n" << cam.server.log();
  const std::string log_file =
      ::testing::TempDir() + "sg_timing_rtspsrc_" + protocol + "_" + std::to_string(::getpid()) + ".log";
  ::setenv("GST_DEBUG", "rtpbin:5,rtpsession:5", 1);
  ::setenv("GST_DEBUG_NO_COLOR", "1", 1);
  test::Child gst({"gst-launch-1.0", "rtspsrc", "location=" + cam.server.rtsp_url("cam"), "protocols=" + protocol,
                   "name=s", "s.", "!", "queue", "!", "fakesink", "s.", "!", "queue", "!", "fakesink"},
                  log_file);
  ::unsetenv("GST_DEBUG");
  ::unsetenv("GST_DEBUG_NO_COLOR");
  const bool synced =
      test::wait_until([&] { return gst.log().find("all sync 1") != std::string::npos || !gst.running(); }, 15s);
  auto log = gst.log();
  gst.kill();
  EXPECT_TRUE(synced && log.find("all sync 1") != std::string::npos)
      << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  EXPECT_NE(log.find("with CNAME streamgate@"), std::string::npos);
  // Both tracks' reports reached the client.
  std::regex sr("got SR packet: SSRC ([0-9a-f]+)");
  std::set<std::string> ssrcs;
  for (std::sregex_iterator it(log.begin(), log.end(), sr), end; it != end; ++it) ssrcs.insert((*it)[1]);
  EXPECT_EQ(ssrcs.size(), 2u);
}

TEST(RtspTiming, GstreamerRtspsrcOverTcpSyncsTracksFromSenderReports) {
  REQUIRE_CAMERA();
  expect_rtspsrc_syncs("tcp");
}

TEST(RtspTiming, GstreamerRtspsrcOverUdpSyncsTracksFromSenderReports) {
  REQUIRE_CAMERA();
  expect_rtspsrc_syncs("udp");
}

TEST(RtspTiming, CameraRestartUnderAConnectedReaderKeepsTimestampsAndSequenceContinuous) {
  REQUIRE_CAMERA();
  PulledCamera cam;
  ASSERT_TRUE(cam.ready()) << cam.camera.log() << "\n" << cam.server.log();
  test::RawRtspReader reader(cam.server.rtsp_port, cam.server.rtsp_url("cam"), true);
  ASSERT_TRUE(reader.play()) << reader.error();
  // A second of live media after the GOP cache replay.
  ASSERT_TRUE(reader.read_until(
      [&] {
        auto v = rtp_of(reader, 0);
        return !v.empty() && v.back().arrival > v.front().arrival + 1s;
      },
      10s));

  cam.camera.kill();
  // Restarted while the reader keeps reading (arrival times are taken as packets come).
  bool restarted = false;
  std::thread restart([&] { restarted = cam.camera.start(); });
  // The new camera session's media follows a silence of more than a second; read two seconds of it.
  std::optional<Clock::time_point> back;
  size_t scanned = 1;
  const bool got = reader.read_until(
      [&] {
        const auto& p = reader.packets();
        for (; !back && scanned < p.size(); ++scanned)
          if (p[scanned].arrival - p[scanned - 1].arrival > 1s) back = p[scanned].arrival;
        return back && p.back().arrival > *back + 2s;
      },
      30s);
  restart.join();
  ASSERT_TRUE(restarted) << cam.camera.log();
  ASSERT_TRUE(got) << "the reader got no media after the camera restart\n" << cam.server.log();

  const uint32_t rates[2] = {kVideoRate, kAudioRate};
  for (size_t t = 0; t < 2; ++t) {
    SCOPED_TRACE("track " + std::to_string(t));
    auto rtp = rtp_of(reader, t);
    ASSERT_GE(rtp.size(), 20u);
    double worst = 0;
    size_t worst_at = 0;
    for (size_t i = 1; i < rtp.size(); ++i) {
      ASSERT_EQ(static_cast<uint16_t>(rtp[i].seq - rtp[i - 1].seq), 1) << "at packet " << i;
      ASSERT_EQ(rtp[i].ssrc, rtp[0].ssrc);
      // Timestamps advance as time really passed (the initial GOP replay comes in a burst: up to its length).
      const double media = ticks_to_s(static_cast<int32_t>(rtp[i].timestamp - rtp[i - 1].timestamp), rates[t]);
      const double real = std::chrono::duration<double>(rtp[i].arrival - rtp[i - 1].arrival).count();
      if (std::abs(media - real) > worst) {
        worst = std::abs(media - real);
        worst_at = i;
      }
    }
    EXPECT_LT(worst, 1.2) << "timestamp step vs arrival gap off by " << worst << " s at packet " << worst_at << " of "
                          << rtp.size() << ": media "
                          << ticks_to_s(static_cast<int32_t>(rtp[worst_at].timestamp - rtp[worst_at - 1].timestamp),
                                        rates[t])
                          << " s, real "
                          << std::chrono::duration<double>(rtp[worst_at].arrival - rtp[worst_at - 1].arrival).count()
                          << " s";
    // Over the whole recording, media time covers the real time including the restart gap.
    const double media = ticks_to_s(static_cast<int32_t>(rtp.back().timestamp - rtp.front().timestamp), rates[t]);
    const double real = std::chrono::duration<double>(rtp.back().arrival - rtp.front().arrival).count();
    EXPECT_NEAR(media, real, 1.5);
  }
}

}  // namespace
}  // namespace sg
