// webrtc_viewers: N concurrent WHEP viewers (draft-ietf-wish-whep) of one stream, for load tests of any WHEP server.
// Each viewer binds one UDP socket, POSTs a Chrome-like recvonly offer (BUNDLE of H.264 video and Opus audio), connects
// with ICE (full agent, controlling: Binding requests with USE-CANDIDATE to the answer's candidate, then consent checks
// every 2.5 s, RFC 7675), runs the DTLS handshake in the role the answer's a=setup gives it (client for
// setup:passive as streamgate answers, server for setup:active as pion-based servers answer; RFC 8842 5) and checks
// the server's certificate fingerprint, then unprotects every SRTP packet, counting packets, bytes and sequence gaps
// per SSRC, sends an SRTCP receiver report about every second, and DELETEs its session at the end (unless
// --no-delete: then the server must expire it). The sockets take UDP GRO: a run of equal-size datagrams arrives as
// one buffer (see receive(); --no-gro takes them one by one, as before 2026-12-02).
//
//   webrtc_viewers --url http://127.0.0.1:8080/<stream>/whep --viewers N --duration SECONDS [--ramp-ms 5]
//                  [--threads T] [--min-ratio 0.99] [--timeout SECONDS] [--no-delete] [--no-gro] [--json]
//                  [--verbose]
//
// Exit status: 0 when every viewer got media and received at least min-ratio of the packets it should have
// (received / (received + lost)), 1 otherwise, 2 on bad arguments.
// Hot path: one receive buffer per thread, one per socket for a datagram, SRTP unprotected in place, RTP parsed in
// place, statistics in a fixed array of SSRC slots: nothing is allocated per packet. GCC 12 reports
// -Wmismatched-new-delete for Asio's coroutine frames (its own operator new/delete pair) at -O2.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/sequence_tracker.hpp"
#include "sdp/sdp.hpp"
#include "stun/stun.hpp"
#include "webrtc/dtls.hpp"
#include "webrtc/srtp.hpp"
#include "tool_support.hpp"

namespace {

using sg::bench::json_escape;
using sg::bench::percentile;
using sg::bench::raise_file_limit;
using sg::bench::recv_with_control;

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr auto kCheckInterval = 200ms;      // ICE checks until the first success
constexpr auto kConsentInterval = 2500ms;   // consent freshness afterwards (RFC 7675 5.1: 4-6 s is the max)
constexpr auto kReportInterval = 1000ms;    // RTCP receiver reports
constexpr size_t kMaxSsrcs = 8;             // distinct media SSRCs counted per viewer
constexpr size_t kReceiveBuffer = 2048;     // > 1500 MTU plus the SRTP trailer

struct Config {
  std::string url_text;
  std::string host;
  uint16_t port = 80;
  std::string path;  // target of the POST
  tcp::endpoint server;
  size_t viewers = 1;
  double duration_s = 10;
  double ramp_ms = 5;
  size_t threads = 1;
  double min_ratio = 0.99;
  double timeout_s = 10;  // per HTTP request, and from the POST to the first media packet
  bool delete_at_end = true;
  bool gro = true;  // UDP_GRO on the viewers' sockets (see receive())
  bool json = false;
  bool verbose = false;
  std::shared_ptr<sg::webrtc::Certificate> cert;
  Clock::time_point start;
  Clock::time_point end;
};

struct SsrcStats {
  uint32_t ssrc = 0;
  uint8_t payload_type = 0;
  sg::rtp::SequenceTracker seq{1};
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct ViewerResult {
  bool answered = false;   // 201 with an SDP answer
  bool ice = false;        // a Binding success response arrived
  bool dtls = false;       // the handshake completed with the expected fingerprint
  bool dtls_server = false;  // the answer said a=setup:active: we were the DTLS server
  bool media = false;      // at least one SRTP packet unprotected
  bool deleted = false;    // DELETE answered 2xx
  std::string error;       // first failure
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t lost = 0;
  uint64_t srtp_errors = 0;  // packets that failed to unprotect or parse
  uint64_t rtcp = 0;         // SRTCP packets received
  uint64_t other = 0;        // datagrams that are none of STUN, DTLS, RTP, RTCP
  double setup_ms = 0;       // POST sent to the first media packet
  std::string per_ssrc;      // "ssrc:pt received/lost ..." (filled at the end)
  double ratio() const {
    uint64_t want = packets + lost;
    return want == 0 ? 0.0 : static_cast<double>(packets) / static_cast<double>(want);
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// "http://host[:port]/path" (no TLS, no credentials).
bool parse_http_url(const std::string& url, std::string& host, uint16_t& port, std::string& path) {
  const std::string scheme = "http://";
  if (lower(url.substr(0, scheme.size())) != scheme) return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  port = 80;
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return false;
    if (!authority.empty()) authority = "x" + authority;
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  auto colon = authority.find(':');
  if (colon != std::string::npos) {
    auto p = authority.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
    auto v = std::stoul(p);
    if (v == 0 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
  }
  return !host.empty();
}

std::string random_token(std::mt19937_64& rng, size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(n, 'x');
  for (auto& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

// A recvonly offer shaped like Chrome's (tests/webrtc/chrome_offer.hpp), trimmed to the codecs that matter here.
std::string make_offer(const std::string& ufrag, const std::string& pwd, const std::string& fingerprint,
                       const std::string& local_ip, uint16_t local_port, uint64_t session_id) {
  std::string common = "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
  common += "a=candidate:1 1 udp 2113937151 " + local_ip + " " + std::to_string(local_port) +
            " typ host generation 0\r\n";
  common += "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\na=ice-options:trickle\r\n";
  common += "a=fingerprint:sha-256 " + fingerprint + "\r\na=setup:actpass\r\n";
  std::string s = "v=0\r\no=- " + std::to_string(session_id) + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  s += "a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n";
  s += "m=video 9 UDP/TLS/RTP/SAVPF 102 103 112 113\r\n" + common;
  s += "a=mid:0\r\na=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
  s += "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r\n";
  s += "a=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n";
  for (auto [pt, rtx, profile] : {std::tuple{102, 103, "42e01f"}, std::tuple{112, 113, "640c1f"}}) {
    auto p = std::to_string(pt);
    s += "a=rtpmap:" + p + " H264/90000\r\n";
    for (auto fb : {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}) s += "a=rtcp-fb:" + p + " " + fb + "\r\n";
    s += "a=fmtp:" + p + " level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile + "\r\n";
    s += "a=rtpmap:" + std::to_string(rtx) + " rtx/90000\r\na=fmtp:" + std::to_string(rtx) + " apt=" + p + "\r\n";
  }
  s += "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n" + common;
  s += "a=mid:1\r\na=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r\n";
  s += "a=recvonly\r\na=rtcp-mux\r\n";
  s += "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
  s += "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
  return s;
}

struct HttpResponse {
  int status = 0;
  std::string location;
  std::string body;
};

class Viewer {
 public:
  Viewer(asio::io_context& io, const Config& cfg, size_t index, ViewerResult& result, uint64_t seed)
      : io_(io), cfg_(cfg), index_(index), result_(result), http_(io), http_timer_(io), udp_(io), timer_(io),
        rng_(seed) {
    report_.reserve(512);
  }

  awaitable<void> run() {
    co_await session();
    boost::system::error_code ignored;
    udp_.close(ignored);
    timer_.cancel();
    for (size_t i = 0; i < ssrc_count_; ++i) {
      auto& s = ssrcs_[i];
      auto lost = static_cast<uint64_t>(std::max<int64_t>(0, s.seq.lost()));
      result_.packets += s.packets;
      result_.bytes += s.bytes;
      result_.lost += lost;
      char line[96];
      std::snprintf(line, sizeof line, "%s%08x:pt%u %llu/%llu", i ? " " : "", s.ssrc, s.payload_type,
                    static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(lost));
      result_.per_ssrc += line;
    }
    if (!location_.empty() && cfg_.delete_at_end) {
      auto r = co_await http("DELETE", location_, {});
      result_.deleted = r && r->status >= 200 && r->status < 300;
      if (!r) fail("DELETE: " + http_error_);
      else if (!result_.deleted) fail("DELETE: HTTP " + std::to_string(r->status));
    }
    http_timer_.cancel();
  }

 private:
  void log(const std::string& what) {
    if (cfg_.verbose && index_ == 0) std::fprintf(stderr, "[viewer 0] %s\n", what.c_str());
  }
  void fail(std::string why) {
    if (result_.error.empty()) result_.error = std::move(why);
  }

  awaitable<void> session() {
    boost::system::error_code ec;
    auto local_ip = cfg_.server.address().is_loopback() ? cfg_.server.address() : asio::ip::address(asio::ip::address_v4::any());
    if (cfg_.server.address().is_v6()) {
      udp_.open(udp::v6(), ec);
    } else {
      udp_.open(udp::v4(), ec);
    }
    if (!ec) udp_.bind(udp::endpoint(local_ip, 0), ec);
    if (ec) {
      fail("UDP socket: " + ec.message());
      co_return;
    }
    udp_.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
    if (cfg_.gro) {
      int on = 1;
      ::setsockopt(udp_.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on);
    }
    auto local = udp_.local_endpoint(ec);

    ufrag_ = random_token(rng_, 8);
    pwd_ = random_token(rng_, 24);
    tie_breaker_ = rng_();
    auto offer = make_offer(ufrag_, pwd_, cfg_.cert->fingerprint_sha256(),
                            local_ip.is_unspecified() ? "127.0.0.1" : local_ip.to_string(), local.port(), rng_() >> 2);
    log("offer:\n" + offer);

    posted_at_ = Clock::now();
    setup_deadline_ = posted_at_ + std::chrono::milliseconds(static_cast<int64_t>(cfg_.timeout_s * 1000));
    auto answer = co_await http("POST", cfg_.path, offer);
    if (!answer) {
      fail("POST: " + http_error_);
      co_return;
    }
    if (answer->status != 201) {
      fail("POST: HTTP " + std::to_string(answer->status) + " (want 201)");
      co_return;
    }
    if (answer->location.empty()) {
      fail("POST: 201 without Location");
      co_return;
    }
    location_ = answer->location;
    log("answer (Location " + location_ + "):\n" + answer->body);
    if (!take_answer(answer->body)) co_return;
    result_.answered = true;

    auto dtls = sg::webrtc::DtlsTransport::create(dtls_role_, cfg_.cert, remote_fingerprint_);
    if (!dtls) {
      fail("DTLS: " + dtls.error());
      co_return;
    }
    dtls_ = std::move(*dtls);

    udp_.connect(remote_, ec);
    if (ec) {
      fail("UDP connect to " + remote_.address().to_string() + ": " + ec.message());
      co_return;
    }
    asio::co_spawn(io_, receive(), asio::detached);
    co_await control();
  }

  // Reads ice-ufrag/pwd, the fingerprint and a candidate from the answer.
  bool take_answer(const std::string& body) {
    auto sdp = sg::sdp::parse(body);
    if (!sdp) {
      fail("answer: bad SDP: " + sdp.error());
      return false;
    }
    auto attr = [&](std::string_view name) -> std::string {
      if (auto* a = sdp->attributes.first(name)) return a->value;
      for (auto& m : sdp->media)
        if (auto* a = m.attributes.first(name)) return a->value;
      return {};
    };
    remote_ufrag_ = attr("ice-ufrag");
    remote_pwd_ = attr("ice-pwd");
    auto fp = attr("fingerprint");
    if (remote_ufrag_.empty() || remote_pwd_.empty() || fp.empty()) {
      fail("answer: no ice-ufrag, ice-pwd or fingerprint");
      return false;
    }
    auto space = fp.find(' ');
    if (space == std::string::npos || lower(fp.substr(0, space)) != "sha-256") {
      fail("answer: fingerprint is not sha-256: '" + fp + "'");
      return false;
    }
    remote_fingerprint_ = trim(fp.substr(space + 1));
    // RFC 8842 5.3: the answerer picks active (it connects: we are the DTLS server) or passive (we connect); an
    // absent attribute means active (RFC 4145 4); actpass is not allowed in an answer.
    auto setup = lower(attr("setup"));
    if (setup == "passive") {
      dtls_role_ = sg::webrtc::DtlsRole::Client;
    } else if (setup == "active" || setup.empty()) {
      dtls_role_ = sg::webrtc::DtlsRole::Server;
      result_.dtls_server = true;
    } else {
      fail("answer: a=setup:" + setup + " (want active or passive)");
      return false;
    }
    // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
    std::optional<udp::endpoint> same_host, first_v4, first_any;
    auto consider = [&](const sg::sdp::Attributes& attrs) {
      for (auto* a : attrs.all("candidate")) {
        std::vector<std::string> f;
        size_t pos = 0;
        const auto& v = a->value;
        while (pos < v.size() && f.size() < 8) {
          auto next = v.find(' ', pos);
          if (next == std::string::npos) next = v.size();
          if (next > pos) f.push_back(v.substr(pos, next - pos));
          pos = next + 1;
        }
        if (f.size() < 8 || f[1] != "1" || lower(f[2]) != "udp") continue;
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(f[4], ec);
        if (ec || f[5].empty() || f[5].size() > 5 || f[5].find_first_not_of("0123456789") != std::string::npos) continue;
        auto port = std::stoul(f[5]);
        if (port == 0 || port > 65535) continue;
        udp::endpoint ep(addr, static_cast<uint16_t>(port));
        if (addr == cfg_.server.address() && !same_host) same_host = ep;
        if (addr.is_v4() && !first_v4) first_v4 = ep;
        if (!first_any) first_any = ep;
      }
    };
    consider(sdp->attributes);
    for (auto& m : sdp->media) consider(m.attributes);
    auto chosen = same_host ? same_host : first_v4 ? first_v4 : first_any;
    if (!chosen) {
      fail("answer: no usable UDP candidate");
      return false;
    }
    if (chosen->address().is_v6() != cfg_.server.address().is_v6()) {
      fail("answer: candidate " + chosen->address().to_string() + " is of another IP family than the URL host");
      return false;
    }
    remote_ = *chosen;
    return true;
  }

  void send(sg::Bytes data) {
    boost::system::error_code ec;
    udp_.send(asio::buffer(data.data(), data.size()), 0, ec);  // tiny datagrams: non-blocking in practice
  }

  void send_check() {
    sg::stun::TransactionId id;
    for (auto& b : id) b = static_cast<std::byte>(rng_() & 0xff);
    sg::stun::MessageBuilder mb(sg::stun::MessageClass::Request, sg::stun::kMethodBinding, id);
    mb.add_username(remote_ufrag_ + ":" + ufrag_);
    // Peer-reflexive type preference (RFC 8445 5.1.2.1 and 7.1.1), local preference 65535, component 1.
    mb.add_priority((110u << 24) | (65535u << 8) | 255u);
    mb.add_ice_controlling(tie_breaker_);
    mb.add_use_candidate();
    auto msg = mb.finish(remote_pwd_, true);
    send(msg);
  }

  void flush_dtls() {
    for (auto& d : dtls_->take_datagrams()) send(d);
  }

  void wake() { timer_.cancel(); }

  // Timers: ICE checks and consent, DTLS retransmissions, receiver reports, the setup deadline and the end.
  awaitable<void> control() {
    auto next_check = Clock::now();
    auto next_report = Clock::now() + kReportInterval;
    for (;;) {
      auto now = Clock::now();
      if (now >= cfg_.end && !result_.media) fail("the run ended before the first media packet");
      if (now >= cfg_.end || stopped_) co_return;
      if (!result_.media && now >= setup_deadline_) {
        if (!result_.ice) fail("ICE: no Binding success response");
        else if (!result_.dtls) fail("DTLS: handshake not complete");
        else fail("no media packet");
        result_.error += " within " + std::to_string(static_cast<int>(cfg_.timeout_s)) + " s of the POST";
        co_return;
      }
      if (now >= next_check) {
        send_check();
        next_check = now + (result_.ice ? kConsentInterval : kCheckInterval);
      }
      if (dtls_started_ && !dtls_->connected() && dtls_next_ && now >= *dtls_next_) {
        auto next = dtls_->handle_timeout();
        flush_dtls();
        dtls_next_ = next ? std::optional(Clock::now() + *next) : std::nullopt;
      }
      if (result_.media && now >= next_report) {
        send_report();
        next_report = now + kReportInterval;
      }
      auto at = std::min({cfg_.end, next_check, next_report});
      if (!result_.media) at = std::min(at, setup_deadline_);
      if (dtls_started_ && !dtls_->connected() && dtls_next_) at = std::min(at, *dtls_next_);
      timer_.expires_at(at);
      co_await timer_.async_wait(kTuple);  // cancelled by wake() when the state changes
    }
  }

  // Reads what is queued, then waits. With UDP_GRO (the default) the kernel hands a server's GSO message (a run of
  // equal-size datagrams to this viewer) over as one buffer with the segment size in a control message: on loopback
  // the receive path runs in the sender's softirq, so a per-datagram receiver bills the server for splitting and
  // queueing every datagram, work that a viewer on another host does on its own CPU. --no-gro takes them one by one.
  awaitable<void> receive() {
    thread_local std::vector<std::byte> batch(65536);  // one thread's viewers run one at a time: shared
    while (udp_.is_open()) {
      for (;;) {
        std::optional<int> gro_size;
        ssize_t n = recv_with_control(udp_.native_handle(), batch.data(), batch.size(), SOL_UDP, UDP_GRO, gro_size);
        if (n < 0) {
          if (errno == EINTR || errno == ECONNREFUSED) continue;  // ICMP port unreachable and the like
          break;                                                  // EAGAIN: wait
        }
        const size_t segment = gro_size && *gro_size > 0 ? static_cast<size_t>(*gro_size) : static_cast<size_t>(n);
        for (size_t at = 0; at < static_cast<size_t>(n); at += segment)
          on_datagram(batch.data() + at, std::min(segment, static_cast<size_t>(n) - at));
        if (!udp_.is_open()) co_return;
      }
      auto [ec] = co_await udp_.async_wait(udp::socket::wait_read, kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !udp_.is_open()) co_return;
      }
    }
  }

  void on_datagram(const std::byte* data, size_t n) {
    if (n == 0) return;
    if (n > kReceiveBuffer) {
      ++result_.other;
      return;
    }
    std::memcpy(buf_.data(), data, n);
    auto first = std::to_integer<uint8_t>(buf_[0]);
    if (first < 4) on_stun(sg::Bytes(buf_.data(), n));
    else if (first >= 20 && first < 64) on_dtls(sg::Bytes(buf_.data(), n));
    else if (first >= 128 && first < 192) on_srtp(n);
    else ++result_.other;
  }

  void on_stun(sg::Bytes data) {
    auto m = sg::stun::Message::parse(data);
    if (!m || m->method() != sg::stun::kMethodBinding) return;
    if (m->message_class() == sg::stun::MessageClass::Request) {
      // The server may check us too (not when it is ICE-lite): answer with our password.
      if (!m->check_integrity(pwd_)) return;
      sg::stun::MessageBuilder mb(sg::stun::MessageClass::SuccessResponse, sg::stun::kMethodBinding,
                                  m->transaction_id());
      sg::stun::Address a;
      auto addr = remote_.address();
      a.v6 = addr.is_v6();
      if (a.v6) {
        auto b = addr.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), a.ip.begin());
      } else {
        auto b = addr.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), a.ip.begin());
      }
      a.port = remote_.port();
      mb.add_xor_mapped_address(a);
      auto out = mb.finish(pwd_, true);
      send(out);
      return;
    }
    if (m->message_class() == sg::stun::MessageClass::ErrorResponse) {
      auto e = m->error_code();
      if (!result_.ice) fail("ICE: Binding error response " + (e ? std::to_string(e->code) + " " + e->reason : ""));
      return;
    }
    if (m->message_class() != sg::stun::MessageClass::SuccessResponse) return;
    if (!m->check_integrity(remote_pwd_)) {
      if (!result_.ice) fail("ICE: success response with bad MESSAGE-INTEGRITY");
      return;
    }
    if (!result_.ice) {
      result_.ice = true;
      log("ICE connected");
      if (dtls_role_ == sg::webrtc::DtlsRole::Client) {
        dtls_->start();
        dtls_started_ = true;
        flush_dtls();
        arm_dtls_timer();
      }
      wake();
    }
  }

  // The handshake's retransmission timer (RFC 6347 4.2.4), driven by control().
  void arm_dtls_timer() {
    auto next = dtls_->handle_timeout();
    flush_dtls();
    dtls_next_ = next ? std::optional(Clock::now() + *next) : std::nullopt;
  }

  void on_dtls(sg::Bytes data) {
    // As the DTLS server the handshake starts with the peer's ClientHello, which may overtake our ICE success
    // response: the peer sends it as soon as its own check succeeded and our USE-CANDIDATE arrived.
    if (!dtls_started_ && dtls_role_ == sg::webrtc::DtlsRole::Server) dtls_started_ = true;
    if (!dtls_started_) return;
    bool was = dtls_->connected();
    auto st = dtls_->feed(data);
    flush_dtls();
    if (!st) {
      fail(st.error());
      stopped_ = true;
      wake();
      return;
    }
    if (!dtls_->connected()) {
      arm_dtls_timer();
      wake();
    }
    if (!was && dtls_->connected()) {
      const auto& keys = dtls_->srtp_keys();
      auto in = sg::webrtc::SrtpSession::create(keys.profile, keys.remote, sg::webrtc::SrtpSession::Direction::Inbound);
      auto out = sg::webrtc::SrtpSession::create(keys.profile, keys.local, sg::webrtc::SrtpSession::Direction::Outbound);
      if (!in || !out) {
        fail("SRTP: " + (in ? out.error() : in.error()));
        stopped_ = true;
        wake();
        return;
      }
      srtp_in_ = std::move(*in);
      srtp_out_ = std::move(*out);
      result_.dtls = true;
      log("DTLS connected");
      wake();
    }
  }

  void on_srtp(size_t n) {
    if (!srtp_in_) return;
    auto pt = std::to_integer<uint8_t>(buf_[1]) & 0x7f;
    if (n >= 8 && pt >= 64 && pt < 96) {  // RTCP packet types 192-223 with the marker bit (RFC 5761 4)
      auto r = srtp_in_->unprotect_rtcp(buf_.data(), n);
      if (r) ++result_.rtcp;
      else ++result_.srtp_errors;
      return;
    }
    auto r = srtp_in_->unprotect_rtp(buf_.data(), n);
    if (!r) {
      ++result_.srtp_errors;
      return;
    }
    auto p = sg::rtp::RtpPacket::parse(sg::Bytes(buf_.data(), *r));
    if (!p) {
      ++result_.srtp_errors;
      return;
    }
    if (!result_.media) {
      result_.media = true;
      result_.setup_ms = std::chrono::duration<double, std::milli>(Clock::now() - posted_at_).count();
      log("first media packet");
      wake();
    }
    SsrcStats* s = nullptr;
    for (size_t i = 0; i < ssrc_count_; ++i)
      if (ssrcs_[i].ssrc == p->ssrc()) s = &ssrcs_[i];
    if (!s) {
      if (ssrc_count_ == kMaxSsrcs) {
        ++result_.other;
        return;
      }
      s = &ssrcs_[ssrc_count_++];
      s->ssrc = p->ssrc();
      s->payload_type = p->payload_type();
    }
    s->seq.update(p->sequence(), p->timestamp(), 0);
    ++s->packets;
    s->bytes += *r;
  }

  void send_report() {
    if (!srtp_out_ || ssrc_count_ == 0) return;
    sg::rtp::ReceiverReport rr;
    rr.ssrc = 0x57480000u + static_cast<uint32_t>(index_);
    for (size_t i = 0; i < ssrc_count_; ++i) {
      auto stats = ssrcs_[i].seq.interval_report();
      sg::rtp::ReportBlock b;
      b.ssrc = ssrcs_[i].ssrc;
      b.fraction_lost = stats.fraction_lost;
      b.cumulative_lost = stats.cumulative_lost;
      b.highest_sequence = stats.extended_highest;
      b.jitter = stats.jitter;
      rr.reports.push_back(b);
    }
    report_.clear();
    sg::rtp::append_receiver_report(report_, rr);
    sg::rtp::append_sdes_cname(report_, rr.ssrc, "webrtc_viewers");
    auto len = report_.size();
    report_.resize(len + sg::webrtc::kSrtpMaxTrailer);
    auto r = srtp_out_->protect_rtcp(report_.data(), len);
    if (r) send(sg::Bytes(report_.data(), *r));
  }

  // One HTTP/1.1 request on a new connection (Connection: close). `target` is a path or an absolute http URL.
  awaitable<std::optional<HttpResponse>> http(const std::string& method, const std::string& target, const std::string& body) {
    std::string path = target;
    std::string host_header = cfg_.host + ":" + std::to_string(cfg_.port);
    tcp::endpoint to = cfg_.server;
    if (lower(target.substr(0, 7)) == "http://") {
      std::string h;
      uint16_t p = 80;
      if (!parse_http_url(target, h, p, path)) {
        http_error_ = "bad URL '" + target + "'";
        co_return std::nullopt;
      }
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(h, ec);
      if (ec && h != cfg_.host) {
        http_error_ = "cannot follow URL '" + target + "' (only IP addresses or the --url host)";
        co_return std::nullopt;
      }
      to = tcp::endpoint(ec ? cfg_.server.address() : addr, p);
      host_header = h + ":" + std::to_string(p);
    } else if (target.empty() || target.front() != '/') {
      // Relative reference (RFC 3986 5.2): resolve against the POST URL's directory.
      path = cfg_.path.substr(0, cfg_.path.rfind('/') + 1) + target;
    }
    boost::system::error_code ignored;
    http_.close(ignored);
    http_ = tcp::socket(io_);
    auto gen = ++http_gen_;
    http_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(cfg_.timeout_s * 1000)));
    http_timer_.async_wait([this, gen](boost::system::error_code ec) {
      if (ec || gen != http_gen_) return;
      http_timed_out_ = true;
      boost::system::error_code ignored;
      http_.close(ignored);
    });
    http_timed_out_ = false;
    auto finish = [&](std::string error) {
      ++http_gen_;
      http_timer_.cancel();
      boost::system::error_code ignored;
      http_.close(ignored);
      http_error_ = http_timed_out_ ? "timeout" : std::move(error);
    };

    auto [cec] = co_await http_.async_connect(to, kTuple);
    if (cec) {
      finish("connect: " + cec.message());
      co_return std::nullopt;
    }
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_header +
                      "\r\nUser-Agent: streamgate-webrtc_viewers\r\nConnection: close\r\n";
    if (!body.empty()) req += "Content-Type: application/sdp\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto [wec, wn] = co_await asio::async_write(http_, asio::buffer(req), kTuple);
    if (wec) {
      finish("write: " + wec.message());
      co_return std::nullopt;
    }
    std::string in;
    char chunk[4096];
    size_t header_end = std::string::npos;
    std::optional<size_t> content_length;
    HttpResponse resp;
    for (;;) {
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          // Status line and the headers we need.
          auto head = std::string_view(in).substr(0, header_end);
          auto eol = head.find("\r\n");
          auto status_line = head.substr(0, eol);
          if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12) {
            finish("bad status line '" + std::string(status_line) + "'");
            co_return std::nullopt;
          }
          resp.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
          size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
          while (pos < head.size()) {
            auto e = head.find("\r\n", pos);
            if (e == std::string_view::npos) e = head.size();
            auto line = head.substr(pos, e - pos);
            pos = e + 2;
            auto colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            auto name = lower(std::string(line.substr(0, colon)));
            auto value = trim(line.substr(colon + 1));
            if (name == "location") resp.location = value;
            else if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
          }
        }
      }
      if (header_end != std::string::npos && content_length && in.size() >= header_end + 4 + *content_length) break;
      if (in.size() > 1024 * 1024) {
        finish("response larger than 1 MiB");
        co_return std::nullopt;
      }
      auto [rec, n] = co_await http_.async_read_some(asio::buffer(chunk), kTuple);
      if (rec) {
        if (rec == asio::error::eof && header_end != std::string::npos && !content_length) break;
        finish(rec == asio::error::eof ? "connection closed before a complete response" : "read: " + rec.message());
        co_return std::nullopt;
      }
      in.append(chunk, n);
    }
    resp.body = in.substr(header_end + 4, content_length.value_or(in.size() - header_end - 4));
    finish({});
    co_return resp;
  }

  asio::io_context& io_;
  const Config& cfg_;
  size_t index_;
  ViewerResult& result_;
  tcp::socket http_;
  asio::steady_timer http_timer_;
  uint64_t http_gen_ = 0;
  bool http_timed_out_ = false;
  std::string http_error_;
  udp::socket udp_;
  udp::endpoint remote_;
  asio::steady_timer timer_;
  std::mt19937_64 rng_;
  std::string ufrag_, pwd_, remote_ufrag_, remote_pwd_, remote_fingerprint_, location_;
  uint64_t tie_breaker_ = 0;
  Clock::time_point posted_at_;
  Clock::time_point setup_deadline_;
  std::unique_ptr<sg::webrtc::DtlsTransport> dtls_;
  sg::webrtc::DtlsRole dtls_role_ = sg::webrtc::DtlsRole::Client;
  bool dtls_started_ = false;
  bool stopped_ = false;
  std::optional<Clock::time_point> dtls_next_;
  std::unique_ptr<sg::webrtc::SrtpSession> srtp_in_, srtp_out_;
  std::array<SsrcStats, kMaxSsrcs> ssrcs_{};
  size_t ssrc_count_ = 0;
  std::array<std::byte, kReceiveBuffer + sg::webrtc::kSrtpMaxTrailer> buf_{};
  sg::ByteVector report_;
};

awaitable<void> start_viewer(asio::io_context& io, Viewer& v, Clock::time_point at) {
  asio::steady_timer t(io);
  t.expires_at(at);
  co_await t.async_wait(kTuple);
  co_await v.run();
}

void usage() {
  std::fprintf(stderr,
               "usage: webrtc_viewers --url http://host:port/<stream>/whep [--viewers N] [--duration SECONDS]\n"
               "                      [--ramp-ms MS] [--threads T] [--min-ratio R] [--timeout SECONDS]\n"
               "                      [--no-delete] [--no-gro] [--json] [--verbose]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (int rc = sg::bench::parse_args(
          argc, argv,
          {{"--url", [&](const std::string& v) { cfg.url_text = v; }},
           {"--viewers", [&](const std::string& v) { cfg.viewers = std::stoul(v); }},
           {"--duration", [&](const std::string& v) { cfg.duration_s = std::stod(v); }},
           {"--ramp-ms", [&](const std::string& v) { cfg.ramp_ms = std::stod(v); }},
           {"--threads", [&](const std::string& v) { cfg.threads = std::max<size_t>(1, std::stoul(v)); }},
           {"--min-ratio", [&](const std::string& v) { cfg.min_ratio = std::stod(v); }},
           {"--timeout", [&](const std::string& v) { cfg.timeout_s = std::stod(v); }},
           {"--no-delete", [&](const std::string&) { cfg.delete_at_end = false; }, false},
           {"--no-gro", [&](const std::string&) { cfg.gro = false; }, false},
           {"--json", [&](const std::string&) { cfg.json = true; }, false},
           {"--verbose", [&](const std::string&) { cfg.verbose = true; }, false}},
          usage);
      rc >= 0)
    return rc;
  if (cfg.url_text.empty() || cfg.viewers == 0 || cfg.duration_s <= 0 || cfg.ramp_ms < 0 || cfg.timeout_s <= 0 ||
      cfg.min_ratio < 0 || cfg.min_ratio > 1) {
    usage();
    return 2;
  }
  if (!parse_http_url(cfg.url_text, cfg.host, cfg.port, cfg.path)) {
    std::fprintf(stderr, "bad URL '%s' (want http://host[:port]/path)\n", cfg.url_text.c_str());
    return 2;
  }
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(cfg.host, std::to_string(cfg.port), ec);
    if (ec || results.empty()) {
      std::fprintf(stderr, "cannot resolve %s: %s\n", cfg.host.c_str(), ec.message().c_str());
      return 2;
    }
    cfg.server = results.begin()->endpoint();
  }
  raise_file_limit();
  auto cert = sg::webrtc::Certificate::generate("webrtc_viewers");
  if (!cert) {
    std::fprintf(stderr, "certificate: %s\n", cert.error().c_str());
    return 1;
  }
  cfg.cert = *cert;

  cfg.threads = std::min(cfg.threads, cfg.viewers);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (size_t i = 0; i < cfg.threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::vector<ViewerResult> results(cfg.viewers);
  std::vector<std::unique_ptr<Viewer>> viewers;
  std::random_device rd;
  cfg.start = Clock::now();
  auto ramp = std::chrono::microseconds(static_cast<int64_t>(cfg.ramp_ms * 1000));
  cfg.end = cfg.start + ramp * static_cast<int64_t>(cfg.viewers) +
            std::chrono::milliseconds(static_cast<int64_t>(cfg.duration_s * 1000));
  for (size_t i = 0; i < cfg.viewers; ++i) {
    auto& io = *contexts[i % cfg.threads];
    uint64_t seed = (uint64_t{rd()} << 32) ^ rd() ^ i;
    viewers.push_back(std::make_unique<Viewer>(io, cfg, i, results[i], seed));
    asio::co_spawn(io, start_viewer(io, *viewers.back(), cfg.start + ramp * static_cast<int64_t>(i)), asio::detached);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.threads; ++i) threads.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& t : threads) t.join();
  auto wall = std::chrono::duration<double>(Clock::now() - cfg.start).count();

  size_t connected = 0, ok = 0, deleted = 0, answered = 0, ice = 0, dtls = 0, dtls_server = 0;
  uint64_t packets = 0, bytes = 0, lost = 0, srtp_errors = 0, rtcp = 0;
  std::vector<double> ratios, setup;
  std::map<std::string, size_t> errors;
  for (size_t i = 0; i < results.size(); ++i) {
    auto& r = results[i];
    answered += r.answered;
    ice += r.ice;
    dtls += r.dtls;
    dtls_server += r.dtls && r.dtls_server;
    connected += r.media;
    deleted += r.deleted;
    packets += r.packets;
    bytes += r.bytes;
    lost += r.lost;
    srtp_errors += r.srtp_errors;
    rtcp += r.rtcp;
    ratios.push_back(r.ratio());
    if (r.media) setup.push_back(r.setup_ms);
    bool good = r.media && r.ratio() >= cfg.min_ratio;
    ok += good;
    std::string why = r.error;
    if (why.empty() && r.media && !good) why = "receive ratio below --min-ratio";
    if (!why.empty()) ++errors[why];
    if (cfg.verbose)
      std::fprintf(stderr, "viewer %zu: %s received %llu lost %llu ratio %.4f setup %.1f ms [%s]%s%s\n", i,
                   good ? "ok" : "FAILED", static_cast<unsigned long long>(r.packets),
                   static_cast<unsigned long long>(r.lost), r.ratio(), r.setup_ms, r.per_ssrc.c_str(),
                   why.empty() ? "" : " error: ", why.c_str());
  }
  bool success = ok == cfg.viewers;
  size_t failed = cfg.viewers - ok;
  if (cfg.json) {
    std::printf(
        "{\"url\":\"%s\",\"viewers\":%zu,\"answered\":%zu,\"ice\":%zu,\"dtls\":%zu,\"dtls_server\":%zu,"
        "\"connected\":%zu,\"ok\":%zu,"
        "\"failed\":%zu,\"deleted\":%zu,\"min_ratio\":%.4f,\"packets\":%llu,\"bytes\":%llu,\"lost\":%llu,"
        "\"srtp_errors\":%llu,\"rtcp\":%llu,\"ratio\":{\"min\":%.5f,\"median\":%.5f},"
        "\"setup_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},\"seconds\":%.3f,\"errors\":{",
        json_escape(cfg.url_text).c_str(), cfg.viewers, answered, ice, dtls, dtls_server, connected, ok, failed, deleted,
        cfg.min_ratio, static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(srtp_errors),
        static_cast<unsigned long long>(rtcp), percentile(ratios, 0), percentile(ratios, 0.5), percentile(setup, 0.5),
        percentile(setup, 0.99), percentile(setup, 1), wall);
    bool first = true;
    size_t shown = 0;
    for (auto& [e, n] : errors) {
      if (shown++ == 10) break;
      std::printf("%s\"%s\":%zu", first ? "" : ",", json_escape(e).c_str(), n);
      first = false;
    }
    std::printf("}}\n");
  } else {
    std::printf("url %s, %.1f s\n", cfg.url_text.c_str(), wall);
    std::printf("viewers: %zu requested, %zu answered, %zu ICE, %zu DTLS (%zu as DTLS server), %zu connected (media), "
                "%zu ok, %zu failed, %zu deleted\n",
                cfg.viewers, answered, ice, dtls, dtls_server, connected, ok, failed, deleted);
    std::printf("packets received %llu (%llu bytes), lost %llu, SRTP errors %llu, SRTCP received %llu\n",
                static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(srtp_errors),
                static_cast<unsigned long long>(rtcp));
    std::printf("receive ratio: min %.5f  median %.5f  (required %.4f)\n", percentile(ratios, 0),
                percentile(ratios, 0.5), cfg.min_ratio);
    std::printf("setup time (POST to first media packet): p50 %.1f ms  p99 %.1f ms  max %.1f ms\n",
                percentile(setup, 0.5), percentile(setup, 0.99), percentile(setup, 1));
    size_t shown = 0;
    for (auto& [e, n] : errors) {
      if (shown++ == 10) break;
      std::printf("error x%zu: %s\n", n, e.c_str());
    }
  }
  return success ? 0 : 1;
}
