#include "webrtc/server.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>

#include "app/log.hpp"
#include "base/prometheus.hpp"
#include "sdp/sdp.hpp"
#include "transcode/aac_opus.hpp"
#include "webrtc/dtls.hpp"
#include "webrtc/peer.hpp"
#include "webrtc/session_table.hpp"
#include "webrtc/shard.hpp"

namespace sg::webrtc {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

std::vector<std::string> host_candidates(const std::string& host, bool discover,
                                         const std::vector<std::string>& additional) {
  std::vector<std::string> out;
  if (host != "0.0.0.0" && host != "::" && !host.empty()) {
    out.push_back(host);
  } else if (discover) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
      for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char buf[INET_ADDRSTRLEN];
        auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
        if (::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf)) {
          std::string ip = buf;
          if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
        }
      }
      ::freeifaddrs(list);
    }
    if (out.empty()) out.push_back("127.0.0.1");
  }
  for (const auto& a : additional)
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  return out;
}

WebRtcServer::Created failure(int status, std::string error) {
  WebRtcServer::Created c;
  c.status = status;
  c.error = std::move(error);
  return c;
}

// Shared by the shards: the options, the session table, the DTLS certificate and the host candidates. The shards
// (one per worker) hold the sessions.
struct WebRtcServer::Impl {
  Impl(net::WorkerPool& p, media::StreamRegistry& r, WebRtcOptions o)
      : pool(p),
        registry(r),
        options(std::move(o)),
        table_owner(std::make_shared<SessionTable>(options)),
        table(*table_owner) {
    for (size_t w = 0; w < pool.size(); ++w)
      shards.push_back(std::make_shared<Shard>(w, pool.context(w), table_owner, options));
    std::vector<std::weak_ptr<Shard>> weak(shards.begin(), shards.end());
    for (auto& s : shards) s->set_shards(weak);
  }

  net::WorkerPool& pool;
  media::StreamRegistry& registry;
  WebRtcOptions options;
  std::shared_ptr<SessionTable> table_owner;
  SessionTable& table;
  std::vector<std::shared_ptr<Shard>> shards;
  std::vector<Candidate> candidates;
  std::atomic<bool> stopped{false};
  std::mutex cert_mu;
  std::shared_ptr<Certificate> cert;

  bool per_address_limited(const asio::ip::address& client) const {
    auto ip = auth::IpAddress::parse(client.to_string());
    if (!ip) return true;
    for (const auto& range : options.per_address_exempt)
      if (range.contains(*ip)) return false;
    return true;
  }

  // Made on the first session, not at start: OpenSSL's initialisation and the key generation cost start time and
  // resident memory that a server without WebRTC viewers never needs.
  Result<std::shared_ptr<Certificate>> certificate() {
    std::lock_guard lk(cert_mu);
    if (cert) return cert;
    auto made = Certificate::generate();
    if (!made) {
      log::error("webrtc: cannot make the DTLS certificate", {{"error", made.error()}});
      return make_error(made.error());
    }
    cert = *made;
    log::info("webrtc DTLS certificate made", {{"fingerprint", cert->fingerprint_sha256()}});
    return cert;
  }

  // On the offer's thread: the answer, and the session registered unclaimed (the worker that gets its first valid
  // ICE check will own it).
  Created create(const std::string& stream_id, const std::string& offer_text, const asio::ip::address& client,
                 std::shared_ptr<media::Stream> stream, std::shared_ptr<const std::vector<media::Track>> tracks) {
    Created c;
    if (stopped) return failure(503, "server stopping");
    const bool limited = per_address_limited(client);
    if (auto r = table.refusal(client, limited); r.status) return failure(r.status, std::move(r.error));
    auto offer = sdp::parse(offer_text);
    if (!offer) return failure(400, "bad SDP offer: " + offer.error());
    // An offer that cannot take the stream's video (an H.265 stream, a browser without H.265) is refused with the
    // reason rather than answered without video: 422 (RFC 9110 15.5.21), as RFC 9725 answers such WHIP offers.
    if (auto why = unsupported_video(*offer, *tracks)) {
      log::info("webrtc offer refused", {{"stream", stream_id}, {"remote", client.to_string()}, {"why", *why}});
      return failure(422, *why);
    }
    AnswerParams params;
    params.ufrag = random_token(8);
    params.pwd = random_token(24);
    auto made = certificate();
    if (!made) return failure(503, "DTLS certificate unavailable: " + made.error());
    params.fingerprint = (*made)->fingerprint_sha256();
    params.candidates = candidates;
    params.aac_to_opus = transcode::av_available();
    auto answer = build_answer(*offer, *tracks, params, random_u32());
    if (!answer) return failure(400, "cannot answer the offer: " + answer.error());
    for (const auto& why : answer->skipped) log::info("webrtc track left out", {{"stream", stream_id}, {"why", why}});
    for (const auto& what : answer->notes) log::info("webrtc answer", {{"stream", stream_id}, {"note", what}});
    auto peer = std::make_shared<Peer>();
    peer->id = random_token(16);
    peer->stream_id = stream_id;
    peer->stream = std::move(stream);
    peer->cert = *made;
    peer->ufrag = params.ufrag;
    peer->pwd = params.pwd;
    peer->remote_ufrag = answer->remote_ufrag;
    peer->remote_pwd = answer->remote_pwd;
    peer->remote_fingerprint = answer->remote_fingerprint;
    peer->client = client;
    peer->by_track.assign(tracks->size(), -1);
    for (size_t i = 0; i < answer->tracks.size(); ++i) {
      OutTrack out;
      out.info = answer->tracks[i];
      out.sequence = static_cast<uint16_t>(random_u32());
      peer->by_track[out.info.track] = static_cast<int>(i);
      peer->out.push_back(std::move(out));
    }
    if (auto r = table.add(peer, limited); r.status) return failure(r.status, std::move(r.error));
    log::info("webrtc session created", {{"session", peer->id}, {"stream", stream_id}, {"tracks", peer->out.size()}});
    c.session = peer->id;
    c.answer = std::move(answer->sdp);
    c.candidates = candidates;
    return c;
  }

  // On the offer's thread: a WHIP session (RFC 9725) for a publisher of `stream_id`. The stream is claimed here,
  // as an RTSP ANNOUNCE claims it: its tracks are the offer's, a second publisher is refused (or replaces this one,
  // publish_conflict), and whatever ends the session (DELETE, setup or consent timeout, a kick) gives it back.
  Created create_publisher(const std::string& stream_id, const std::string& offer_text,
                           const asio::ip::address& client, const std::shared_ptr<Impl>& self) {
    if (stopped) return failure(503, "server stopping");
    const bool limited = per_address_limited(client);
    if (auto r = table.refusal(client, limited); r.status) return failure(r.status, std::move(r.error));
    auto offer = sdp::parse(offer_text);
    if (!offer) return failure(400, "bad SDP offer: " + offer.error());
    if (auto why = unsupported_publish(*offer)) {
      log::info("whip offer refused", {{"stream", stream_id}, {"remote", client.to_string()}, {"why", *why}});
      return failure(422, *why);
    }
    AnswerParams params;
    params.ufrag = random_token(8);
    params.pwd = random_token(24);
    auto made = certificate();
    if (!made) return failure(503, "DTLS certificate unavailable: " + made.error());
    params.fingerprint = (*made)->fingerprint_sha256();
    params.candidates = candidates;
    auto answer = build_whip_answer(*offer, params);
    if (!answer) return failure(400, "cannot answer the offer: " + answer.error());

    auto stream = registry.find(stream_id);
    bool created = false;
    if (!stream) {
      if (!options.allow_any_publish) return failure(404, "stream '" + stream_id + "' not found");
      media::StreamOptions opts;
      opts.source = "publisher";
      opts.reader_queue = options.reader_queue;
      auto fresh = registry.create(stream_id, std::move(opts));
      if (fresh) {
        stream = *fresh;
        created = true;
      } else {
        stream = registry.find(stream_id);  // created concurrently
        if (!stream) return failure(registry.full() ? 503 : 400, fresh.error());
      }
    }
    if (stream->options().source != "publisher")
      return failure(403, "stream '" + stream_id + "' has a source of its own");

    auto peer = std::make_shared<Peer>();
    peer->id = random_token(16);
    peer->stream_id = stream_id;
    peer->stream = stream;
    peer->cert = *made;
    peer->ufrag = params.ufrag;
    peer->pwd = params.pwd;
    peer->remote_ufrag = answer->remote_ufrag;
    peer->remote_pwd = answer->remote_pwd;
    peer->remote_fingerprint = answer->remote_fingerprint;
    peer->client = client;
    std::weak_ptr<Impl> weak = self;
    const std::string id = peer->id;
    if (!stream->acquire_publisher(id, options.publish_conflict == "replace", [weak, id] {
          if (auto impl = weak.lock())
            asio::co_spawn(impl->pool.context(0), close(impl, id, "replaced or timed out as the publisher"),
                           asio::detached);
        })) {
      if (created) registry.remove(stream_id);
      log::info("whip publisher refused: stream busy", {{"stream", stream_id}, {"remote", client.to_string()}});
      return failure(409, "stream '" + stream_id + "' already has a publisher");
    }
    peer->on_close = [stream, id, created, &reg = registry, stream_id] {
      stream->release_publisher(id);
      if (created) reg.remove(stream_id);
    };
    stream->describe_publisher(id, "whip", client.to_string());
    std::vector<media::Track> tracks;
    for (const auto& t : answer->tracks) tracks.push_back(t.track);
    stream->set_tracks(std::move(tracks));
    stream->set_state(media::StreamState::Connecting);
    PublisherOptions popts;
    popts.remb_bitrate = options.whip_bitrate;
    peer->publisher = std::make_unique<Publisher>(stream, answer->tracks, popts, random_u32() | 1);
    if (auto r = table.add(peer, limited); r.status) {
      peer->run_on_close();
      return failure(r.status, std::move(r.error));
    }
    log::info("whip session created",
              {{"session", peer->id}, {"stream", stream_id}, {"tracks", answer->tracks.size()}, {"created", created}});
    Created c;
    c.session = peer->id;
    c.answer = std::move(answer->sdp);
    c.candidates = candidates;
    return c;
  }

  // Any thread: ends a session wherever it is (unclaimed here, or on the shard that owns it).
  static awaitable<bool> close(std::shared_ptr<Impl> impl, std::string session, std::string why) {
    auto found = impl->table.take(session);
    if (found.peer) {
      found.peer->run_on_close();
      log::info("webrtc session closed", {{"session", found.peer->id},
                                          {"stream", found.peer->stream_id},
                                          {"reason", why},
                                          {"packets", 0},
                                          {"nacks", 0}});
      co_return true;
    }
    if (found.owner < 0 || static_cast<size_t>(found.owner) >= impl->shards.size()) co_return false;
    auto shard = impl->shards[static_cast<size_t>(found.owner)];
    co_return co_await asio::co_spawn(shard->context(), close_on(shard, std::move(session), std::move(why)),
                                      use_awaitable);
  }

  // Coroutines with by-value parameters (not capturing lambdas: GCC 12 double-destroys lambda captures).
  static awaitable<bool> close_on(std::shared_ptr<Shard> shard, std::string session,
                                  std::string why = "closed by the client") {
    co_return shard->close(session, why);
  }

  static awaitable<void> list_on(std::shared_ptr<Shard> shard, std::shared_ptr<json::array> out) {
    shard->list(*out);
    co_return;
  }
};

WebRtcServer::WebRtcServer(net::WorkerPool& pool, media::StreamRegistry& registry, WebRtcOptions options)
    : impl_(std::make_shared<Impl>(pool, registry, options)), impl_web_root_(options.web_root) {}

WebRtcServer::~WebRtcServer() { stop(); }

namespace {

// Whether anything holds `ep` already. SO_REUSEPORT lets a socket of any process of this user join a group on the
// port, so binding the group alone would silently share the port with a stranger: a plain socket (no
// SO_REUSEPORT) bound first fails with EADDRINUSE then.
Status port_free(const udp::endpoint& ep) {
  asio::io_context probe_context;
  udp::socket probe(probe_context);
  boost::system::error_code ec;
  probe.open(ep.protocol(), ec);
  if (!ec) probe.bind(ep, ec);
  if (ec) return make_error(ec.message());
  return Ok{};
}

}  // namespace

// One socket per worker, all bound to the port with SO_REUSEPORT: the kernel spreads remote addresses over them.
Status WebRtcServer::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("WebRTC: bad UDP address '" + host + "'");
  auto fail = [&](const std::string& why) {
    for (auto& s : impl_->shards) s->socket().close(ec);
    return make_error("WebRTC: cannot bind UDP " + host + ":" + std::to_string(port) + ": " + why);
  };
  udp::endpoint ep(address, port);
  if (port != 0)
    if (auto free = port_free(ep); !free) return fail(free.error());
  for (auto& shard : impl_->shards) {
    auto& socket = shard->socket();
    socket.open(ep.protocol(), ec);
    if (ec) return fail(ec.message());
    int one = 1;
    if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      return fail(std::string("SO_REUSEPORT: ") + std::strerror(errno));
    socket.bind(ep, ec);
    if (ec) return fail(ec.message());
    // Port 0: the first socket picks the port, the others join it.
    if (ep.port() == 0) ep.port(socket.local_endpoint().port());
    socket.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
    socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
    socket.non_blocking(true, ec);  // sendmmsg must never block the worker
    // Don't fragment, as browsers send: our datagrams are far below any path MTU (we packetize for 1200 bytes),
    // and with DF the kernel gives IPv4 datagrams the ID 0 instead of hashing a shared ID generator per datagram
    // (__ip_select_ident: 3 % of the server's CPU at 1000 viewers). PROBE: DF without the path MTU cache.
    if (ep.protocol() == udp::v4()) {
      int probe = IP_PMTUDISC_PROBE;
      ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
    }
  }
  port_ = ep.port();
  for (const auto& ip : host_candidates(host, impl_->options.interface_discovery, impl_->options.additional_hosts))
    impl_->candidates.push_back({ip, port_});
  log::info("webrtc UDP sockets bound", {{"port", port_}, {"workers", impl_->shards.size()}});
  return Ok{};
}

void WebRtcServer::start() {
  for (auto& shard : impl_->shards) shard->start();
}

void WebRtcServer::stop() {
  auto impl = impl_;
  if (!impl || impl->stopped.exchange(true)) return;
  for (auto& p : impl->table.take_all_unclaimed()) {
    p->run_on_close();
    log::info(
        "webrtc session closed",
        {{"session", p->id}, {"stream", p->stream_id}, {"reason", "server stopping"}, {"packets", 0}, {"nacks", 0}});
  }
  std::vector<std::future<void>> done;
  for (auto& shard : impl->shards) {
    if (impl->pool.stopped() || net::WorkerPool::current() == static_cast<int>(shard->index())) {
      shard->stop();
      continue;
    }
    done.push_back(asio::post(shard->context(), asio::use_future([shard] { shard->stop(); })));
  }
  for (auto& d : done) d.wait_for(2s);
}

size_t WebRtcServer::sessions() const { return impl_->table.sessions(); }

awaitable<WebRtcServer::Created> WebRtcServer::create_session(std::string stream_id, std::string offer,
                                                              asio::ip::address client) {
  auto stream = impl_->registry.find(stream_id);
  if (!stream) co_return failure(404, "stream '" + stream_id + "' not found");
  auto tracks = stream->tracks();
  if (!tracks || tracks->empty()) {
    if (stream->on_demand()) stream->start();
    // A stream that is starting gets a few seconds to learn its tracks.
    asio::steady_timer wait(co_await asio::this_coro::executor);
    for (int i = 0; i < 50 && (!tracks || tracks->empty()); ++i) {
      wait.expires_after(100ms);
      co_await wait.async_wait(use_awaitable);
      tracks = stream->tracks();
    }
    if (!tracks || tracks->empty()) co_return failure(503, "stream '" + stream_id + "' is not ready");
  }
  co_return impl_->create(stream_id, offer, client, std::move(stream), std::move(tracks));
}

awaitable<bool> WebRtcServer::close_session(std::string session) {
  co_return co_await Impl::close(impl_, std::move(session), "closed by the client");
}

awaitable<WebRtcServer::Created> WebRtcServer::create_publish_session(std::string stream_id, std::string offer,
                                                                      asio::ip::address client) {
  co_return impl_->create_publisher(stream_id, offer, client, impl_);
}

WebRtcServer::SessionKind WebRtcServer::session_kind(const std::string& session) const {
  SessionKind k;
  k.exists = impl_->table.find(session, k.publisher, k.stream);
  return k;
}

awaitable<json::array> WebRtcServer::list_sessions() {
  auto impl = impl_;
  auto out = std::make_shared<json::array>();
  for (auto& shard : impl->shards) co_await asio::co_spawn(shard->context(), Impl::list_on(shard, out), use_awaitable);
  impl->table.visit_unclaimed([&](const Peer& p) { out->push_back(describe_session(p)); });
  co_return std::move(*out);
}

void WebRtcServer::write_metrics(std::string& out) const {
  const auto& i = *impl_;
  auto sum = [&](auto member) {
    uint64_t total = 0;
    for (const auto& s : i.shards) total += (s->counters().*member).load(std::memory_order_relaxed);
    return total;
  };
  auto per_worker = [&](const char* name, const char* type, const char* help, auto member) {
    write_metric_header(out, name, type, help);
    for (const auto& s : i.shards)
      out += std::string(name) + "{worker=\"" + std::to_string(s->index()) + "\"} " +
             std::to_string((s->counters().*member).load(std::memory_order_relaxed)) + "\n";
  };
  write_metric(out, "streamgate_webrtc_sessions", "gauge", "WebRTC sessions open now", i.table.sessions());
  per_worker("streamgate_webrtc_worker_sessions", "gauge",
             "WebRTC sessions owned by each worker thread (sessions without a valid ICE check yet belong to none)",
             &ShardCounters::sessions);
  write_metric(out, "streamgate_webrtc_sessions_total", "counter", "WebRTC sessions created", i.table.sessions_total());
  write_metric(out, "streamgate_webrtc_sessions_pending", "gauge",
               "WebRTC sessions answered but not connected yet (ICE, DTLS)", i.table.pending());
  write_metric(out, "streamgate_webrtc_setup_timeouts_total", "counter",
               "WebRTC sessions closed because ICE and DTLS were not done within webrtc.setup_timeout",
               sum(&ShardCounters::setup_timeouts));
  write_metric_header(out, "streamgate_webrtc_offers_refused_total", "counter",
                      "WHEP and /ws offers refused by a limit (max_sessions, max_pending_per_address)");
  out += "streamgate_webrtc_offers_refused_total{reason=\"max_sessions\"} " + std::to_string(i.table.refused_full()) +
         "\n";
  out += "streamgate_webrtc_offers_refused_total{reason=\"pending_per_address\"} " +
         std::to_string(i.table.refused_pending()) + "\n";
  write_metric(out, "streamgate_webrtc_packets_sent_total", "counter", "SRTP packets sent",
               sum(&ShardCounters::packets_sent));
  per_worker("streamgate_webrtc_worker_packets_sent_total", "counter", "SRTP packets sent by each worker thread",
             &ShardCounters::packets_sent);
  write_metric(out, "streamgate_webrtc_bytes_sent_total", "counter", "SRTP bytes sent",
               sum(&ShardCounters::bytes_sent));
  write_metric(out, "streamgate_webrtc_stun_requests_total", "counter", "STUN Binding requests received",
               sum(&ShardCounters::stun_requests));
  write_metric(out, "streamgate_webrtc_bad_datagrams_total", "counter", "UDP datagrams dropped as malformed or unknown",
               sum(&ShardCounters::bad_datagrams));
  write_metric(out, "streamgate_webrtc_forwarded_datagrams_total", "counter",
               "UDP datagrams received by a worker that does not own their session and passed to its owner",
               sum(&ShardCounters::forwarded));
  write_metric(out, "streamgate_webrtc_nacks_total", "counter", "Packets asked for again by RTCP NACK",
               sum(&ShardCounters::nacks));
  write_metric(out, "streamgate_webrtc_retransmits_total", "counter", "Packets resent from the retransmission history",
               sum(&ShardCounters::retransmits));
  write_metric(out, "streamgate_webrtc_plis_total", "counter", "RTCP PLI and FIR keyframe requests received",
               sum(&ShardCounters::plis));
  write_metric(out, "streamgate_webrtc_send_drops_total", "counter",
               "Packets not sent because the UDP socket buffer was full", sum(&ShardCounters::send_drops));
  write_metric(out, "streamgate_webrtc_transcoded_packets_total", "counter", "Opus packets made from AAC",
               sum(&ShardCounters::transcoded_packets));
  write_metric(out, "streamgate_whip_packets_received_total", "counter", "RTP packets received from WHIP publishers",
               sum(&ShardCounters::whip_packets));
  write_metric(out, "streamgate_whip_bytes_received_total", "counter",
               "RTP bytes received from WHIP publishers (decrypted)", sum(&ShardCounters::whip_bytes));
  write_metric(out, "streamgate_whip_nacks_sent_total", "counter",
               "Lost video packets asked for again from WHIP publishers (RTCP generic NACK entries)",
               sum(&ShardCounters::whip_nacks_sent));
  write_metric(out, "streamgate_whip_plis_sent_total", "counter", "RTCP PLI keyframe requests sent to WHIP publishers",
               sum(&ShardCounters::whip_plis_sent));
  write_metric(out, "streamgate_whip_unrecovered_packets_total", "counter",
               "Lost video packets of WHIP publishers that NACK did not bring back in time",
               sum(&ShardCounters::whip_unrecovered));
}

}  // namespace sg::webrtc
