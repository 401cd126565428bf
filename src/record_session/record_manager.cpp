#include "record_session/record_manager.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <set>

#include "app/log.hpp"
#include "base/prometheus.hpp"
#include "net/worker_pool.hpp"

namespace sg::record_session {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

void label(std::string& out, std::string_view name, std::string_view key, std::string_view value, uint64_t v) {
  out += name;
  out += '{';
  out += key;
  out += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += "\"} ";
  out += std::to_string(v);
  out += '\n';
}

}  // namespace

RecordManager::RecordManager(net::WorkerPool& pool, media::StreamRegistry& registry)
    : pool_(pool), registry_(registry), writer_(std::make_unique<DiskWriter>()) {}

RecordManager::~RecordManager() { stop(); }

void RecordManager::configure(const app::RecordSettings& defaults,
                              const std::map<std::string, app::RecordOverrides>& streams) {
  {
    std::lock_guard lk(mu_);
    defaults_ = defaults;
    streams_ = streams;
    apply_retention();
  }
  if (started_.load()) asio::post(pool_.context(0), [this] { scan(); });
}

app::RecordSettings RecordManager::settings_for(const std::string& id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? defaults_ : it->second.over(defaults_);
}

void RecordManager::apply_retention() {
  // One rule per pattern in use: the default pattern covers every stream that has no pattern of its own.
  std::map<std::string, RetentionRule> rules;
  int64_t shortest = 0;
  auto age = [&](int64_t ms) {
    if (ms > 0 && (shortest == 0 || ms < shortest)) shortest = ms;
    return ms * 1000;
  };
  auto& d = rules[defaults_.path];
  d.pattern = defaults_.path;
  d.default_max_age_us = age(defaults_.delete_after_ms);
  for (const auto& [id, o] : streams_) {
    const auto s = o.over(defaults_);
    auto& r = rules[s.path];
    r.pattern = s.path;
    r.per_stream[id] = age(s.delete_after_ms);
  }
  std::vector<RetentionRule> list;
  for (auto& [p, r] : rules) list.push_back(std::move(r));
  // Checked ten times per retention period (so a file goes at most 10% late), between 1 s and 10 min.
  const auto interval = std::chrono::milliseconds(std::clamp<int64_t>(shortest / 10, 1000, 600000));
  writer_->set_retention(shortest > 0 ? std::move(list) : std::vector<RetentionRule>{}, interval);
}

void RecordManager::start() {
  {
    std::lock_guard lk(mu_);
    apply_retention();
  }
  started_ = true;
  asio::post(pool_.context(0), [this] {
    timer_ = std::make_unique<asio::steady_timer>(pool_.context(0));
    scan();
    schedule();
  });
}

void RecordManager::schedule() {
  timer_->expires_after(std::chrono::seconds(1));
  timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    {
      std::lock_guard lk(mu_);
      if (stopped_) return;
    }
    scan();
    schedule();
  });
}

void RecordManager::end(Entry& e) {
  // The recorder closes the sink after its last chunks; one that has ended already cannot.
  if (e.recorder && !e.recorder->ended())
    e.recorder->stop(true);
  else if (e.sink)
    e.sink->close();
  e.recorder.reset();
  e.sink.reset();
}

void RecordManager::scan() {
  std::lock_guard lk(mu_);
  if (stopped_) return;
  std::set<std::string> present;
  for (const auto& stream : registry_.list()) {
    const std::string& id = stream->id();
    present.insert(id);
    const auto settings = settings_for(id);
    auto choice = api_choice_.find(id);
    const bool wanted = choice != api_choice_.end() ? choice->second : settings.record;
    auto it = entries_.find(id);
    if (!wanted) {
      if (it != entries_.end()) {
        log::info("recording stopped", {{"stream", id}});
        end(it->second);
        entries_.erase(it);
      }
      continue;
    }
    if (it != entries_.end() && it->second.settings != settings) {
      // New path, format or durations: a new recording (new files) from the next keyframe.
      end(it->second);
      entries_.erase(it);
      it = entries_.end();
    }
    if (it == entries_.end()) {
      Entry e;
      e.settings = settings;
      e.sink = writer_->add(id, settings.path);
      it = entries_.emplace(id, std::move(e)).first;
      log::info("recording started", {{"stream", id}, {"path", settings.path}, {"format", settings.format}});
    }
    auto& e = it->second;
    const bool running = e.recorder && !e.recorder->ended() && e.recorder->stream() == stream;
    if (running) continue;
    if (e.recorder && !e.recorder->ended()) {
      // A stream replaced under the same id: the new recorder starts once the old one has written its last chunks
      // (they share the sink).
      e.recorder->stop();
      continue;
    }
    // One that could not record these tracks (no codec it can write) is not retried until they change.
    if (e.recorder && !e.recorder->error().empty() && e.recorder->stream() == stream &&
        e.recorder_tracks == stream->tracks())
      continue;
    e.recorder_tracks = stream->tracks();
    RecorderOptions o;
    o.format = settings.format == "mpegts" ? record::RecordFormat::MpegTs : record::RecordFormat::Fmp4;
    o.segment_us = settings.segment_ms * 1000;
    o.part_us = settings.part_ms * 1000;
    const size_t worker = pool_.next();
    e.recorder = std::make_shared<Recorder>(stream, worker, pool_.context(worker), e.sink, o);
    e.recorder->start();
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    end(it->second);
    it = entries_.erase(it);
  }
}

void RecordManager::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, e] : entries_) end(e);
    entries_.clear();
  }
  if (started_.load()) {
    asio::post(pool_.context(0), [this] {
      if (timer_) timer_->cancel();
    });
  }
  writer_->stop();
}

json::object RecordManager::describe(const std::string& stream) const {
  std::lock_guard lk(mu_);
  json::object o{{"state", "off"}, {"error", nullptr}, {"file", nullptr}};
  auto it = entries_.find(stream);
  if (it == entries_.end()) return o;
  const auto st = it->second.sink->status();
  std::string error = st.failed ? st.error : std::string();
  if (error.empty() && it->second.recorder) error = it->second.recorder->error();
  o["state"] = error.empty() ? "on" : "error";
  if (!error.empty()) o["error"] = error;
  if (!st.file.empty()) o["file"] = st.file;
  o["bytes_written"] = st.bytes;
  o["segments"] = st.segments;
  o["write_errors"] = st.write_errors;
  o["drops"] = st.drops;
  return o;
}

void RecordManager::write_metrics(std::string& out) const {
  std::vector<std::pair<std::string, RecordingStatus>> list;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, e] : entries_) list.push_back({id, e.sink->status()});
  }
  write_metric_header(out, "streamgate_record_recordings", "gauge", "Streams being recorded");
  out += "streamgate_record_recordings " + std::to_string(list.size()) + "\n";
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*get)(const RecordingStatus&);
  };
  static constexpr Family kFamilies[] = {
      {"streamgate_record_bytes_written_total", "counter", "Bytes written to recording files",
       [](const RecordingStatus& s) { return s.bytes; }},
      {"streamgate_record_segments_total", "counter", "Recording segment files created",
       [](const RecordingStatus& s) { return s.segments; }},
      {"streamgate_record_write_errors_total", "counter", "Recording write errors (disk full, unwritable path)",
       [](const RecordingStatus& s) { return s.write_errors; }},
      {"streamgate_record_drops_total", "counter",
       "Recording chunks dropped because the disk writer was behind (the recording skips to its next segment)",
       [](const RecordingStatus& s) { return s.drops; }},
      {"streamgate_record_failed", "gauge", "1 while a recording is stopped by a write error (retrying)",
       [](const RecordingStatus& s) { return uint64_t{s.failed}; }},
  };
  for (const auto& f : kFamilies) {
    write_metric_header(out, f.name, f.type, f.help);
    for (const auto& [id, st] : list) label(out, f.name, "stream", id, f.get(st));
  }
  write_metric_header(out, "streamgate_record_disk_free_bytes", "gauge", "Free bytes on each recording volume");
  for (const auto& [root, bytes] : writer_->disk_free())
    label(out, "streamgate_record_disk_free_bytes", "volume", root, bytes);
  write_metric_header(out, "streamgate_record_files_deleted_total", "counter", "Recording files deleted by retention");
  out += "streamgate_record_files_deleted_total " + std::to_string(writer_->files_deleted()) + "\n";
  write_metric_header(out, "streamgate_record_drop_episodes_total", "counter",
                      "Times a recording started dropping because the disk writer was behind");
  out += "streamgate_record_drop_episodes_total " + std::to_string(writer_->drop_episodes()) + "\n";
}

void RecordManager::add_routes(http::Router& router) {
  namespace bhttp = boost::beast::http;
  for (bool on : {true, false}) {
    const std::string path = std::string("/api/v1/streams/{id}/record/") + (on ? "start" : "stop");
    router.add(
        bhttp::verb::post, path, http::Access::api(),
        http::sync_handler([this, on](const http::Request& req, const http::Params& p) -> http::Response {
          const std::string id = p.get("id");
          if (!registry_.find(id))
            return http::error_response(bhttp::status::not_found, "stream '" + id + "' not found", req);
          {
            std::lock_guard lk(mu_);
            api_choice_[id] = on;
          }
          scan();
          log::info(on ? "recording started through the API" : "recording stopped through the API", {{"stream", id}});
          return http::json_response(bhttp::status::ok, json::object{{"id", id}, {"recording", describe(id)}}, req);
        }));
  }
}

}  // namespace sg::record_session
