#include "record/retention.hpp"

#include <algorithm>
#include <map>

namespace sg::record {

std::vector<std::string> expired_files(std::span<const RecordedFile> files, int64_t now_us) {
  std::map<std::string, std::vector<const RecordedFile*>, std::less<>> by_stream;
  for (const auto& f : files) by_stream[f.stream].push_back(&f);
  std::vector<std::pair<int64_t, std::string>> out;
  for (auto& [stream, list] : by_stream) {
    std::sort(list.begin(), list.end(), [](const RecordedFile* a, const RecordedFile* b) {
      return a->start_us != b->start_us ? a->start_us < b->start_us : a->path < b->path;
    });
    for (size_t i = 0; i < list.size(); ++i) {
      const RecordedFile& f = *list[i];
      if (f.open || f.max_age_us <= 0) continue;
      const int64_t end =
          i + 1 < list.size() ? std::max(list[i + 1]->start_us, f.start_us) : std::max(f.mtime_us, f.start_us);
      if (end < now_us - f.max_age_us) out.push_back({f.start_us, f.path});
    }
  }
  std::sort(out.begin(), out.end());
  std::vector<std::string> paths;
  for (auto& [t, p] : out) paths.push_back(std::move(p));
  return paths;
}

}  // namespace sg::record
