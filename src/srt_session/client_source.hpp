#pragma once
// SRT pull client (caller mode): a media::Source that reads MPEG-TS from srt://host:port?streamid=... (srt/url.hpp)
// — a MediaMTX or streamgate `read:{stream}`, an ffmpeg `-f mpegts srt://...?mode=listener`, an encoder in listener
// mode — into a stream, through the same TsIngest as an SRT publisher, so readers of every protocol get the same
// units.
//
// Threads: libsrt's calls block (connect, receive), so each pull source has one thread of its own ("sg-srt-pull"):
// it resolves the host, connects (SRTO_CONNTIMEO = request_timeout), and receives with a 250 ms timeout so that it
// notices stop(). Received messages are posted to the source's worker (bounded: over kMaxQueuedBytes they are dropped
// and counted, as for an SRT publisher); the stream and the ingest are only touched there. Nothing received for
// `source_timeout` ends the connection; every failure (refused, timed out, wrong passphrase, closed) sets the
// stream to error with the reason and retries with exponential backoff (1 s doubling to 30 s, back to 1 s once a
// connection delivered media), like the RTSP and RTMP pull clients. One thread per SRT pull source: sources are
// cameras and encoders, counted in tens, not thousands.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "media/stream.hpp"

namespace sg::srt_session {

struct SrtClientOptions {
  std::string url;
  std::chrono::milliseconds source_timeout{10000};
  std::chrono::milliseconds request_timeout{10000};  // connect (SRTO_CONNTIMEO)
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  int default_latency_ms = 120;  // when the URL has no latency=
};

class SrtClientSource : public media::Source {
 public:
  // Starts pulling at once; the stream and its ingest live on `context` (one worker's io_context).
  SrtClientSource(boost::asio::io_context& context, std::shared_ptr<media::Stream> stream, SrtClientOptions options);
  ~SrtClientSource() override;
  SrtClientSource(const SrtClientSource&) = delete;
  SrtClientSource& operator=(const SrtClientSource&) = delete;

  // Any thread, idempotent: the stream gets no further state changes or units; the connection is closed at once
  // and the thread ends within one receive timeout, or when a DNS lookup in progress returns (joined by the
  // destructor).
  void stop() override;

  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace sg::srt_session
