#pragma once
// What the WebRTC server keeps per session (Peer) and per stream on one worker (Feed), and the shared RTP packets
// peers send (EgressUnit). Internal to src/webrtc/: a Peer and a Feed live on one worker thread (their Shard) and
// are touched by no other thread, except a Peer not yet claimed by a worker, which SessionTable holds under its
// mutex and nobody modifies.
#include <openssl/rand.h>

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "media/stream.hpp"
#include "rtp/rtp_packet.hpp"
#include "transcode/aac_opus.hpp"
#include "webrtc/answer.hpp"
#include "webrtc/dtls.hpp"
#include "webrtc/publisher.hpp"
#include "webrtc/srtp.hpp"

namespace sg::webrtc {

using Clock = std::chrono::steady_clock;

inline constexpr size_t kMaxPayload = 1200;    // RTP payload bytes per packet: fits any path MTU with SRTP and headers
inline constexpr size_t kVideoHistory = 1024;  // packets kept per video track for NACK (~5 s at 2 Mb/s)
inline constexpr size_t kAudioHistory = 128;

inline std::string random_token(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::vector<unsigned char> r(n);
  RAND_bytes(r.data(), static_cast<int>(n));
  std::string s(n, 'a');
  for (size_t i = 0; i < n; ++i) s[i] = kAlphabet[r[i] % (sizeof kAlphabet - 1)];
  return s;
}

inline uint32_t random_u32() {
  uint32_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
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
    media::Slice slice{static_cast<uint32_t>(data.size()),
                       static_cast<uint32_t>(rtp::kFixedHeaderSize + payload.size())};
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
  using udp = boost::asio::ip::udp;
  // What the fan-out reads and writes per packet comes first, together: it visits every peer of a worker per frame
  // (thousands), and the fewer cache lines a peer costs the less it waits on memory.
  bool closed = false;
  uint64_t next_seq = 0;      // units with a lower stream seq were already sent (GOP replay)
  std::vector<int> by_track;  // stream track index -> index in out, or -1
  std::vector<OutTrack> out;
  std::unique_ptr<SrtpSession> srtp_out;
  std::optional<udp::endpoint> remote;
  Clock::time_point keyframe_sent{};  // the latest video keyframe sent to this peer
  uint64_t packets = 0, bytes = 0;

  std::string id;
  std::string stream_id;
  std::shared_ptr<media::Stream> stream;
  std::string ufrag, pwd, remote_ufrag, remote_pwd, remote_fingerprint;
  boost::asio::ip::address client;  // the address the offer came from
  bool pending = false;             // counted as setting up (until connected or closed)
  bool per_address = false;         // ... in its client's count too (not an exempt address)
  Clock::time_point created = Clock::now();
  Clock::time_point last_check{};
  Clock::time_point next_report{};
  std::shared_ptr<Certificate> cert;  // the server's, for the DTLS handshake
  int worker = -1;                    // the worker that owns the session; -1 until a worker claims it
  std::unique_ptr<DtlsTransport> dtls;
  Clock::time_point dtls_timer{};
  std::unique_ptr<SrtpSession> srtp_in;
  std::shared_ptr<Feed> feed;         // set while connected
  uint64_t plis = 0, nacks = 0, retransmits = 0, send_drops = 0;
  double rtt_ms = -1;
  double fraction_lost = 0;
  // WHIP: the session receives media from its peer (a publisher) instead of sending the stream.
  std::unique_ptr<Publisher> publisher;
  uint64_t keyframe_handler = 0;  // Stream::set_keyframe_handler id while the publisher is connected
  // Runs once when the session ends, wherever it ends (closed by its owner, or never claimed): a publisher's
  // session gives the stream back.
  std::function<void()> on_close;
  void run_on_close() {
    auto f = std::exchange(on_close, nullptr);
    if (f) f();
  }

  std::string state() const {
    if (closed) return "closed";
    if (srtp_out) return "connected";
    if (dtls) return "dtls";
    if (remote) return "ice-connected";
    return "new";
  }
};

// The WebRTC side of one stream on one worker: a single reader of the stream feeds every connected peer of that
// worker (one pop, one preparation per unit, one AAC -> Opus transcoder), all on that worker's thread.
struct Feed {
  std::string stream_id;
  std::shared_ptr<media::Stream> stream;
  std::unique_ptr<media::Reader> reader;
  std::vector<std::shared_ptr<Peer>> peers;
  std::unique_ptr<transcode::AacToOpus> aac;
  bool aac_failed = false;
  std::vector<transcode::AacToOpus::Packet> opus_out;
  // The stream's GOP cache as prepared for sending (gop[i] for the i-th unit of the snapshot), shared by the peers
  // that join during this GOP: each joiner's retransmission history keeps it for seconds, and 2000 private copies
  // of a re-packetized GOP were 150 KB per viewer. Emptied when the next keyframe starts a new GOP.
  std::vector<EgressPtr> gop;
  bool closed = false;
};

}  // namespace sg::webrtc
