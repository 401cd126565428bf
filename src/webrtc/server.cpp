#include "webrtc/server.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "app/log.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/sdp.hpp"
#include "stun/stun.hpp"
#include "webrtc/dtls.hpp"
#include "webrtc/srtp.hpp"

namespace sg::webrtc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kConsentTimeout = 30s;  // RFC 7675 5.1
constexpr size_t kMaxPeers = 1000;

std::string random_token(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::vector<unsigned char> r(n);
  RAND_bytes(r.data(), static_cast<int>(n));
  std::string s(n, 'a');
  for (size_t i = 0; i < n; ++i) s[i] = kAlphabet[r[i] % (sizeof kAlphabet - 1)];
  return s;
}

uint32_t random_u32() {
  uint32_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

bool is_h264_parameter_set(Bytes nal) {
  if (nal.empty()) return false;
  auto type = static_cast<uint8_t>(nal[0]) & 0x1F;
  return type == 7 || type == 8;
}

}  // namespace

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

struct Peer {
  std::string id;
  std::string stream_id;
  std::shared_ptr<media::Stream> stream;
  std::string ufrag, pwd, remote_ufrag, remote_pwd, remote_fingerprint;
  std::vector<SentTrack> sent;
  std::vector<int> by_track;       // stream track index -> index in sent, or -1
  std::vector<uint16_t> sequence;  // per sent track
  std::optional<udp::endpoint> remote;
  Clock::time_point created = Clock::now();
  Clock::time_point last_check{};
  std::unique_ptr<DtlsTransport> dtls;
  Clock::time_point dtls_timer{};
  std::unique_ptr<SrtpSession> srtp_out, srtp_in;
  media::Reader* reader = nullptr;  // owned by the send loop
  bool sending = false;
  bool closed = false;
  uint64_t packets = 0, bytes = 0, plis = 0;
};

struct WebRtcServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::WorkerPool& p, media::StreamRegistry& r, WebRtcOptions o)
      : pool(p), registry(r), options(std::move(o)), worker(p.next()), context(p.context(worker)), socket(context),
        tick(context) {}

  net::WorkerPool& pool;
  media::StreamRegistry& registry;
  WebRtcOptions options;
  size_t worker;
  asio::io_context& context;
  udp::socket socket;
  asio::steady_timer tick;
  std::shared_ptr<Certificate> cert;
  std::vector<Candidate> candidates;
  bool stopped = false;

  // Touched only on the worker thread.
  std::map<std::string, std::shared_ptr<Peer>> by_id;
  std::map<std::string, std::shared_ptr<Peer>> by_ufrag;
  std::map<udp::endpoint, std::shared_ptr<Peer>> by_address;
  std::array<std::byte, 65536> recv_buffer{};
  std::array<std::byte, 65536 + 64> send_buffer{};

  std::atomic<size_t> peer_count{0};
  std::atomic<uint64_t> packets_sent{0}, bytes_sent{0}, stun_requests{0}, bad_datagrams{0}, sessions_total{0};

  void send(Bytes data, const udp::endpoint& to) {
    boost::system::error_code ec;
    socket.send_to(asio::buffer(data.data(), data.size()), to, 0, ec);
  }

  void close_peer(const std::shared_ptr<Peer>& peer, std::string_view why) {
    if (peer->closed) return;
    peer->closed = true;
    if (peer->reader) peer->reader->close();
    by_id.erase(peer->id);
    by_ufrag.erase(peer->ufrag);
    if (peer->remote) {
      auto it = by_address.find(*peer->remote);
      if (it != by_address.end() && it->second == peer) by_address.erase(it);
    }
    peer_count.store(by_id.size());
    log::info("webrtc session closed", {{"session", peer->id}, {"stream", peer->stream_id}, {"reason", std::string(why)},
                                        {"packets", peer->packets}});
  }

  // ---- receive path
  awaitable<void> receive_loop() {
    auto self = shared_from_this();
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      size_t n = co_await socket.async_receive_from(asio::buffer(recv_buffer), from,
                                                    asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped) co_return;
      if (ec) continue;
      Bytes packet(recv_buffer.data(), n);
      if (n == 0) continue;
      uint8_t b = u8(packet, 0);
      // RFC 7983 7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP.
      if (b <= 3) {
        on_stun(packet, from);
      } else if (b >= 20 && b <= 63) {
        on_dtls(packet, from);
      } else if (b >= 128 && b <= 191) {
        on_srtp(n, from);
      } else {
        bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  void on_stun(Bytes packet, const udp::endpoint& from) {
    auto m = stun::Message::parse(packet);
    if (!m || m->method() != stun::kMethodBinding) {
      bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (m->message_class() != stun::MessageClass::Request) return;  // ICE-lite: we send no checks
    stun_requests.fetch_add(1, std::memory_order_relaxed);
    auto user = m->username().value_or("");
    auto colon = user.find(':');
    auto it = by_ufrag.find(std::string(user.substr(0, colon)));
    if (colon == std::string_view::npos || it == by_ufrag.end()) {
      bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto peer = it->second;
    if (m->has_fingerprint() && !m->check_fingerprint()) return;
    if (!m->check_integrity(peer->pwd) || user.substr(colon + 1) != peer->remote_ufrag) {
      // RFC 8489 9.1.3: 401 to a request with bad credentials.
      auto err = stun::MessageBuilder(stun::MessageClass::ErrorResponse, stun::kMethodBinding, m->transaction_id())
                     .add_error_code(401, "Unauthorized")
                     .finish("", true);
      send(err, from);
      return;
    }
    stun::Address mapped;
    auto addr = from.address();
    if (addr.is_v4()) {
      auto bytes = addr.to_v4().to_bytes();
      std::copy(bytes.begin(), bytes.end(), mapped.ip.begin());
    } else {
      mapped.v6 = true;
      auto bytes = addr.to_v6().to_bytes();
      std::copy(bytes.begin(), bytes.end(), mapped.ip.begin());
    }
    mapped.port = from.port();
    auto reply = stun::MessageBuilder(stun::MessageClass::SuccessResponse, stun::kMethodBinding, m->transaction_id())
                     .add_xor_mapped_address(mapped)
                     .finish(peer->pwd, true);
    send(reply, from);
    peer->last_check = Clock::now();
    // The first valid check picks the path; a nominating check (USE-CANDIDATE) may move it.
    if (!peer->remote || (m->use_candidate() && *peer->remote != from)) {
      if (peer->remote) by_address.erase(*peer->remote);
      peer->remote = from;
      by_address[from] = peer;
      log::debug("webrtc ICE path", {{"session", peer->id}, {"remote", from.address().to_string() + ":" + std::to_string(from.port())}});
    }
  }

  std::shared_ptr<Peer> peer_at(const udp::endpoint& from) {
    auto it = by_address.find(from);
    return it == by_address.end() ? nullptr : it->second;
  }

  void flush_dtls(Peer& peer) {
    if (!peer.dtls || !peer.remote) return;
    for (auto& d : peer.dtls->take_datagrams()) send(d, *peer.remote);
  }

  void on_dtls(Bytes packet, const udp::endpoint& from) {
    auto peer = peer_at(from);
    if (!peer) {
      bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!peer->dtls) {
      auto t = DtlsTransport::create(DtlsRole::Server, cert, peer->remote_fingerprint);
      if (!t) {
        log::warn("webrtc DTLS setup failed", {{"session", peer->id}, {"error", t.error()}});
        close_peer(peer, "dtls setup failed");
        return;
      }
      peer->dtls = std::move(*t);
    }
    bool was_connected = peer->dtls->connected();
    auto s = peer->dtls->feed(packet);
    flush_dtls(*peer);
    if (!s) {
      log::info("webrtc DTLS failed", {{"session", peer->id}, {"error", s.error()}});
      close_peer(peer, "dtls");
      return;
    }
    if (auto next = peer->dtls->handle_timeout()) peer->dtls_timer = Clock::now() + *next;
    if (!was_connected && peer->dtls->connected()) on_connected(peer);
  }

  void on_connected(const std::shared_ptr<Peer>& peer) {
    const auto& keys = peer->dtls->srtp_keys();
    auto out = SrtpSession::create(keys.profile, keys.local, SrtpSession::Direction::Outbound);
    auto in = SrtpSession::create(keys.profile, keys.remote, SrtpSession::Direction::Inbound);
    if (!out || !in) {
      log::warn("webrtc SRTP setup failed", {{"session", peer->id}, {"error", out ? in.error() : out.error()}});
      close_peer(peer, "srtp");
      return;
    }
    peer->srtp_out = std::move(*out);
    peer->srtp_in = std::move(*in);
    log::info("webrtc session connected",
              {{"session", peer->id},
               {"stream", peer->stream_id},
               {"srtp", keys.profile == SrtpProfile::AeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80"}});
    if (!peer->sending) {
      peer->sending = true;
      asio::co_spawn(context, send_loop(peer), asio::detached);
    }
  }

  void on_srtp(size_t n, const udp::endpoint& from) {
    auto peer = peer_at(from);
    if (!peer || !peer->srtp_in) return;
    Bytes packet(recv_buffer.data(), n);
    if (!rtp::is_rtcp(packet)) return;  // we receive no media
    auto plain = peer->srtp_in->unprotect_rtcp(recv_buffer.data(), n);
    if (!plain) return;
    auto messages = rtp::parse_rtcp(Bytes(recv_buffer.data(), *plain));
    if (!messages) return;
    for (const auto& msg : *messages) {
      if (std::holds_alternative<rtp::Pli>(msg) || std::holds_alternative<rtp::Fir>(msg)) ++peer->plis;
    }
  }

  // ---- send path
  awaitable<void> send_loop(std::shared_ptr<Peer> peer) {
    auto self = shared_from_this();
    auto reader = peer->stream->attach(worker, "webrtc:" + peer->id);
    peer->reader = reader.get();
    auto tracks = peer->stream->tracks();
    std::vector<media::UnitPtr> units;
    while (!peer->closed && co_await reader->wait()) {
      units.clear();
      reader->pop(units);
      uint64_t bytes_before = peer->bytes, packets_before = peer->packets;
      for (const auto& unit : units) {
        if (peer->closed || !peer->remote || !peer->srtp_out) break;
        if (unit->track >= peer->by_track.size() || peer->by_track[unit->track] < 0) continue;
        size_t s = static_cast<size_t>(peer->by_track[unit->track]);
        if (unit->keyframe) tracks = peer->stream->tracks();
        if (unit->keyframe && tracks && unit->track < tracks->size() &&
            (*tracks)[unit->track].codec == media::CodecId::H264 && !unit->rtp_packets.empty())
          send_h264_parameter_sets(*peer, s, *unit, (*tracks)[unit->track]);
        for (size_t i = 0; i < unit->rtp_packets.size(); ++i) send_rtp(*peer, s, unit->rtp_packet(i));
      }
      reader->add_sent(peer->bytes - bytes_before, peer->packets - packets_before);
    }
    peer->reader = nullptr;
    reader.reset();
    if (!peer->closed) close_peer(peer, "stream ended");
  }

  void send_rtp(Peer& peer, size_t s, Bytes packet) {
    if (packet.size() < rtp::kFixedHeaderSize || packet.size() > 65536 - kSrtpMaxTrailer - 64) return;
    std::copy(packet.begin(), packet.end(), send_buffer.begin());
    MutableBytes view(send_buffer.data(), packet.size());
    const auto& st = peer.sent[s];
    if (!rtp::rewrite_header(view, {.ssrc = st.ssrc, .sequence = peer.sequence[s]++, .payload_type = st.payload_type}))
      return;
    encrypt_and_send(peer, packet.size());
  }

  void encrypt_and_send(Peer& peer, size_t len) {
    auto n = peer.srtp_out->protect_rtp(send_buffer.data(), len);
    if (!n) return;
    send(Bytes(send_buffer.data(), *n), *peer.remote);
    ++peer.packets;
    peer.bytes += *n;
    packets_sent.fetch_add(1, std::memory_order_relaxed);
    bytes_sent.fetch_add(*n, std::memory_order_relaxed);
  }

  // RTSP publishers (ffmpeg) carry SPS/PPS only in the SDP; a browser needs them in-band before the IDR. A STAP-A
  // (RFC 6184 5.7.1) with the unit's timestamp goes out first unless the unit has them already.
  void send_h264_parameter_sets(Peer& peer, size_t s, const media::Unit& unit, const media::Track& track) {
    if (track.sps.empty() || track.pps.empty() || track.sps.size() > 1000 || track.pps.size() > 1000) return;
    for (size_t i = 0; i < unit.frames.size(); ++i)
      if (is_h264_parameter_set(unit.frame(i))) return;
    auto first = rtp::RtpPacket::parse(unit.rtp_packet(0));
    if (!first) return;
    ByteVector p;
    append8(p, 0x80);
    append8(p, peer.sent[s].payload_type);
    append16(p, 0);
    append32(p, first->timestamp());
    append32(p, 0);
    append8(p, static_cast<uint8_t>((static_cast<uint8_t>(track.sps[0]) & 0x60) | 24));
    append16(p, static_cast<uint16_t>(track.sps.size()));
    append(p, track.sps);
    append16(p, static_cast<uint16_t>(track.pps.size()));
    append(p, track.pps);
    send_rtp(peer, s, p);
  }

  // ---- timers: DTLS retransmissions and consent freshness
  awaitable<void> tick_loop() {
    auto self = shared_from_this();
    for (;;) {
      tick.expires_after(100ms);
      boost::system::error_code ec;
      co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped) co_return;
      auto now = Clock::now();
      std::vector<std::shared_ptr<Peer>> expired;
      for (auto& [id, peer] : by_id) {
        auto since = peer->last_check == Clock::time_point{} ? peer->created : peer->last_check;
        if (now - since > kConsentTimeout) expired.push_back(peer);
        if (peer->dtls && !peer->dtls->connected() && peer->dtls_timer != Clock::time_point{} &&
            now >= peer->dtls_timer) {
          auto next = peer->dtls->handle_timeout();
          peer->dtls_timer = next ? now + *next : Clock::time_point{};
          flush_dtls(*peer);
        }
      }
      for (auto& p : expired) close_peer(p, "consent expired (no ICE check for 30 s)");
    }
  }

  // Coroutines with by-value parameters (not capturing lambdas: GCC 12 double-destroys lambda captures).
  static awaitable<Created> create_async(std::shared_ptr<Impl> self, std::string stream_id, std::string offer,
                                         std::shared_ptr<media::Stream> stream,
                                         std::shared_ptr<const std::vector<media::Track>> tracks) {
    co_return self->create(stream_id, offer, std::move(stream), std::move(tracks));
  }

  static awaitable<bool> close_async(std::shared_ptr<Impl> self, std::string session) {
    auto it = self->by_id.find(session);
    if (it == self->by_id.end()) co_return false;
    auto peer = it->second;
    self->close_peer(peer, "closed by the client");
    co_return true;
  }

  Created create(const std::string& stream_id, const std::string& offer_text, std::shared_ptr<media::Stream> stream,
                 std::shared_ptr<const std::vector<media::Track>> tracks) {
    Created c;
    if (stopped) return failure(503, "server stopping");
    if (by_id.size() >= kMaxPeers) return failure(503, "too many WebRTC sessions");
    auto offer = sdp::parse(offer_text);
    if (!offer) return failure(400, "bad SDP offer: " + offer.error());
    AnswerParams params;
    params.ufrag = random_token(8);
    params.pwd = random_token(24);
    params.fingerprint = cert->fingerprint_sha256();
    params.candidates = candidates;
    auto answer = build_answer(*offer, *tracks, params, random_u32());
    if (!answer) return failure(400, "cannot answer the offer: " + answer.error());
    for (const auto& why : answer->skipped) log::info("webrtc track left out", {{"stream", stream_id}, {"why", why}});
    auto peer = std::make_shared<Peer>();
    peer->id = random_token(16);
    peer->stream_id = stream_id;
    peer->stream = std::move(stream);
    peer->ufrag = params.ufrag;
    peer->pwd = params.pwd;
    peer->remote_ufrag = answer->remote_ufrag;
    peer->remote_pwd = answer->remote_pwd;
    peer->remote_fingerprint = answer->remote_fingerprint;
    peer->sent = answer->tracks;
    peer->by_track.assign(tracks->size(), -1);
    for (size_t i = 0; i < peer->sent.size(); ++i) {
      peer->by_track[peer->sent[i].track] = static_cast<int>(i);
      peer->sequence.push_back(static_cast<uint16_t>(random_u32()));
    }
    by_id[peer->id] = peer;
    by_ufrag[peer->ufrag] = peer;
    peer_count.store(by_id.size());
    sessions_total.fetch_add(1, std::memory_order_relaxed);
    log::info("webrtc session created", {{"session", peer->id}, {"stream", stream_id}, {"tracks", peer->sent.size()}});
    c.session = peer->id;
    c.answer = std::move(answer->sdp);
    c.candidates = candidates;
    return c;
  }
};

WebRtcServer::WebRtcServer(net::WorkerPool& pool, media::StreamRegistry& registry, WebRtcOptions options)
    : impl_(std::make_shared<Impl>(pool, registry, options)),
      impl_web_root_(options.web_root.empty() ? std::string(SG_SOURCE_DIR "/web/player") : options.web_root) {}

WebRtcServer::~WebRtcServer() { stop(); }

Status WebRtcServer::listen(const std::string& host, uint16_t port) {
  auto cert = Certificate::generate();
  if (!cert) return make_error(cert.error());
  impl_->cert = *cert;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("WebRTC: bad UDP address '" + host + "'");
  udp::endpoint ep(address, port);
  impl_->socket.open(ep.protocol(), ec);
  if (!ec) impl_->socket.bind(ep, ec);
  if (ec) return make_error("WebRTC: cannot bind UDP " + host + ":" + std::to_string(port) + ": " + ec.message());
  impl_->socket.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
  impl_->socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
  port_ = impl_->socket.local_endpoint().port();
  for (const auto& ip : host_candidates(host, impl_->options.interface_discovery, impl_->options.additional_hosts))
    impl_->candidates.push_back({ip, port_});
  return Ok{};
}

void WebRtcServer::start() {
  asio::co_spawn(impl_->context, impl_->receive_loop(), asio::detached);
  asio::co_spawn(impl_->context, impl_->tick_loop(), asio::detached);
}

void WebRtcServer::stop() {
  auto impl = impl_;
  if (!impl || impl->stopped) return;
  auto work = [impl] {
    impl->stopped = true;
    boost::system::error_code ec;
    impl->socket.close(ec);
    impl->tick.cancel();
    std::vector<std::shared_ptr<Peer>> peers;
    for (auto& [id, p] : impl->by_id) peers.push_back(p);
    for (auto& p : peers) impl->close_peer(p, "server stopping");
  };
  if (impl->pool.stopped() || net::WorkerPool::current() == static_cast<int>(impl->worker)) {
    work();
    return;
  }
  auto done = asio::post(impl->context, asio::use_future(work));
  if (done.wait_for(2s) != std::future_status::ready) impl->stopped = true;
}

size_t WebRtcServer::sessions() const { return impl_->peer_count.load(); }

awaitable<WebRtcServer::Created> WebRtcServer::create_session(std::string stream_id, std::string offer) {
  auto stream = impl_->registry.find(stream_id);
  if (!stream) co_return failure(404, "stream '" + stream_id + "' not found");
  auto tracks = stream->tracks();
  if (!tracks || tracks->empty()) {
    if (stream->options().on_demand) stream->start();
    // A stream that is starting gets a few seconds to learn its tracks.
    asio::steady_timer wait(co_await asio::this_coro::executor);
    for (int i = 0; i < 50 && (!tracks || tracks->empty()); ++i) {
      wait.expires_after(100ms);
      co_await wait.async_wait(use_awaitable);
      tracks = stream->tracks();
    }
    if (!tracks || tracks->empty()) co_return failure(503, "stream '" + stream_id + "' is not ready");
  }
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->context, impl->create_async(impl, stream_id, std::move(offer), stream, tracks),
                                    use_awaitable);
}

awaitable<bool> WebRtcServer::close_session(std::string session) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->context, impl->close_async(impl, std::move(session)), use_awaitable);
}

void WebRtcServer::write_metrics(std::string& out) const {
  auto line = [&](const char* name, const char* type, uint64_t v) {
    out += "# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  line("streamgate_webrtc_sessions", "gauge", impl_->peer_count.load());
  line("streamgate_webrtc_sessions_total", "counter", impl_->sessions_total.load());
  line("streamgate_webrtc_packets_sent_total", "counter", impl_->packets_sent.load());
  line("streamgate_webrtc_bytes_sent_total", "counter", impl_->bytes_sent.load());
  line("streamgate_webrtc_stun_requests_total", "counter", impl_->stun_requests.load());
  line("streamgate_webrtc_bad_datagrams_total", "counter", impl_->bad_datagrams.load());
}

}  // namespace sg::webrtc
