#include "playback/segment_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/bytes.hpp"

namespace sg::playback {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxMetadataBox = 16u << 20;

struct Fd {
  int fd = -1;
  explicit Fd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

bool read_at(int fd, uint64_t offset, std::byte* into, size_t n) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, into, n, static_cast<off_t>(offset));
    if (r <= 0) return false;
    into += r, offset += static_cast<uint64_t>(r), n -= static_cast<size_t>(r);
  }
  return true;
}

template <class F>
void scan(const std::string& pattern, const fs::path& root, F&& on_file) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 16) {
      it.disable_recursion_pending();
      continue;
    }
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const std::string path = it->path().string();
    if (auto name = parse_segment_path(pattern, path)) on_file(path, *name, *it);
  }
}

}  // namespace

std::vector<std::string> recorded_streams(const std::string& pattern) {
  std::set<std::string> names;
  scan(pattern, pattern_root(pattern), [&](const std::string&, const SegmentName& name, const fs::directory_entry&) {
    if (!name.stream.empty()) names.insert(name.stream);
  });
  return {names.begin(), names.end()};
}

std::vector<SegmentFile> segment_files(const std::string& pattern, const std::string& stream) {
  std::vector<SegmentFile> out;
  scan(pattern, pattern_root(pattern, stream), [&](const std::string& path, const SegmentName& name,
                                                   const fs::directory_entry&) {
    if (name.stream != stream) return;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;
    out.push_back({path, name.start, static_cast<uint64_t>(st.st_size),
                   int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec});
  });
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.start < b.start; });
  return out;
}

Result<SegmentIndex> read_segment_index(const SegmentFile& file) {
  Fd fd(file.path);
  if (fd.fd < 0) return make_error("cannot open " + file.path);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return make_error("cannot stat " + file.path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  SegmentIndex index;
  index.start = file.start;
  bool have_moov = false;
  uint64_t pos = 0;
  ByteVector box;
  while (pos + 8 <= size) {
    std::byte header[16];
    if (!read_at(fd.fd, pos, header, 8)) break;
    uint64_t box_size = be32(Bytes(header, 8), 0);
    const std::string type(reinterpret_cast<const char*>(header) + 4, 4);
    size_t header_size = 8;
    if (box_size == 1) {
      if (pos + 16 > size || !read_at(fd.fd, pos + 8, header + 8, 8)) break;
      box_size = be64(Bytes(header, 16), 8);
      header_size = 16;
    } else if (box_size == 0) {
      box_size = size - pos;
    }
    if (box_size < header_size || box_size > size - pos) break;  // a box cut short: the crashed tail
    if (type == "moov" || type == "moof") {
      const uint64_t payload = box_size - header_size;
      if (payload > kMaxMetadataBox) return make_error(file.path + ": " + type + " box too large");
      box.resize(payload);
      if (!read_at(fd.fd, pos + header_size, box.data(), payload)) break;
      if (type == "moov") {
        auto tracks = mp4::parse_moov(box);
        if (!tracks) return make_error(file.path + ": " + tracks.error());
        index.tracks = std::move(*tracks);
        have_moov = true;
      } else if (have_moov) {
        const size_t before = index.samples.size();
        if (auto s = mp4::parse_moof(box, pos, index.tracks, index.samples); !s) {
          index.samples.resize(before);
          break;
        }
        // Keep only a fragment whose data is on disk entirely.
        bool complete = true;
        for (size_t i = before; i < index.samples.size(); ++i)
          complete &= index.samples[i].offset + index.samples[i].size <= size;
        if (!complete) {
          index.samples.resize(before);
          break;
        }
      }
    }
    pos += box_size;
  }
  if (!have_moov) return make_error(file.path + ": no moov");
  return index;
}

}  // namespace sg::playback
