#pragma once
// The server's TLS certificate and key, as an OpenSSL context for new connections (HTTPS, RTSPS).
// TLS 1.2 minimum; TLS 1.2 offers only ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), in the
// server's order; no compression, no renegotiation. A watcher thread re-reads the files when their mtime, size or
// inode changes (e.g. certbot renewing a symlinked live/ directory) and swaps the new context in atomically: new
// connections get it, connections already open keep the one they started with. A new pair that does not load
// (half-written, key not matching) keeps the old context and is logged once until the files change again.
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.hpp"

namespace sg::net {

using SslContext = boost::asio::ssl::context;

// Builds a server context from PEM files (cert: leaf first, then its chain). The error says which file is missing,
// unreadable or does not match.
Result<std::shared_ptr<SslContext>> make_server_context(const std::string& cert_file, const std::string& key_file);

class TlsContext {
 public:
  // Loads the pair once; an error when it does not load.
  static Result<std::unique_ptr<TlsContext>> load(std::string cert_file, std::string key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The context for a new connection. A connection keeps the pointer for its whole life.
  std::shared_ptr<SslContext> current() const;
  // Starts the watcher thread (interval > 0). Stopped by the destructor or stop().
  void watch(std::chrono::milliseconds interval);
  void stop();
  // Checks the files once: reloads when they changed. True when a new context was swapped in.
  bool reload_if_changed();
  uint64_t reloads() const;

 private:
  struct FileStamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Stamps {
    FileStamp cert, key;
    bool operator==(const Stamps&) const = default;
  };
  TlsContext(std::string cert_file, std::string key_file);
  Stamps stamps() const;

  const std::string cert_file_, key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<SslContext> current_;
  Stamps loaded_;     // the files current_ came from
  Stamps attempted_;  // the last files tried (a failure is logged once per change)
  uint64_t reloads_ = 0;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace sg::net
