#include "webrtc/server.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/rand.h>
#include <malloc.h>
#include <netinet/udp.h>
#include <sys/socket.h>

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
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "app/log.hpp"
#include "base/prometheus.hpp"
#include "codec/h264.hpp"
#include "codec/h265.hpp"
#include "codec/rtp_h264.hpp"
#include "codec/rtp_h265.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/sdp.hpp"
#include "stun/stun.hpp"
#include "transcode/aac_opus.hpp"
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

constexpr size_t kMaxPayload = 1200;   // RTP payload bytes per packet: fits any path MTU with SRTP and headers
constexpr size_t kVideoHistory = 1024;  // packets kept per video track for NACK (~5 s at 2 Mb/s)
constexpr size_t kAudioHistory = 128;
// A keyframe sent to a peer less than this ago is taken as on its way: a PLI then does not go to the source.
constexpr auto kKeyframeInFlight = std::chrono::milliseconds(300);

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

// What a peer sends for one stream unit: RTP packets whose SSRC, sequence number and payload type each peer
// rewrites. Prepared once per stream (re-packetized to <= kMaxPayload, parameter sets in front of a keyframe,
// or transcoded AAC -> Opus) and shared by every peer of the stream; peers keep them for NACK retransmissions.
struct EgressUnit {
  media::UnitPtr unit;  // keeps the slices alive when packets point into the unit
  ByteVector data;      // packets made here
  bool own = false;     // packets are in data, not in unit->data
  std::vector<media::Slice> packets;
  size_t track = 0;
  uint64_t seq = 0;
  bool transcoded = false;

  Bytes packet(size_t i) const {
    return own ? Bytes(data).subspan(packets[i].offset, packets[i].size) : unit->slice(packets[i]);
  }

  // Appends a packet made here (prepared or transcoded): a fixed RTP header whose SSRC, sequence number and
  // payload type each peer rewrites, then the payload.
  void add_packet(uint32_t timestamp, bool marker, Bytes payload) {
    media::Slice slice{static_cast<uint32_t>(data.size()), static_cast<uint32_t>(rtp::kFixedHeaderSize + payload.size())};
    append8(data, 0x80);
    append8(data, marker ? 0x80 : 0);
    append16(data, 0);
    append32(data, timestamp);
    append32(data, 0);
    append(data, payload);
    packets.push_back(slice);
  }
};
using EgressPtr = std::shared_ptr<const EgressUnit>;

// One sent m= section of a peer: header rewriting, RTCP sender report counters and the retransmission history.
struct OutTrack {
  SentTrack info;
  uint16_t sequence = 0;
  uint32_t packets = 0, octets = 0;
  uint32_t last_timestamp = 0;
  Clock::time_point last_sent{};
  struct Sent {
    EgressPtr unit;
    uint16_t index = 0;
    uint16_t sequence = 0;
  };
  std::vector<Sent> history;  // ring indexed by sequence & (size - 1)
  uint64_t nacked = 0, retransmitted = 0;
};

struct Feed;

struct Peer {
  std::string id;
  std::string stream_id;
  std::shared_ptr<media::Stream> stream;
  std::string ufrag, pwd, remote_ufrag, remote_pwd, remote_fingerprint;
  std::vector<OutTrack> out;
  std::vector<int> by_track;  // stream track index -> index in out, or -1
  std::optional<udp::endpoint> remote;
  asio::ip::address client;  // the address the offer came from
  bool pending = false;      // counted as setting up (until connected or closed)
  bool per_address = false;  // ... in its client's count too (not an exempt address)
  Clock::time_point created = Clock::now();
  Clock::time_point last_check{};
  Clock::time_point next_report{};
  std::unique_ptr<DtlsTransport> dtls;
  Clock::time_point dtls_timer{};
  std::unique_ptr<SrtpSession> srtp_out, srtp_in;
  std::shared_ptr<Feed> feed;  // set while connected
  uint64_t next_seq = 0;       // units with a lower stream seq were already sent (GOP replay)
  Clock::time_point keyframe_sent{};  // the latest video keyframe sent to this peer
  bool closed = false;
  uint64_t packets = 0, bytes = 0, plis = 0, nacks = 0, retransmits = 0, send_drops = 0;
  double rtt_ms = -1;
  double fraction_lost = 0;

  std::string state() const {
    if (closed) return "closed";
    if (srtp_out) return "connected";
    if (dtls) return "dtls";
    if (remote) return "ice-connected";
    return "new";
  }
};

// The WebRTC side of one stream: a single reader of the stream feeds every connected peer (one pop, one
// preparation per unit, one AAC -> Opus transcoder), all on the server's worker thread.
struct Feed {
  std::string stream_id;
  std::shared_ptr<media::Stream> stream;
  std::unique_ptr<media::Reader> reader;
  std::vector<std::shared_ptr<Peer>> peers;
  std::unique_ptr<transcode::AacToOpus> aac;
  bool aac_failed = false;
  std::vector<transcode::AacToOpus::Packet> opus_out;
  bool closed = false;
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
  Clock::time_point trim_at{};  // when to hand freed memory back (after sessions ended)

  // Touched only on the worker thread.
  std::map<std::string, std::shared_ptr<Peer>> by_id;
  std::map<std::string, std::shared_ptr<Peer>> by_ufrag;
  std::map<udp::endpoint, std::shared_ptr<Peer>> by_address;
  std::map<std::string, std::shared_ptr<Feed>> feeds;
  // Sessions still setting up, per client address; `refused` counts the offers turned away in the current episode
  // (logged when it starts and when the address has no pending session left).
  struct PendingFrom {
    size_t pending = 0;
    uint64_t refused = 0;
  };
  std::map<asio::ip::address, PendingFrom> pending_from;
  size_t pending_total = 0;
  uint64_t full_refused = 0;  // offers refused at max_sessions in the current episode
  // Not zero-filled: untouched pages stay out of the resident set until traffic arrives.
  static constexpr size_t kRecvSize = 65536;
  std::unique_ptr<std::byte[]> recv_data{new std::byte[kRecvSize]};
  std::array<std::byte, 2048> control_buffer{};

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

  std::atomic<size_t> peer_count{0}, pending_count{0};
  std::atomic<uint64_t> refused_pending{0}, refused_full{0}, setup_timeouts{0};
  std::atomic<uint64_t> packets_sent{0}, bytes_sent{0}, stun_requests{0}, bad_datagrams{0}, sessions_total{0},
      nacks_total{0}, retransmits_total{0}, plis_total{0}, send_drops{0}, transcoded_packets{0};

  void send(Bytes data, const udp::endpoint& to) {
    boost::system::error_code ec;
    socket.send_to(asio::buffer(data.data(), data.size()), to, 0, ec);
  }

  bool per_address_limited(const asio::ip::address& client) const {
    auto ip = auth::IpAddress::parse(client.to_string());
    if (!ip) return true;
    for (const auto& range : options.per_address_exempt)
      if (range.contains(*ip)) return false;
    return true;
  }

  // The peer no longer counts as setting up (it connected, or it ended).
  void end_pending(Peer& peer) {
    if (!peer.pending) return;
    peer.pending = false;
    --pending_total;
    pending_count.store(pending_total, std::memory_order_relaxed);
    if (!peer.per_address) return;
    auto it = pending_from.find(peer.client);
    if (it == pending_from.end() || --it->second.pending > 0) return;
    if (it->second.refused > 0)
      log::info("webrtc: no session is setting up from this address any more; offers accepted again",
                {{"remote", peer.client.to_string()}, {"refused", it->second.refused}});
    pending_from.erase(it);
  }

  void close_peer(const std::shared_ptr<Peer>& peer, std::string_view why) {
    if (peer->closed) return;
    peer->closed = true;
    trim_at = Clock::now() + 1s;
    end_pending(*peer);
    leave_feed(peer);
    by_id.erase(peer->id);
    by_ufrag.erase(peer->ufrag);
    if (peer->remote) {
      auto it = by_address.find(*peer->remote);
      if (it != by_address.end() && it->second == peer) by_address.erase(it);
    }
    peer_count.store(by_id.size());
    if (full_refused > 0 && by_id.size() < options.max_sessions - options.max_sessions / 10) {
      log::info("webrtc: below max_sessions again; offers accepted", {{"refused", full_refused}});
      full_refused = 0;
    }
    peer->out.clear();  // drops the retransmission history (and the units it holds)
    log::info("webrtc session closed", {{"session", peer->id}, {"stream", peer->stream_id}, {"reason", std::string(why)},
                                        {"packets", peer->packets}, {"nacks", peer->nacks}});
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
      on_datagram(n, from);
      // Drain what else is queued before yielding to the fan-out: ICE checks and DTLS flights must not wait behind
      // media rounds when the worker is busy (a late handshake flight costs a 1 s retransmission).
      for (int i = 0; i < 256 && !stopped; ++i) {
        n = socket.receive_from(asio::buffer(recv_data.get(), kRecvSize), from, 0, ec);
        if (ec) break;
        on_datagram(n, from);
      }
    }
  }

  void on_datagram(size_t n, const udp::endpoint& from) {
    if (n == 0) return;
    Bytes packet(recv_data.get(), n);
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
      log::debug("webrtc ICE path",
                 {{"session", peer->id}, {"remote", from.address().to_string() + ":" + std::to_string(from.port())}});
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
    end_pending(*peer);
    // The retransmission history is made now, not with the offer: offers that never connect cost little memory.
    for (auto& o : peer->out) o.history.resize(o.info.video ? kVideoHistory : kAudioHistory);
    log::info("webrtc session connected",
              {{"session", peer->id},
               {"stream", peer->stream_id},
               {"srtp", keys.profile == SrtpProfile::AeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80"}});
    join_feed(peer);
  }

  void on_srtp(size_t n, const udp::endpoint& from) {
    auto peer = peer_at(from);
    if (!peer || !peer->srtp_in) return;
    Bytes packet(recv_data.get(), n);
    if (!rtp::is_rtcp(packet)) return;  // we receive no media
    auto plain = peer->srtp_in->unprotect_rtcp(recv_data.get(), n);
    if (!plain) return;
    auto messages = rtp::parse_rtcp(Bytes(recv_data.get(), *plain));
    if (!messages) return;
    for (const auto& msg : *messages) {
      if (std::holds_alternative<rtp::Pli>(msg) || std::holds_alternative<rtp::Fir>(msg)) {
        ++peer->plis;
        plis_total.fetch_add(1, std::memory_order_relaxed);
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
        nacks_total.fetch_add(1, std::memory_order_relaxed);
        const auto& h = out.history[seq & (out.history.size() - 1)];
        if (!h.unit || h.sequence != seq) continue;  // too old: no longer in the history
        if (queue_packet(peer, out, h.unit->packet(h.index), seq)) {
          ++out.retransmitted;
          ++peer.retransmits;
          retransmits_total.fetch_add(1, std::memory_order_relaxed);
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
      feed->reader = feed->stream->attach(worker, "webrtc");
      feed->stream->add_external_readers(-1);  // the feed's reader is not a viewer; its peers are
      asio::co_spawn(context, feed_loop(feed), asio::detached);
    }
    feed->stream->add_external_readers(1);
    feed->peers.push_back(peer);
    peer->feed = feed;
    // Start the peer at the latest keyframe at once: the GOP cache, prepared for this peer alone. The feed's live
    // units that overlap it are skipped by seq.
    auto gop = feed->stream->gop_snapshot();
    auto tracks = feed->stream->tracks();
    for (const auto& unit : gop) {
      peer->next_seq = unit->seq + 1;
      if (unit->track >= peer->by_track.size() || peer->by_track[unit->track] < 0) continue;
      auto& out = peer->out[static_cast<size_t>(peer->by_track[unit->track])];
      if (out.info.transcoded) continue;  // the transcoder is live-only
      if (auto eu = prepare(unit, tracks)) send_unit(*peer, out, eu);
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
      uint64_t bytes_before = bytes_sent.load(std::memory_order_relaxed);
      uint64_t packets_before = packets_sent.load(std::memory_order_relaxed);
      for (const auto& unit : units) {
        if (feed->closed) break;
        if (unit->keyframe) {
          auto now = feed->stream->tracks();
          if (now) tracks = std::move(now);
        }
        if (unit->track < tracks->size() && (*tracks)[unit->track].codec == media::CodecId::AAC) {
          transcode_unit(*feed, *unit, (*tracks)[unit->track]);
          continue;
        }
        EgressPtr eu;
        for (size_t i = 0; i < feed->peers.size(); ++i) {
          Peer& peer = *feed->peers[i];
          if (unit->seq < peer.next_seq || unit->track >= peer.by_track.size() || peer.by_track[unit->track] < 0)
            continue;
          if (!eu) eu = prepare(unit, tracks);
          if (!eu) break;
          send_unit(peer, peer.out[static_cast<size_t>(peer.by_track[unit->track])], eu);
        }
      }
      flush();
      feed->reader->add_sent(bytes_sent.load(std::memory_order_relaxed) - bytes_before,
                             packets_sent.load(std::memory_order_relaxed) - packets_before);
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
      log::info("webrtc AAC -> Opus transcoder started", {{"stream", feed.stream_id}, {"rate", feed.aac->source_rate()}});
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
    transcoded_packets.fetch_add(eu->packets.size(), std::memory_order_relaxed);
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
        send_drops.fetch_add(dropped, std::memory_order_relaxed);
        first += dropped;
        continue;
      }
      size_t done = static_cast<size_t>(r);
      for (size_t k = 0; k < done; ++k) {
        bytes_sent.fetch_add(msgs[k].msg_len, std::memory_order_relaxed);
        packets_sent.fetch_add(msgs[k].msg_hdr.msg_iovlen, std::memory_order_relaxed);
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
        if (now - since > options.consent_timeout) expired.push_back(peer);
        else if (!peer->srtp_out && now - peer->created > options.setup_timeout) unfinished.push_back(peer);
        if (peer->dtls && !peer->dtls->connected() && peer->dtls_timer != Clock::time_point{} &&
            now >= peer->dtls_timer) {
          auto next = peer->dtls->handle_timeout();
          peer->dtls_timer = next ? now + *next : Clock::time_point{};
          flush_dtls(*peer);
        }
        if (peer->srtp_out && now >= peer->next_report) {
          if (peer->next_report != Clock::time_point{}) send_reports(*peer, now);
          // Spread over the second so that 1000 peers do not report in the same tick.
          peer->next_report = now + 900ms + std::chrono::milliseconds(random_u32() % 200);
        }
      }
      for (auto& p : expired) close_peer(p, "consent expired (no ICE check within the consent timeout)");
      setup_timeouts.fetch_add(unfinished.size(), std::memory_order_relaxed);
      for (auto& p : unfinished) close_peer(p, "setup timeout (ICE and DTLS not done within webrtc.setup_timeout)");
      // Hand the memory of ended sessions (DTLS contexts, histories) back to the system once things calm down, so
      // RSS returns to its baseline after a crowd leaves instead of staying at its peak.
      // A second after the last close, so that what the ended feeds and coroutines free by then goes back too.
      if (trim_at != Clock::time_point{} && now >= trim_at) {
        ::malloc_trim(0);
        trim_at = {};
      }
    }
  }

  // Coroutines with by-value parameters (not capturing lambdas: GCC 12 double-destroys lambda captures).
  static awaitable<Created> create_async(std::shared_ptr<Impl> self, std::string stream_id, std::string offer,
                                         asio::ip::address client, std::shared_ptr<media::Stream> stream,
                                         std::shared_ptr<const std::vector<media::Track>> tracks) {
    co_return self->create(stream_id, offer, client, std::move(stream), std::move(tracks));
  }

  static awaitable<bool> close_async(std::shared_ptr<Impl> self, std::string session) {
    auto it = self->by_id.find(session);
    if (it == self->by_id.end()) co_return false;
    auto peer = it->second;
    self->close_peer(peer, "closed by the client");
    co_return true;
  }

  static awaitable<json::array> list_async(std::shared_ptr<Impl> self) {
    co_return self->list();
  }

  json::array list() const {
    json::array a;
    for (const auto& [id, p] : by_id) {
      json::object o;
      o["id"] = p->id;
      o["stream"] = p->stream_id;
      o["state"] = p->state();
      o["remote"] = p->remote ? p->remote->address().to_string() + ":" + std::to_string(p->remote->port()) : "";
      o["age_seconds"] = std::chrono::duration<double>(Clock::now() - p->created).count();
      o["packets_sent"] = p->packets;
      o["bytes_sent"] = p->bytes;
      o["nacks"] = p->nacks;
      o["retransmits"] = p->retransmits;
      o["plis"] = p->plis;
      if (p->rtt_ms >= 0) o["rtt_ms"] = p->rtt_ms;
      else o["rtt_ms"] = nullptr;
      o["fraction_lost"] = p->fraction_lost;
      json::array tracks;
      for (const auto& out : p->out) {
        json::object t;
        t["mid"] = out.info.mid;
        t["ssrc"] = out.info.ssrc;
        t["payload_type"] = out.info.payload_type;
        t["transcoded"] = out.info.transcoded;
        t["packets"] = out.packets;
        tracks.push_back(std::move(t));
      }
      o["tracks"] = std::move(tracks);
      a.push_back(std::move(o));
    }
    return a;
  }

  Created create(const std::string& stream_id, const std::string& offer_text, const asio::ip::address& client,
                 std::shared_ptr<media::Stream> stream, std::shared_ptr<const std::vector<media::Track>> tracks) {
    Created c;
    if (stopped) return failure(503, "server stopping");
    if (by_id.size() >= options.max_sessions) {
      refused_full.fetch_add(1, std::memory_order_relaxed);
      if (full_refused++ == 0)
        log::warn("webrtc: max_sessions reached; refusing offers",
                  {{"max_sessions", options.max_sessions}, {"pending", pending_total}});
      return failure(503, "too many WebRTC sessions");
    }
    const bool limited = per_address_limited(client);
    if (limited) {
      auto it = pending_from.find(client);
      if (it != pending_from.end() && it->second.pending >= options.max_pending_per_address) {
        refused_pending.fetch_add(1, std::memory_order_relaxed);
        if (it->second.refused++ == 0)
          log::warn("webrtc: too many sessions setting up from one address; refusing its offers",
                    {{"remote", client.to_string()}, {"pending", it->second.pending},
                     {"max_pending_per_address", options.max_pending_per_address}});
        return failure(429, "too many WebRTC sessions setting up from " + client.to_string() + " (" +
                                std::to_string(it->second.pending) +
                                "): retry when they have connected or timed out (webrtc.setup_timeout)");
      }
    }
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
    if (!cert) {
      // Made on the first session, not at start: OpenSSL's initialisation and the key generation cost start time
      // and resident memory that a server without WebRTC viewers never needs.
      auto made = Certificate::generate();
      if (!made) {
        log::error("webrtc: cannot make the DTLS certificate", {{"error", made.error()}});
        return failure(503, "DTLS certificate unavailable: " + made.error());
      }
      cert = *made;
      log::info("webrtc DTLS certificate made", {{"fingerprint", cert->fingerprint_sha256()}});
    }
    params.fingerprint = cert->fingerprint_sha256();
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
    peer->ufrag = params.ufrag;
    peer->pwd = params.pwd;
    peer->remote_ufrag = answer->remote_ufrag;
    peer->remote_pwd = answer->remote_pwd;
    peer->remote_fingerprint = answer->remote_fingerprint;
    peer->by_track.assign(tracks->size(), -1);
    for (size_t i = 0; i < answer->tracks.size(); ++i) {
      OutTrack out;
      out.info = answer->tracks[i];
      out.sequence = static_cast<uint16_t>(random_u32());
      peer->by_track[out.info.track] = static_cast<int>(i);
      peer->out.push_back(std::move(out));
    }
    by_id[peer->id] = peer;
    by_ufrag[peer->ufrag] = peer;
    peer->client = client;
    peer->pending = true;
    ++pending_total;
    pending_count.store(pending_total, std::memory_order_relaxed);
    peer->per_address = limited;
    if (limited) ++pending_from[client].pending;
    peer_count.store(by_id.size());
    sessions_total.fetch_add(1, std::memory_order_relaxed);
    log::info("webrtc session created", {{"session", peer->id}, {"stream", stream_id}, {"tracks", peer->out.size()}});
    c.session = peer->id;
    c.answer = std::move(answer->sdp);
    c.candidates = candidates;
    return c;
  }
};

WebRtcServer::WebRtcServer(net::WorkerPool& pool, media::StreamRegistry& registry, WebRtcOptions options)
    : impl_(std::make_shared<Impl>(pool, registry, options)),
      impl_web_root_(options.web_root) {}

WebRtcServer::~WebRtcServer() { stop(); }

Status WebRtcServer::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("WebRTC: bad UDP address '" + host + "'");
  udp::endpoint ep(address, port);
  impl_->socket.open(ep.protocol(), ec);
  if (!ec) impl_->socket.bind(ep, ec);
  if (ec) return make_error("WebRTC: cannot bind UDP " + host + ":" + std::to_string(port) + ": " + ec.message());
  impl_->socket.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
  impl_->socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
  impl_->socket.non_blocking(true, ec);  // sendmmsg must never block the worker
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

awaitable<WebRtcServer::Created> WebRtcServer::create_session(std::string stream_id, std::string offer,
                                                              asio::ip::address client) {
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
  co_return co_await asio::co_spawn(impl->context, impl->create_async(impl, stream_id, std::move(offer), client, stream, tracks),
                                    use_awaitable);
}

awaitable<bool> WebRtcServer::close_session(std::string session) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->context, impl->close_async(impl, std::move(session)), use_awaitable);
}

awaitable<json::array> WebRtcServer::list_sessions() {
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->context, impl->list_async(impl), use_awaitable);
}

void WebRtcServer::write_metrics(std::string& out) const {
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    write_metric_header(out, name, type, help);
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  const auto& i = *impl_;
  line("streamgate_webrtc_sessions", "gauge", "WebRTC sessions open now", i.peer_count.load());
  line("streamgate_webrtc_sessions_total", "counter", "WebRTC sessions created", i.sessions_total.load());
  line("streamgate_webrtc_sessions_pending", "gauge", "WebRTC sessions answered but not connected yet (ICE, DTLS)",
       i.pending_count.load());
  line("streamgate_webrtc_setup_timeouts_total", "counter",
       "WebRTC sessions closed because ICE and DTLS were not done within webrtc.setup_timeout", i.setup_timeouts.load());
  write_metric_header(out, "streamgate_webrtc_offers_refused_total", "counter",
                      "WHEP and /ws offers refused by a limit (max_sessions, max_pending_per_address)");
  out += "streamgate_webrtc_offers_refused_total{reason=\"max_sessions\"} " + std::to_string(i.refused_full.load()) +
         "\n";
  out += "streamgate_webrtc_offers_refused_total{reason=\"pending_per_address\"} " +
         std::to_string(i.refused_pending.load()) + "\n";
  line("streamgate_webrtc_packets_sent_total", "counter", "SRTP packets sent", i.packets_sent.load());
  line("streamgate_webrtc_bytes_sent_total", "counter", "SRTP bytes sent", i.bytes_sent.load());
  line("streamgate_webrtc_stun_requests_total", "counter", "STUN Binding requests received", i.stun_requests.load());
  line("streamgate_webrtc_bad_datagrams_total", "counter", "UDP datagrams dropped as malformed or unknown",
       i.bad_datagrams.load());
  line("streamgate_webrtc_nacks_total", "counter", "Packets asked for again by RTCP NACK", i.nacks_total.load());
  line("streamgate_webrtc_retransmits_total", "counter", "Packets resent from the retransmission history",
       i.retransmits_total.load());
  line("streamgate_webrtc_plis_total", "counter", "RTCP PLI and FIR keyframe requests received", i.plis_total.load());
  line("streamgate_webrtc_send_drops_total", "counter", "Packets not sent because the UDP socket buffer was full",
       i.send_drops.load());
  line("streamgate_webrtc_transcoded_packets_total", "counter", "Opus packets made from AAC",
       i.transcoded_packets.load());
}

}  // namespace sg::webrtc
