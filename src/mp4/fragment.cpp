#include "mp4/fragment.hpp"

#include <string>

#include "mp4/box_writer.hpp"

namespace sg::mp4 {
namespace {

constexpr uint32_t kMatrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

void write_matrix(BoxWriter& w) {
  for (uint32_t v : kMatrix) w.u32(v);
}

// ISO/IEC 14496-1 8.3.3: expandable size field; always 4 bytes so the layout does not depend on the size.
void write_descriptor_header(BoxWriter& w, uint8_t tag, size_t size) {
  w.u8(tag);
  w.u8(static_cast<uint8_t>(0x80 | ((size >> 21) & 0x7f)));
  w.u8(static_cast<uint8_t>(0x80 | ((size >> 14) & 0x7f)));
  w.u8(static_cast<uint8_t>(0x80 | ((size >> 7) & 0x7f)));
  w.u8(static_cast<uint8_t>(size & 0x7f));
}

void write_esds(BoxWriter& w, const TrackInfo& t) {
  const size_t asc = t.codec_config.size();
  const size_t dsi = 5 + asc;
  const size_t dcd = 13 + dsi;
  const size_t sl = 5 + 1;
  const size_t es = 3 + 5 + dcd + sl;
  w.begin_full("esds", 0, 0);
  write_descriptor_header(w, 0x03, es);   // ES_Descriptor
  w.u16(0);                               // ES_ID
  w.u8(0);                                // no stream dependence, URL or OCR
  write_descriptor_header(w, 0x04, dcd);  // DecoderConfigDescriptor
  w.u8(0x40);                             // objectTypeIndication: MPEG-4 Audio
  w.u8(0x15);                             // streamType 5 (audio) << 2 | upStream 0 | reserved 1
  w.u24(0);                               // bufferSizeDB
  w.u32(0);                               // maxBitrate
  w.u32(0);                               // avgBitrate
  write_descriptor_header(w, 0x05, asc);  // DecoderSpecificInfo = AudioSpecificConfig
  w.bytes(t.codec_config);
  write_descriptor_header(w, 0x06, 1);  // SLConfigDescriptor
  w.u8(0x02);                           // predefined: reserved for MP4
  w.end();
}

// Opus in ISOBMFF (opus-codec.org/docs/opus_in_isobmff.html) 4.3.2. Pre-skip comes from an OpusHead if given.
void write_dops(BoxWriter& w, const TrackInfo& t) {
  uint16_t pre_skip = 312;  // libopus default at 48 kHz
  uint32_t input_rate = t.sample_rate ? t.sample_rate : 48000;
  const Bytes head = t.codec_config;
  if (head.size() >= 19 && as_string_view(head.first(8)) == "OpusHead") {
    pre_skip = static_cast<uint16_t>(u8(head, 10) | u8(head, 11) << 8);  // OpusHead is little-endian
    input_rate = uint32_t{u8(head, 12)} | uint32_t{u8(head, 13)} << 8 | uint32_t{u8(head, 14)} << 16 |
                 uint32_t{u8(head, 15)} << 24;
  }
  w.begin("dOps");
  w.u8(0);  // Version
  w.u8(t.channels ? t.channels : 2);
  w.u16(pre_skip);
  w.u32(input_rate);
  w.u16(0);  // OutputGain
  w.u8(0);   // ChannelMappingFamily 0: mono/stereo
  w.end();
}

Status write_sample_entry(BoxWriter& w, const TrackInfo& t) {
  if (t.is_video()) {
    if (t.codec_config.empty()) return make_error("MP4: video track without avcC/hvcC record");
    if (t.width <= 0 || t.height <= 0 || t.width > 0xffff || t.height > 0xffff)
      return make_error("MP4: bad video size " + std::to_string(t.width) + "x" + std::to_string(t.height));
    const bool h264 = t.codec == TrackInfo::Codec::H264;
    w.begin(h264 ? "avc1" : "hvc1");
    w.zeros(6);
    w.u16(1);     // data_reference_index
    w.zeros(16);  // pre_defined, reserved, pre_defined[3]
    w.u16(static_cast<uint16_t>(t.width));
    w.u16(static_cast<uint16_t>(t.height));
    w.u32(0x00480000);  // 72 dpi
    w.u32(0x00480000);
    w.u32(0);
    w.u16(1);       // frame_count
    w.zeros(32);    // compressorname
    w.u16(0x0018);  // depth
    w.u16(0xffff);  // pre_defined = -1
    w.begin(h264 ? "avcC" : "hvcC");
    w.bytes(t.codec_config);
    w.end();
    w.end();
    return Ok{};
  }
  const bool aac = t.codec == TrackInfo::Codec::AAC;
  if (aac && t.codec_config.empty()) return make_error("MP4: AAC track without AudioSpecificConfig");
  uint32_t rate = aac ? t.sample_rate : 48000;
  if (rate == 0 || rate > 0xffff) rate = 0;  // the 16.16 field cannot hold it; the esds/timescale still can
  w.begin(aac ? "mp4a" : "Opus");
  w.zeros(6);
  w.u16(1);  // data_reference_index
  w.zeros(8);
  w.u16(t.channels ? t.channels : 2);
  w.u16(16);  // samplesize
  w.u16(0);
  w.u16(0);
  w.u32(rate << 16);
  if (aac)
    write_esds(w, t);
  else
    write_dops(w, t);
  w.end();
  return Ok{};
}

Status write_trak(BoxWriter& w, const TrackInfo& t, uint32_t track_id) {
  const bool video = t.is_video();
  w.begin("trak");
  w.begin_full("tkhd", 0, 3);  // enabled | in_movie
  w.u32(0);
  w.u32(0);
  w.u32(track_id);
  w.u32(0);
  w.u32(0);  // duration
  w.zeros(8);
  w.u16(0);                   // layer
  w.u16(0);                   // alternate_group
  w.u16(video ? 0 : 0x0100);  // volume
  w.u16(0);
  write_matrix(w);
  w.u32(video ? static_cast<uint32_t>(t.width) << 16 : 0);
  w.u32(video ? static_cast<uint32_t>(t.height) << 16 : 0);
  w.end();

  w.begin("mdia");
  w.begin_full("mdhd", 0, 0);
  w.u32(0);
  w.u32(0);
  w.u32(t.timescale);
  w.u32(0);
  w.u16(0x55c4);  // 'und'
  w.u16(0);
  w.end();
  w.begin_full("hdlr", 0, 0);
  w.u32(0);
  w.fourcc(video ? "vide" : "soun");
  w.zeros(12);
  w.bytes(as_bytes(video ? std::string_view("VideoHandler", 13) : std::string_view("SoundHandler", 13)));
  w.end();
  w.begin("minf");
  if (video) {
    w.begin_full("vmhd", 0, 1);
    w.zeros(8);
  } else {
    w.begin_full("smhd", 0, 0);
    w.zeros(4);
  }
  w.end();
  w.begin("dinf");
  w.begin_full("dref", 0, 0);
  w.u32(1);
  w.begin_full("url ", 0, 1);  // media data is in this file
  w.end();
  w.end();
  w.end();
  w.begin("stbl");
  w.begin_full("stsd", 0, 0);
  w.u32(1);
  if (auto s = write_sample_entry(w, t); !s) return s;
  w.end();
  write_empty_sample_tables(w);
  w.end();  // stbl
  w.end();  // minf
  w.end();  // mdia
  w.end();  // trak
  return Ok{};
}

}  // namespace

Result<ByteVector> write_init_segment(std::span<const TrackInfo> tracks) {
  if (tracks.empty()) return make_error("MP4: init segment without tracks");
  ByteVector out;
  BoxWriter w(out);
  w.begin("ftyp");
  w.fourcc("iso6");
  w.u32(0);
  w.fourcc("iso6");
  w.fourcc("cmfc");
  w.end();

  w.begin("moov");
  w.begin_full("mvhd", 0, 0);
  w.u32(0);
  w.u32(0);
  w.u32(1000);        // timescale
  w.u32(0);           // duration: unknown (fragmented)
  w.u32(0x00010000);  // rate 1.0
  w.u16(0x0100);      // volume 1.0
  w.zeros(10);
  write_matrix(w);
  w.zeros(24);
  w.u32(static_cast<uint32_t>(tracks.size() + 1));  // next_track_ID
  w.end();
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (tracks[i].timescale == 0) return make_error("MP4: track " + std::to_string(i + 1) + " has timescale 0");
    if (auto s = write_trak(w, tracks[i], static_cast<uint32_t>(i + 1)); !s) return make_error(s.error());
  }
  w.begin("mvex");
  for (size_t i = 0; i < tracks.size(); ++i) {
    w.begin_full("trex", 0, 0);
    w.u32(static_cast<uint32_t>(i + 1));
    w.u32(1);  // default_sample_description_index
    w.u32(0);
    w.u32(0);
    w.u32(0);
    w.end();
  }
  w.end();
  w.end();  // moov
  return out;
}

Result<ByteVector> write_fragment(uint32_t sequence_number, std::span<const TrackRun> runs) {
  ByteVector out;
  BoxWriter w(out);
  std::vector<size_t> data_offset_at;  // positions of trun data_offset fields, one per non-empty run
  w.begin("moof");
  w.begin_full("mfhd", 0, 0);
  w.u32(sequence_number);
  w.end();
  for (const TrackRun& run : runs) {
    if (run.samples.empty()) continue;
    if (run.samples.front().dts < 0)
      return make_error("MP4: negative decode time in track " + std::to_string(run.track_id));
    w.begin("traf");
    w.begin_full("tfhd", 0, 0x020000);  // default-base-is-moof
    w.u32(run.track_id);
    w.end();
    w.begin_full("tfdt", 1, 0);
    w.u64(static_cast<uint64_t>(run.samples.front().dts));
    w.end();
    // data-offset | sample-duration | sample-size | sample-flags (| sample-composition-time-offsets for video)
    const uint32_t flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (run.video ? 0x000800 : 0);
    w.begin_full("trun", 1, flags);
    w.u32(static_cast<uint32_t>(run.samples.size()));
    data_offset_at.push_back(out.size());
    w.u32(0);
    for (const Sample& s : run.samples) {
      if (s.data.size() > 0xffffffffu) return make_error("MP4: sample too large");
      w.u32(s.duration);
      w.u32(static_cast<uint32_t>(s.data.size()));
      w.u32(!run.video || s.keyframe ? kSyncSampleFlags : kNonSyncSampleFlags);
      if (run.video) w.u32(static_cast<uint32_t>(s.cts_offset));
    }
    w.end();
    w.end();
  }
  w.end();  // moof
  uint64_t payload = 0;
  for (const TrackRun& run : runs)
    for (const Sample& s : run.samples) payload += s.data.size();
  if (payload + 8 > 0xffffffffu) return make_error("MP4: fragment too large");
  w.begin("mdat");
  size_t run_index = 0;
  for (const TrackRun& run : runs) {
    if (run.samples.empty()) continue;
    // Offset from the start of the moof (default-base-is-moof) to this run's first sample.
    put32(out, data_offset_at[run_index++], static_cast<uint32_t>(out.size()));
    for (const Sample& s : run.samples) w.bytes(s.data);
  }
  w.end();
  return out;
}

}  // namespace sg::mp4
