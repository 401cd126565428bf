#pragma once
// Playback of recorded segments over HTTP:
//   GET /api/v1/recordings                 streams with recordings (API access)
//   GET /api/v1/recordings/{stream}        their time spans, merged across segments (API access)
//   GET /{stream}/playback?start=RFC3339&duration=60s[&format=mp4|fmp4]
//                                          one MP4 from the keyframe at or before `start`, byte ranges (read access)
//   GET /{stream}/recordings               a page: timeline of the spans, plays one in <video> (read access)
// Only fMP4 segments (record_format: fmp4) are played. A request indexes its segments' moov and moofs (pread of
// those boxes on the worker thread, a few KB per fragment) and streams the samples from the files in chunks of
// at most 256 KiB, also on the worker thread (bounded reads, no whole-file loads).
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http/http_server.hpp"
#include "playback/segment_files.hpp"

namespace sg::playback {

class PlaybackServer {
 public:
  // `patterns`: every record_path recordings may be under (the default one and the streams' own; segment files
  // are a pattern + ".mp4"). A stream's segments are looked up under each.
  explicit PlaybackServer(std::vector<std::string> patterns);
  // After a config reload changed the record paths.
  void set_patterns(std::vector<std::string> patterns);
  // Before any catch-all /{stream}/{file} route.
  void add_routes(http::Router& router);

  // The spans of `stream` (segment durations cached by path, size and mtime).
  std::vector<Span> spans(const std::string& stream);

 private:
  http::Response list_streams(const http::Request& req);
  http::Response list_spans(const http::Request& req, const std::string& stream);
  http::StreamedResponse playback(const http::Request& req, const std::string& stream);
  http::Response page(const http::Request& req, const std::string& stream);
  // The stream's segment files under every pattern, sorted by start (a file matched by two patterns once).
  std::vector<SegmentFile> files_of(const std::string& stream);

  std::vector<std::string> patterns_;  // guarded by mu_
  struct CachedDuration {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    std::chrono::microseconds duration{0};
  };
  std::mutex mu_;
  std::map<std::string, CachedDuration> durations_;
};

}  // namespace sg::playback
