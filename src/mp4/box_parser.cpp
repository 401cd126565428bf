#include "mp4/box_parser.hpp"

namespace sg::mp4 {

Result<std::vector<Box>> parse_boxes(Bytes data) {
  std::vector<Box> boxes;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    if (left < 8) return make_error("MP4: truncated box header at offset " + std::to_string(pos));
    uint64_t size = be32(data, pos);
    size_t header = 8;
    if (size == 1) {
      if (left < 16) return make_error("MP4: truncated largesize at offset " + std::to_string(pos));
      size = be64(data, pos + 8);
      header = 16;
    } else if (size == 0) {
      size = left;
    }
    if (size < header || size > left)
      return make_error("MP4: box size " + std::to_string(size) + " at offset " + std::to_string(pos) +
                        " does not fit in " + std::to_string(left) + " bytes");
    Box box;
    box.type = std::string(as_string_view(data.subspan(pos + 4, 4)));
    box.offset = pos;
    box.header_size = header;
    box.payload = data.subspan(pos + header, static_cast<size_t>(size) - header);
    boxes.push_back(std::move(box));
    pos += static_cast<size_t>(size);
  }
  return boxes;
}

std::optional<Box> find_box(Bytes data, std::string_view path) {
  std::optional<Box> found;
  Bytes level = data;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view name = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    auto boxes = parse_boxes(level);
    if (!boxes) return std::nullopt;
    found.reset();
    for (Box& b : *boxes) {
      if (b.type == name) {
        found = b;
        break;
      }
    }
    if (!found) return std::nullopt;
    level = found->payload;
  }
  return found;
}

std::vector<Box> find_all(Bytes data, std::string_view type) {
  std::vector<Box> out;
  auto boxes = parse_boxes(data);
  if (!boxes) return out;
  for (Box& b : *boxes)
    if (b.type == type) out.push_back(b);
  return out;
}

Result<FullBoxHeader> parse_full_box(Bytes payload) {
  if (payload.size() < 4) return make_error("MP4: full box shorter than its version/flags");
  return FullBoxHeader{u8(payload, 0), be24(payload, 1), payload.subspan(4)};
}

Result<Trun> parse_trun(Bytes payload) {
  auto full = parse_full_box(payload);
  if (!full) return make_error(full.error());
  Trun t;
  t.version = full->version;
  t.flags = full->flags;
  Bytes b = full->body;
  if (b.size() < 4) return make_error("trun: missing sample_count");
  const uint32_t count = be32(b, 0);
  size_t pos = 4;
  if (t.flags & 0x1) {
    if (b.size() - pos < 4) return make_error("trun: missing data_offset");
    t.data_offset = static_cast<int32_t>(be32(b, pos));
    pos += 4;
  }
  if (t.flags & 0x4) {
    if (b.size() - pos < 4) return make_error("trun: missing first_sample_flags");
    t.first_sample_flags = be32(b, pos);
    pos += 4;
  }
  size_t per_sample = 0;
  for (uint32_t bit : {0x100u, 0x200u, 0x400u, 0x800u})
    if (t.flags & bit) per_sample += 4;
  // Bound the entry count by the bytes present before allocating anything.
  if (per_sample > 0 && count > (b.size() - pos) / per_sample)
    return make_error("trun: " + std::to_string(count) + " samples do not fit in " + std::to_string(b.size() - pos) +
                      " bytes");
  if (per_sample == 0 && count > 1'000'000) return make_error("trun: implausible sample count");
  t.entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    TrunEntry e;
    if (t.flags & 0x100) e.duration = be32(b, pos), pos += 4;
    if (t.flags & 0x200) e.size = be32(b, pos), pos += 4;
    if (t.flags & 0x400) e.flags = be32(b, pos), pos += 4;
    if (t.flags & 0x800) {
      const uint32_t raw = be32(b, pos);
      e.composition_offset = t.version == 0 ? int64_t{raw} : int64_t{static_cast<int32_t>(raw)};
      pos += 4;
    }
    t.entries.push_back(e);
  }
  return t;
}

Result<uint64_t> parse_tfdt(Bytes payload) {
  auto full = parse_full_box(payload);
  if (!full) return make_error(full.error());
  if (full->version == 1) {
    if (full->body.size() < 8) return make_error("tfdt: truncated 64-bit time");
    return be64(full->body, 0);
  }
  if (full->body.size() < 4) return make_error("tfdt: truncated 32-bit time");
  return uint64_t{be32(full->body, 0)};
}

}  // namespace sg::mp4
