#pragma once
// AAC -> Opus for WebRTC viewers (browsers cannot play AAC). AAC is decoded with libavcodec, which is dlopen()ed on
// first use (it pulls in ~90 shared libraries: never linked, never loaded at start), resampled to 48 kHz with
// libswresample (also dlopen()ed) and encoded with libopus (linked statically).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::transcode {

// True when libavcodec/libavutil/libswresample could be loaded and every function needed was found (dlopen on the
// first call, cached, thread-safe); else false and *why (when given) says what failed.
bool av_available(std::string* why = nullptr);

class AacToOpus {
 public:
  // asc: the MPEG-4 AudioSpecificConfig (from the SDP fmtp config= hex or the esds). Output: Opus, 48 kHz clock,
  // 20 ms frames, channels = min(source channels, 2), `bitrate` bits/s. The error says why (no libav, bad
  // config, bad bitrate...).
  static Result<std::unique_ptr<AacToOpus>> create(Bytes audio_specific_config, int bitrate = 64000);
  ~AacToOpus();
  AacToOpus(const AacToOpus&) = delete;
  AacToOpus& operator=(const AacToOpus&) = delete;

  struct Packet {
    ByteVector data;
    uint32_t timestamp;  // in the 48 kHz RTP clock
  };

  // One raw AAC access unit (no ADTS header) and its RTP timestamp in the AAC sample-rate clock. Appends every Opus
  // packet that is complete after it to `out`. A decode error for one unit is returned (the caller logs and goes
  // on); the transcoder stays usable. A timestamp jump (gap or reset, more than 1 s off the expected value)
  // resyncs: samples buffered from before the jump are dropped and the next packet's timestamp is the 48 kHz image
  // of the new input timestamp. Smaller gaps (lost units) are not filled: the output timeline just continues.
  Status push(Bytes access_unit, uint32_t timestamp, std::vector<Packet>& out);

  int channels() const;     // of the Opus output (1 or 2)
  int source_rate() const;  // AAC sample rate from the config (the SBR rate when signalled explicitly)

 private:
  struct Impl;
  explicit AacToOpus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::transcode
