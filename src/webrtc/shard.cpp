#include "webrtc/shard.hpp"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <map>

#include "app/log.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "stun/stun.hpp"

namespace sg::webrtc {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

namespace {

// A keyframe sent to a peer less than this ago is taken as on its way: a PLI then does not go to the source.
constexpr auto kKeyframeInFlight = std::chrono::milliseconds(300);

bool is_parameter_set(media::CodecId codec, Bytes nal) {
  if (codec == media::CodecId::H264) {
    using codec::h264::NalType;
    auto type = codec::h264::nal_type(nal);
    return type == static_cast<uint8_t>(NalType::kSps) || type == static_cast<uint8_t>(NalType::kPps);
  }
  using codec::h265::NalType;
  auto type = codec::h265::nal_type(nal);
  return type == static_cast<uint8_t>(NalType::kVps) || type == static_cast<uint8_t>(NalType::kSps) ||
         type == static_cast<uint8_t>(NalType::kPps);
}

// The track's parameter sets to put in front of a keyframe (H.264: SPS, PPS; H.265: VPS, SPS, PPS), or none
// when the track has not all of them.
std::vector<Bytes> parameter_sets(const media::Track& track) {
  if (track.sps.empty() || track.pps.empty()) return {};
  if (track.codec == media::CodecId::H264) return {track.sps, track.pps};
  if (track.codec == media::CodecId::H265 && !track.vps.empty()) return {track.vps, track.sps, track.pps};
  return {};
}

}  // namespace

struct Shard::Impl : std::enable_shared_from_this<Impl> {
  Impl(size_t i, asio::io_context& c, std::shared_ptr<SessionTable> t, WebRtcOptions o)
      : index(i),
        context(c),
        table_owner(std::move(t)),
        table(*table_owner),
        options(std::move(o)),
        socket(c),
        tick(c) {}

  const size_t index;
  asio::io_context& context;
  // Shared with the server and the other shards; kept alive by every shard, whose coroutines may outlive the server.
  std::shared_ptr<SessionTable> table_owner;
  SessionTable& table;
  const WebRtcOptions options;
  udp::socket socket;
  asio::steady_timer tick;
  std::vector<std::weak_ptr<Shard>> shards;
  bool stopped = false;
  Clock::time_point trim_at{};  // when to hand freed memory back (after sessions ended)
  ShardCounters counters;

  // The sessions this shard owns.
  std::map<std::string, std::shared_ptr<Peer>> by_id;
  std::map<std::string, std::shared_ptr<Peer>> by_ufrag;
  std::map<udp::endpoint, std::shared_ptr<Peer>> by_address;
  std::map<std::string, std::shared_ptr<Feed>> feeds;
  // Not zero-filled: untouched pages stay out of the resident set until traffic arrives.
  static constexpr size_t kRecvSize = 65536;
  std::unique_ptr<std::byte[]> recv_data{new std::byte[kRecvSize]};
  std::array<std::byte, 2048> control_buffer{};
  ByteVector rtcp_out;  // a WHIP publisher's feedback being built

  // sendmmsg batch: every datagram of a fan-out round goes out in as few syscalls as possible.
  static constexpr size_t kSlots = 64;
  static constexpr size_t kSlotSize = 2048;
  std::unique_ptr<std::byte[]> slots{new std::byte[kSlots * kSlotSize]};
  std::array<mmsghdr, kSlots> msgs{};
  std::array<iovec, kSlots> iovs{};
  std::array<sockaddr_storage, kSlots> addrs{};
  std::array<socklen_t, kSlots> addr_lens{};
  std::array<size_t, kSlots> first_of{};  // message -> its first datagram
  struct alignas(cmsghdr) ControlBuffer {
    std::byte bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::array<ControlBuffer, kSlots> cmsgs{};
  static constexpr size_t kMaxGsoSegments = 64;  // UDP_MAX_SEGMENTS
  static constexpr size_t kMaxGsoBytes = 60000;  // one message stays below 64 KB with headers
  bool gso = true;
  size_t queued = 0;

  void send(Bytes data, const udp::endpoint& to) {
    boost::system::error_code ec;
    socket.send_to(asio::buffer(data.data(), data.size()), to, 0, ec);
  }

  void close_peer(const std::shared_ptr<Peer>& peer, std::string_view why) {
    if (peer->closed) return;
    peer->closed = true;
    trim_at = Clock::now() + 1s;
    leave_feed(peer);
    by_id.erase(peer->id);
    by_ufrag.erase(peer->ufrag);
    if (peer->remote) {
      auto it = by_address.find(*peer->remote);
      if (it != by_address.end() && it->second == peer) by_address.erase(it);
    }
    table.remove(*peer);
    counters.sessions.store(by_id.size(), std::memory_order_relaxed);
    peer->out.clear();  // drops the retransmission history (and the units it holds)
    if (peer->publisher) {
      if (peer->keyframe_handler && peer->stream) peer->stream->clear_keyframe_handler(peer->keyframe_handler);
      const auto& c = peer->publisher->counters();
      log::info("whip publisher left", {{"session", peer->id},
                                        {"stream", peer->stream_id},
                                        {"packets", c.packets},
                                        {"nacks_sent", c.nacks_sent},
                                        {"recovered", c.recovered},
                                        {"unrecovered", c.unrecovered},
                                        {"plis_sent", c.plis_sent}});
      peer->publisher.reset();  // the ingest reports its last reception counts to the stream
    }
    peer->run_on_close();
    log::info("webrtc session closed", {{"session", peer->id},
                                        {"stream", peer->stream_id},
                                        {"reason", std::string(why)},
                                        {"packets", peer->packets},
                                        {"nacks", peer->nacks}});
  }

  // ---- receive path
  awaitable<void> receive_loop() {
    auto self = shared_from_this();
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      size_t n = co_await socket.async_receive_from(asio::buffer(recv_data.get(), kRecvSize), from,
                                                    asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped) co_return;
      if (ec) continue;
      on_datagram(recv_data.get(), n, from, false);
      // Drain what else is queued before yielding to the fan-out: ICE checks and DTLS flights must not wait behind
      // media rounds when the worker is busy (a late handshake flight costs a 1 s retransmission).
      for (int i = 0; i < 256 && !stopped; ++i) {
        n = socket.receive_from(asio::buffer(recv_data.get(), kRecvSize), from, 0, ec);
        if (ec) break;
        on_datagram(recv_data.get(), n, from, false);
      }
    }
  }

  // `forwarded`: another shard received it and posted it here, the owner of its session.
  void on_datagram(std::byte* data, size_t n, const udp::endpoint& from, bool forwarded) {
    if (n == 0) return;
    Bytes packet(data, n);
    uint8_t b = u8(packet, 0);
    // RFC 7983 7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP.
    if (b <= 3) {
      on_stun(packet, from, forwarded);
    } else if (b >= 20 && b <= 63) {
      if (auto peer = peer_at(packet, from, forwarded)) on_dtls(peer, packet);
    } else if (b >= 128 && b <= 191) {
      if (auto peer = peer_at(packet, from, forwarded)) on_srtp(*peer, data, n);
    } else {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Posts a copy of a datagram to the shard that owns its session (the rare path: the remote address hashed to
  // another socket of the group than the one of the session's first check).
  void forward(Bytes packet, const udp::endpoint& from, int owner) {
    auto shard = static_cast<size_t>(owner) < shards.size() ? shards[static_cast<size_t>(owner)].lock() : nullptr;
    if (!shard || owner == static_cast<int>(index)) {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters.forwarded.fetch_add(1, std::memory_order_relaxed);
    auto target = shard->impl_for_forwarding();
    asio::post(shard->context(), [target, data = ByteVector(packet.begin(), packet.end()), from]() mutable {
      if (!target->stopped) target->on_datagram(data.data(), data.size(), from, true);
    });
  }

  // The peer whose ICE path is `from` on this shard; a datagram of another shard's session goes there.
  std::shared_ptr<Peer> peer_at(Bytes packet, const udp::endpoint& from, bool forwarded) {
    auto it = by_address.find(from);
    if (it != by_address.end()) return it->second;
    int owner = forwarded ? -1 : table.owner_of(from);
    if (owner >= 0 && owner != static_cast<int>(index))
      forward(packet, from, owner);
    else
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }

  void on_stun(Bytes packet, const udp::endpoint& from, bool forwarded) {
    auto m = stun::Message::parse(packet);
    if (!m || m->method() != stun::kMethodBinding) {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (m->message_class() != stun::MessageClass::Request) return;  // ICE-lite: we send no checks
    counters.stun_requests.fetch_add(1, std::memory_order_relaxed);
    auto user = m->username().value_or("");
    auto colon = user.find(':');
    if (colon == std::string_view::npos) {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::string ufrag(user.substr(0, colon));
    std::shared_ptr<Peer> peer;
    if (auto it = by_ufrag.find(ufrag); it != by_ufrag.end()) {
      peer = it->second;
    } else if (!forwarded) {
      // Not ours (yet): the first shard to get a check of an unclaimed session owns it from now on.
      auto claim = table.claim(ufrag, static_cast<int>(index));
      if (claim.peer) {
        peer = std::move(claim.peer);
        adopt(peer);
      } else if (claim.owner >= 0) {
        forward(packet, from, claim.owner);
        return;
      }
    }
    if (!peer) {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
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
      table.set_path(peer->remote, from, static_cast<int>(index));
      peer->remote = from;
      by_address[from] = peer;
      log::debug("webrtc ICE path", {{"session", peer->id},
                                     {"worker", index},
                                     {"remote", from.address().to_string() + ":" + std::to_string(from.port())}});
    }
  }

  // A session claimed by this shard: from now on it lives here.
  void adopt(const std::shared_ptr<Peer>& peer) {
    by_id[peer->id] = peer;
    by_ufrag[peer->ufrag] = peer;
    counters.sessions.store(by_id.size(), std::memory_order_relaxed);
    log::debug("webrtc session claimed", {{"session", peer->id}, {"worker", index}});
  }

  void flush_dtls(Peer& peer) {
    if (!peer.dtls || !peer.remote) return;
    for (auto& d : peer.dtls->take_datagrams()) send(d, *peer.remote);
  }

  void on_dtls(const std::shared_ptr<Peer>& peer, Bytes packet) {
    if (!peer->dtls) {
      auto t = DtlsTransport::create(DtlsRole::Server, peer->cert, peer->remote_fingerprint);
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
    table.end_pending(*peer);
    if (peer->publisher) {
      start_publisher(peer);
      return;
    }
    // The retransmission history is made now, not with the offer: offers that never connect cost little memory.
    for (auto& o : peer->out) o.history.resize(o.info.video ? kVideoHistory : kAudioHistory);
    log::info("webrtc session connected",
              {{"session", peer->id},
               {"stream", peer->stream_id},
               {"worker", index},
               {"srtp", keys.profile == SrtpProfile::AeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80"}});
    join_feed(peer);
  }

  void on_srtp(Peer& peer_ref, std::byte* data, size_t n) {
    auto* peer = &peer_ref;
    if (!peer->srtp_in) return;
    Bytes packet(data, n);
    if (!rtp::is_rtcp(packet)) {
      if (peer->publisher) on_publisher_rtp(*peer, data, n);
      return;  // a viewer sends no media
    }
    auto plain = peer->srtp_in->unprotect_rtcp(data, n);
    if (!plain) return;
    auto messages = rtp::parse_rtcp(Bytes(data, *plain));
    if (!messages) return;
    if (peer->publisher) {
      for (const auto& msg : *messages) peer->publisher->on_rtcp(msg, now_ns());
      return;
    }
    for (const auto& msg : *messages) {
      if (std::holds_alternative<rtp::Pli>(msg) || std::holds_alternative<rtp::Fir>(msg)) {
        ++peer->plis;
        counters.plis.fetch_add(1, std::memory_order_relaxed);
        on_keyframe_request(*peer);
      } else if (auto* nack = std::get_if<rtp::Nack>(&msg)) {
        on_nack(*peer, *nack);
      } else if (auto* rr = std::get_if<rtp::ReceiverReport>(&msg)) {
        on_report_blocks(*peer, rr->reports);
      } else if (auto* sr = std::get_if<rtp::SenderReport>(&msg)) {
        on_report_blocks(*peer, sr->reports);
      }
    }
    flush();
  }

  // ---- WHIP publishers
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }

  void start_publisher(const std::shared_ptr<Peer>& peer) {
    peer->publisher->start();
    // A reader that needs a keyframe the GOP cache cannot give (Stream::request_keyframe) gets a PLI sent to the
    // browser, from this thread.
    std::weak_ptr<Impl> weak_self = weak_from_this();
    std::weak_ptr<Peer> weak_peer = peer;
    peer->keyframe_handler = peer->stream->set_keyframe_handler([weak_self, weak_peer, &ctx = context] {
      asio::post(ctx, [weak_self, weak_peer] {
        auto self = weak_self.lock();
        auto p = weak_peer.lock();
        if (!self || !p || p->closed || !p->publisher) return;
        p->publisher->request_keyframe();
        self->publisher_tick(*p);
      });
    });
    log::info("whip publisher connected", {{"session", peer->id}, {"stream", peer->stream_id}, {"worker", index}});
    publisher_tick(*peer);  // the first PLI (once the video SSRC is known) and report
  }

  void on_publisher_rtp(Peer& peer, std::byte* data, size_t n) {
    auto plain = peer.srtp_in->unprotect_rtp(data, n);
    if (!plain) {
      counters.bad_datagrams.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    rtcp_out.clear();
    auto before = peer.publisher->counters();
    peer.publisher->on_rtp(Bytes(data, *plain), now_ns(), rtcp_out);
    count_publisher(before, peer.publisher->counters());
    send_rtcp(peer, rtcp_out);
  }

  void publisher_tick(Peer& peer) {
    rtcp_out.clear();
    auto before = peer.publisher->counters();
    peer.publisher->tick(now_ns(), rtcp_out);
    count_publisher(before, peer.publisher->counters());
    send_rtcp(peer, rtcp_out);
  }

  void count_publisher(const PublisherCounters& before, const PublisherCounters& after) {
    counters.whip_packets.fetch_add(after.packets - before.packets, std::memory_order_relaxed);
    counters.whip_bytes.fetch_add(after.bytes - before.bytes, std::memory_order_relaxed);
    counters.whip_nacks_sent.fetch_add(after.nacks_sent - before.nacks_sent, std::memory_order_relaxed);
    counters.whip_plis_sent.fetch_add(after.plis_sent - before.plis_sent, std::memory_order_relaxed);
    counters.whip_unrecovered.fetch_add(after.unrecovered - before.unrecovered, std::memory_order_relaxed);
  }

  void send_rtcp(Peer& peer, const ByteVector& compound) {
    if (compound.empty() || !peer.srtp_out || !peer.remote) return;
    if (compound.size() + kSrtpMaxTrailer > control_buffer.size()) return;
    std::memcpy(control_buffer.data(), compound.data(), compound.size());
    auto n = peer.srtp_out->protect_rtcp(control_buffer.data(), compound.size());
    if (n) send(Bytes(control_buffer.data(), *n), *peer.remote);
  }

  // RFC 4585 6.3.1 PLI / RFC 5104 4.3.1 FIR: the viewer lost a picture and needs a keyframe. The GOP cache cannot
  // help a viewer that is already playing (it holds the GOP the viewer had), so the request goes to the stream's
  // source (rate-limited there). A keyframe sent moments ago (the GOP replay at join) is still on its way: asking
  // for another one would only cost the source bits.
  void on_keyframe_request(Peer& peer) {
    if (!peer.feed || !peer.stream) return;
    const auto now = Clock::now();
    if (now - peer.keyframe_sent < kKeyframeInFlight) return;
    const auto result = peer.stream->request_keyframe();
    log::debug("webrtc keyframe request",
               {{"session", peer.id}, {"stream", peer.stream_id}, {"result", media::to_string(result)}});
  }

  // RFC 3550 6.4.1: RTT = now - LSR - DLSR, in 1/65536 s.
  void on_report_blocks(Peer& peer, const std::vector<rtp::ReportBlock>& blocks) {
    for (const auto& b : blocks) {
      if (b.last_sr == 0) continue;
      uint32_t now = rtp::ntp_middle32(ntp_now());
      uint32_t rtt = now - b.last_sr - b.delay_since_last_sr;
      if (rtt < (10u << 16)) peer.rtt_ms = rtt * 1000.0 / 65536.0;
      peer.fraction_lost = b.fraction_lost / 256.0;
    }
  }

  void on_nack(Peer& peer, const rtp::Nack& nack) {
    for (auto& out : peer.out) {
      if (out.info.ssrc != nack.media_ssrc || out.history.empty()) continue;
      for (uint16_t seq : nack.lost_sequences()) {
        ++out.nacked;
        ++peer.nacks;
        counters.nacks.fetch_add(1, std::memory_order_relaxed);
        const auto& h = out.history[seq & (out.history.size() - 1)];
        if (!h.unit || h.sequence != seq) continue;  // too old: no longer in the history
        if (queue_packet(peer, out, h.unit->packet(h.index), seq)) {
          ++out.retransmitted;
          ++peer.retransmits;
          counters.retransmits.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }

  static uint64_t ntp_now() {
    using namespace std::chrono;
    auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
    uint64_t secs = static_cast<uint64_t>(ns / 1000000000) + 2208988800ull;  // 1900 -> 1970
    uint64_t frac = (static_cast<uint64_t>(ns % 1000000000) << 32) / 1000000000ull;
    return (secs << 32) | frac;
  }

  // ---- send path: feeds
  void join_feed(const std::shared_ptr<Peer>& peer) {
    auto& feed = feeds[peer->stream_id];
    if (!feed) {
      feed = std::make_shared<Feed>();
      feed->stream_id = peer->stream_id;
      feed->stream = peer->stream;
      feed->reader = feed->stream->attach(index, "webrtc");
      feed->stream->add_external_readers(-1);  // the feed's reader is not a viewer; its peers are
      asio::co_spawn(context, feed_loop(feed), asio::detached);
    }
    feed->stream->add_external_readers(1);
    feed->peers.push_back(peer);
    peer->feed = feed;
    // Start the peer at the latest keyframe at once: the GOP cache, prepared once per GOP for every peer that joins
    // during it (Feed::gop). The feed's live units that overlap it are skipped by seq.
    auto gop = feed->stream->gop_snapshot();
    auto tracks = feed->stream->tracks();
    if (gop.empty() || feed->gop.empty() || feed->gop.front()->seq != gop.front()->seq) feed->gop.clear();
    for (size_t i = 0; i < gop.size(); ++i) {
      const auto& unit = gop[i];
      peer->next_seq = unit->seq + 1;
      if (i == feed->gop.size()) {
        auto eu = prepare(unit, tracks);
        if (!eu) break;
        feed->gop.push_back(std::move(eu));
      }
      if (unit->track >= peer->by_track.size() || peer->by_track[unit->track] < 0) continue;
      auto& out = peer->out[static_cast<size_t>(peer->by_track[unit->track])];
      if (out.info.transcoded) continue;  // the transcoder is live-only
      send_unit(*peer, out, feed->gop[i]);
    }
    flush();
  }

  void leave_feed(const std::shared_ptr<Peer>& peer) {
    auto feed = std::move(peer->feed);
    if (!feed) return;
    std::erase(feed->peers, peer);
    feed->stream->add_external_readers(-1);
    if (feed->peers.empty()) close_feed(feed);
  }

  void close_feed(const std::shared_ptr<Feed>& feed) {
    if (feed->closed) return;
    feed->closed = true;
    if (feed->reader) feed->reader->close();  // feed_loop ends and releases the reader on this thread
    auto it = feeds.find(feed->stream_id);
    if (it != feeds.end() && it->second == feed) feeds.erase(it);
  }

  awaitable<void> feed_loop(std::shared_ptr<Feed> feed) {
    auto self = shared_from_this();
    std::vector<media::UnitPtr> units;
    auto tracks = feed->stream->tracks();
    while (!feed->closed && tracks && co_await feed->reader->wait()) {
      units.clear();
      feed->reader->pop(units);
      uint64_t bytes_before = counters.bytes_sent.load(std::memory_order_relaxed);
      uint64_t packets_before = counters.packets_sent.load(std::memory_order_relaxed);
      for (const auto& unit : units) {
        if (feed->closed) break;
        if (unit->keyframe) {
          auto now = feed->stream->tracks();
          if (now) tracks = std::move(now);
          feed->gop.clear();  // a new GOP: the next joiner prepares it
        }
        if (unit->track < tracks->size() && (*tracks)[unit->track].codec == media::CodecId::AAC) {
          transcode_unit(*feed, *unit, (*tracks)[unit->track]);
          continue;
        }
        EgressPtr eu;
        const size_t n = feed->peers.size();
        for (size_t i = 0; i < n; ++i) {
          // Memory, not arithmetic, bounds this loop: start loading the peers ahead (two ahead: the peer; one
          // ahead: what it points to, now that its pointers are likely in cache).
          if (i + 2 < n) {
            const Peer* ahead = feed->peers[i + 2].get();
            __builtin_prefetch(ahead);
            __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64);
          }
          if (i + 1 < n) {
            const Peer& next = *feed->peers[i + 1];
            __builtin_prefetch(next.out.data());
            __builtin_prefetch(next.by_track.data());
            __builtin_prefetch(next.srtp_out.get());
          }
          Peer& peer = *feed->peers[i];
          if (unit->seq < peer.next_seq || unit->track >= peer.by_track.size() || peer.by_track[unit->track] < 0)
            continue;
          if (!eu) eu = prepare(unit, tracks);
          if (!eu) break;
          send_unit(peer, peer.out[static_cast<size_t>(peer.by_track[unit->track])], eu);
        }
      }
      flush();
      feed->reader->add_sent(counters.bytes_sent.load(std::memory_order_relaxed) - bytes_before,
                             counters.packets_sent.load(std::memory_order_relaxed) - packets_before);
    }
    bool ended = !feed->closed;
    close_feed(feed);
    feed->stream->add_external_readers(1);
    feed->reader.reset();
    if (ended) {
      // The stream stopped or changed its tracks: what the peers negotiated no longer holds.
      auto peers = feed->peers;
      for (auto& p : peers) close_peer(p, "stream ended");
    }
  }

  // AAC -> Opus once per stream for the peers that took the audio as Opus; started by the first such unit.
  void transcode_unit(Feed& feed, const media::Unit& unit, const media::Track& track) {
    bool wanted = false;
    for (auto& p : feed.peers)
      if (unit.track < p->by_track.size() && p->by_track[unit.track] >= 0) wanted = true;
    if (!wanted || feed.aac_failed) return;
    if (!feed.aac) {
      auto t = transcode::AacToOpus::create(track.audio_config);
      if (!t) {
        feed.aac_failed = true;
        log::warn("webrtc AAC -> Opus unavailable", {{"stream", feed.stream_id}, {"error", t.error()}});
        return;
      }
      feed.aac = std::move(*t);
      log::info("webrtc AAC -> Opus transcoder started",
                {{"stream", feed.stream_id}, {"rate", feed.aac->source_rate()}});
    }
    auto eu = std::make_shared<EgressUnit>();
    eu->own = true;
    eu->track = unit.track;
    eu->seq = unit.seq;
    eu->transcoded = true;
    for (size_t f = 0; f < unit.frames.size(); ++f) {
      feed.opus_out.clear();
      // One AAC frame is 1024 samples (RFC 3640 AAC-hbr: the frames of an RTP packet are consecutive).
      auto s = feed.aac->push(unit.frame(f), unit.rtp_timestamp + static_cast<uint32_t>(f * 1024), feed.opus_out);
      if (!s) log::debug("webrtc AAC decode error", {{"stream", feed.stream_id}, {"error", s.error()}});
      for (auto& pkt : feed.opus_out) eu->add_packet(pkt.timestamp, false, pkt.data);
    }
    if (eu->packets.empty()) return;
    counters.transcoded_packets.fetch_add(eu->packets.size(), std::memory_order_relaxed);
    EgressPtr shared = eu;
    for (auto& p : feed.peers) {
      if (unit.seq < p->next_seq) continue;  // older than where this peer started
      if (unit.track >= p->by_track.size() || p->by_track[unit.track] < 0) continue;
      auto& out = p->out[static_cast<size_t>(p->by_track[unit.track])];
      if (out.info.transcoded) send_unit(*p, out, shared);
    }
  }

  // The packets a peer sends for `unit`: as received when they fit, else re-packetized; a keyframe gets the
  // track's H.264 or H.265 parameter sets in front when the source sends them only in the SDP (RTSP publishers
  // such as ffmpeg do): a WebRTC receiver never sees the SDP's sprop parameters.
  EgressPtr prepare(const media::UnitPtr& unit_ptr, const std::shared_ptr<const std::vector<media::Track>>& tracks) {
    const media::Unit& unit = *unit_ptr;
    auto eu = std::make_shared<EgressUnit>();
    eu->unit = unit_ptr;
    eu->track = unit.track;
    eu->seq = unit.seq;
    const media::Track* track = tracks && unit.track < tracks->size() ? &(*tracks)[unit.track] : nullptr;
    bool too_big = false;
    for (size_t i = 0; i < unit.rtp_packets.size(); ++i)
      if (unit.rtp_packets[i].size > kMaxPayload + rtp::kFixedHeaderSize) too_big = true;
    bool h264 = track && track->codec == media::CodecId::H264;
    bool h265 = track && track->codec == media::CodecId::H265;
    // A keyframe that carries parameter sets in band goes as it came (the track follows in-band changes).
    std::vector<Bytes> nalus;
    if ((h264 || h265) && unit.keyframe) {
      nalus = parameter_sets(*track);
      for (size_t i = 0; i < unit.frames.size() && !nalus.empty(); ++i)
        if (is_parameter_set(track->codec, unit.frame(i))) nalus.clear();
    }
    bool need_sets = !nalus.empty();
    if (!(too_big && (h264 || h265)) && !need_sets) {
      eu->packets = unit.rtp_packets;
      return eu;
    }
    for (size_t i = 0; i < unit.frames.size(); ++i) nalus.push_back(unit.frame(i));
    Result<std::vector<codec::RtpPayload>> payloads =
        h265 ? codec::packetize_h265(nalus, {.max_payload = kMaxPayload, .aggregate = true})
             : codec::packetize_h264(nalus, {.max_payload = kMaxPayload, .aggregate = true});
    if (!payloads || payloads->empty()) {
      eu->packets = unit.rtp_packets;
      return eu;
    }
    eu->own = true;
    for (const auto& p : *payloads) eu->add_packet(unit.rtp_timestamp, p.marker, p.data);
    return eu;
  }

  void send_unit(Peer& peer, OutTrack& out, const EgressPtr& eu) {
    if (peer.closed || !peer.remote || !peer.srtp_out) return;
    if (eu->unit && eu->unit->video && eu->unit->keyframe) peer.keyframe_sent = Clock::now();
    for (size_t i = 0; i < eu->packets.size(); ++i) {
      uint16_t seq = out.sequence++;
      if (!queue_packet(peer, out, eu->packet(i), seq)) continue;
      auto& h = out.history[seq & (out.history.size() - 1)];
      h.unit = eu;
      h.index = static_cast<uint16_t>(i);
      h.sequence = seq;
    }
  }

  // Copies one packet into the batch with this peer's header, encrypts it there; false if it could not be sent.
  bool queue_packet(Peer& peer, OutTrack& out, Bytes packet, uint16_t seq) {
    if (packet.size() < rtp::kFixedHeaderSize || packet.size() + kSrtpMaxTrailer > kSlotSize) return false;
    if (queued == kSlots) flush();
    std::byte* slot = slots.get() + queued * kSlotSize;
    std::memcpy(slot, packet.data(), packet.size());
    MutableBytes view(slot, packet.size());
    if (!rtp::rewrite_header(view, {.ssrc = out.info.ssrc, .sequence = seq, .payload_type = out.info.payload_type}))
      return false;
    auto n = peer.srtp_out->protect_rtp(slot, packet.size());
    if (!n) return false;
    iovs[queued] = {slot, *n};
    std::memcpy(&addrs[queued], peer.remote->data(), peer.remote->size());
    addr_lens[queued] = static_cast<socklen_t>(peer.remote->size());
    ++queued;
    out.last_timestamp = be32(packet, 4);
    out.last_sent = Clock::now();
    ++out.packets;
    out.octets += static_cast<uint32_t>(packet.size() - rtp::kFixedHeaderSize);
    ++peer.packets;
    peer.bytes += *n;
    return true;
  }

  bool same_destination(size_t a, size_t b) const {
    return addr_lens[a] == addr_lens[b] && std::memcmp(&addrs[a], &addrs[b], addr_lens[a]) == 0;
  }

  // Sends the batch with sendmmsg. With UDP GSO (UDP_SEGMENT, Linux >= 4.18), a run of datagrams to one peer of
  // equal size (a video frame's fragments; the last may be shorter) goes down the stack as one message that the
  // kernel cuts into datagrams late: one pass through the socket layer per frame instead of per packet.
  void flush() {
    size_t first = 0;  // first queued datagram not yet handed to the kernel
    while (first < queued) {
      // Group datagrams into messages.
      size_t m = 0;
      for (size_t i = first; i < queued; ++m) {
        size_t j = i + 1;
        const size_t seg = iovs[i].iov_len;
        size_t total = seg;
        if (gso) {
          while (j < queued && j - i < kMaxGsoSegments && iovs[j - 1].iov_len == seg && iovs[j].iov_len <= seg &&
                 total + iovs[j].iov_len <= kMaxGsoBytes && same_destination(i, j)) {
            total += iovs[j].iov_len;
            ++j;
          }
        }
        auto& msg = msgs[m];
        msg = {};
        msg.msg_hdr.msg_iov = &iovs[i];
        msg.msg_hdr.msg_iovlen = j - i;
        msg.msg_hdr.msg_name = &addrs[i];
        msg.msg_hdr.msg_namelen = addr_lens[i];
        if (j - i > 1) {
          auto* buf = cmsgs[m].bytes;
          msg.msg_hdr.msg_control = buf;
          msg.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
          cmsghdr* c = CMSG_FIRSTHDR(&msg.msg_hdr);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          uint16_t size = static_cast<uint16_t>(seg);
          std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        first_of[m] = i;
        i = j;
      }
      int r = ::sendmmsg(socket.native_handle(), msgs.data(), static_cast<unsigned>(m), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        size_t in_first = msgs[0].msg_hdr.msg_iovlen;
        if (gso && in_first > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
          gso = false;  // no UDP GSO here (old kernel, device without checksum offload): one datagram per packet
          log::info("webrtc: UDP GSO unavailable, sending one datagram per packet", {{"errno", errno}});
          continue;
        }
        // EAGAIN: the socket buffer is full, drop the rest; anything else (one peer's ICMP error): drop one message.
        size_t dropped = errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? queued - first : in_first;
        counters.send_drops.fetch_add(dropped, std::memory_order_relaxed);
        first += dropped;
        continue;
      }
      size_t done = static_cast<size_t>(r);
      for (size_t k = 0; k < done; ++k) {
        counters.bytes_sent.fetch_add(msgs[k].msg_len, std::memory_order_relaxed);
        counters.packets_sent.fetch_add(msgs[k].msg_hdr.msg_iovlen, std::memory_order_relaxed);
      }
      first = done < m ? first_of[done] : queued;
    }
    queued = 0;
  }

  // RTCP sender reports (RFC 3550 6.4.1) with SDES CNAME, about once a second per peer.
  void send_reports(Peer& peer, Clock::time_point now) {
    if (!peer.srtp_out || !peer.remote) return;
    ByteVector compound;
    uint64_t ntp = ntp_now();
    uint32_t first_ssrc = 0;
    for (auto& out : peer.out) {
      if (out.packets == 0) continue;
      if (!first_ssrc) first_ssrc = out.info.ssrc;
      rtp::SenderReport sr;
      sr.ssrc = out.info.ssrc;
      sr.ntp_timestamp = ntp;
      auto elapsed = std::chrono::duration<double>(now - out.last_sent).count();
      sr.rtp_timestamp = out.last_timestamp + static_cast<uint32_t>(elapsed * out.info.clock_rate);
      sr.packet_count = out.packets;
      sr.octet_count = out.octets;
      rtp::append_sender_report(compound, sr);
    }
    if (compound.empty()) return;
    rtp::append_sdes_cname(compound, first_ssrc, "streamgate");
    if (compound.size() + kSrtpMaxTrailer > control_buffer.size()) return;
    std::memcpy(control_buffer.data(), compound.data(), compound.size());
    auto n = peer.srtp_out->protect_rtcp(control_buffer.data(), compound.size());
    if (n) send(Bytes(control_buffer.data(), *n), *peer.remote);
  }

  // ---- timers: DTLS retransmissions, consent freshness, sender reports
  awaitable<void> tick_loop() {
    auto self = shared_from_this();
    for (;;) {
      tick.expires_after(100ms);
      boost::system::error_code ec;
      co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped) co_return;
      auto now = Clock::now();
      std::vector<std::shared_ptr<Peer>> expired, unfinished;
      for (auto& [id, peer] : by_id) {
        auto since = peer->last_check == Clock::time_point{} ? peer->created : peer->last_check;
        if (now - since > options.consent_timeout)
          expired.push_back(peer);
        else if (!peer->srtp_out && now - peer->created > options.setup_timeout)
          unfinished.push_back(peer);
        if (peer->dtls && !peer->dtls->connected() && peer->dtls_timer != Clock::time_point{} &&
            now >= peer->dtls_timer) {
          auto next = peer->dtls->handle_timeout();
          peer->dtls_timer = next ? now + *next : Clock::time_point{};
          flush_dtls(*peer);
        }
        if (peer->publisher && peer->srtp_out) {
          publisher_tick(*peer);
        } else if (peer->srtp_out && now >= peer->next_report) {
          if (peer->next_report != Clock::time_point{}) send_reports(*peer, now);
          // Spread over the second so that 1000 peers do not report in the same tick.
          peer->next_report = now + 900ms + std::chrono::milliseconds(random_u32() % 200);
        }
      }
      for (auto& p : expired) close_peer(p, "consent expired (no ICE check within the consent timeout)");
      counters.setup_timeouts.fetch_add(unfinished.size(), std::memory_order_relaxed);
      for (auto& p : unfinished) close_peer(p, "setup timeout (ICE and DTLS not done within webrtc.setup_timeout)");
      // Sessions no shard has claimed (no valid STUN check yet) belong to none: the first shard sweeps them.
      if (index == 0) {
        for (auto& p : table.take_expired(now)) {
          p->run_on_close();
          bool consent = now - p->created > options.consent_timeout;
          if (!consent) counters.setup_timeouts.fetch_add(1, std::memory_order_relaxed);
          trim_at = now + 1s;
          log::info("webrtc session closed",
                    {{"session", p->id},
                     {"stream", p->stream_id},
                     {"reason", consent ? "consent expired (no ICE check within the consent timeout)"
                                        : "setup timeout (ICE and DTLS not done within webrtc.setup_timeout)"},
                     {"packets", 0},
                     {"nacks", 0}});
        }
      }
      // Hand the memory of ended sessions (DTLS contexts, histories) back to the system once things calm down, so
      // RSS returns to its baseline after a crowd leaves instead of staying at its peak.
      // A second after the last close, so that what the ended feeds and coroutines free by then goes back too.
      if (trim_at != Clock::time_point{} && now >= trim_at) {
        ::malloc_trim(0);
        trim_at = {};
      }
    }
  }
};

Shard::Shard(size_t index, asio::io_context& context, std::shared_ptr<SessionTable> table, WebRtcOptions options)
    : index_(index),
      context_(context),
      impl_(std::make_shared<Impl>(index, context, std::move(table), std::move(options))) {}

Shard::~Shard() = default;

udp::socket& Shard::socket() { return impl_->socket; }

void Shard::set_shards(std::vector<std::weak_ptr<Shard>> shards) { impl_->shards = std::move(shards); }

std::shared_ptr<Shard::Impl> Shard::impl_for_forwarding() { return impl_; }

void Shard::start() {
  asio::co_spawn(context_, impl_->receive_loop(), asio::detached);
  asio::co_spawn(context_, impl_->tick_loop(), asio::detached);
}

void Shard::stop() {
  auto& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  boost::system::error_code ec;
  i.socket.close(ec);
  i.tick.cancel();
  std::vector<std::shared_ptr<Peer>> peers;
  for (auto& [id, p] : i.by_id) peers.push_back(p);
  for (auto& p : peers) i.close_peer(p, "server stopping");
}

bool Shard::close(const std::string& session, std::string_view why) {
  auto it = impl_->by_id.find(session);
  if (it == impl_->by_id.end()) return false;
  auto peer = it->second;
  impl_->close_peer(peer, why);
  return true;
}

void Shard::list(json::array& out) const {
  for (const auto& [id, p] : impl_->by_id) out.push_back(describe_session(*p));
}

const ShardCounters& Shard::counters() const { return impl_->counters; }

json::object describe_session(const Peer& p) {
  json::object o;
  o["id"] = p.id;
  o["stream"] = p.stream_id;
  o["state"] = p.state();
  o["role"] = p.publisher || p.on_close ? "publisher" : "viewer";
  if (p.publisher) {
    o["packets_received"] = p.publisher->counters().packets;
    o["nacks_sent"] = p.publisher->counters().nacks_sent;
    o["plis_sent"] = p.publisher->counters().plis_sent;
  }
  if (p.worker >= 0)
    o["worker"] = p.worker;
  else
    o["worker"] = nullptr;  // no valid ICE check yet: no worker has claimed it
  o["remote"] = p.remote ? p.remote->address().to_string() + ":" + std::to_string(p.remote->port()) : "";
  o["age_seconds"] = std::chrono::duration<double>(Clock::now() - p.created).count();
  o["packets_sent"] = p.packets;
  o["bytes_sent"] = p.bytes;
  o["nacks"] = p.nacks;
  o["retransmits"] = p.retransmits;
  o["plis"] = p.plis;
  if (p.rtt_ms >= 0)
    o["rtt_ms"] = p.rtt_ms;
  else
    o["rtt_ms"] = nullptr;
  o["fraction_lost"] = p.fraction_lost;
  json::array tracks;
  for (const auto& out : p.out) {
    json::object t;
    t["mid"] = out.info.mid;
    t["ssrc"] = out.info.ssrc;
    t["payload_type"] = out.info.payload_type;
    t["transcoded"] = out.info.transcoded;
    t["packets"] = out.packets;
    tracks.push_back(std::move(t));
  }
  o["tracks"] = std::move(tracks);
  return o;
}

}  // namespace sg::webrtc
