#pragma once
// Playlist text per RFC 8216 and its Low-Latency extensions (draft-pantos-hls-rfc8216bis: EXT-X-PART,
// EXT-X-PART-INF, EXT-X-SERVER-CONTROL, EXT-X-PRELOAD-HINT). Pure rendering from a model; the Segmenter builds
// the model.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mp4/sample.hpp"

namespace sg::hls {

enum class Variant {
  MpegTs,      // .ts segments, EXT-X-VERSION 3
  Fmp4,        // CMAF .m4s segments + EXT-X-MAP init segment, EXT-X-VERSION 6
  LowLatency,  // fMP4 with partial segments, blocking reload and preload hints, EXT-X-VERSION 9
};

struct PartEntry {
  double duration = 0;  // seconds
  bool independent = false;
  std::string uri;
};

struct SegmentEntry {
  uint64_t msn = 0;
  double duration = 0;  // seconds
  std::string uri;
  std::optional<int64_t> program_date_time_ms;  // Unix epoch milliseconds
  std::vector<PartEntry> parts;                 // listed (LL only) before the segment's EXTINF; empty for old segments
};

struct MediaPlaylist {
  Variant variant = Variant::MpegTs;
  uint64_t target_duration = 2;  // whole seconds, >= every rounded EXTINF
  uint64_t media_sequence = 0;
  std::string map_uri;                 // fMP4 / LL: init segment URI
  std::vector<SegmentEntry> segments;  // complete segments, oldest first
  // Low-Latency only:
  double part_target = 0.2;                             // seconds, >= every part duration
  std::vector<PartEntry> pending_parts;                 // complete parts of the segment being built
  std::optional<int64_t> pending_program_date_time_ms;  // of the segment being built, if it has parts
  std::string preload_hint_uri;                         // the next part, not yet available
  bool ended = false;                                   // EXT-X-ENDLIST
};

// Durations are written with three decimals; PART-HOLD-BACK is three part targets (RFC 8216bis 4.4.3.8 requires
// at least two).
std::string render_media_playlist(const MediaPlaylist& playlist);

// One EXT-X-STREAM-INF variant: CODECS from the tracks, RESOLUTION from the first video track.
Result<std::string> render_multivariant_playlist(std::span<const mp4::TrackInfo> tracks, uint64_t bandwidth_bps,
                                                 const std::string& media_playlist_uri);

// The playlist with `query` ("a=1&b=2") added to every URI in it: URI lines and URI="..." attributes (EXT-X-MAP,
// EXT-X-PART, EXT-X-PRELOAD-HINT, ...), after '?' or after '&' when the URI has a query already.
std::string add_query_to_uris(std::string_view playlist, std::string_view query);

// "2026-11-25T02:31:46.123Z"
std::string format_program_date_time(int64_t unix_ms);

// Media playlist EXT-X-VERSION for a variant.
int playlist_version(Variant v);

}  // namespace sg::hls
