#include "playback/playback_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <boost/json.hpp>

#include "app/log.hpp"
#include "web/assets.hpp"

namespace sg::playback {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using std::chrono::microseconds;

namespace {

constexpr auto kSpanTolerance = std::chrono::milliseconds(500);
constexpr auto kMaxDuration = std::chrono::hours(24);

// The MP4 of a playback request, read piece by piece from memory and the segment files.
class PlaybackBody final : public http::BodySource {
 public:
  PlaybackBody(PlaybackFile file, std::vector<std::string> paths, uint64_t first)
      : file_(std::move(file)), paths_(std::move(paths)), pos_(first) {
    uint64_t at = 0;
    for (const auto& p : file_.pieces) {
      starts_.push_back(at);
      at += p.size;
    }
  }
  ~PlaybackBody() override {
    if (fd_ >= 0) ::close(fd_);
  }

  size_t read(std::span<std::byte> into) override {
    size_t done = 0;
    while (done < into.size() && pos_ < file_.size) {
      const size_t k = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos_) - starts_.begin()) - 1;
      const auto& piece = file_.pieces[k];
      const uint64_t within = pos_ - starts_[k];
      const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size - within, into.size() - done));
      if (piece.file < 0) {
        std::copy_n(file_.memory.begin() + static_cast<ptrdiff_t>(piece.offset + within), n, into.begin() + done);
      } else {
        if (!open(piece.file)) return 0;
        const ssize_t r = ::pread(fd_, into.data() + done, n, static_cast<off_t>(piece.offset + within));
        if (r <= 0) {
          log::warn("playback: segment read failed", {{"file", paths_[piece.file]}});
          return 0;
        }
        done += static_cast<size_t>(r);
        pos_ += static_cast<uint64_t>(r);
        continue;
      }
      done += n;
      pos_ += n;
    }
    return done;
  }

 private:
  bool open(int32_t file) {
    if (fd_file_ == file) return true;
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(paths_[file].c_str(), O_RDONLY | O_CLOEXEC);
    fd_file_ = fd_ >= 0 ? file : -1;
    return fd_ >= 0;
  }

  PlaybackFile file_;
  std::vector<std::string> paths_;
  std::vector<uint64_t> starts_;
  uint64_t pos_ = 0;
  int fd_ = -1;
  int32_t fd_file_ = -1;
};

std::string html_escape_json(std::string s) {
  // Inside <script>: keep "</script>" from closing it.
  std::string out;
  for (char c : s) out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return out;
}

}  // namespace

PlaybackServer::PlaybackServer(std::vector<std::string> patterns) { set_patterns(std::move(patterns)); }

void PlaybackServer::set_patterns(std::vector<std::string> patterns) {
  std::sort(patterns.begin(), patterns.end());
  patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
  std::lock_guard lk(mu_);
  patterns_ = std::move(patterns);
}

std::vector<SegmentFile> PlaybackServer::files_of(const std::string& stream) {
  std::vector<std::string> patterns;
  {
    std::lock_guard lk(mu_);
    patterns = patterns_;
  }
  std::vector<SegmentFile> out;
  std::set<std::string> seen;
  for (const auto& pattern : patterns)
    for (auto& f : segment_files(pattern, stream))
      if (seen.insert(f.path).second) out.push_back(std::move(f));
  std::stable_sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.start < b.start; });
  return out;
}

void PlaybackServer::add_routes(http::Router& router) {
  router.add(bhttp::verb::get, "/api/v1/recordings", http::Access::api(),
             http::sync_handler([this](const http::Request& req, const http::Params&) { return list_streams(req); }));
  router.add(bhttp::verb::get, "/api/v1/recordings/{stream}", http::Access::api(),
             http::sync_handler(
                 [this](const http::Request& req, const http::Params& p) { return list_spans(req, p.get("stream")); }));
  router.add_streamed(bhttp::verb::get, "/{stream}/playback", http::Access::stream(auth::Action::Read, "playback"),
                      [this](const http::Request& req, const http::Params& p) -> asio::awaitable<http::StreamedResponse> {
                        co_return playback(req, p.get("stream"));
                      });
  router.add(bhttp::verb::get, "/{stream}/recordings", http::Access::stream(auth::Action::Read, "playback"),
             http::sync_handler(
                 [this](const http::Request& req, const http::Params& p) { return page(req, p.get("stream")); }));
}

std::vector<Span> PlaybackServer::spans(const std::string& stream) {
  std::vector<Span> out;
  std::map<std::string, CachedDuration> seen;
  for (const auto& f : files_of(stream)) {
    CachedDuration d;
    bool cached = false;
    {
      std::lock_guard lk(mu_);
      if (auto it = durations_.find(f.path);
          it != durations_.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) {
        d = it->second;
        cached = true;
      }
    }
    if (!cached) {
      auto index = read_segment_index(f);
      if (!index) continue;
      d = CachedDuration{f.size, f.mtime_ns, index->duration()};
    }
    seen[f.path] = d;
    if (d.duration.count() > 0) out.push_back({f.start, f.start + d.duration});
  }
  {
    // Keep the cache to this stream's live files plus the other streams' entries.
    std::lock_guard lk(mu_);
    for (auto& [path, d] : seen) durations_[path] = d;
  }
  return merge_spans(std::move(out), kSpanTolerance);
}

http::Response PlaybackServer::list_streams(const http::Request& req) {
  std::vector<std::string> patterns;
  {
    std::lock_guard lk(mu_);
    patterns = patterns_;
  }
  std::set<std::string> streams;
  for (const auto& pattern : patterns)
    for (auto& s : recorded_streams(pattern)) streams.insert(std::move(s));
  json::array items;
  for (const auto& s : streams) items.push_back(json::value(s));
  return http::json_response(bhttp::status::ok, json::object{{"items", items}}, req);
}

http::Response PlaybackServer::list_spans(const http::Request& req, const std::string& stream) {
  auto list = spans(stream);
  if (list.empty()) return http::error_response(bhttp::status::not_found, "no recordings of '" + stream + "'", req);
  json::array items;
  for (const auto& s : list)
    items.push_back(json::object{{"start", format_rfc3339(s.start)},
                                 {"end", format_rfc3339(s.end)},
                                 {"duration", std::chrono::duration<double>(s.end - s.start).count()}});
  return http::json_response(bhttp::status::ok, json::object{{"stream", stream}, {"spans", items}}, req);
}

http::StreamedResponse PlaybackServer::playback(const http::Request& req, const std::string& stream) {
  auto fail = [&](bhttp::status st, const std::string& message) {
    return http::StreamedResponse{http::error_response(st, message, req), nullptr};
  };
  const auto target = std::string_view(req.target().data(), req.target().size());
  const auto start = parse_rfc3339(http::query_param(target, "start"));
  if (!start) return fail(bhttp::status::bad_request, "'start' must be an RFC 3339 time (2026-12-01T10:00:00Z)");
  microseconds duration = std::chrono::seconds(60);
  if (auto d = http::query_param(target, "duration"); !d.empty()) {
    auto parsed = parse_duration(d);
    if (!parsed || *parsed > kMaxDuration) return fail(bhttp::status::bad_request, "bad 'duration' (60s, 5m, 1h; at most 24h)");
    duration = *parsed;
  }
  Format format = Format::Mp4;
  if (auto f = http::query_param(target, "format"); f == "fmp4") {
    format = Format::Fmp4;
  } else if (!f.empty() && f != "mp4") {
    return fail(bhttp::status::bad_request, "'format' must be mp4 or fmp4");
  }
  const SysMicros end = *start + duration;
  // The segment holding `start` (the last one starting at or before it) and those starting before `end`.
  auto files = files_of(stream);
  std::vector<SegmentFile> chosen;
  for (size_t i = 0; i < files.size(); ++i) {
    const bool holds_start = files[i].start <= *start && (i + 1 == files.size() || files[i + 1].start > *start);
    if (holds_start || (files[i].start > *start && files[i].start < end)) chosen.push_back(files[i]);
  }
  std::vector<SegmentIndex> indexes;
  std::vector<std::string> paths;
  for (const auto& f : chosen) {
    auto index = read_segment_index(f);
    if (!index) {
      log::warn("playback: segment skipped", {{"stream", stream}, {"error", index.error()}});
      continue;
    }
    indexes.push_back(std::move(*index));
    paths.push_back(f.path);
  }
  auto built = build_playback_file(indexes, *start, end, format);
  indexes.clear();
  if (!built) return fail(bhttp::status::not_found, "stream '" + stream + "': " + built.error());
  PlaybackFile file = std::move(*built);
  const uint64_t size = file.size;

  http::Response head{bhttp::status::ok, req.version()};
  head.keep_alive(req.keep_alive());
  head.set(bhttp::field::server, "streamgate/" SG_VERSION);
  head.set(bhttp::field::content_type, "video/mp4");
  head.set(bhttp::field::accept_ranges, "bytes");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Playback-Start", format_rfc3339(file.start));
  uint64_t first = 0, length = size;
  if (auto range = req.find(bhttp::field::range); range != req.end()) {
    auto r = parse_byte_range(std::string_view(range->value().data(), range->value().size()), size);
    if (r.kind == ByteRange::Kind::Unsatisfiable) {
      auto res = http::error_response(bhttp::status::range_not_satisfiable, "range not satisfiable", req);
      res.set(bhttp::field::content_range, "bytes */" + std::to_string(size));
      return {std::move(res), nullptr};
    }
    if (r.kind == ByteRange::Kind::Partial) {
      head.result(bhttp::status::partial_content);
      head.set(bhttp::field::content_range,
               "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size));
      first = r.first;
      length = r.last - r.first + 1;
    }
  }
  head.set(bhttp::field::content_length, std::to_string(length));
  if (length == 0) return {std::move(head), nullptr};
  return {std::move(head), std::make_shared<PlaybackBody>(std::move(file), std::move(paths), first)};
}

http::Response PlaybackServer::page(const http::Request& req, const std::string& stream) {
  auto html = web::asset("recordings.html");
  if (!html) return http::error_response(bhttp::status::not_found, "page not embedded (web/recordings.html)", req);
  json::array items;
  for (const auto& s : spans(stream))
    items.push_back(json::object{{"start", format_rfc3339(s.start)}, {"end", format_rfc3339(s.end)}});
  const json::object data{{"stream", stream}, {"spans", items}};
  // The spans go into the page itself: the page needs read access to the stream, the API needs API access.
  const std::string marker = "/*SPANS*/null";
  if (auto at = html->find(marker); at != std::string::npos)
    html->replace(at, marker.size(), html_escape_json(http::serialize_json(data)));
  auto res = http::text_response(bhttp::status::ok, std::move(*html), "text/html; charset=utf-8", req);
  res.set(bhttp::field::cache_control, "no-cache");
  return res;
}

}  // namespace sg::playback
