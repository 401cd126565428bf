#pragma once
// RTSP pull client: a media::Source that plays rtsp://[user:pass@]host[:port]/path into a stream.
//
// One coroutine on one worker's io_context runs connect -> OPTIONS -> DESCRIBE -> SETUP (each track) -> PLAY, then
// feeds every received RTP packet to an Ingest. Transport: "tcp" (interleaved channels 2i/2i+1), "udp" (an RTP and
// RTCP socket pair per track) or "auto" (UDP first; TCP when SETUP over UDP is refused with 461, no UDP packet
// arrives within `udp_probe` after PLAY, or packet loss over the last `loss_window` reaches `loss_threshold`; TCP
// then sticks for the life of the source; leaving for loss, the UDP session is ended with TEARDOWN first). Loss
// episodes are logged once each, whatever the transport. Keep-alive with GET_PARAMETER (when the server lists it in
// Public) or OPTIONS at half the session timeout. Responses are matched to requests by CSeq; one without CSeq (live555
// sends some errors so) answers the only outstanding request, and with several outstanding it ends the connection.
// A source that sends nothing for `source_timeout` is dead. Every failure sets the stream to error with a reason and
// retries with exponential backoff (1 s doubling to 30 s, back to 1 s once a connection delivered data).
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "media/stream.hpp"

namespace sg::rtsp_session {

struct ClientOptions {
  std::string url;                 // rtsp://[user:pass@]host[:port]/path
  std::string transport = "auto";  // auto | udp | tcp
  std::chrono::milliseconds source_timeout{10000};  // no RTP for this long = dead source
  std::chrono::milliseconds udp_probe{3000};        // auto: no UDP packet for this long after PLAY -> TCP
  std::chrono::milliseconds request_timeout{10000};  // connect and each request/response
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  // Loss of RTP packets (by sequence number, all tracks) over `loss_window` at or above this fraction is an
  // episode: logged, and with transport "auto" over UDP the source reconnects over TCP. 0 = no episodes.
  double loss_threshold = 0.10;
  std::chrono::milliseconds loss_window{10000};
};

class ClientSource : public media::Source {
 public:
  // Starts pulling at once on `context` (one worker's io_context).
  ClientSource(boost::asio::io_context& context, std::shared_ptr<media::Stream> stream, ClientOptions options);
  ~ClientSource() override;
  ClientSource(const ClientSource&) = delete;
  ClientSource& operator=(const ClientSource&) = delete;

  // Any thread, idempotent: the stream gets no further state changes or units; sockets are closed on the worker.
  void stop() override;

  struct Control;
  struct Runner;

 private:
  boost::asio::io_context& context_;
  std::shared_ptr<Control> control_;
  std::weak_ptr<Runner> runner_;
};

}  // namespace sg::rtsp_session
