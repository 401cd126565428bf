#pragma once
// Reads fragmented MP4 files (ISO/IEC 14496-12 8.8) as the recorder writes them: the moov of the init part (one
// trak per track, mvex/trex defaults) and each moof's sample table (tfhd, tfdt, trun). Pure code over byte spans;
// the caller reads the boxes from the file. Used by playback to index recorded segments without loading mdat.
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::mp4 {

struct RecordedTrack {
  uint32_t track_id = 0;
  uint32_t timescale = 0;    // mdhd
  std::string handler;       // hdlr handler_type: "vide", "soun"
  ByteVector stsd;           // the whole stsd box (header included), copied verbatim into playback output
  uint32_t width = 0, height = 0;  // tkhd, 16.16 fixed point
  int64_t edit_media_time = 0;     // elst: media time of the first non-empty edit (0 without an edit list)
  // trex defaults (8.8.3)
  uint32_t default_duration = 0, default_size = 0, default_flags = 0;

  bool is_video() const { return handler == "vide"; }
};

// `moov` is the payload of the moov box.
Result<std::vector<RecordedTrack>> parse_moov(Bytes moov);

struct FragmentSample {
  uint32_t track_id = 0;
  uint64_t dts = 0;        // tfdt + the durations before it, in the track's timescale
  uint32_t duration = 0;
  uint32_t size = 0;
  int32_t cts_offset = 0;  // PTS - DTS
  bool keyframe = false;   // not sample_is_non_sync_sample (8.8.3.1)
  uint64_t offset = 0;     // of the sample's bytes in the file
};

// `moof` is the payload of a moof box that starts at `moof_offset` in the file. Samples of tracks not in
// `tracks` are skipped. Appends in file order.
Status parse_moof(Bytes moof, uint64_t moof_offset, const std::vector<RecordedTrack>& tracks,
                  std::vector<FragmentSample>& out);

}  // namespace sg::mp4
