#include "mpegts/muxer.hpp"

#include <array>
#include <string>

#include "base/bit_reader.hpp"

namespace sg::mpegts {
namespace {

constexpr uint32_t kAdtsFrequencies[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                           22050, 16000, 12000, 11025, 8000,  7350};
constexpr uint64_t kPtsMask = (uint64_t{1} << 33) - 1;

struct AdtsFields {
  uint8_t profile = 1;
  uint8_t frequency_index = 4;
  uint8_t channel_config = 2;
};

// ISO/IEC 14496-3 1.6.2.1 AudioSpecificConfig: only the fields ADTS can carry.
Result<AdtsFields> adts_fields(Bytes asc) {
  BitReader r(asc);
  auto object_type = [&r] {
    uint32_t t = r.bits(5);
    return t == 31 ? 32 + r.bits(6) : t;
  };
  uint32_t aot = object_type();
  uint32_t freq = r.bits(4);
  if (freq == 15) return make_error("ADTS: explicit sampling frequency cannot be expressed");
  uint32_t channels = r.bits(4);
  if (aot == 5 || aot == 29) {  // explicit SBR/PS: the core object type and frequency follow
    if (r.bits(4) == 15) r.bits(24);
    aot = object_type();
  }
  if (!r.ok()) return make_error("ADTS: AudioSpecificConfig truncated (" + std::to_string(asc.size()) + " bytes)");
  if (aot < 1 || aot > 4) return make_error("ADTS: audio object type " + std::to_string(aot) + " not expressible");
  if (freq > 12) return make_error("ADTS: reserved sampling frequency index " + std::to_string(freq));
  if (channels > 7) return make_error("ADTS: channel configuration " + std::to_string(channels) + " not expressible");
  return AdtsFields{static_cast<uint8_t>(aot - 1), static_cast<uint8_t>(freq), static_cast<uint8_t>(channels)};
}

Result<AdtsFields> adts_fields_for(const TrackInfo& t) {
  if (!t.codec_config.empty()) return adts_fields(t.codec_config);
  for (uint8_t i = 0; i < 13; ++i)
    if (kAdtsFrequencies[i] == t.sample_rate && t.channels <= 7) return AdtsFields{1, i, t.channels};
  return make_error("ADTS: no AudioSpecificConfig and sample rate " + std::to_string(t.sample_rate) +
                    " has no frequency index");
}

void write_adts(ByteVector& out, const AdtsFields& f, size_t frame_length) {
  append8(out, 0xff);
  append8(out, 0xf1);  // syncword, MPEG-4, layer 0, protection_absent
  append8(out, static_cast<uint8_t>(f.profile << 6 | f.frequency_index << 2 | (f.channel_config >> 2 & 1)));
  append8(out, static_cast<uint8_t>((f.channel_config & 3) << 6 | (frame_length >> 11 & 3)));
  append8(out, static_cast<uint8_t>(frame_length >> 3 & 0xff));
  append8(out, static_cast<uint8_t>((frame_length & 7) << 5 | 0x1f));  // buffer fullness 0x7ff (VBR)
  append8(out, 0xfc);
}

uint64_t to_90khz(int64_t t, uint32_t timescale) {
  // Split to avoid overflow; unsigned wrap-around is harmless since only the low 33 bits are kept.
  const uint64_t u = static_cast<uint64_t>(t);
  if (t < 0) {
    const uint64_t m = static_cast<uint64_t>(-(t + 1)) + 1;
    return (0 - ((m / timescale) * 90000 + (m % timescale) * 90000 / timescale)) & kPtsMask;
  }
  return ((u / timescale) * 90000 + (u % timescale) * 90000 / timescale) & kPtsMask;
}

// ISO/IEC 13818-1 2.4.3.7: 4-bit prefix, then 33 bits split 3/15/15 with marker bits.
void write_timestamp(ByteVector& out, uint8_t prefix, uint64_t ts) {
  append8(out, static_cast<uint8_t>(prefix << 4 | (ts >> 29 & 0x0e) | 1));
  append16(out, static_cast<uint16_t>((ts >> 14 & 0xfffe) | 1));
  append16(out, static_cast<uint16_t>((ts << 1 & 0xfffe) | 1));
}

bool is_h264(const TrackInfo& t) { return t.codec == TrackInfo::Codec::H264; }

int nal_type(const TrackInfo& t, Bytes nal) { return is_h264(t) ? (u8(nal, 0) & 0x1f) : (u8(nal, 0) >> 1 & 0x3f); }

// AVCC (4-byte lengths) -> Annex B with AUD first and parameter sets before a keyframe (RFC 8216 3.2 requires
// each segment to be decodable on its own; HLS authoring spec wants the AUD).
Result<ByteVector> to_annex_b(const TrackInfo& t, const Sample& s) {
  const bool h264 = is_h264(t);
  const int aud = h264 ? 9 : 35, sps = h264 ? 7 : 33;
  std::vector<Bytes> nals;
  bool has_sps = false;
  const Bytes d = s.data;
  for (size_t pos = 0; pos < d.size();) {
    if (d.size() - pos < 4) return make_error("TS: truncated NAL length at offset " + std::to_string(pos));
    const uint32_t len = be32(d, pos);
    pos += 4;
    if (len == 0 || len > d.size() - pos)
      return make_error("TS: NAL length " + std::to_string(len) + " at offset " + std::to_string(pos - 4) +
                        " exceeds the sample");
    Bytes nal = d.subspan(pos, len);
    pos += len;
    if (h264 ? false : nal.size() < 2) return make_error("TS: H.265 NAL unit shorter than its header");
    const int type = nal_type(t, nal);
    if (type == aud) continue;
    if (type == sps) has_sps = true;
    nals.push_back(nal);
  }
  ByteVector out;
  out.reserve(d.size() + 64 + t.sps.size() + t.pps.size() + t.vps.size());
  auto put_nal = [&out](Bytes nal) {
    append32(out, 1);
    append(out, nal);
  };
  static constexpr std::array<std::byte, 2> kAud264 = {std::byte{0x09}, std::byte{0xf0}};
  static constexpr std::array<std::byte, 3> kAud265 = {std::byte{0x46}, std::byte{0x01}, std::byte{0x50}};
  put_nal(h264 ? Bytes(kAud264) : Bytes(kAud265));
  if (s.keyframe && !has_sps) {
    for (const ByteVector* ps : {&t.vps, &t.sps, &t.pps})
      if (!ps->empty() && (ps != &t.vps || !h264)) put_nal(*ps);
  }
  for (Bytes nal : nals) put_nal(nal);
  return out;
}

}  // namespace

uint32_t crc32_mpeg2(Bytes data) {
  uint32_t crc = 0xffffffff;
  for (std::byte b : data) {
    crc ^= static_cast<uint32_t>(b) << 24;
    for (int i = 0; i < 8; ++i) crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc;
}

Result<ByteVector> adts_header(Bytes audio_specific_config, size_t payload_size) {
  auto f = adts_fields(audio_specific_config);
  if (!f) return make_error(f.error());
  if (payload_size > 8191 - 7) return make_error("ADTS: frame of " + std::to_string(payload_size) + " bytes too large");
  ByteVector out;
  write_adts(out, *f, payload_size + 7);
  return out;
}

Result<Muxer> Muxer::create(std::vector<TrackInfo> tracks) {
  if (tracks.empty() || tracks.size() > 16)
    return make_error("TS: need 1 to 16 tracks, got " + std::to_string(tracks.size()));
  Muxer m;
  bool have_video = false;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const TrackInfo& t = tracks[i];
    if (t.timescale == 0) return make_error("TS: track " + std::to_string(i) + " has timescale 0");
    AdtsFields f;
    if (t.codec == TrackInfo::Codec::Opus) return make_error("TS: Opus is not supported");
    if (t.codec == TrackInfo::Codec::AAC) {
      auto r = adts_fields_for(t);
      if (!r) return make_error(r.error());
      f = *r;
    }
    m.adts_.push_back({f.profile, f.frequency_index, f.channel_config});
    if (t.is_video() && !have_video) {
      have_video = true;
      m.pcr_track_ = i;
    }
  }
  m.tracks_ = std::move(tracks);
  m.cc_.assign(m.tracks_.size(), 0);
  return m;
}

void Muxer::write_section_packet(uint16_t pid, Bytes section, ByteVector& out) {
  uint8_t& cc = pid == 0 ? pat_cc_ : pmt_cc_;
  const size_t start = out.size();
  append8(out, 0x47);
  append16(out, static_cast<uint16_t>(0x4000 | pid));  // payload_unit_start_indicator
  append8(out, static_cast<uint8_t>(0x10 | cc));
  cc = (cc + 1) & 0x0f;
  append8(out, 0);  // pointer_field
  append(out, section);
  out.resize(start + kPacketSize, std::byte{0xff});
}

void Muxer::write_tables(ByteVector& out) {
  ByteVector pat;
  append8(pat, 0x00);     // table_id: program_association_section
  append16(pat, 0xb00d);  // section_syntax_indicator, reserved, section_length 13
  append16(pat, 1);       // transport_stream_id
  append8(pat, 0xc1);     // version 0, current_next_indicator
  append16(pat, 0);       // section_number, last_section_number
  append16(pat, 1);       // program_number
  append16(pat, 0xe000 | kPmtPid);
  append32(pat, crc32_mpeg2(pat));
  write_section_packet(0, pat, out);

  ByteVector pmt;
  append8(pmt, 0x02);  // TS_program_map_section
  append16(pmt, static_cast<uint16_t>(0xb000 | (9 + 5 * tracks_.size() + 4)));
  append16(pmt, 1);  // program_number
  append8(pmt, 0xc1);
  append16(pmt, 0);
  append16(pmt, static_cast<uint16_t>(0xe000 | pcr_pid()));
  append16(pmt, 0xf000);  // program_info_length 0
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const TrackInfo& t = tracks_[i];
    append8(pmt, t.codec == TrackInfo::Codec::H264   ? kStreamTypeH264
                 : t.codec == TrackInfo::Codec::H265 ? kStreamTypeH265
                                                     : kStreamTypeAacAdts);
    append16(pmt, static_cast<uint16_t>(0xe000 | pid(i)));
    append16(pmt, 0xf000);  // ES_info_length 0
  }
  append32(pmt, crc32_mpeg2(pmt));
  write_section_packet(kPmtPid, pmt, out);
}

void Muxer::write_pes(size_t track, Bytes pes, bool keyframe, std::optional<uint64_t> pcr, ByteVector& out) {
  const uint16_t p = pid(track);
  size_t pos = 0;
  bool first = true;
  while (first || pos < pes.size()) {
    std::array<uint8_t, 184> af{};  // adaptation field after its length byte
    size_t af_len = 0;
    bool has_af = false;
    if (first && (keyframe || pcr)) {
      has_af = true;
      af[af_len++] = static_cast<uint8_t>((keyframe ? 0x40 : 0) | (pcr ? 0x10 : 0));
      if (pcr) {
        const uint64_t base = *pcr & kPtsMask;  // 33-bit base, 6 reserved bits, 9-bit extension 0
        af[af_len++] = static_cast<uint8_t>(base >> 25);
        af[af_len++] = static_cast<uint8_t>(base >> 17);
        af[af_len++] = static_cast<uint8_t>(base >> 9);
        af[af_len++] = static_cast<uint8_t>(base >> 1);
        af[af_len++] = static_cast<uint8_t>((base & 1) << 7 | 0x7e);
        af[af_len++] = 0;
      }
    }
    size_t af_total = has_af ? 1 + af_len : 0;
    const size_t remaining = pes.size() - pos;
    if (remaining < 184 - af_total) {
      // 2.4.3.5: the last packet of a PES is filled with stuffing bytes in the adaptation field.
      size_t stuffing = 184 - af_total - remaining;
      if (!has_af) {
        has_af = true;
        if (stuffing >= 2) af[af_len++] = 0;  // flags
        stuffing -= stuffing >= 2 ? 2 : 1;
      }
      for (size_t i = 0; i < stuffing; ++i) af[af_len++] = 0xff;
      af_total = 1 + af_len;
    }
    append8(out, 0x47);
    append16(out, static_cast<uint16_t>((first ? 0x4000 : 0) | p));
    append8(out, static_cast<uint8_t>((has_af ? 0x30 : 0x10) | cc_[track]));
    cc_[track] = (cc_[track] + 1) & 0x0f;
    if (has_af) {
      append8(out, static_cast<uint8_t>(af_len));
      out.insert(out.end(), reinterpret_cast<const std::byte*>(af.data()),
                 reinterpret_cast<const std::byte*>(af.data()) + af_len);
    }
    const size_t n = 184 - af_total;
    append(out, pes.subspan(pos, n));
    pos += n;
    first = false;
  }
}

Status Muxer::write_sample(size_t track, const Sample& s, ByteVector& out) {
  if (track >= tracks_.size()) return make_error("TS: no track " + std::to_string(track));
  const TrackInfo& t = tracks_[track];
  ByteVector es;
  if (t.is_video()) {
    auto r = to_annex_b(t, s);
    if (!r) return make_error(r.error());
    es = std::move(*r);
  } else {
    if (s.data.size() > 8191 - 7)
      return make_error("TS: AAC frame of " + std::to_string(s.data.size()) + " bytes too large for ADTS");
    const auto& a = adts_[track];
    write_adts(es, AdtsFields{a.profile, a.frequency_index, a.channel_config}, s.data.size() + 7);
    append(es, s.data);
  }
  const uint64_t dts = to_90khz(s.dts, t.timescale);
  const uint64_t pts = (dts + to_90khz(s.cts_offset, t.timescale)) & kPtsMask;
  const bool with_dts = pts != dts;
  ByteVector pes;
  pes.reserve(es.size() + 19);
  append24(pes, 1);  // packet_start_code_prefix
  append8(pes, t.is_video() ? 0xe0 : 0xc0);
  const size_t header_data = with_dts ? 10 : 5;
  const size_t length = 3 + header_data + es.size();
  append16(pes, length > 0xffff ? 0 : static_cast<uint16_t>(length));  // 0 = unbounded, allowed for video
  if (length > 0xffff && !t.is_video()) return make_error("TS: audio PES too large");
  append8(pes, 0x80);  // '10', not scrambled
  append8(pes, with_dts ? 0xc0 : 0x80);
  append8(pes, static_cast<uint8_t>(header_data));
  write_timestamp(pes, with_dts ? 0x3 : 0x2, pts);
  if (with_dts) write_timestamp(pes, 0x1, dts);
  append(pes, es);
  std::optional<uint64_t> pcr;
  if (track == pcr_track_) pcr = (dts - kPcrLead) & kPtsMask;
  write_pes(track, pes, t.is_video() ? s.keyframe : false, pcr, out);
  return Ok{};
}

}  // namespace sg::mpegts
