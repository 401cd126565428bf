// streamgate [--config FILE] [--http ADDR] [--rtsp ADDR] [--rtmp ADDR] [--srt ADDR] [--https ADDR] [--rtsps ADDR] [--webrtc-udp ADDR]
//            [--workers N] [--log-level LEVEL] [--log-format json|text] [--version] [--help]
#include <boost/asio/io_context.hpp>
#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "app/app.hpp"
#include "app/config.hpp"
#include "app/heap_trimmer.hpp"
#include "app/log.hpp"
#include "app/probe.hpp"
#include "auth/policy.hpp"
#include "rtsp_session/exec_supervisor.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char* kHelp = R"(streamgate - RTSP / WebRTC / HLS media server

Usage: streamgate [options]

Options:
  --config FILE        YAML config file (default: built-in defaults, no streams)
  --http ADDR          HTTP listen address (API, WHEP, HLS, pages, metrics), default 0.0.0.0:8080
  --rtsp ADDR          RTSP listen address, default 0.0.0.0:8554
  --rtmp ADDR          RTMP listen address (turns RTMP on; off unless the config has an rtmp section)
  --srt ADDR           SRT listen address, UDP (turns SRT on; off unless the config has an srt section)
  --https ADDR         HTTPS listen address, default 0.0.0.0:8443 (needs tls.cert and tls.key in the config)
  --rtsps ADDR         RTSPS listen address, default 0.0.0.0:8322 (likewise)
  --webrtc-udp ADDR    WebRTC UDP address, default 0.0.0.0:8189
  --workers N          worker threads (0 = number of cores)
  --log-level LEVEL    trace | debug | info | warn | error | off
  --log-format FORMAT  json | text
  --check-config       load and validate the config, then exit (0 = valid)
  --hash-password      read a password from stdin, print its pbkdf2-sha256 hash for auth.internal_users
  --probe URL          GET an http:// URL (e.g. http://127.0.0.1:8080/healthz), exit 0 on 2xx, else 1
                       (a container health check without curl)
  --version            print the version and exit
  --help               print this help and exit

Exit codes: 0 clean shutdown, 1 runtime error (e.g. cannot bind), 2 bad usage or bad config.
Signals: SIGTERM / SIGINT stop accepting, close sessions and exit 0; with shutdown_grace in the config, /readyz
turns 503 and new sessions are refused at once while open ones are served for that long (a second signal ends
it). SIGHUP re-reads the config file (so does a change of the file, and POST /api/v1/config/reload).
Environment: ${VAR} and ${VAR:-default} in config values; STREAMGATE_<SECTION>__<KEY>=value overrides one key
(e.g. STREAMGATE_LOG__LEVEL=debug); SG_WEB_DIR serves pages from a folder laid out like web/ instead of the
copies embedded in the binary.
)";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "streamgate: %s\nTry 'streamgate --help'.\n", msg.c_str());
  return kExitUsage;
}

// The common soft limit of 1024 descriptors is far below what a media server holds (a connection, a UDP socket
// per viewer...); the hard limit is what the administrator allows. Raise the one to the other, as Go programs do.
void raise_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const auto before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) == 0)
    sg::log::debug("file descriptor limit raised", {{"from", static_cast<uint64_t>(before)},
                                                    {"to", static_cast<uint64_t>(lim.rlim_cur)}});
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sg;
  // Our own binary re-executed between the server and an exec: command (see exec_supervisor.hpp).
  if (argc >= 2 && std::strcmp(argv[1], rtsp_session::kExecSupervisorFlag) == 0)
    return rtsp_session::exec_supervisor_main(argc, argv);
  std::string config_path, http, rtsp, rtmp, srt, https, rtsps, webrtc, workers, level, format;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    } else if (arg == "--version") {
      std::printf("streamgate %s\n", SG_VERSION);
      return kExitOk;
    } else if (arg == "--hash-password") {
      // Reads one password line from stdin (so it stays out of shell history and `ps`) and prints the hash to
      // put in auth.internal_users[].pass.
      std::string line;
      for (int ch; (ch = std::getchar()) != EOF && ch != '\n';) line.push_back(static_cast<char>(ch));
      if (line.empty()) return usage_error("--hash-password reads the password from standard input");
      std::printf("%s\n", auth::hash_password(line).c_str());
      return kExitOk;
    } else if (arg == "--probe") {
      std::string url;
      if (!value(url)) return usage_error("--probe needs a URL");
      auto parsed = app::parse_probe_url(url);
      if (!parsed) return usage_error(parsed.error());
      auto status = app::probe(*parsed, std::chrono::seconds(3));
      if (!status) {
        std::fprintf(stderr, "streamgate: probe failed: %s\n", status.error().c_str());
        return kExitRuntime;
      }
      std::printf("%u\n", *status);
      return *status >= 200 && *status < 300 ? kExitOk : kExitRuntime;
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--config" || arg == "-c") {
      if (!value(config_path)) return usage_error("--config needs a file");
    } else if (arg == "--http") {
      if (!value(http)) return usage_error("--http needs an address");
    } else if (arg == "--rtsp") {
      if (!value(rtsp)) return usage_error("--rtsp needs an address");
    } else if (arg == "--srt") {
      if (!value(srt)) return usage_error("--srt needs an address");
    } else if (arg == "--rtmp") {
      if (!value(rtmp)) return usage_error("--rtmp needs an address");
    } else if (arg == "--https") {
      if (!value(https)) return usage_error("--https needs an address");
    } else if (arg == "--rtsps") {
      if (!value(rtsps)) return usage_error("--rtsps needs an address");
    } else if (arg == "--webrtc-udp") {
      if (!value(webrtc)) return usage_error("--webrtc-udp needs an address");
    } else if (arg == "--workers") {
      if (!value(workers)) return usage_error("--workers needs a number");
    } else if (arg == "--log-level") {
      if (!value(level)) return usage_error("--log-level needs a level");
    } else if (arg == "--log-format") {
      if (!value(format)) return usage_error("--log-format needs json or text");
    } else {
      return usage_error("unknown option '" + arg + "'");
    }
  }

  app::Config config;
  {
    // Without a file: the built-in defaults, still open to STREAMGATE_* overrides from the environment.
    auto loaded = config_path.empty() ? app::parse_config("", "", app::process_environment())
                                      : app::load_config(config_path);
    if (!loaded) {
      std::fprintf(stderr, "streamgate: config error: %s\n", loaded.error().c_str());
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  auto endpoint = [](const std::string& text, app::Endpoint& out, const char* flag) -> bool {
    if (text.empty()) return true;
    auto e = app::parse_endpoint(text);
    if (!e) {
      std::fprintf(stderr, "streamgate: %s: %s\n", flag, e.error().c_str());
      return false;
    }
    out = *e;
    return true;
  };
  if (!endpoint(http, config.http, "--http") || !endpoint(rtsp, config.rtsp, "--rtsp") ||
      !endpoint(webrtc, config.webrtc_udp, "--webrtc-udp") || !endpoint(https, config.https, "--https") ||
      !endpoint(rtsps, config.rtsps, "--rtsps") || !endpoint(rtmp, config.rtmp.address, "--rtmp") ||
      !endpoint(srt, config.srt.address, "--srt"))
    return kExitUsage;
  if (!rtmp.empty()) config.rtmp.enabled = true;
  if (!srt.empty()) config.srt.enabled = true;
  if ((!https.empty() || !rtsps.empty()) && !config.tls.enabled())
    return usage_error(std::string(https.empty() ? "--rtsps" : "--https") +
                       " needs tls.cert and tls.key in the config");
  if (!workers.empty()) {
    char* end = nullptr;
    long n = std::strtol(workers.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > 256) return usage_error("--workers must be 0..256");
    config.workers = static_cast<unsigned>(n);
  }
  if (!level.empty()) config.log_level = level;
  if (!format.empty()) config.log_format = format;
  log::Level lvl;
  if (!log::parse_level(config.log_level, lvl)) return usage_error("bad log level '" + config.log_level + "'");
  if (config.log_format != "json" && config.log_format != "text")
    return usage_error("bad log format '" + config.log_format + "': use json or text");
  if (check_only) {
    std::printf("%s: ok\n", config_path.empty() ? "(defaults)" : config_path.c_str());
    return kExitOk;
  }
  log::init(lvl, config.log_format == "json" ? log::Format::Json : log::Format::Text);
  raise_file_limit();

  app::App server(std::move(config));
  if (auto s = server.start(); !s) {
    log::error("cannot start", {{"error", s.error()}});
    return kExitRuntime;
  }
  boost::asio::io_context main_context(1);
  boost::asio::signal_set signals(main_context, SIGINT, SIGTERM, SIGHUP);
  boost::asio::steady_timer grace_timer(main_context);
  int received = 0;
  app::HeapTrimmer trimmer(main_context, [&server] { server.release_memory(); });
  trimmer.start();
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        server.reload("SIGHUP");
        wait_signal();
        return;
      }
      auto grace = server.shutdown_grace();
      if (received == 0 && grace.count() > 0) {
        received = sig;
        server.drain();
        grace_timer.expires_after(grace);
        grace_timer.async_wait([&](boost::system::error_code tec) {
          if (tec) return;
          trimmer.stop();
          main_context.stop();
        });
        wait_signal();  // a second SIGTERM / SIGINT ends the grace period
        return;
      }
      if (received == 0) received = sig;
      trimmer.stop();
      main_context.stop();
    });
  };
  wait_signal();
  main_context.run();
  log::info("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.stop();
  log::info("stopped");
  return kExitOk;
}
