#include "codec/rtp_aac.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/bit_reader.hpp"

namespace sg::codec {

namespace {

struct AuHeader {
  size_t size = 0;
  uint32_t index = 0;  // cumulative AU index within the packet
};

}  // namespace

void AacDepacketizer::reset() {
  fragment_.clear();
  fragment_active_ = false;
  forget_sequence();
}

void AacDepacketizer::drop_fragment(std::string reason) {
  fragment_.clear();
  fragment_active_ = false;
  ++stats_.dropped_units;
  stats_.last_error = std::move(reason);
}

void AacDepacketizer::push(Bytes payload, uint32_t timestamp, uint16_t sequence, bool marker,
                           std::vector<AccessUnit>& out) {
  ++stats_.packets;
  const int64_t lost = track_sequence(sequence);
  if (lost < 0) return;
  if (fragment_active_ && lost > 0) drop_fragment(fmt::format("AAC: fragment lost before sequence {}", sequence));
  if (fragment_active_ && timestamp != fragment_timestamp_) drop_fragment("AAC: fragment without its last part");

  // RFC 3640 3.2.1: AU-headers-length in bits, then the AU headers padded to a byte.
  if (payload.size() < 2) return note_corrupt("AAC: payload shorter than AU-headers-length");
  const size_t header_bits = be16(payload, 0);
  const size_t header_bytes = (header_bits + 7) / 8;
  if (header_bytes > payload.size() - 2) {
    return note_corrupt(fmt::format("AAC: AU-headers-length {} bits exceeds the payload", header_bits));
  }
  BitReader br(payload.subspan(2, header_bytes));
  std::vector<AuHeader> headers;
  uint32_t index = 0;
  while (br.position() < header_bits) {
    const int index_bits = headers.empty() ? params_.index_length : params_.index_delta_length;
    if (header_bits - br.position() < static_cast<size_t>(params_.size_length + index_bits)) {
      return note_corrupt(fmt::format("AAC: {} stray bits in the AU headers", header_bits - br.position()));
    }
    AuHeader h;
    h.size = br.bits(params_.size_length);
    const uint32_t idx = br.bits(index_bits);
    index = headers.empty() ? idx : index + idx + 1;
    h.index = index;
    headers.push_back(h);
  }
  if (headers.empty()) return note_corrupt("AAC: no AU headers");
  Bytes data = payload.subspan(2 + header_bytes);

  if (fragment_active_) {
    // RFC 3640 3.2.3.1: later fragments repeat the AU header with the size of the whole AU.
    if (headers.size() != 1 || headers[0].size != fragment_size_) {
      drop_fragment("AAC: fragment header does not match the fragmented AU");
      return note_corrupt("AAC: fragment header does not match the fragmented AU");
    }
    if (fragment_.size() + data.size() > fragment_size_) {
      drop_fragment("AAC: fragments exceed the AU size");
      return note_corrupt("AAC: fragments exceed the AU size");
    }
    fragment_.insert(fragment_.end(), data.begin(), data.end());
    if (!marker) return;
    if (fragment_.size() != fragment_size_) {
      drop_fragment("AAC: last fragment leaves the AU short");
      return note_corrupt("AAC: last fragment leaves the AU short");
    }
    AccessUnit au;
    au.timestamp = fragment_timestamp_;
    au.keyframe = true;
    au.add_frame(fragment_);
    fragment_.clear();
    fragment_active_ = false;
    ++stats_.units;
    out.push_back(std::move(au));
    return;
  }

  size_t total = 0;
  for (const AuHeader& h : headers) total += h.size;
  if (headers.size() == 1 && headers[0].size > data.size()) {
    if (marker) return note_corrupt("AAC: AU larger than its packet but marker set");
    if (data.empty()) return note_corrupt("AAC: fragment without data");
    fragment_.assign(data.begin(), data.end());
    fragment_active_ = true;
    fragment_size_ = headers[0].size;
    fragment_timestamp_ = timestamp;
    return;
  }
  if (total > data.size()) {
    return note_corrupt(fmt::format("AAC: AU sizes total {} bytes but {} are present", total, data.size()));
  }
  size_t pos = 0;
  for (const AuHeader& h : headers) {
    if (h.size == 0) continue;  // nothing to emit
    AccessUnit au;
    au.timestamp = timestamp + h.index * params_.samples_per_frame;
    au.keyframe = true;
    au.add_frame(data.subspan(pos, h.size));
    pos += h.size;
    ++stats_.units;
    out.push_back(std::move(au));
  }
}

namespace {

// Writes AU-headers-length and the AU headers (index 0, deltas 0) for the given sizes.
void write_au_headers(ByteVector& out, const std::vector<size_t>& sizes, const AacRtpParams& p) {
  size_t bits = 0;
  for (size_t i = 0; i < sizes.size(); ++i) bits += p.size_length + (i == 0 ? p.index_length : p.index_delta_length);
  append16(out, static_cast<uint16_t>(bits));
  const size_t start = out.size();
  out.resize(start + (bits + 7) / 8, std::byte{0});
  size_t bit = 0;
  auto put = [&](uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i, ++bit) {
      if ((v >> i) & 1) out[start + bit / 8] |= std::byte(0x80 >> (bit % 8));
    }
  };
  for (size_t i = 0; i < sizes.size(); ++i) {
    put(static_cast<uint32_t>(sizes[i]), p.size_length);
    put(0, i == 0 ? p.index_length : p.index_delta_length);
  }
}

size_t header_bytes(size_t count, const AacRtpParams& p) {
  if (count == 0) return 2;
  return 2 + (p.size_length + p.index_length + (count - 1) * (p.size_length + p.index_delta_length) + 7) / 8;
}

}  // namespace

Result<std::vector<RtpPayload>> packetize_aac(const std::vector<Bytes>& frames, size_t max_payload,
                                              const AacRtpParams& p) {
  if (p.size_length < 1 || p.size_length > 16 || p.index_length < 0 || p.index_length > 8 || p.index_delta_length < 0 ||
      p.index_delta_length > 8) {
    return make_error("AAC packetizer: bad AU header lengths");
  }
  if (max_payload < header_bytes(1, p) + 1) return make_error("AAC packetizer: max_payload too small");
  const size_t max_size = (size_t{1} << p.size_length) - 1;
  std::vector<RtpPayload> out;
  for (size_t i = 0; i < frames.size();) {
    if (frames[i].empty() || frames[i].size() > max_size) {
      return make_error(
          fmt::format("AAC packetizer: frame {} has {} bytes (1..{} allowed)", i, frames[i].size(), max_size));
    }
    // Whole frames that fit together.
    size_t j = i;
    size_t data = 0;
    while (j < frames.size() && !frames[j].empty() && frames[j].size() <= max_size &&
           header_bytes(j - i + 1, p) + data + frames[j].size() <= max_payload) {
      data += frames[j].size();
      ++j;
    }
    if (j > i) {
      std::vector<size_t> sizes;
      for (size_t k = i; k < j; ++k) sizes.push_back(frames[k].size());
      RtpPayload pl;
      pl.first_frame = static_cast<uint32_t>(i);
      pl.marker = true;
      write_au_headers(pl.data, sizes, p);
      for (size_t k = i; k < j; ++k) append(pl.data, frames[k]);
      out.push_back(std::move(pl));
      i = j;
      continue;
    }
    // RFC 3640 3.2.3.1: one frame over several packets, each with the AU header of the whole AU.
    Bytes frame = frames[i];
    const size_t chunk = max_payload - header_bytes(1, p);
    for (size_t pos = 0; pos < frame.size(); pos += chunk) {
      const size_t n = std::min(chunk, frame.size() - pos);
      RtpPayload pl;
      pl.first_frame = static_cast<uint32_t>(i);
      pl.marker = pos + n == frame.size();
      write_au_headers(pl.data, {frame.size()}, p);
      append(pl.data, frame.subspan(pos, n));
      out.push_back(std::move(pl));
    }
    ++i;
  }
  return out;
}

}  // namespace sg::codec
