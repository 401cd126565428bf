// Recording end to end: ffmpeg publishes over RTSP, the server records the shared stream to fMP4 segment files,
// ffprobe reads them back. Covers the acceptance points: H.264 + AAC and H.265 + Opus in 10 s segments
// (durations add up, no timestamp errors), kill -9 while recording (every file readable, little lost), a small
// tmpfs that fills up (the recording stops with the error in the API, live readers lose nothing, it resumes when
// space returns) and retention.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "../support/http_client.hpp"
#include "../support/process.hpp"
#include "mp4_probe.hpp"
#include "record/path_pattern.hpp"
#include "rtsp_raw_reader.hpp"

namespace sg::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr double kFrame = 1.0 / 30;  // the publishers' frame duration (30 fps)

enum class Codecs { H264Aac, H265Opus };

std::vector<std::string> publisher_argv(Codecs c, const std::string& url, int seconds,
                                        const std::string& bitrate = "1M") {
  std::vector<std::string> a = {"ffmpeg",       "-nostdin",
                                "-hide_banner", "-loglevel",
                                "warning",      "-re",
                                "-f",           "lavfi",
                                "-i",           "testsrc2=size=320x240:rate=30",
                                "-f",           "lavfi",
                                "-i",           "sine=frequency=440:sample_rate=48000"};
  if (seconds > 0) {
    a.push_back("-t");
    a.push_back(std::to_string(seconds));
  }
  if (c == Codecs::H264Aac) {
    for (auto s : {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-c:a", "aac"})
      a.push_back(s);
  } else {
    for (auto s : {"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-x265-params",
                   "keyint=30:log-level=error", "-c:a", "libopus"})
      a.push_back(s);
  }
  for (auto s : {"-b:v", bitrate.c_str(), "-b:a", "64k", "-f", "rtsp", "-rtsp_transport", "tcp"}) a.push_back(s);
  a.push_back(url);
  return a;
}

std::string temp_dir(const std::string& tag) {
  auto dir = ::testing::TempDir() + "sg_rec_" + tag + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string pattern_in(const std::string& dir) { return dir + "/%stream/%Y-%m-%d_%H-%M-%S-%f"; }

struct Segment {
  std::string path;
  int64_t start_us = 0;
};

// The stream's segment files, oldest first (by the start time in their names).
std::vector<Segment> segments(const std::string& pattern, const std::string& stream) {
  std::vector<Segment> out;
  std::error_code ec;
  const std::string root = record::record_root(pattern);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto parsed = record::parse_record_path(pattern, it->path().string());
    if (parsed && parsed->stream == stream) out.push_back({it->path().string(), parsed->start_us});
  }
  std::sort(out.begin(), out.end(), [](const Segment& a, const Segment& b) { return a.start_us < b.start_us; });
  return out;
}

uintmax_t total_size(const std::vector<Segment>& segs) {
  uintmax_t n = 0;
  std::error_code ec;
  for (const auto& s : segs) n += fs::file_size(s.path, ec);
  return n;
}

// Waits until no file of the stream changes size for `quiet`.
void wait_quiescent(const std::string& pattern, const std::string& stream, std::chrono::milliseconds quiet) {
  uintmax_t last = ~uintmax_t{0};
  auto since = std::chrono::steady_clock::now();
  wait_until(
      [&] {
        auto n = total_size(segments(pattern, stream));
        if (n != last) {
          last = n;
          since = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - since >= quiet;
      },
      30s);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// What ffprobe -v error says while reading and decoding every frame: empty for a clean file.
std::string probe_errors(const std::string& file) {
  auto r = run(
      {"sh", "-c",
       "ffprobe -v error -count_frames -show_entries stream=nb_read_frames " + shell_quote(file) + " 2>&1 >/dev/null"},
      120s, "probe");
  return r.output;
}

struct Probe {
  std::string video_codec, audio_codec;
  double video_duration = -1;
  int64_t video_frames = 0;
  bool first_video_key = false;
};

Probe probe(const std::string& file) {
  Probe p;
  auto r = run({"ffprobe", "-v", "quiet", "-of", "json", "-show_streams", "-count_packets", file}, 60s, "probe");
  boost::system::error_code ec;
  auto v = json::parse(r.output, ec);
  if (ec || !v.is_object() || !v.as_object().contains("streams")) return p;
  for (const auto& s : v.at("streams").as_array()) {
    const auto& o = s.as_object();
    const std::string type(o.at("codec_type").as_string());
    if (type == "video") {
      p.video_codec = std::string(o.at("codec_name").as_string());
      if (o.contains("duration")) p.video_duration = std::stod(std::string(o.at("duration").as_string()));
      if (o.contains("nb_read_packets")) p.video_frames = std::stoll(std::string(o.at("nb_read_packets").as_string()));
    } else if (type == "audio") {
      p.audio_codec = std::string(o.at("codec_name").as_string());
    }
  }
  auto k = run({"ffprobe", "-v", "quiet", "-select_streams", "v:0", "-show_entries", "packet=flags", "-read_intervals",
                "%+#1", "-of", "csv=p=0", file},
               60s, "probe");
  p.first_video_key = k.output.starts_with("K");
  return p;
}

json::value stream_info(const Server& s, const std::string& id) {
  auto r = http_request(s.http_port, "GET", "/api/v1/streams/" + id);
  if (r.status != 200) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return ec ? json::value(nullptr) : v;
}

std::string recording_state(const Server& s, const std::string& id) {
  auto v = stream_info(s, id);
  if (!v.is_object() || !v.as_object().contains("recording")) return "";
  return std::string(v.at("recording").at("state").as_string());
}

std::string log_tail(const std::string& log, size_t n = 3000) {
  return log.size() > n ? log.substr(log.size() - n) : log;
}

bool have_tools() { return have_program("ffmpeg") && have_program("ffprobe"); }

std::string config(const std::string& pattern, const std::string& segment, const std::string& extra = "") {
  return "stream_defaults:\n  record: true\n  record_path: " + pattern + "\n  record_segment: " + segment +
         "\n  record_part: 1s\n" + extra;
}

// Checks one stream's recording: every file clean and starting with a keyframe, consecutive files continuous,
// durations summing to the recorded span within one frame.
void check_recording(const std::string& pattern, const std::string& stream, const std::string& video,
                     const std::string& audio, double min_total, size_t min_files) {
  SCOPED_TRACE(stream);
  auto segs = segments(pattern, stream);
  ASSERT_GE(segs.size(), min_files);
  double total = 0;
  std::vector<double> durations;
  for (const auto& s : segs) {
    SCOPED_TRACE(s.path);
    EXPECT_EQ(probe_errors(s.path), "");
    auto p = probe(s.path);
    EXPECT_EQ(p.video_codec, video);
    EXPECT_EQ(p.audio_codec, audio);
    EXPECT_TRUE(p.first_video_key);
    ASSERT_GT(p.video_duration, 0);
    durations.push_back(p.video_duration);
    total += p.video_duration;
  }
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const double end = static_cast<double>(segs[i].start_us) / 1e6 + durations[i];
    EXPECT_NEAR(end, static_cast<double>(segs[i + 1].start_us) / 1e6, kFrame)
        << "gap or overlap after " << segs[i].path;
  }
  const double span = static_cast<double>(segs.back().start_us - segs.front().start_us) / 1e6 + durations.back();
  EXPECT_NEAR(total, span, kFrame);
  EXPECT_GE(total, min_total);
}

// RFC 3339 (UTC, microseconds) of a Unix time in microseconds, as /{stream}/playback takes it.
std::string rfc3339(int64_t unix_us) {
  const time_t secs = static_cast<time_t>(unix_us / 1000000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(unix_us % 1000000));
  return buf;
}

// Plays back 15 s of what the server recorded, from 5 s into the first segment (so the span crosses into the
// second): one MP4 of 15 s +- one GOP (1 s), starting on a keyframe, audio and video starting within 50 ms, that
// decodes without errors.
void check_playback_across_a_boundary(const Server& server, const std::string& pattern, const std::string& stream,
                                      const std::string& video, const std::string& audio, const std::string& dir) {
  SCOPED_TRACE("playback of " + stream);
  auto segs = segments(pattern, stream);
  ASSERT_GE(segs.size(), 2u);
  const int64_t from = segs[0].start_us + 5000000;
  ASSERT_LT(from, segs[1].start_us);
  ASSERT_GT(from + 15000000, segs[1].start_us);
  auto spans = http_request(server.http_port, "GET", "/api/v1/recordings/" + stream);
  ASSERT_EQ(spans.status, 200) << spans.body;
  const std::string target = "/" + stream + "/playback?start=" + rfc3339(from) + "&duration=15s";
  auto reply = http_raw(server.http_port,
                        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 30000);
  ASSERT_EQ(reply.status, 200) << reply.raw.substr(0, 500);
  ASSERT_EQ(reply.body.size(), std::stoul(reply.headers["content-length"]));
  const std::string file = dir + "/played_" + stream + ".mp4";
  std::ofstream(file, std::ios::binary) << reply.body;
  auto p = probe_mp4(file);
  EXPECT_EQ(p.codec["video"], video) << p.output;
  EXPECT_EQ(p.codec["audio"], audio) << p.output;
  EXPECT_GE(p.duration, 15.0 - 0.1) << p.output;
  EXPECT_LE(p.duration, 16.0 + 0.1) << p.output;
  EXPECT_NEAR(p.start["video"], p.start["audio"], 0.05) << p.output;
  EXPECT_TRUE(probe(file).first_video_key);
  EXPECT_EQ(probe_errors(file), "");
}

TEST(Recording, H264AacAndH265OpusInTenSecondSegmentsForThirtySecondsPlayBackAcrossABoundary) {
  if (!have_tools()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const auto dir = temp_dir("codecs");
  const auto pattern = pattern_in(dir);
  Server server(config(pattern, "10s"));
  ASSERT_TRUE(server.ready) << log_tail(server.log());
  // Both at once, to save time; each publishes 30 s.
  Child h264(publisher_argv(Codecs::H264Aac, server.rtsp_url("rec264"), 30), dir + "/pub264.log");
  Child h265(publisher_argv(Codecs::H265Opus, server.rtsp_url("rec265"), 30), dir + "/pub265.log");
  ASSERT_TRUE(wait_until(
      [&] { return recording_state(server, "rec264") == "on" && recording_state(server, "rec265") == "on"; }, 20s))
      << log_tail(server.log());
  // Metrics while recording (publisher-made streams go away with their publisher, and their recordings with them).
  EXPECT_TRUE(wait_until(
      [&] {
        auto m = http_request(server.http_port, "GET", "/metrics").body;
        return m.find("streamgate_record_segments_total{stream=\"rec264\"} 1") != std::string::npos &&
               m.find("streamgate_record_disk_free_bytes{volume=\"" + dir + "/\"}") != std::string::npos &&
               m.find("streamgate_record_recordings 2") != std::string::npos;
      },
      10s))
      << http_request(server.http_port, "GET", "/metrics").body;
  EXPECT_EQ(h264.wait(90s), 0) << h264.log();
  EXPECT_EQ(h265.wait(90s), 0) << h265.log();
  wait_quiescent(pattern, "rec264", 2s);
  wait_quiescent(pattern, "rec265", 2s);
  // 30 s published: the recording starts at the first keyframe the server forwards (within the first second).
  check_recording(pattern, "rec264", "h264", "aac", 28.5, 3);
  check_recording(pattern, "rec265", "hevc", "opus", 28.5, 3);
  // What the recorder wrote plays back through the server across a segment boundary.
  check_playback_across_a_boundary(server, pattern, "rec264", "h264", "aac", dir);
  check_playback_across_a_boundary(server, pattern, "rec265", "hevc", "opus", dir);
  fs::remove_all(dir);
}

TEST(Recording, KillNineLeavesEveryFileReadableAndLosesAtMostAPartAndAGop) {
  if (!have_tools()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const auto dir = temp_dir("kill");
  const auto pattern = pattern_in(dir);
  Server server(config(pattern, "5s"));
  ASSERT_TRUE(server.ready) << log_tail(server.log());
  Child pub(publisher_argv(Codecs::H264Aac, server.rtsp_url("cam"), 0), dir + "/pub.log");
  // Into the third segment by a few seconds.
  ASSERT_TRUE(wait_until([&] { return segments(pattern, "cam").size() >= 3; }, 40s)) << log_tail(server.log());
  std::this_thread::sleep_for(3500ms);
  server.child.signal(SIGKILL);
  const int64_t killed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  server.child.wait(10s);
  pub.kill();
  auto segs = segments(pattern, "cam");
  ASSERT_GE(segs.size(), 3u);
  for (const auto& s : segs) {
    SCOPED_TRACE(s.path);
    EXPECT_EQ(probe_errors(s.path), "");
    EXPECT_GT(probe(s.path).video_duration, 0);
  }
  // The last file held media from its start until the kill; record_part (1 s) + one GOP (1 s) may be missing, plus
  // 0.3 s for the time a frame takes from ffmpeg's clock to the server.
  const double expected = static_cast<double>(killed_us - segs.back().start_us) / 1e6;
  const double got = probe(segs.back().path).video_duration;
  EXPECT_GE(got, expected - 1.0 - 1.0 - 0.3) << "expected about " << expected << " s";
  // File names follow media time from the wall clock at the first keyframe's arrival, which may have come late (x264
  // start-up, scheduling): a name may be late by that much, so a file may hold a little more than kill - start.
  EXPECT_LE(got, expected + 0.5);
  fs::remove_all(dir);
}

// Counts RTP sequence number gaps per track (16-bit wrap).
uint64_t sequence_gaps(const std::vector<RawPacket>& packets, uint64_t& rtp_packets) {
  std::map<size_t, uint16_t> last;
  uint64_t gaps = 0;
  rtp_packets = 0;
  for (const auto& p : packets) {
    if (p.rtcp || p.data.size() < 12) continue;
    ++rtp_packets;
    const uint16_t seq =
        static_cast<uint16_t>(static_cast<uint16_t>(p.data[2]) << 8 | static_cast<uint16_t>(p.data[3]));
    auto it = last.find(p.track);
    if (it != last.end() && static_cast<uint16_t>(it->second + 1) != seq)
      gaps += static_cast<uint16_t>(seq - it->second - 1);
    last[p.track] = seq;
  }
  return gaps;
}

TEST(Recording, AFullDiskStopsTheRecordingWithAnErrorLiveReadersLoseNothingAndItResumes) {
  if (!have_tools()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  // A 2 MB tmpfs in a mount namespace of this test process (and so of the server it starts).
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNS) != 0 ||
      ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    GTEST_SKIP() << "needs root to mount a small tmpfs";
  const auto dir = temp_dir("full");
  ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=2m"), 0) << std::strerror(errno);
  const auto pattern = pattern_in(dir);
  Server server(config(pattern, "10s"));
  ASSERT_TRUE(server.ready) << log_tail(server.log());
  const std::string logs = ::testing::TempDir() + "sg_rec_full_pub_" + std::to_string(::getpid()) + ".log";
  Child pub(publisher_argv(Codecs::H264Aac, server.rtsp_url("cam"), 0, "2M"), logs);
  ASSERT_TRUE(wait_until([&] { return recording_state(server, "cam") == "on"; }, 20s)) << log_tail(server.log());

  RawRtspReader reader(server.rtsp_port, server.rtsp_url("cam"), true);
  ASSERT_TRUE(reader.play()) << reader.error();
  std::atomic<bool> done{false};
  std::thread reading([&] { reader.read_until([&] { return done.load(); }, 120s); });

  // 2 Mb/s fills 2 MB within seconds.
  json::value info;
  const bool failed = wait_until(
      [&] {
        info = stream_info(server, "cam");
        return info.is_object() && info.at("recording").at("state") == "error";
      },
      40s);
  EXPECT_TRUE(failed) << json::serialize(info) << log_tail(server.log());
  if (failed) {
    const std::string error(info.at("recording").at("error").as_string());
    EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  }
  auto m = http_request(server.http_port, "GET", "/metrics");
  EXPECT_NE(m.body.find("streamgate_record_failed{stream=\"cam\"} 1"), std::string::npos);
  // The live stream goes on while the disk is full.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(stream_info(server, "cam").at("state"), "ready");

  // Space returns: the recording resumes on its own, with a new file.
  for (const auto& e : fs::directory_iterator(dir)) fs::remove_all(e.path());
  EXPECT_TRUE(wait_until(
      [&] { return recording_state(server, "cam") == "on" && total_size(segments(pattern, "cam")) > 100000; }, 30s))
      << json::serialize(stream_info(server, "cam")) << log_tail(server.log());
  done = true;
  reading.join();
  uint64_t rtp = 0;
  EXPECT_EQ(sequence_gaps(reader.packets(), rtp), 0u);
  EXPECT_GT(rtp, 1000u);
  auto segs = segments(pattern, "cam");
  ASSERT_FALSE(segs.empty());
  wait_until([&] { return probe(segs.front().path).video_duration > 1.0; }, 10s);
  EXPECT_EQ(probe_errors(segs.front().path), "");
  server.child.kill();
  ::umount2(dir.c_str(), MNT_DETACH);
}

TEST(Recording, RetentionDeletesFilesPastDeleteAfterAndEmptyFolders) {
  if (!have_tools()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const auto dir = temp_dir("retention");
  const auto pattern = pattern_in(dir);
  // An old recording of a stream that no longer exists, and its folder.
  fs::create_directories(dir + "/gone");
  const std::string old = record::expand_record_path(pattern, "gone", 1'600'000'000'000'000) + ".mp4";
  std::ofstream(old) << "old";
  const std::string foreign = dir + "/notes.txt";  // not a recording: never touched
  std::ofstream(foreign) << "keep";
  Server server(config(pattern, "1s", "  record_delete_after: 3s\n"));
  ASSERT_TRUE(server.ready) << log_tail(server.log());
  Child pub(publisher_argv(Codecs::H264Aac, server.rtsp_url("cam"), 0), dir + "/pub.log");
  ASSERT_TRUE(wait_until([&] { return segments(pattern, "cam").size() >= 2; }, 20s)) << log_tail(server.log());
  const auto first = segments(pattern, "cam").front().path;
  EXPECT_TRUE(wait_until([&] { return !fs::exists(old) && !fs::exists(dir + "/gone"); }, 15s));
  EXPECT_TRUE(wait_until([&] { return !fs::exists(first); }, 20s)) << first;
  // Recording goes on, and what is left is the last 3 s (plus the segment being written and one per second of
  // check interval).
  auto left = segments(pattern, "cam");
  EXPECT_FALSE(left.empty());
  EXPECT_LE(left.size(), 7u);
  EXPECT_EQ(recording_state(server, "cam"), "on");
  EXPECT_TRUE(fs::exists(foreign));
  pub.kill();
  server.child.kill();
  fs::remove_all(dir);
}

TEST(Recording, ApiStartsAndStopsARecording) {
  if (!have_tools()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const auto dir = temp_dir("api");
  const auto pattern = pattern_in(dir);
  Server server("stream_defaults:\n  record_path: " + pattern + "\n  record_segment: 10s\n");
  ASSERT_TRUE(server.ready) << log_tail(server.log());
  Child pub(publisher_argv(Codecs::H264Aac, server.rtsp_url("cam"), 0), dir + "/pub.log");
  ASSERT_TRUE(wait_until([&] { return stream_info(server, "cam").is_object(); }, 20s));
  EXPECT_EQ(recording_state(server, "cam"), "off");
  auto r = http_request(server.http_port, "POST", "/api/v1/streams/cam/record/start");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(wait_until([&] { return total_size(segments(pattern, "cam")) > 50000; }, 20s));
  r = http_request(server.http_port, "POST", "/api/v1/streams/cam/record/stop");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(recording_state(server, "cam"), "off");
  const auto size = total_size(segments(pattern, "cam"));
  std::this_thread::sleep_for(2500ms);
  EXPECT_LE(total_size(segments(pattern, "cam")), size + 400000);  // at most the last part, written after stop
  const auto after = total_size(segments(pattern, "cam"));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(total_size(segments(pattern, "cam")), after);
  EXPECT_EQ(http_request(server.http_port, "POST", "/api/v1/streams/nope/record/start").status, 404);
  pub.kill();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sg::test
