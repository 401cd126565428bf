#pragma once
// RTMP pull client: a media::Source that plays rtmp://host[:port]/app/name (rtmp/url.hpp) from an RTMP server
// (an ffmpeg `-listen 1` origin, nginx-rtmp, MediaMTX, another streamgate) into a stream.
//
// One coroutine on one worker's io_context: TCP connect, plain handshake (C0+C1, then C2 = S1), `connect` (app,
// tcUrl), `createStream`, `play` (the name with its query, start -2: live or recorded), then every audio, video and
// onMetaData message goes to an FlvIngest, as an RTMP publisher's would: readers of every protocol get the same
// units. Acknowledgements follow the server's window (RTMP 5.4.3); ping requests are answered. A server that
// refuses (`_error`, or an onStatus other than NetStream.Play.Start / Reset) sets the stream to error with its
// description. Nothing received for `source_timeout` ends the connection. Every failure retries with exponential
// backoff (1 s doubling to 30 s, back to 1 s once a connection delivered media), like the RTSP pull client.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "media/stream.hpp"

namespace sg::rtmp_session {

struct RtmpClientOptions {
  std::string url;
  std::chrono::milliseconds source_timeout{10000};
  std::chrono::milliseconds request_timeout{10000};  // connect, handshake and the commands up to play
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
};

class RtmpClientSource : public media::Source {
 public:
  // Starts pulling at once on `context` (one worker's io_context).
  RtmpClientSource(boost::asio::io_context& context, std::shared_ptr<media::Stream> stream, RtmpClientOptions options);
  ~RtmpClientSource() override;
  RtmpClientSource(const RtmpClientSource&) = delete;
  RtmpClientSource& operator=(const RtmpClientSource&) = delete;

  // Any thread, idempotent: the stream gets no further state changes or units; the socket is closed on the worker.
  void stop() override;

  struct Control;
  struct Runner;

 private:
  boost::asio::io_context& context_;
  std::shared_ptr<Control> control_;
  std::weak_ptr<Runner> runner_;
};

}  // namespace sg::rtmp_session
