#pragma once
// HLS egress: one HlsMuxer per stream, created by the first HLS request for it and stopped after idle_timeout
// without requests; every viewer is served from the same in-memory segments.
//
// Routes (GET):
//   /{stream}/index.m3u8        multivariant playlist (CODECS, RESOLUTION)
//   /{stream}/stream.m3u8       media playlist; LL-HLS blocking reload with _HLS_msn / _HLS_part
//   /{stream}/init.mp4          fMP4 init segment (EXT-X-MAP)
//   /{stream}/seg<N>.ts|.m4s    segments; /{stream}/part<N>.m4s parts (a part or segment that is being built is
//                               waited for, so preload hints work)
//   /{stream}/hls               the hls.js player page; /assets/hls.min.js serves hls.js
// The first request for a stream without a muxer waits (up to 2 segment durations + 1 s) for the first segment.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "app/config.hpp"
#include "hls_session/hls_muxer.hpp"
#include "http/http_server.hpp"
#include "media/stream_registry.hpp"

namespace sg::net {
class WorkerPool;
}

namespace sg::hls_session {

// "mpegts" | "fmp4" | "lowLatency"; nullopt otherwise.
std::optional<hls::Variant> parse_variant(std::string_view name);

HlsOptions make_hls_options(const app::HlsConfig& config);

class HlsManager {
 public:
  HlsManager(net::WorkerPool& pool, media::StreamRegistry& registry, HlsOptions options);
  ~HlsManager();
  HlsManager(const HlsManager&) = delete;
  HlsManager& operator=(const HlsManager&) = delete;

  void add_routes(http::Router& router);
  // Prometheus lines: muxers, requests by kind, waiting requests, segments and parts produced.
  void write_metrics(std::string& out) const;
  // Stops every muxer (their viewers get 404 from then on).
  void stop();
  size_t muxers() const;

 private:
  enum class Kind { Multivariant, Media, Init, Segment, Part, Player, Asset, Count };
  boost::asio::awaitable<http::Response> serve_playlist(const http::Request& req, const std::string& id, bool media);
  boost::asio::awaitable<http::Response> serve_file(const http::Request& req, const std::string& id,
                                                    const std::string& file);
  boost::asio::awaitable<http::Response> serve_player(const http::Request& req, const std::string& id);
  http::Response serve_asset(const http::Request& req, const std::string& name);
  // The stream's muxer, created when absent (or replaced when it failed); null when there is no such stream.
  std::shared_ptr<HlsMuxer> muxer_for(const std::string& id);
  void count(Kind kind) { requests_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed); }

  net::WorkerPool& pool_;
  media::StreamRegistry& registry_;
  HlsOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HlsMuxer>, std::less<>> muxers_;
  bool stopped_ = false;
  std::atomic<uint64_t> requests_[static_cast<size_t>(Kind::Count)] = {};
  std::atomic<uint64_t> not_found_{0}, timeouts_{0}, bad_requests_{0};
  std::atomic<int64_t> waiting_{0};
  std::atomic<uint64_t> ended_segments_{0}, ended_parts_{0};  // from muxers that have stopped
  mutable std::mutex asset_mu_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> assets_;
};

}  // namespace sg::hls_session
