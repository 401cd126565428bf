#include "srt_session/client_source.hpp"

#include <netdb.h>
#include <pthread.h>
#include <srt/srt.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>

#include "app/log.hpp"
#include "srt/url.hpp"
#include "srt_session/libsrt.hpp"
#include "srt_session/ts_ingest.hpp"

namespace sg::srt_session {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using media::StreamState;

namespace {

constexpr int kPollMs = 250;  // connect and receive wait at most this long before looking at stop()

std::string seconds_text(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000.0).substr(0, 4) + " s"; }

// Why libsrt refused a connection: its own reasons by name, a server's (SRT_REJX_*: 1000 + an HTTP-like status,
// as streamgate and MediaMTX send for a bad stream id or credentials) by status.
std::string reject_text(SRTSOCKET s) {
  const int code = srt_getrejectreason(s);
  if (code <= 0) return {};
  if (code >= SRT_REJC_PREDEFINED) return "the server refused the stream id with status " + std::to_string(code - SRT_REJC_PREDEFINED);
  return srt_rejectreason_str(code);
}

}  // namespace

struct SrtClientSource::Shared : std::enable_shared_from_this<SrtClientSource::Shared> {
  Shared(asio::io_context& c, std::shared_ptr<media::Stream> s, SrtClientOptions o)
      : ctx(c), stream(std::move(s)), opt(std::move(o)) {}

  asio::io_context& ctx;
  const std::shared_ptr<media::Stream> stream;
  const SrtClientOptions opt;
  std::string url_text;  // for logs and errors: host and port only (the stream id and query may carry secrets)

  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  SRTSOCKET socket = SRT_INVALID_SOCK;  // the connection in progress, closed by stop()

  std::atomic<size_t> queued{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<bool> delivered{false};  // the current connection's media reached the stream

  // On the worker only.
  std::unique_ptr<TsIngest> ingest;
  bool error_logged = false;
  StreamState shown = StreamState::Connecting;
  std::string shown_error;

  bool is_stopped() {
    std::lock_guard lk(mu);
    return stopped;
  }

  // ---- on the worker
  void report(StreamState state, const std::string& why = {}) {
    std::lock_guard lk(mu);
    if (stopped) return;
    stream->set_state(state, why);
    if (state == shown && why == shown_error) return;
    shown = state;
    shown_error = why;
    if (state == StreamState::Error)
      log::warn("srt source error", {{"stream", stream->id()}, {"url", url_text}, {"error", why}});
    else
      log::info("srt source connecting", {{"stream", stream->id()}, {"url", url_text}});
  }

  void on_data(const ByteVector& data) {
    queued.fetch_sub(data.size(), std::memory_order_relaxed);
    if (!ingest || is_stopped()) return;
    if (auto s = ingest->on_data(data); !s && !error_logged) {
      error_logged = true;  // once per connection: a broken encoder would otherwise log per frame
      log::warn("srt source sent media that cannot be used", {{"stream", stream->id()}, {"url", url_text}, {"error", s.error()}});
    }
    if (ingest->started()) delivered.store(true, std::memory_order_relaxed);
  }

  // ---- on the pull thread
  void post(std::function<void(Shared&)> f) {
    asio::post(ctx, [self = shared_from_this(), f = std::move(f)] { f(*self); });
  }

  void wait_for(std::chrono::milliseconds d) {
    std::unique_lock lk(mu);
    cv.wait_for(lk, d, [this] { return stopped; });
  }

  // One connection, from resolving the host to its end; returns why it ended.
  std::string attempt(const srt::SrtUrl& url) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found); rc != 0 || !found)
      return "cannot resolve " + url.host + ": " + gai_strerror(rc);
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, &freeaddrinfo);

    const SRTSOCKET s = srt_create_socket();
    if (s == SRT_INVALID_SOCK) return "SRT: cannot create a socket: " + last_error();
    {
      std::lock_guard lk(mu);
      if (stopped) {
        srt_close(s);
        return "stopped";
      }
      socket = s;
    }
    std::string error = connect_and_receive(s, url, *found);
    {
      std::lock_guard lk(mu);
      if (socket == s) {
        srt_close(s);
        socket = SRT_INVALID_SOCK;
      }
    }
    return error;
  }

  std::string connect_and_receive(SRTSOCKET s, const srt::SrtUrl& url, const addrinfo& address) {
    const int no = 0, yes = 1;
    const int latency = url.latency_ms.value_or(opt.default_latency_ms);
    const int connect_ms = static_cast<int>(std::max<int64_t>(1000, opt.request_timeout.count()));
    const int poll_ms = kPollMs;
    bool ok = srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no) == 0 &&
              srt_setsockflag(s, SRTO_LATENCY, &latency, sizeof latency) == 0 &&
              srt_setsockflag(s, SRTO_CONNTIMEO, &connect_ms, sizeof connect_ms) == 0 &&
              srt_setsockflag(s, SRTO_RCVTIMEO, &poll_ms, sizeof poll_ms) == 0;
    if (ok && !url.stream_id.empty())
      ok = srt_setsockflag(s, SRTO_STREAMID, url.stream_id.data(), static_cast<int>(url.stream_id.size())) == 0;
    if (ok && !url.passphrase.empty())
      ok = srt_setsockflag(s, SRTO_PASSPHRASE, url.passphrase.data(), static_cast<int>(url.passphrase.size())) == 0;
    if (!ok) return "SRT: cannot set socket options: " + last_error();

    // Non-blocking connect, waited for in slices so that stop() is seen at once.
    if (srt_connect(s, address.ai_addr, static_cast<int>(address.ai_addrlen)) == SRT_ERROR)
      return "SRT connect to " + url_text + " failed: " + last_error();
    const int eid = srt_epoll_create();
    const int events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;
    srt_epoll_add_usock(eid, s, &events);
    const auto connect_deadline = Clock::now() + std::chrono::milliseconds(connect_ms) + 1s;
    for (;;) {
      SRTSOCKET ready[1];
      int n_ready = 1;
      SRTSOCKET broken[1];
      int n_broken = 1;
      srt_epoll_wait(eid, ready, &n_ready, broken, &n_broken, kPollMs, nullptr, nullptr, nullptr, nullptr);
      const SRT_SOCKSTATUS st = srt_getsockstate(s);
      if (st == SRTS_CONNECTED) break;
      if (is_stopped()) {
        srt_epoll_release(eid);
        return "stopped";
      }
      if (st != SRTS_CONNECTING || Clock::now() > connect_deadline) {
        srt_epoll_release(eid);
        const std::string why = reject_text(s);
        return "SRT connect to " + url_text + " failed: " + (why.empty() ? "no answer (timed out)" : why);
      }
    }
    srt_epoll_release(eid);
    srt_setsockflag(s, SRTO_RCVSYN, &yes, sizeof yes);  // receive blocks, for at most SRTO_RCVTIMEO

    auto last = Clock::now();
    char buf[1500];
    while (!is_stopped()) {
      const int n = srt_recvmsg(s, buf, sizeof buf);
      if (n == SRT_ERROR) {
        const int code = srt_getlasterror(nullptr);
        if (code != SRT_EASYNCRCV && code != SRT_ETIMEOUT) return "the SRT connection ended: " + last_error();
        if (Clock::now() - last > opt.source_timeout) return "nothing received for " + seconds_text(opt.source_timeout);
        continue;
      }
      if (n <= 0) continue;
      last = Clock::now();
      if (queued.load(std::memory_order_relaxed) + static_cast<size_t>(n) > kMaxQueuedBytes) {
        dropped.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);  // the worker is behind
        continue;
      }
      queued.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
      ByteVector data(reinterpret_cast<const std::byte*>(buf), reinterpret_cast<const std::byte*>(buf) + n);
      post([data = std::move(data)](Shared& sh) { sh.on_data(data); });
    }
    return "stopped";
  }

  void run() {
    pthread_setname_np(pthread_self(), "sg-srt-pull");
    auto url = srt::parse_srt_url(opt.url);
    if (!url) {
      const std::string why = "bad source URL: " + url.error();
      post([why](Shared& sh) { sh.report(StreamState::Error, why); });
      return;
    }
    url_text = "srt://" + (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) + ":" +
               std::to_string(url->port);
    if (auto s = startup(); !s) {
      post([why = s.error()](Shared& sh) { sh.report(StreamState::Error, why); });
      return;
    }
    auto delay = opt.backoff_initial;
    while (!is_stopped()) {
      delivered.store(false);
      post([](Shared& sh) {
        sh.ingest = std::make_unique<TsIngest>(sh.stream);
        sh.error_logged = false;
        sh.report(StreamState::Connecting);
      });
      const std::string error = attempt(*url);
      post([error](Shared& sh) {
        sh.ingest.reset();
        if (error != "stopped") sh.report(StreamState::Error, error);
      });
      if (is_stopped()) break;
      if (delivered.load()) delay = opt.backoff_initial;
      wait_for(delay);
      if (is_stopped()) break;
      delay = std::min(delay * 2, opt.backoff_max);
      post([](Shared& sh) {
        if (sh.is_stopped()) return;
        sh.stream->count_reconnect();
        log::info("srt source reconnecting", {{"stream", sh.stream->id()}, {"url", sh.url_text}});
      });
    }
    cleanup();
  }
};

SrtClientSource::SrtClientSource(asio::io_context& context, std::shared_ptr<media::Stream> stream,
                                 SrtClientOptions options)
    : shared_(std::make_shared<Shared>(context, std::move(stream), std::move(options))) {
  thread_ = std::thread([sh = shared_] { sh->run(); });
}

SrtClientSource::~SrtClientSource() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void SrtClientSource::stop() {
  std::lock_guard lk(shared_->mu);
  if (shared_->stopped) return;
  shared_->stopped = true;
  if (shared_->socket != SRT_INVALID_SOCK) {
    srt_close(shared_->socket);
    shared_->socket = SRT_INVALID_SOCK;
  }
  shared_->cv.notify_all();
}

}  // namespace sg::srt_session
