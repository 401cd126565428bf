// kernel_floor: the cost floor of a fan-out on this machine. Sends the bytes streamgate's fan-out sends, to the same
// number of loopback sockets, with the server's syscall pattern and nothing else (no parsing, no queues, no
// crypto), and reports the CPU time (utime + stime) of the sending process only, per second of stream sent.
// bench/run.py divides streamgate's CPU per reader/viewer by this to print "x.x times the kernel floor".
//
//   kernel_floor --mode rtsp|webrtc --sinks N --duration SECONDS [--kbps K] [--fps 30] [--threads W] [--uring B]
//                [--slices S] [--no-gro] [--json]
//
// rtsp: N TCP connections over loopback; per frame and reader one sendmsg gathering, per RTP packet, a 16-byte
//   header (interleaved '$' header + RTP fixed header, rewritten per reader) and the shared payload of up to 1400
//   bytes, as the RTSP server's sender writes a unit (src/rtsp_session/server.cpp). Default 2000 kb/s.
//   --threads W (default 1): W sending threads with N/W connections each, as W server workers split the readers;
//   each send is timed from the frame's clock tick to the return of that reader's sendmsg (on loopback the data is
//   in the reader's socket by then): the latency floor of sequential passes, reported as p50/p99/p999.
//   --uring B: the same sendmsg calls (MSG_DONTWAIT) handed to the kernel B at a time in one io_uring submission,
//   as the server's workers do (src/net/send_batch.hpp, B = 64); each send is then timed at the end of its batch.
//   Without io_uring (kernel.io_uring_disabled, seccomp) it says so on stderr and sends one sendmsg each.
// webrtc: one UDP socket sending to N loopback UDP sockets; per frame, every viewer's datagrams (RTP header, up to
//   1200 payload bytes and a 16-byte SRTP tag, copied into a 64-slot batch as the server's protect step writes
//   them) go out with sendmmsg, a viewer's run of equal-size datagrams as one UDP GSO message when the kernel has
//   it, as the WebRTC server does (src/webrtc/server.cpp). Default 600 kb/s. --slices S (default 1): each frame is
//   S equal NAL units (an encoder's slices), each fragmented on its own as RTP does (FU-A), so a frame ends S runs of
//   datagrams and goes out as at least S GSO messages, as the server sends such a stream.
// A child process reads and discards everything (its CPU is not counted): the receivers are outside the floor as
// the load tools are outside streamgate's CPU in the bench table. Its UDP sockets take UDP GRO as webrtc_viewers'
// do (--no-gro: neither), so a GSO message is queued whole, not split per datagram in the sender's softirq.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tool_support.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace {

constexpr size_t kRtspPayload = 1400;    // rtsp_publishers' FU-A size
constexpr size_t kWebrtcPayload = 1200;  // the WebRTC server's kMaxPayload
constexpr size_t kRtpHeader = 12;
constexpr size_t kSrtpTag = 16;  // AEAD_AES_128_GCM
constexpr size_t kSlots = 64;    // the WebRTC server's sendmmsg batch
constexpr size_t kMaxGsoSegments = 64;

struct Config {
  std::string mode;
  size_t sinks = 0;
  double duration_s = 10;
  double kbps = 0;
  double fps = 30;
  size_t slices = 1;
  size_t threads = 1;  // rtsp
  size_t uring = 0;    // rtsp: readers per io_uring submission (0: one sendmsg each)
  bool gro = true;
  bool json = false;
};

struct Counters {
  uint64_t syscalls = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint64_t short_or_failed = 0;  // partial TCP writes completed later, or UDP messages the kernel refused
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "kernel_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// The receiving side: reads and discards until the parent goes away.
[[noreturn]] void sink_loop(const std::vector<int>& fds) {
  int ep = ::epoll_create1(0);
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::vector<char> buf(256 * 1024);
  std::vector<epoll_event> events(256);
  size_t open = fds.size();
  while (open > 0) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) break;
    if (::getppid() == 1) break;  // the parent died
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      for (;;) {
        auto r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r > 0) continue;
        if (r == 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          --open;
        }
        break;
      }
    }
  }
  _exit(0);
}

int64_t monotonic_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Frames at cfg.fps: calls send_frame(frame_bytes, index, tick_ns) on an absolute clock (tick_ns: the frame's
// CLOCK_MONOTONIC time) for the duration; returns the elapsed time.
template <class F>
double paced(const Config& cfg, F&& send_frame) {
  const auto frame_bytes = static_cast<size_t>(cfg.kbps * 1000 / 8 / cfg.fps);
  const auto interval_ns = static_cast<int64_t>(1e9 / cfg.fps);
  timespec next{};
  ::clock_gettime(CLOCK_MONOTONIC, &next);
  const auto frames = static_cast<int64_t>(cfg.duration_s * cfg.fps);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t f = 0; f < frames; ++f) {
    send_frame(frame_bytes, f, static_cast<int64_t>(next.tv_sec) * 1000000000 + next.tv_nsec);
    next.tv_nsec += interval_ns;
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      ++next.tv_sec;
    }
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Packet sizes of one frame split at `max_payload`.
std::vector<size_t> split(size_t frame_bytes, size_t max_payload) {
  std::vector<size_t> sizes;
  while (frame_bytes > 0) {
    auto n = std::min(frame_bytes, max_payload);
    sizes.push_back(n);
    frame_bytes -= n;
  }
  return sizes;
}

struct Run {
  double seconds = 0;
  double cpu = 0;
  Counters c;
  sg::bench::LatencyHistogram latency;  // rtsp: each send after the frame's tick
  uint64_t run_ns = 0;                  // rtsp: the sending threads' time on a CPU (their schedstat) ...
  uint64_t wait_ns = 0;                 // ... and runnable but waiting for one (in a pass, or woken for the next frame)
};

// The calling thread's scheduler times: {ns on a CPU, ns runnable but waiting for one} ({0, 0} if unavailable).
std::pair<uint64_t, uint64_t> thread_sched() {
  unsigned long long run = 0, wait = 0;
  if (FILE* f = std::fopen("/proc/thread-self/schedstat", "r")) {
    if (std::fscanf(f, "%llu %llu", &run, &wait) != 2) run = wait = 0;
    std::fclose(f);
  }
  return {run, wait};
}

Run run_rtsp(const Config& cfg) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = loopback(0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  if (::listen(listener, 4096) != 0) die("listen");
  pid_t child = ::fork();
  if (child == 0) {
    std::vector<int> fds;
    for (size_t i = 0; i < cfg.sinks; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
      fds.push_back(fd);
    }
    sink_loop(fds);
  }
  std::vector<int> conns;
  for (size_t i = 0; i < cfg.sinks; ++i) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as Asio sessions that write whole units
    conns.push_back(fd);
  }
  const std::vector<std::byte> payload(kRtspPayload + kRtpHeader, std::byte{0x5a});
  // One sender per thread, each with every W-th connection, paced on the same clock as the server's workers are
  // woken by the same unit.
  const size_t threads = std::min(cfg.threads, conns.size());
  std::vector<Run> parts(threads);
  auto sender = [&](size_t t) {
    Run& part = parts[t];
    std::vector<int> mine;
    for (size_t r = t; r < conns.size(); r += threads) mine.push_back(conns[r]);
    std::vector<std::array<std::byte, 16>> headers;
    std::vector<iovec> iov;
    std::vector<uint16_t> seq(mine.size(), 0);
    // A packet's 16 bytes of this reader's own: the interleaved '$' header and the RTP fixed header.
    auto frame_header = [&](std::array<std::byte, 16>& h, size_t payload_size, uint16_t sequence) {
      auto size = static_cast<uint16_t>(payload_size + kRtpHeader);
      h[0] = std::byte{'$'};
      h[1] = std::byte{0};
      h[2] = static_cast<std::byte>(size >> 8);
      h[3] = static_cast<std::byte>(size & 0xff);
      std::memcpy(h.data() + 4, payload.data(), kRtpHeader);
      h[6] = static_cast<std::byte>(sequence >> 8);
      h[7] = static_cast<std::byte>(sequence & 0xff);
    };
    io_uring ring{};
    if (cfg.uring > 0) {
      io_uring_params p{};
      p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
      if (int rc = io_uring_queue_init_params(static_cast<unsigned>(cfg.uring), &ring, &p); rc < 0) {
        errno = -rc;
        die("io_uring_queue_init");
      }
    }
    std::vector<std::array<std::byte, 16>> all_headers;
    std::vector<iovec> all_iov;
    std::vector<msghdr> msgs(mine.size());
    std::vector<size_t> totals(mine.size());
    const auto sched0 = thread_sched();
    if (cfg.uring > 0) {
      part.seconds = paced(cfg, [&](size_t frame_bytes, int64_t, int64_t tick_ns) {
        auto sizes = split(frame_bytes, kRtspPayload);
        const size_t np = sizes.size();
        all_headers.resize(mine.size() * np);
        all_iov.resize(mine.size() * np * 2);
        for (size_t r = 0; r < mine.size(); ++r) {
          size_t total = 0;
          for (size_t p = 0; p < np; ++p) {
            auto& h = all_headers[r * np + p];
            frame_header(h, sizes[p], seq[r]++);
            all_iov[(r * np + p) * 2] = {h.data(), h.size()};
            all_iov[(r * np + p) * 2 + 1] = {const_cast<std::byte*>(payload.data()) + kRtpHeader, sizes[p]};
            total += h.size() + sizes[p];
            ++part.c.packets;
          }
          msgs[r] = msghdr{};
          msgs[r].msg_iov = &all_iov[r * np * 2];
          msgs[r].msg_iovlen = np * 2;
          totals[r] = total;
        }
        for (size_t first = 0; first < mine.size(); first += cfg.uring) {
          size_t last = std::min(mine.size(), first + cfg.uring);
          for (size_t r = first; r < last; ++r) {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            io_uring_prep_sendmsg(sqe, mine[r], &msgs[r], MSG_NOSIGNAL | MSG_DONTWAIT);
            io_uring_sqe_set_data64(sqe, r);
          }
          io_uring_submit_and_wait(&ring, static_cast<unsigned>(last - first));
          ++part.c.syscalls;
          auto now = monotonic_ns();
          io_uring_cqe* cqe = nullptr;
          unsigned head = 0, seen = 0;
          io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            auto r = static_cast<size_t>(io_uring_cqe_get_data64(cqe));
            if (cqe->res < 0 || static_cast<size_t>(cqe->res) < totals[r]) ++part.c.short_or_failed;
            part.latency.add(now - tick_ns);
            part.c.bytes += totals[r];
          }
          io_uring_cq_advance(&ring, seen);
        }
      });
    } else
      part.seconds = paced(cfg, [&](size_t frame_bytes, int64_t, int64_t tick_ns) {
        auto sizes = split(frame_bytes, kRtspPayload);
        headers.resize(sizes.size());
        for (size_t r = 0; r < mine.size(); ++r) {
          iov.clear();
          size_t total = 0;
          for (size_t p = 0; p < sizes.size(); ++p) {
            auto& h = headers[p];
            frame_header(h, sizes[p], seq[r]++);
            iov.push_back({h.data(), h.size()});
            iov.push_back({const_cast<std::byte*>(payload.data()) + kRtpHeader, sizes[p]});
            total += h.size() + sizes[p];
            ++part.c.packets;
          }
          msghdr msg{};
          msg.msg_iov = iov.data();
          msg.msg_iovlen = iov.size();
          size_t sent = 0;
          for (;;) {
            auto n = ::sendmsg(mine[r], &msg, MSG_NOSIGNAL);
            ++part.c.syscalls;
            if (n < 0) {
              if (errno == EINTR) continue;
              die("sendmsg");
            }
            sent += static_cast<size_t>(n);
            if (sent >= total) break;
            ++part.c.short_or_failed;  // blocking socket: the rest of the gather list goes in the next call
            auto left = static_cast<size_t>(n);
            while (msg.msg_iovlen > 0 && left >= msg.msg_iov->iov_len) {
              left -= msg.msg_iov->iov_len;
              ++msg.msg_iov;
              --msg.msg_iovlen;
            }
            msg.msg_iov->iov_base = static_cast<std::byte*>(msg.msg_iov->iov_base) + left;
            msg.msg_iov->iov_len -= left;
          }
          part.latency.add(monotonic_ns() - tick_ns);
          part.c.bytes += total;
        }
      });
    const auto sched1 = thread_sched();
    part.run_ns = sched1.first - sched0.first;
    part.wait_ns = sched1.second - sched0.second;
    if (cfg.uring > 0) io_uring_queue_exit(&ring);
  };
  Run run;
  double cpu0 = cpu_seconds();
  std::vector<std::thread> others;
  for (size_t t = 1; t < threads; ++t) others.emplace_back(sender, t);
  sender(0);
  for (auto& th : others) th.join();
  for (const auto& part : parts) {
    run.seconds = std::max(run.seconds, part.seconds);
    run.c.syscalls += part.c.syscalls;
    run.c.bytes += part.c.bytes;
    run.c.packets += part.c.packets;
    run.c.short_or_failed += part.c.short_or_failed;
    run.latency.merge(part.latency);
    run.run_ns += part.run_ns;
    run.wait_ns += part.wait_ns;
  }
  run.cpu = cpu_seconds() - cpu0;
  for (int fd : conns) ::close(fd);
  ::close(listener);
  int st;
  ::waitpid(child, &st, 0);
  return run;
}

Run run_webrtc(const Config& cfg) {
  // The sinks: N UDP sockets in the child; their ports come back over a pipe.
  int pipefd[2];
  if (::pipe(pipefd) != 0) die("pipe");
  pid_t child = ::fork();
  if (child == 0) {
    ::close(pipefd[0]);
    std::vector<int> fds;
    for (size_t i = 0; i < cfg.sinks; ++i) {
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      auto a = loopback(0);
      int buf = 1 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);  // as webrtc_viewers
      if (cfg.gro) {  // as webrtc_viewers (unless --no-gro there and here)
        int on = 1;
        ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
      }
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
      socklen_t len = sizeof a;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
      uint16_t port = ntohs(a.sin_port);
      if (::write(pipefd[1], &port, sizeof port) != sizeof port) die("pipe write");
      fds.push_back(fd);
    }
    ::close(pipefd[1]);
    // UDP has no EOF: the child ends when the parent kills it.
    sink_loop(fds);
  }
  ::close(pipefd[1]);
  std::vector<sockaddr_in> dests;
  for (size_t i = 0; i < cfg.sinks; ++i) {
    uint16_t port = 0;
    if (::read(pipefd[0], &port, sizeof port) != sizeof port) die("pipe read");
    dests.push_back(loopback(port));
  }
  ::close(pipefd[0]);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);  // as the server: sendmmsg never blocks
  int probe = IP_PMTUDISC_PROBE;  // as the server: DF set (no IP ID hashing per datagram)
  ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);

  constexpr size_t kSlotSize = 2048;
  std::vector<std::byte> slots(kSlots * kSlotSize);
  std::vector<std::byte> payload(kWebrtcPayload, std::byte{0xa5});
  std::array<mmsghdr, kSlots> msgs{};
  std::array<iovec, kSlots> iovs{};
  std::array<size_t, kSlots> dest_of{};
  struct alignas(cmsghdr) Control {
    std::byte bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::array<Control, kSlots> cmsgs{};
  bool gso = true;
  size_t queued = 0;
  Run run;

  auto flush = [&] {
    size_t first = 0;
    while (first < queued) {
      size_t m = 0;
      std::array<size_t, kSlots> first_of{};
      for (size_t i = first; i < queued; ++m) {
        size_t j = i + 1;
        const size_t seg = iovs[i].iov_len;
        if (gso)
          while (j < queued && j - i < kMaxGsoSegments && iovs[j - 1].iov_len == seg && iovs[j].iov_len <= seg &&
                 dest_of[j] == dest_of[i])
            ++j;
        auto& msg = msgs[m];
        msg = {};
        msg.msg_hdr.msg_iov = &iovs[i];
        msg.msg_hdr.msg_iovlen = j - i;
        msg.msg_hdr.msg_name = &dests[dest_of[i]];
        msg.msg_hdr.msg_namelen = sizeof(sockaddr_in);
        if (j - i > 1) {
          msg.msg_hdr.msg_control = cmsgs[m].bytes;
          msg.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
          cmsghdr* c = CMSG_FIRSTHDR(&msg.msg_hdr);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          auto size = static_cast<uint16_t>(seg);
          std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        first_of[m] = i;
        i = j;
      }
      int r = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(m), 0);
      ++run.c.syscalls;
      if (r < 0) {
        if (errno == EINTR) continue;
        if (gso && msgs[0].msg_hdr.msg_iovlen > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
          gso = false;
          continue;
        }
        // A full socket buffer: the server drops the rest of the batch, and so do we (counted).
        run.c.short_or_failed += queued - first;
        break;
      }
      auto done = static_cast<size_t>(r);
      for (size_t k = 0; k < done; ++k) {
        run.c.bytes += msgs[k].msg_len;
        run.c.packets += msgs[k].msg_hdr.msg_iovlen;
      }
      first = done < m ? first_of[done] : queued;
    }
    queued = 0;
  };

  double cpu0 = cpu_seconds();
  run.seconds = paced(cfg, [&](size_t frame_bytes, int64_t, int64_t) {
    std::vector<size_t> sizes;
    for (size_t s = 0; s < cfg.slices; ++s) {
      const size_t slice = frame_bytes / cfg.slices + (s < frame_bytes % cfg.slices ? 1 : 0);
      for (auto size : split(slice, kWebrtcPayload)) sizes.push_back(size);
    }
    for (size_t v = 0; v < dests.size(); ++v) {
      if (queued + sizes.size() > kSlots) flush();
      for (auto size : sizes) {
        auto* slot = slots.data() + queued * kSlotSize;
        auto len = kRtpHeader + size + kSrtpTag;
        std::memcpy(slot, payload.data(), kRtpHeader);
        std::memcpy(slot + kRtpHeader, payload.data(), size);  // the protect step writes the packet into the slot
        std::memset(slot + kRtpHeader + size, 0, kSrtpTag);
        iovs[queued] = {slot, len};
        dest_of[queued] = v;
        ++queued;
      }
    }
    flush();
  });
  run.cpu = cpu_seconds() - cpu0;
  ::close(fd);
  ::kill(child, SIGTERM);
  int st;
  ::waitpid(child, &st, 0);
  if (!gso) std::fprintf(stderr, "kernel_floor: UDP GSO unavailable, one datagram per packet\n");
  return run;
}

void usage() {
  std::fprintf(
      stderr,
      "usage: kernel_floor --mode rtsp|webrtc --sinks N --duration SECONDS [--kbps K] [--fps F] [--threads W]\n"
      "                    [--uring B] [--slices S] [--no-gro] [--json]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (int rc = sg::bench::parse_args(argc, argv,
                                     {{"--mode", [&](const std::string& v) { cfg.mode = v; }},
                                      {"--sinks", [&](const std::string& v) { cfg.sinks = std::stoul(v); }},
                                      {"--duration", [&](const std::string& v) { cfg.duration_s = std::stod(v); }},
                                      {"--kbps", [&](const std::string& v) { cfg.kbps = std::stod(v); }},
                                      {"--fps", [&](const std::string& v) { cfg.fps = std::stod(v); }},
                                      {"--slices", [&](const std::string& v) { cfg.slices = std::stoul(v); }},
                                      {"--threads", [&](const std::string& v) { cfg.threads = std::stoul(v); }},
                                      {"--uring", [&](const std::string& v) { cfg.uring = std::stoul(v); }},
                                      {"--no-gro", [&](const std::string&) { cfg.gro = false; }, false},
                                      {"--json", [&](const std::string&) { cfg.json = true; }, false}},
                                     usage);
      rc >= 0)
    return rc;
  if ((cfg.mode != "rtsp" && cfg.mode != "webrtc") || cfg.sinks == 0 || cfg.duration_s <= 0 || cfg.fps <= 0 ||
      cfg.kbps < 0 || cfg.slices == 0 || cfg.slices > 16 || cfg.threads == 0 || cfg.threads > 64) {
    usage();
    return 2;
  }
  if (cfg.kbps == 0) cfg.kbps = cfg.mode == "rtsp" ? 2000 : 600;
  ::signal(SIGPIPE, SIG_IGN);
  sg::bench::raise_file_limit();
  if (cfg.uring > 0) {
    io_uring probe{};
    if (int rc = io_uring_queue_init(4, &probe, 0); rc < 0) {
      std::fprintf(stderr, "kernel_floor: io_uring unavailable (%s): one sendmsg per reader\n", std::strerror(-rc));
      cfg.uring = 0;
    } else {
      io_uring_queue_exit(&probe);
    }
  }
  auto run = cfg.mode == "rtsp" ? run_rtsp(cfg) : run_webrtc(cfg);
  // Per second of stream, not of wall time: when the box is too loaded to keep up (the sender blocks on full socket
  // buffers, the pacing falls behind), the floor still sent `duration` seconds of the stream for this CPU.
  double percent = 100.0 * run.cpu / cfg.duration_s;
  double per_sink = percent / static_cast<double>(cfg.sinks);
  if (cfg.json) {
    std::printf(
        "{\"mode\":\"%s\",\"sinks\":%zu,\"kbps\":%.0f,\"seconds\":%.3f,\"cpu_s\":%.4f,\"cpu_percent\":%.3f,"
        "\"per_sink_percent\":%.6f,\"syscalls\":%llu,\"packets\":%llu,\"bytes\":%llu,\"short_or_failed\":%llu",
        cfg.mode.c_str(), cfg.sinks, cfg.kbps, run.seconds, run.cpu, percent, per_sink,
        static_cast<unsigned long long>(run.c.syscalls), static_cast<unsigned long long>(run.c.packets),
        static_cast<unsigned long long>(run.c.bytes), static_cast<unsigned long long>(run.c.short_or_failed));
    if (run.latency.samples > 0)
      std::printf(
          ",\"threads\":%zu,\"uring\":%zu,\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"samples\":%llu}",
          cfg.threads, cfg.uring, run.latency.quantile_us(0.5), run.latency.quantile_us(0.99),
          run.latency.quantile_us(0.999), static_cast<unsigned long long>(run.latency.samples));
    if (run.run_ns > 0)
      std::printf(",\"sched_ns\":{\"run\":%llu,\"wait\":%llu}", static_cast<unsigned long long>(run.run_ns),
                  static_cast<unsigned long long>(run.wait_ns));
    std::printf("}\n");
  } else {
    std::printf(
        "%s floor: %zu sinks at %.0f kb/s, %.1f s of stream in %.1f s: CPU %.3f s (%.2f%% of a core, %.5f%% "
        "per sink), %llu syscalls, %llu packets, %llu bytes, %llu short/failed\n",
        cfg.mode.c_str(), cfg.sinks, cfg.kbps, cfg.duration_s, run.seconds, run.cpu, percent, per_sink,
        static_cast<unsigned long long>(run.c.syscalls), static_cast<unsigned long long>(run.c.packets),
        static_cast<unsigned long long>(run.c.bytes), static_cast<unsigned long long>(run.c.short_or_failed));
    if (run.latency.samples > 0)
      std::printf("sends after the frame's tick (%zu threads): p50 %.0f us  p99 %.0f us  p999 %.0f us\n", cfg.threads,
                  run.latency.quantile_us(0.5), run.latency.quantile_us(0.99), run.latency.quantile_us(0.999));
    if (run.run_ns > 0)
      std::printf("sending threads: %.3f s on a CPU, %.3f s runnable but waiting for one\n", run.run_ns / 1e9,
                  run.wait_ns / 1e9);
  }
  return 0;
}
