#include "media/stream_registry.hpp"

#include <algorithm>
#include <cctype>

#include "app/log.hpp"
#include "base/redact.hpp"
#include "rtmp/url.hpp"
#include "srt/url.hpp"

namespace sg::media {

bool valid_stream_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || id.front() == '-' || id.front() == '.') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '~';
    if (!ok) return false;
  }
  for (auto reserved : kReservedStreamIds) {
    if (std::equal(id.begin(), id.end(), reserved.begin(), reserved.end(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return false;
  }
  return true;
}

Status check_stream_id(std::string_view id) {
  if (valid_stream_id(id)) return Ok{};
  std::string reserved;
  for (auto r : kReservedStreamIds) reserved += (reserved.empty() ? "" : ", ") + std::string(r);
  return make_error("invalid stream id '" + std::string(id) +
                    "': use 1-128 of [A-Za-z0-9._~-], not starting with '-' or '.', and not one of " + reserved);
}

Status validate_source(std::string_view source) {
  if (source == "publisher") return Ok{};
  if (source.starts_with("rtsp://")) {
    if (source.size() == 7) return make_error("source 'rtsp://' has no host");
    return Ok{};
  }
  if (source.starts_with("rtmp://")) {
    if (auto u = rtmp::parse_rtmp_url(source); !u) return make_error("source '" + redact_secrets(source) + "': " + u.error());
    return Ok{};
  }
  if (source.starts_with("srt://")) {
    if (auto u = srt::parse_srt_url(source); !u) return make_error("source '" + redact_secrets(source) + "': " + u.error());
    return Ok{};
  }
  if (source.starts_with("exec:")) {
    if (source.find_first_not_of(' ', 5) == std::string_view::npos) return make_error("source 'exec:' has no command");
    return Ok{};
  }
  return make_error("source must be 'rtsp://...', 'rtmp://...', 'srt://...', 'exec:<command>' or 'publisher', got '" +
                    redact_secrets(source) + "'");
}

StreamRegistry::StreamRegistry(net::WorkerPool& pool, SourceFactory factory)
    : pool_(pool), factory_(std::move(factory)) {}

StreamRegistry::~StreamRegistry() { stop_all(); }

Result<std::shared_ptr<Stream>> StreamRegistry::create(const std::string& id, StreamOptions options) {
  if (auto ok = check_stream_id(id); !ok) return make_error(ok.error());
  if (auto s = validate_source(options.source); !s) return make_error(s.error());
  std::lock_guard lk(mu_);
  if (streams_.contains(id)) return make_error("stream '" + id + "' already exists");
  if (max_streams_ != 0 && streams_.size() >= max_streams_) {
    limit_refusals_.fetch_add(1, std::memory_order_relaxed);
    return make_error("stream limit reached: " + std::to_string(max_streams_) + " streams (limits.max_streams)");
  }
  options.publisher_timeout = publisher_timeout_;
  if (publish_gate_) {
    options.publisher_source = true;
    options.publish_gate = publish_gate_;
  }
  auto stream = std::make_shared<Stream>(id, std::move(options), pool_, factory_);
  streams_.emplace(id, stream);
  generation_.fetch_add(1, std::memory_order_release);
  return stream;
}

std::shared_ptr<Stream> StreamRegistry::find(std::string_view id) const {
  std::lock_guard lk(mu_);
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

bool StreamRegistry::remove(std::string_view id) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lk(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return false;
    stream = std::move(it->second);
    streams_.erase(it);
    generation_.fetch_add(1, std::memory_order_release);
  }
  stream->stop();
  return true;
}

std::vector<std::shared_ptr<Stream>> StreamRegistry::list() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Stream>> out;
  out.reserve(streams_.size());
  for (const auto& [id, s] : streams_) out.push_back(s);
  return out;
}

size_t StreamRegistry::size() const {
  std::lock_guard lk(mu_);
  return streams_.size();
}

void StreamRegistry::stop_all() {
  for (auto& s : list()) s->stop();
}

}  // namespace sg::media
