#pragma once
// CMAF / fragmented MP4 writer (ISO/IEC 14496-12, 14496-14 esds, 14496-15 avcC/hvcC, Opus-in-ISOBMFF dOps):
// an init segment (ftyp + moov with empty sample tables + mvex) and media fragments (moof + mdat).
// Track IDs are the track's index in the `tracks` span plus one.
#include <cstdint>
#include <span>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mp4/sample.hpp"

namespace sg::mp4 {

// ftyp (major iso6, compatible iso6 cmfc) + moov. Fails on a track the writer cannot describe (e.g. video without
// its avcC/hvcC record, AAC without AudioSpecificConfig, zero timescale).
Result<ByteVector> write_init_segment(std::span<const TrackInfo> tracks);

// The samples of one track inside one fragment, in decode order. Tracks with no samples are left out of the moof.
struct TrackRun {
  uint32_t track_id = 0;            // 1-based, as in the init segment
  bool video = false;               // video: sync/non-sync flags and composition offsets
  std::span<const Sample> samples;  // tfdt = samples.front().dts
};

// moof (mfhd `sequence_number`, one traf per non-empty run: tfhd default-base-is-moof, tfdt v1, trun v1 with data
// offset, per-sample duration/size/flags and, for video, signed composition offsets) followed by one mdat.
Result<ByteVector> write_fragment(uint32_t sequence_number, std::span<const TrackRun> runs);

// ISO/IEC 14496-12 8.8.3.1 sample flags used in trun.
inline constexpr uint32_t kSyncSampleFlags = 0x02000000;     // sample_depends_on = 2 (does not depend on others)
inline constexpr uint32_t kNonSyncSampleFlags = 0x01010000;  // sample_depends_on = 1, sample_is_non_sync_sample

}  // namespace sg::mp4
