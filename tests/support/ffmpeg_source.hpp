#pragma once
// ffmpeg's arguments for a live test source, up to its output options: a test picture (lavfi testsrc2 in real time)
// encoded with libx264 ultrafast and, with audio, a 440 Hz tone in AAC. A test appends the rest (encoder options
// of its own, the format and the URL) with `then`.
#include <initializer_list>
#include <string>
#include <vector>

namespace sg::test {

struct FfmpegSource {
  std::string size = "320x240";
  int rate = 25;
  int gop = 25;               // -g: a keyframe every second at the default rate
  std::string video_bitrate = {};  // -b:v; empty: the encoder's default
  bool audio = false;         // a 440 Hz tone at 44.1 kHz, AAC 64 kb/s
  bool zerolatency = true;    // -tune zerolatency (no B-frames, no lookahead)
};

inline std::vector<std::string> ffmpeg_source(const FfmpegSource& s) {
  std::vector<std::string> args{
      "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning",
      "-re",    "-f",       "lavfi",        "-i",        "testsrc2=size=" + s.size + ":rate=" + std::to_string(s.rate)};
  if (s.audio) args.insert(args.end(), {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"});
  args.insert(args.end(), {"-c:v", "libx264", "-preset", "ultrafast"});
  if (s.zerolatency) args.insert(args.end(), {"-tune", "zerolatency"});
  args.insert(args.end(), {"-g", std::to_string(s.gop)});
  if (!s.video_bitrate.empty()) args.insert(args.end(), {"-b:v", s.video_bitrate});
  if (s.audio) args.insert(args.end(), {"-c:a", "aac", "-b:a", "64k"});
  return args;
}

// `args` with `more` appended.
inline std::vector<std::string> then(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

}  // namespace sg::test
