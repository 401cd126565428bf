#pragma once
// What ffprobe says of an MP4 file's format and tracks: its duration, and each track's codec and first timestamp
// (by codec_type: "video", "audio"). For the playback and recording end-to-end tests.
#include <boost/json.hpp>
#include <map>
#include <string>

#include "../support/process.hpp"

namespace sg::test {

struct Mp4Probe {
  double duration = 0;
  std::map<std::string, double> start;  // codec_type -> start_time
  std::map<std::string, std::string> codec;
  std::string output;  // ffprobe's, for failure messages
};

inline Mp4Probe probe_mp4(const std::string& file) {
  Mp4Probe p;
  auto r = run({"ffprobe", "-v", "error", "-of", "json", "-show_entries",
                "format=duration:stream=codec_type,codec_name,start_time", file},
               std::chrono::seconds(30), "mp4_probe");
  p.output = r.output;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.output.substr(std::min(r.output.find('{'), r.output.size())), ec);
  if (ec || !v.is_object() || !v.as_object().contains("streams")) return p;
  if (auto* f = v.as_object().if_contains("format")) p.duration = std::stod(std::string(f->at("duration").as_string()));
  for (const auto& s : v.at("streams").as_array()) {
    const std::string type(s.at("codec_type").as_string());
    p.codec[type] = std::string(s.at("codec_name").as_string());
    p.start[type] = std::stod(std::string(s.at("start_time").as_string()));
  }
  return p;
}

}  // namespace sg::test
