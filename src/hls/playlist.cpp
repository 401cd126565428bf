#include "hls/playlist.hpp"

#include <chrono>
#include <cstdio>

#include "hls/codecs.hpp"

namespace sg::hls {
namespace {

std::string decimal3(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", seconds);
  return buf;
}

void write_part(std::string& out, const PartEntry& p) {
  out += "#EXT-X-PART:DURATION=" + decimal3(p.duration) + ",URI=\"" + p.uri + "\"";
  if (p.independent) out += ",INDEPENDENT=YES";
  out += "\n";
}

}  // namespace

int playlist_version(Variant v) {
  switch (v) {
    case Variant::MpegTs:
      return 3;  // floating-point EXTINF
    case Variant::Fmp4:
      return 6;  // EXT-X-MAP without EXT-X-I-FRAMES-ONLY
    case Variant::LowLatency:
      return 9;
  }
  return 3;
}

std::string format_program_date_time(int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{unix_ms}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const auto ms_of_day = (t - day).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(ms_of_day / 3600000), static_cast<int>(ms_of_day / 60000 % 60),
                static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
  return buf;
}

std::string render_media_playlist(const MediaPlaylist& p) {
  const bool ll = p.variant == Variant::LowLatency;
  std::string out = "#EXTM3U\n";
  out += "#EXT-X-VERSION:" + std::to_string(playlist_version(p.variant)) + "\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(p.target_duration) + "\n";
  if (ll) {
    out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=" + decimal3(3 * p.part_target) + "\n";
    out += "#EXT-X-PART-INF:PART-TARGET=" + decimal3(p.part_target) + "\n";
  }
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(p.media_sequence) + "\n";
  if (p.variant != Variant::MpegTs) out += "#EXT-X-MAP:URI=\"" + p.map_uri + "\"\n";
  for (const SegmentEntry& s : p.segments) {
    if (s.program_date_time_ms)
      out += "#EXT-X-PROGRAM-DATE-TIME:" + format_program_date_time(*s.program_date_time_ms) + "\n";
    if (ll)
      for (const PartEntry& part : s.parts) write_part(out, part);
    out += "#EXTINF:" + decimal3(s.duration) + ",\n" + s.uri + "\n";
  }
  if (ll) {
    if (!p.pending_parts.empty() && p.pending_program_date_time_ms)
      out += "#EXT-X-PROGRAM-DATE-TIME:" + format_program_date_time(*p.pending_program_date_time_ms) + "\n";
    for (const PartEntry& part : p.pending_parts) write_part(out, part);
    if (!p.preload_hint_uri.empty() && !p.ended)
      out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + p.preload_hint_uri + "\"\n";
  }
  if (p.ended) out += "#EXT-X-ENDLIST\n";
  return out;
}

Result<std::string> render_multivariant_playlist(std::span<const mp4::TrackInfo> tracks, uint64_t bandwidth_bps,
                                                 const std::string& media_playlist_uri) {
  if (tracks.empty()) return make_error("HLS: multivariant playlist without tracks");
  std::string codecs, resolution;
  for (const auto& t : tracks) {
    auto c = codec_string(t);
    if (!c) return make_error(c.error());
    codecs += (codecs.empty() ? "" : ",") + *c;
    if (t.is_video() && resolution.empty() && t.width > 0 && t.height > 0)
      resolution = std::to_string(t.width) + "x" + std::to_string(t.height);
  }
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(bandwidth_bps) + ",CODECS=\"" + codecs + "\"";
  if (!resolution.empty()) out += ",RESOLUTION=" + resolution;
  out += "\n" + media_playlist_uri + "\n";
  return out;
}

std::string add_query_to_uris(std::string_view playlist, std::string_view query) {
  if (query.empty()) return std::string(playlist);
  std::string out;
  out.reserve(playlist.size() + 64 * query.size());
  auto append_to_uri = [&](std::string_view uri) {
    out += uri;
    out += uri.find('?') == std::string_view::npos ? '?' : '&';
    out += query;
  };
  while (!playlist.empty()) {
    const auto eol = playlist.find('\n');
    auto line = playlist.substr(0, eol);
    playlist.remove_prefix(eol == std::string_view::npos ? playlist.size() : eol + 1);
    const bool cr = !line.empty() && line.back() == '\r';
    if (cr) line.remove_suffix(1);
    if (line.empty()) {
    } else if (line.front() != '#') {
      append_to_uri(line);
    } else {
      // Tags: every quoted URI attribute.
      constexpr std::string_view kAttr = "URI=\"";
      for (auto at = line.find(kAttr); at != std::string_view::npos; at = line.find(kAttr)) {
        const auto begin = at + kAttr.size();
        const auto end = line.find('"', begin);
        if (end == std::string_view::npos) break;
        out += line.substr(0, begin);
        append_to_uri(line.substr(begin, end - begin));
        line.remove_prefix(end);
      }
      out += line;
    }
    if (cr) out += '\r';
    if (eol != std::string_view::npos) out += '\n';
  }
  return out;
}

}  // namespace sg::hls
