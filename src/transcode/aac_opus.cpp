#include "transcode/aac_opus.hpp"

#include "base/bit_reader.hpp"

#include <dlfcn.h>
#include <opus/opus.h>

#include <algorithm>
#include <array>
#include <cstring>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/version_major.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/version.h>
#include <libswresample/swresample.h>
#include <libswresample/version_major.h>
}

#define SG_AV_STR2(x) #x
#define SG_AV_STR(x) SG_AV_STR2(x)

namespace sg::transcode {
namespace {

constexpr int kOpusRate = 48000;
constexpr int kOpusFrame = 960;  // 20 ms at 48 kHz
constexpr int kDefaultUnitSamples = 1024;

// The libav functions used, resolved with dlsym; the pointer types come from the headers' own declarations.
struct AvApi {
  bool ok = false;
  std::string error;

  decltype(&avcodec_find_decoder_by_name) find_decoder_by_name = nullptr;
  decltype(&avcodec_alloc_context3) alloc_context3 = nullptr;
  decltype(&avcodec_free_context) free_context = nullptr;
  decltype(&avcodec_open2) open2 = nullptr;
  decltype(&avcodec_send_packet) send_packet = nullptr;
  decltype(&avcodec_receive_frame) receive_frame = nullptr;
  decltype(&av_packet_alloc) packet_alloc = nullptr;
  decltype(&av_packet_free) packet_free = nullptr;

  decltype(&av_frame_alloc) frame_alloc = nullptr;
  decltype(&av_frame_free) frame_free = nullptr;
  decltype(&av_frame_unref) frame_unref = nullptr;
  decltype(&av_mallocz) mallocz = nullptr;
  decltype(&av_channel_layout_default) channel_layout_default = nullptr;
  decltype(&av_channel_layout_compare) channel_layout_compare = nullptr;
  decltype(&av_channel_layout_copy) channel_layout_copy = nullptr;
  decltype(&av_channel_layout_uninit) channel_layout_uninit = nullptr;
  decltype(&av_strerror) strerror = nullptr;
  decltype(&av_log_set_level) log_set_level = nullptr;

  decltype(&swr_alloc_set_opts2) resampler_alloc = nullptr;
  decltype(&swr_init) resampler_init = nullptr;
  decltype(&swr_free) resampler_free = nullptr;
  decltype(&swr_convert) resampler_convert = nullptr;
  decltype(&swr_get_out_samples) resampler_out_samples = nullptr;

  std::string describe(int averror) const {
    std::array<char, 128> buf{};
    strerror(averror, buf.data(), buf.size());  // writes a generic "Error number N occurred" when unknown
    return buf.data();
  }
};

void* open_library(const char* soname, std::string& error) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = std::string("cannot load ") + soname + ": " + (why != nullptr ? why : "unknown dlopen error");
  }
  return handle;
}

template <class F>
bool resolve(void* handle, const char* name, const char* library, F& fn, std::string& error) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    error = std::string("symbol ") + name + " not found in " + library;
    return false;
  }
  fn = reinterpret_cast<F>(symbol);
  return true;
}

AvApi load_av() {
  AvApi api;
  static constexpr const char* kUtil = "libavutil.so." SG_AV_STR(LIBAVUTIL_VERSION_MAJOR);
  static constexpr const char* kSwr = "libswresample.so." SG_AV_STR(LIBSWRESAMPLE_VERSION_MAJOR);
  static constexpr const char* kCodec = "libavcodec.so." SG_AV_STR(LIBAVCODEC_VERSION_MAJOR);
  // The handles stay open for the life of the process (the table below points into them).
  void* util = open_library(kUtil, api.error);
  if (util == nullptr) return api;
  void* swr = open_library(kSwr, api.error);
  if (swr == nullptr) return api;
  void* codec = open_library(kCodec, api.error);
  if (codec == nullptr) return api;
  std::string& e = api.error;
  bool ok = resolve(codec, "avcodec_find_decoder_by_name", kCodec, api.find_decoder_by_name, e) &&
            resolve(codec, "avcodec_alloc_context3", kCodec, api.alloc_context3, e) &&
            resolve(codec, "avcodec_free_context", kCodec, api.free_context, e) &&
            resolve(codec, "avcodec_open2", kCodec, api.open2, e) &&
            resolve(codec, "avcodec_send_packet", kCodec, api.send_packet, e) &&
            resolve(codec, "avcodec_receive_frame", kCodec, api.receive_frame, e) &&
            resolve(codec, "av_packet_alloc", kCodec, api.packet_alloc, e) &&
            resolve(codec, "av_packet_free", kCodec, api.packet_free, e) &&
            resolve(util, "av_frame_alloc", kUtil, api.frame_alloc, e) &&
            resolve(util, "av_frame_free", kUtil, api.frame_free, e) &&
            resolve(util, "av_frame_unref", kUtil, api.frame_unref, e) &&
            resolve(util, "av_mallocz", kUtil, api.mallocz, e) &&
            resolve(util, "av_channel_layout_default", kUtil, api.channel_layout_default, e) &&
            resolve(util, "av_channel_layout_compare", kUtil, api.channel_layout_compare, e) &&
            resolve(util, "av_channel_layout_copy", kUtil, api.channel_layout_copy, e) &&
            resolve(util, "av_channel_layout_uninit", kUtil, api.channel_layout_uninit, e) &&
            resolve(util, "av_strerror", kUtil, api.strerror, e) &&
            resolve(util, "av_log_set_level", kUtil, api.log_set_level, e) &&
            resolve(swr, "swr_alloc_set_opts2", kSwr, api.resampler_alloc, e) &&
            resolve(swr, "swr_init", kSwr, api.resampler_init, e) &&
            resolve(swr, "swr_free", kSwr, api.resampler_free, e) &&
            resolve(swr, "swr_convert", kSwr, api.resampler_convert, e) &&
            resolve(swr, "swr_get_out_samples", kSwr, api.resampler_out_samples, e);
  if (!ok) return api;
  // Bad access units are reported through push()'s Status; libav's own per-packet messages would flood stderr.
  api.log_set_level(AV_LOG_QUIET);
  api.ok = true;
  return api;
}

const AvApi& av() {
  static const AvApi api = load_av();  // thread-safe initialisation, once per process
  return api;
}

std::string hex_of(Bytes b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < b.size() && i < 32; ++i) {
    s += kDigits[static_cast<uint8_t>(b[i]) >> 4];
    s += kDigits[static_cast<uint8_t>(b[i]) & 0xf];
  }
  if (b.size() > 32) s += "...";
  return s;
}

// The output sample rate an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) announces: the SBR rate when SBR is
// signalled explicitly (object types 5 and 29), else samplingFrequency. 0 when unreadable. libavcodec's AAC
// decoder only reports its rate with the first decoded frame, and the RTP clock must be known before.
uint32_t asc_sample_rate(Bytes asc) {
  static constexpr uint32_t kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                        22050, 16000, 12000, 11025, 8000,  7350};
  BitReader r(asc);
  auto object_type = [&r] {
    uint32_t type = r.bits(5);
    return type == 31 ? 32 + r.bits(6) : type;
  };
  auto rate = [&r]() -> uint32_t {
    uint32_t index = r.bits(4);
    if (index == 15) return r.bits(24);
    return index < std::size(kRates) ? kRates[index] : 0;
  };
  uint32_t type = object_type();
  uint32_t sample_rate = rate();
  r.bits(4);  // channelConfiguration
  if (type == 5 || type == 29) sample_rate = rate();
  return r.ok() ? sample_rate : 0;
}

}  // namespace

bool av_available(std::string* why) {
  const AvApi& api = av();
  if (!api.ok && why != nullptr) *why = api.error;
  return api.ok;
}

struct AacToOpus::Impl {
  const AvApi& av;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  OpusEncoder* encoder = nullptr;
  int channels = 0;
  int rate = 0;

  // Resampler to interleaved float, 48 kHz, `channels`; rebuilt when the decoder's output format changes.
  SwrContext* swr = nullptr;
  int swr_in_rate = 0;
  int swr_in_format = -1;
  AVChannelLayout swr_in_layout{};

  std::vector<uint8_t> input;  // the access unit plus the zero padding libavcodec may read past its end
  std::vector<float> pcm;      // interleaved 48 kHz samples not yet encoded: [pcm_read, pcm_fill)
  size_t pcm_read = 0;
  size_t pcm_fill = 0;
  std::array<unsigned char, 4000> opus_out{};

  // Timeline: the 48 kHz image of the input timestamp at the last sync point, and how many 48 kHz samples have been
  // encoded since (the position of pcm[pcm_read]).
  bool synced = false;
  uint32_t expected_ts = 0;  // input clock: timestamp the next unit should carry
  uint32_t unit_samples = kDefaultUnitSamples;
  uint32_t sync_ts48 = 0;
  uint32_t position48 = 0;

  explicit Impl(const AvApi& api) : av(api) {}
  ~Impl() {
    if (swr != nullptr) av.resampler_free(&swr);
    av.channel_layout_uninit(&swr_in_layout);
    if (frame != nullptr) av.frame_free(&frame);
    if (packet != nullptr) av.packet_free(&packet);
    if (decoder != nullptr) av.free_context(&decoder);  // also frees the extradata
    if (encoder != nullptr) opus_encoder_destroy(encoder);
  }

  void resync(uint32_t timestamp) {
    synced = true;
    sync_ts48 = static_cast<uint32_t>(uint64_t{timestamp} * kOpusRate / static_cast<uint64_t>(rate));
    position48 = 0;
    pcm_read = pcm_fill = 0;
    // Samples the resampler holds back belong to the old timeline: start it afresh with the next frame.
    if (swr != nullptr) av.resampler_free(&swr);
  }

  Status resample(const AVFrame& f) {
    if (swr == nullptr || f.sample_rate != swr_in_rate || f.format != swr_in_format ||
        av.channel_layout_compare(&f.ch_layout, &swr_in_layout) != 0) {
      if (swr != nullptr) av.resampler_free(&swr);
      av.channel_layout_uninit(&swr_in_layout);
      swr_in_format = -1;
      AVChannelLayout out_layout{};
      av.channel_layout_default(&out_layout, channels);
      int r = av.resampler_alloc(&swr, &out_layout, AV_SAMPLE_FMT_FLT, kOpusRate,
                                     const_cast<AVChannelLayout*>(&f.ch_layout),
                                     static_cast<AVSampleFormat>(f.format), f.sample_rate, 0, nullptr);
      if (r >= 0) r = av.resampler_init(swr);
      if (r < 0) {
        if (swr != nullptr) av.resampler_free(&swr);
        return make_error("AAC->Opus: cannot resample " + std::to_string(f.ch_layout.nb_channels) + " channels at " +
                          std::to_string(f.sample_rate) + " Hz: " + av.describe(r));
      }
      if (av.channel_layout_copy(&swr_in_layout, &f.ch_layout) < 0) {
        av.resampler_free(&swr);
        return make_error("AAC->Opus: cannot copy the channel layout");
      }
      swr_in_rate = f.sample_rate;
      swr_in_format = f.format;
    }
    int room = av.resampler_out_samples(swr, f.nb_samples);
    if (room < 0) return make_error("AAC->Opus: resampler: " + av.describe(room));
    size_t need = pcm_fill + static_cast<size_t>(room) * static_cast<size_t>(channels);
    if (pcm.size() < need) pcm.resize(need);
    uint8_t* out[1] = {reinterpret_cast<uint8_t*>(pcm.data() + pcm_fill)};
    int got = av.resampler_convert(swr, out, room, const_cast<const uint8_t**>(f.extended_data), f.nb_samples);
    if (got < 0) return make_error("AAC->Opus: resampler: " + av.describe(got));
    pcm_fill += static_cast<size_t>(got) * static_cast<size_t>(channels);
    return Ok{};
  }

  Status encode(std::vector<Packet>& out) {
    const size_t frame_floats = static_cast<size_t>(kOpusFrame) * static_cast<size_t>(channels);
    Status status = Ok{};
    while (pcm_fill - pcm_read >= frame_floats) {
      opus_int32 n = opus_encode_float(encoder, pcm.data() + pcm_read, kOpusFrame, opus_out.data(),
                                       static_cast<opus_int32>(opus_out.size()));
      pcm_read += frame_floats;
      uint32_t timestamp = sync_ts48 + position48;
      position48 += kOpusFrame;
      if (n < 0) {
        status = make_error(std::string("AAC->Opus: opus_encode_float: ") + opus_strerror(n));
        continue;
      }
      auto* bytes = reinterpret_cast<const std::byte*>(opus_out.data());
      out.push_back(Packet{ByteVector(bytes, bytes + n), timestamp});
    }
    // Keep the partial frame at the front (fewer than 960 samples per channel: a short move, no allocation).
    if (pcm_read > 0) {
      std::copy(pcm.begin() + static_cast<std::ptrdiff_t>(pcm_read), pcm.begin() + static_cast<std::ptrdiff_t>(pcm_fill),
                pcm.begin());
      pcm_fill -= pcm_read;
      pcm_read = 0;
    }
    return status;
  }

  Status push(Bytes access_unit, uint32_t timestamp, std::vector<Packet>& out) {
    if (access_unit.empty()) return make_error("AAC->Opus: empty access unit");
    if (access_unit.size() > (1u << 20)) return make_error("AAC->Opus: access unit of " +
                                                           std::to_string(access_unit.size()) + " bytes is too big");
    if (!synced) {
      resync(timestamp);
    } else {
      int32_t off = static_cast<int32_t>(timestamp - expected_ts);
      if (off > rate || off < -rate) resync(timestamp);
    }
    // Whatever happens below, the next unit is expected one unit later.
    expected_ts = timestamp + unit_samples;

    input.assign(reinterpret_cast<const uint8_t*>(access_unit.data()),
                 reinterpret_cast<const uint8_t*>(access_unit.data()) + access_unit.size());
    input.resize(access_unit.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    packet->data = input.data();
    packet->size = static_cast<int>(access_unit.size());
    int r = av.send_packet(decoder, packet);
    packet->data = nullptr;
    packet->size = 0;
    if (r < 0 && r != AVERROR(EAGAIN)) {
      return make_error("AAC->Opus: cannot decode the " + std::to_string(access_unit.size()) +
                        "-byte access unit at " + std::to_string(timestamp) + ": " + av.describe(r));
    }
    Status status = Ok{};
    for (;;) {
      r = av.receive_frame(decoder, frame);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
      if (r < 0) {
        status = make_error("AAC->Opus: cannot decode the " + std::to_string(access_unit.size()) +
                            "-byte access unit at " + std::to_string(timestamp) + ": " + av.describe(r));
        break;
      }
      if (frame->nb_samples > 0 && frame->sample_rate > 0) {
        unit_samples = static_cast<uint32_t>(int64_t{frame->nb_samples} * rate / frame->sample_rate);
        expected_ts = timestamp + unit_samples;
        Status s = resample(*frame);
        if (!s) status = s;
      }
      av.frame_unref(frame);
    }
    Status s = encode(out);
    if (!s) return s;
    return status;
  }
};

AacToOpus::AacToOpus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AacToOpus::~AacToOpus() = default;

Result<std::unique_ptr<AacToOpus>> AacToOpus::create(Bytes asc, int bitrate) {
  std::string why;
  if (!av_available(&why)) return make_error("AAC->Opus: libav unavailable: " + why);
  if (asc.empty()) return make_error("AAC->Opus: empty AudioSpecificConfig");
  if (asc.size() > 1024) return make_error("AAC->Opus: AudioSpecificConfig of " + std::to_string(asc.size()) +
                                           " bytes is too big");
  if (bitrate < 6000 || bitrate > 510000) {
    return make_error("AAC->Opus: bitrate " + std::to_string(bitrate) + " is outside 6000..510000");
  }
  const AvApi& api = av();
  auto impl = std::make_unique<Impl>(api);
  const AVCodec* codec = api.find_decoder_by_name("aac");
  if (codec == nullptr) return make_error("AAC->Opus: libavcodec has no 'aac' decoder");
  impl->decoder = api.alloc_context3(codec);
  impl->packet = api.packet_alloc();
  impl->frame = api.frame_alloc();
  if (impl->decoder == nullptr || impl->packet == nullptr || impl->frame == nullptr) {
    return make_error("AAC->Opus: out of memory");
  }
  auto* extradata = static_cast<uint8_t*>(api.mallocz(asc.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (extradata == nullptr) return make_error("AAC->Opus: out of memory");
  std::memcpy(extradata, asc.data(), asc.size());
  impl->decoder->extradata = extradata;  // owned by the context from here on
  impl->decoder->extradata_size = static_cast<int>(asc.size());
  int r = api.open2(impl->decoder, codec, nullptr);
  if (r < 0) {
    return make_error("AAC->Opus: bad AudioSpecificConfig " + hex_of(asc) + ": " + api.describe(r));
  }
  impl->rate = impl->decoder->sample_rate > 0 ? impl->decoder->sample_rate : static_cast<int>(asc_sample_rate(asc));
  int source_channels = impl->decoder->ch_layout.nb_channels;
  if (impl->rate <= 0 || impl->rate > 192000 || source_channels <= 0) {
    return make_error("AAC->Opus: AudioSpecificConfig " + hex_of(asc) + " gives " + std::to_string(impl->rate) +
                      " Hz, " + std::to_string(source_channels) + " channels");
  }
  impl->channels = std::min(source_channels, 2);
  int err = OPUS_OK;
  impl->encoder = opus_encoder_create(kOpusRate, impl->channels, OPUS_APPLICATION_AUDIO, &err);
  if (impl->encoder == nullptr || err != OPUS_OK) {
    return make_error(std::string("AAC->Opus: opus_encoder_create: ") + opus_strerror(err));
  }
  err = opus_encoder_ctl(impl->encoder, OPUS_SET_BITRATE(bitrate));
  if (err != OPUS_OK) return make_error(std::string("AAC->Opus: bitrate: ") + opus_strerror(err));
  impl->input.reserve(4096 + AV_INPUT_BUFFER_PADDING_SIZE);
  impl->pcm.resize(static_cast<size_t>(kOpusFrame + 8192) * static_cast<size_t>(impl->channels));
  return std::unique_ptr<AacToOpus>(new AacToOpus(std::move(impl)));
}

Status AacToOpus::push(Bytes access_unit, uint32_t timestamp, std::vector<Packet>& out) {
  return impl_->push(access_unit, timestamp, out);
}

int AacToOpus::channels() const { return impl_->channels; }
int AacToOpus::source_rate() const { return impl_->rate; }

}  // namespace sg::transcode
