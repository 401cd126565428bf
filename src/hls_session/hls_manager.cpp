#include "hls_session/hls_manager.hpp"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/log.hpp"
#include "auth/http_credentials.hpp"
#include "base/prometheus.hpp"
#include "hls/blocking_reload.hpp"
#include "hls/playlist.hpp"
#include "net/worker_pool.hpp"
#include "web/assets.hpp"

namespace sg::hls_session {

namespace asio = boost::asio;
namespace bhttp = http::bhttp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kPlaylistType = "application/vnd.apple.mpegurl";

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "seg12.m4s" with prefix "seg" and extension ".m4s" -> 12.
std::optional<uint64_t> parse_numbered(std::string_view file, std::string_view prefix, std::string_view ext) {
  if (!file.starts_with(prefix) || !file.ends_with(ext) || file.size() <= prefix.size() + ext.size())
    return std::nullopt;
  return parse_u64(file.substr(prefix.size(), file.size() - prefix.size() - ext.size()));
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

http::Response with_hls_headers(http::Response res, std::string_view cache_control) {
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::cache_control, cache_control);
  return res;
}

http::Response hls_error(bhttp::status status, std::string_view message, const http::Request& req) {
  return with_hls_headers(http::error_response(status, message, req), "no-cache");
}

http::Response bytes_response(const hls::SharedBytes& data, std::string_view type, const http::Request& req) {
  auto res = http::text_response(bhttp::status::ok,
                                 std::string(reinterpret_cast<const char*>(data->data()), data->size()), type, req);
  // Names are reused when a muxer restarts (seg0 again), so "long" is a minute, not forever.
  return with_hls_headers(std::move(res), "public, max-age=60");
}

// The player page and hls.js: embedded in the binary, or from $SG_WEB_DIR when set (src/web/assets.hpp).
std::shared_ptr<const std::string> read_web_file(const std::string& relative) {
  auto body = web::asset(relative);
  if (!body) return nullptr;
  return std::make_shared<const std::string>(std::move(*body));
}

// Keeps a gauge right across co_await and early returns.
struct Waiting {
  explicit Waiting(std::atomic<int64_t>& n) : n_(n) { n_.fetch_add(1, std::memory_order_relaxed); }
  ~Waiting() { n_.fetch_sub(1, std::memory_order_relaxed); }
  Waiting(const Waiting&) = delete;
  Waiting& operator=(const Waiting&) = delete;
  std::atomic<int64_t>& n_;
};

}  // namespace

std::optional<hls::Variant> parse_variant(std::string_view name) {
  if (name == "mpegts") return hls::Variant::MpegTs;
  if (name == "fmp4") return hls::Variant::Fmp4;
  if (name == "lowLatency") return hls::Variant::LowLatency;
  return std::nullopt;
}

HlsManager::HlsManager(net::WorkerPool& pool, media::StreamRegistry& registry, HlsOptions options)
    : pool_(pool), registry_(registry), options_(std::move(options)) {}

HlsManager::~HlsManager() { stop(); }

void HlsManager::stop() {
  std::map<std::string, std::shared_ptr<HlsMuxer>, std::less<>> muxers;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    muxers.swap(muxers_);
  }
  if (pool_.stopped()) return;
  for (auto& [id, m] : muxers) m->stop();
}

size_t HlsManager::muxers() const {
  std::lock_guard lk(mu_);
  return muxers_.size();
}

std::shared_ptr<HlsMuxer> HlsManager::muxer_for(const std::string& id) {
  auto stream = registry_.find(id);
  if (!stream) return nullptr;
  std::lock_guard lk(mu_);
  if (stopped_) return nullptr;
  if (auto it = muxers_.find(id); it != muxers_.end()) {
    if (!it->second->snapshot()->failed) return it->second;
    muxers_.erase(it);  // a stopped muxer: start afresh
  }
  const size_t worker = pool_.next();
  auto muxer = std::make_shared<HlsMuxer>(stream, worker, pool_.context(worker), options_);
  muxers_.emplace(id, muxer);
  muxer->start([this](HlsMuxer* m) {
    std::lock_guard lk(mu_);
    ended_segments_.fetch_add(m->segments_total(), std::memory_order_relaxed);
    ended_parts_.fetch_add(m->parts_total(), std::memory_order_relaxed);
    if (auto it = muxers_.find(m->stream_id()); it != muxers_.end() && it->second.get() == m) muxers_.erase(it);
  });
  return muxer;
}

void HlsManager::add_routes(http::Router& router) {
  router.add(
      bhttp::verb::get, "/{stream}/index.m3u8", http::Access::stream(auth::Action::Read, "hls"),
      [this](const http::Request& req, const http::Params& p) { return serve_playlist(req, p.get("stream"), false); });
  router.add(
      bhttp::verb::get, "/{stream}/stream.m3u8", http::Access::stream(auth::Action::Read, "hls"),
      [this](const http::Request& req, const http::Params& p) { return serve_playlist(req, p.get("stream"), true); });
  router.add(bhttp::verb::get, "/{stream}/hls", http::Access::open(),
             [this](const http::Request& req, const http::Params& p) { return serve_player(req, p.get("stream")); });
  router.add(bhttp::verb::get, "/assets/hls.min.js", http::Access::open(),
             [this](const http::Request& req, const http::Params&) -> asio::awaitable<http::Response> {
               co_return serve_asset(req, "node_modules/hls.js/dist/hls.min.js");
             });
  // Last: matches any other file name under a stream (segments, parts, init).
  router.add(bhttp::verb::get, "/{stream}/{file}", http::Access::stream(auth::Action::Read, "hls"),
             [this](const http::Request& req, const http::Params& p) {
               return serve_file(req, p.get("stream"), p.get("file"));
             });
}

asio::awaitable<http::Response> HlsManager::serve_playlist(const http::Request& req, const std::string& id,
                                                           bool media) {
  count(media ? Kind::Media : Kind::Multivariant);
  auto muxer = muxer_for(id);
  if (!muxer) {
    not_found_.fetch_add(1, std::memory_order_relaxed);
    co_return hls_error(bhttp::status::not_found, "stream '" + id + "' not found", req);
  }
  muxer->touch();
  auto snap = muxer->snapshot();
  if (!snap->has_segment && !snap->failed) {
    // Cold start: answer once the first segment exists, so a player (or ffprobe) starting now gets a playlist.
    Waiting w(waiting_);
    const auto deadline = Clock::now() + 2 * seconds(options_.segment_duration) + std::chrono::seconds(1);
    while (!snap->has_segment && !snap->failed && Clock::now() < deadline) {
      co_await muxer->wait_update(snap->version, deadline);
      snap = muxer->snapshot();
    }
  }
  if (snap->failed) {
    not_found_.fetch_add(1, std::memory_order_relaxed);
    co_return hls_error(bhttp::status::not_found, "HLS for stream '" + id + "' stopped: " + snap->error, req);
  }
  if (!snap->has_segment) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    auto res = hls_error(bhttp::status::service_unavailable, "no HLS segment yet for stream '" + id + "'", req);
    res.set(bhttp::field::retry_after, "1");
    co_return res;
  }
  const auto target = std::string_view(req.target().data(), req.target().size());
  // A player that could put its credentials only in the playlist's URL (?jwt=...) needs them on every URI in it.
  const auto credentials = auth::credential_query(target);
  auto playlist_response = [&](const std::string& text) {
    return with_hls_headers(
        http::text_response(bhttp::status::ok, credentials.empty() ? text : hls::add_query_to_uris(text, credentials),
                            kPlaylistType, req),
        "no-cache");
  };
  if (!media) co_return playlist_response(snap->multivariant_playlist);

  const auto msn_text = http::query_param(target, "_HLS_msn");
  const auto part_text = http::query_param(target, "_HLS_part");
  if (options_.variant == hls::Variant::LowLatency && (!msn_text.empty() || !part_text.empty())) {
    std::optional<uint64_t> msn, part;
    if (!msn_text.empty() && !(msn = parse_u64(msn_text))) {
      bad_requests_.fetch_add(1, std::memory_order_relaxed);
      co_return hls_error(bhttp::status::bad_request, "_HLS_msn must be a non-negative integer", req);
    }
    if (!part_text.empty() && !(part = parse_u64(part_text))) {
      bad_requests_.fetch_add(1, std::memory_order_relaxed);
      co_return hls_error(bhttp::status::bad_request, "_HLS_part must be a non-negative integer", req);
    }
    auto decision = hls::decide_reload(snap->position, msn, part);
    if (decision == hls::ReloadDecision::Wait) {
      // RFC 8216bis 6.2.5.2: a request that cannot be satisfied within three target durations gets 503.
      Waiting w(waiting_);
      const auto deadline = Clock::now() + 3 * seconds(options_.segment_duration);
      while (decision == hls::ReloadDecision::Wait && !snap->failed && Clock::now() < deadline) {
        co_await muxer->wait_update(snap->version, deadline);
        muxer->touch();
        snap = muxer->snapshot();
        decision = hls::decide_reload(snap->position, msn, part);
      }
      if (snap->failed) co_return hls_error(bhttp::status::not_found, "HLS for stream '" + id + "' stopped", req);
      if (decision == hls::ReloadDecision::Wait) {
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        co_return hls_error(bhttp::status::service_unavailable, "the requested part did not appear in time", req);
      }
    }
    if (decision == hls::ReloadDecision::BadRequest) {
      bad_requests_.fetch_add(1, std::memory_order_relaxed);
      co_return hls_error(bhttp::status::bad_request, "_HLS_msn/_HLS_part too far in the future", req);
    }
  }
  co_return playlist_response(snap->media_playlist);
}

asio::awaitable<http::Response> HlsManager::serve_file(const http::Request& req, const std::string& id,
                                                       const std::string& file) {
  // An MPEG-TS configuration serves a stream with H.265 or Opus as fMP4 (SampleBuilder::variant()): both forms of
  // names are accepted here and the muxer's snapshot says which one exists.
  const bool ts_configured = options_.variant == hls::Variant::MpegTs;
  const bool ll = options_.variant == hls::Variant::LowLatency;
  enum class What { Init, Segment, Part } what;
  uint64_t n = 0;
  bool ts_name = false;  // seg<N>.ts
  if (file == "init.mp4") {
    what = What::Init;
  } else if (auto s = parse_numbered(file, "seg", ".m4s")) {
    what = What::Segment;
    n = *s;
  } else if (auto t = ts_configured ? parse_numbered(file, "seg", ".ts") : std::nullopt) {
    what = What::Segment;
    n = *t;
    ts_name = true;
  } else if (auto p = ll ? parse_numbered(file, "part", ".m4s") : std::nullopt) {
    what = What::Part;
    n = *p;
  } else {
    not_found_.fetch_add(1, std::memory_order_relaxed);
    co_return hls_error(bhttp::status::not_found, "no such file: /" + id + "/" + file, req);
  }
  count(what == What::Init ? Kind::Init : what == What::Segment ? Kind::Segment : Kind::Part);

  std::shared_ptr<HlsMuxer> muxer;
  {
    std::lock_guard lk(mu_);
    if (auto it = muxers_.find(id); it != muxers_.end()) muxer = it->second;
  }
  if (!muxer) {
    not_found_.fetch_add(1, std::memory_order_relaxed);
    co_return hls_error(bhttp::status::not_found, "no HLS muxer for stream '" + id + "'", req);
  }
  muxer->touch();
  auto snap = muxer->snapshot();
  auto lookup = [&]() -> hls::SharedBytes {
    if (ts_name != (snap->variant == hls::Variant::MpegTs)) return nullptr;  // the other variant's name
    switch (what) {
      case What::Init:
        return snap->init;
      case What::Segment:
        return snap->segment(n);
      case What::Part:
        return snap->part(n);
    }
    return nullptr;
  };
  // A segment being built, or a part up to the preload hint and a little beyond, is waited for (blocking
  // preload hint, RFC 8216bis 6.2.6); anything else missing is gone or never was.
  auto upcoming = [&] {
    if (what == What::Segment) return n == snap->position.next_msn;
    if (what == What::Part) return n >= snap->next_part_id && n <= snap->next_part_id + 2;
    return !snap->has_segment;
  };
  auto data = lookup();
  if (!data && !snap->failed && upcoming()) {
    Waiting w(waiting_);
    const auto deadline = Clock::now() + 2 * seconds(options_.segment_duration) + std::chrono::seconds(1);
    while (!data && !snap->failed && upcoming() && Clock::now() < deadline) {
      co_await muxer->wait_update(snap->version, deadline);
      snap = muxer->snapshot();
      data = lookup();
    }
  }
  if (!data) {
    not_found_.fetch_add(1, std::memory_order_relaxed);
    co_return hls_error(bhttp::status::not_found, "no such HLS file (expired or not yet produced): " + file, req);
  }
  std::string_view type = what == What::Segment && ts_name ? "video/mp2t" : "video/mp4";
  co_return bytes_response(data, type, req);
}

asio::awaitable<http::Response> HlsManager::serve_player(const http::Request& req, const std::string& id) {
  count(Kind::Player);
  if (!registry_.find(id)) co_return hls_error(bhttp::status::not_found, "stream '" + id + "' not found", req);
  auto page = read_web_file("hls.html");
  if (!page) co_return hls_error(bhttp::status::not_found, "player page not embedded (web/hls.html)", req);
  auto res = http::text_response(bhttp::status::ok, *page, "text/html; charset=utf-8", req);
  res.set(bhttp::field::cache_control, "no-cache");
  co_return res;
}

http::Response HlsManager::serve_asset(const http::Request& req, const std::string& name) {
  count(Kind::Asset);
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard lk(asset_mu_);
    if (auto it = assets_.find(name); it != assets_.end()) body = it->second;
  }
  if (!body) {
    body = read_web_file(name);
    if (!body)
      return hls_error(bhttp::status::not_found,
                       "asset not embedded: web/" + name + " (run scripts/setup.sh, then rebuild)", req);
    std::lock_guard lk(asset_mu_);
    assets_.emplace(name, body);
  }
  auto res = http::text_response(bhttp::status::ok, *body, "text/javascript; charset=utf-8", req);
  return with_hls_headers(std::move(res), "public, max-age=3600");
}

void HlsManager::write_metrics(std::string& out) const {
  std::vector<std::shared_ptr<HlsMuxer>> muxers;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, m] : muxers_) muxers.push_back(m);
  }
  write_metric_header(out, "streamgate_hls_muxers", "gauge", "HLS muxers running (one per stream with HLS viewers).");
  out += "streamgate_hls_muxers " + std::to_string(muxers.size()) + "\n";
  write_metric_header(out, "streamgate_hls_requests_total", "counter", "HLS requests by kind.");
  static constexpr std::string_view kKinds[] = {"multivariant", "media_playlist", "init", "segment",
                                                "part",         "player",         "asset"};
  for (size_t i = 0; i < static_cast<size_t>(Kind::Count); ++i)
    out += "streamgate_hls_requests_total{kind=\"" + std::string(kKinds[i]) + "\"} " +
           std::to_string(requests_[i].load(std::memory_order_relaxed)) + "\n";
  write_metric_header(out, "streamgate_hls_errors_total", "counter", "HLS requests answered with an error, by status.");
  out += "streamgate_hls_errors_total{status=\"400\"} " + std::to_string(bad_requests_.load()) + "\n";
  out += "streamgate_hls_errors_total{status=\"404\"} " + std::to_string(not_found_.load()) + "\n";
  out += "streamgate_hls_errors_total{status=\"503\"} " + std::to_string(timeouts_.load()) + "\n";
  write_metric_header(
      out, "streamgate_hls_waiting_requests", "gauge",
      "HLS requests held open (blocking playlist reload, preload hints, cold start): about one per LL-HLS viewer.");
  out += "streamgate_hls_waiting_requests " + std::to_string(std::max<int64_t>(waiting_.load(), 0)) + "\n";
  uint64_t segments = ended_segments_.load(), parts = ended_parts_.load();
  for (const auto& m : muxers) {
    segments += m->segments_total();
    parts += m->parts_total();
  }
  write_metric_header(out, "streamgate_hls_segments_total", "counter", "HLS segments produced.");
  out += "streamgate_hls_segments_total " + std::to_string(segments) + "\n";
  write_metric_header(out, "streamgate_hls_parts_total", "counter", "LL-HLS partial segments produced.");
  out += "streamgate_hls_parts_total " + std::to_string(parts) + "\n";
  uint64_t latency_us = 0, latency_n = 0;
  for (const auto& m : muxers) {
    latency_us += m->latency_sum_us();
    latency_n += m->latency_count();
  }
  write_metric_header(
      out, "streamgate_hls_part_latency_seconds", "summary",
      "Time from the arrival of a part's first frame (non-LL: a segment's) until it is served, running muxers.");
  out += "streamgate_hls_part_latency_seconds_sum " + std::to_string(static_cast<double>(latency_us) / 1e6) + "\n";
  out += "streamgate_hls_part_latency_seconds_count " + std::to_string(latency_n) + "\n";
}

HlsOptions make_hls_options(const app::HlsConfig& config) {
  HlsOptions o;
  o.variant = parse_variant(config.variant).value_or(hls::Variant::LowLatency);
  o.segment_duration = config.segment_duration_ms / 1000.0;
  o.part_duration = config.part_duration_ms / 1000.0;
  o.segment_count = config.segment_count;
  o.directory = config.directory;
  return o;
}

}  // namespace sg::hls_session
