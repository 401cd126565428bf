// AAC -> Opus with real AAC made by ffmpeg (tests/data/transcode/*.aac, a 1 kHz sine, 1 s, ADTS):
//   ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=44100:duration=1 -c:a aac -b:a 32k -f adts sine1k_44100_mono.aac
//   ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=48000:duration=1 -ac 2 -c:a aac -b:a 64k -f adts
//     sine1k_48000_stereo.aac
//   ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=48000:duration=0.5
//     -af "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=0*c0|BL=c0|BR=c0" -c:a aac -b:a 96k -f adts sine1k_48000_5.1.aac
// The Opus output is decoded with libopus's own decoder and checked for length, timestamps and the tone.
#include "transcode/aac_opus.hpp"

#include <gtest/gtest.h>
#include <opus/opus.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

namespace sg::transcode {
namespace {

constexpr uint32_t kSampleRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};

struct AdtsStream {
  ByteVector asc;                  // AudioSpecificConfig derived from the first header
  uint32_t rate = 0;
  std::vector<ByteVector> units;   // raw access units (header stripped)
};

ByteVector read_data(const std::string& name) {
  std::ifstream in(std::string(SG_TEST_DATA_DIR) + "/transcode/" + name, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ByteVector out(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

// A minimal ADTS splitter (ISO/IEC 14496-3 1.A.2.2): one raw data block per frame, as ffmpeg writes it.
AdtsStream split_adts(const ByteVector& file) {
  AdtsStream s;
  size_t at = 0;
  while (at + 7 <= file.size()) {
    auto b = [&](size_t i) { return static_cast<uint8_t>(file[at + i]); };
    if (b(0) != 0xFF || (b(1) & 0xF0) != 0xF0) break;
    bool protection_absent = (b(1) & 1) != 0;
    uint8_t profile = b(2) >> 6;
    uint8_t rate_index = (b(2) >> 2) & 0xF;
    uint8_t channel_config = static_cast<uint8_t>((b(2) & 1) << 2 | b(3) >> 6);
    size_t frame_length = (size_t{b(3)} & 3) << 11 | size_t{b(4)} << 3 | b(5) >> 5;
    size_t header = protection_absent ? 7 : 9;
    if (frame_length < header || at + frame_length > file.size() || rate_index > 12) break;
    if (s.asc.empty()) {
      uint16_t asc = static_cast<uint16_t>((profile + 1) << 11 | rate_index << 7 | channel_config << 3);
      s.asc = {std::byte(asc >> 8), std::byte(asc & 0xFF)};
      s.rate = kSampleRates[rate_index];
    }
    s.units.emplace_back(file.begin() + static_cast<std::ptrdiff_t>(at + header),
                         file.begin() + static_cast<std::ptrdiff_t>(at + frame_length));
    at += frame_length;
  }
  return s;
}

uint32_t image48(uint32_t ts, uint32_t rate) { return static_cast<uint32_t>(uint64_t{ts} * 48000 / rate); }

// Decodes Opus packets with libopus; returns interleaved float samples.
std::vector<float> decode_opus(const std::vector<AacToOpus::Packet>& packets, int channels) {
  int err = 0;
  OpusDecoder* dec = opus_decoder_create(48000, channels, &err);
  EXPECT_EQ(err, OPUS_OK);
  std::vector<float> pcm;
  std::vector<float> frame(5760 * static_cast<size_t>(channels));
  for (const auto& p : packets) {
    int n = opus_decode_float(dec, reinterpret_cast<const unsigned char*>(p.data.data()),
                              static_cast<opus_int32>(p.data.size()), frame.data(), 5760, 0);
    EXPECT_EQ(n, 960) << "every packet is one 20 ms frame";
    if (n > 0) pcm.insert(pcm.end(), frame.begin(), frame.begin() + n * channels);
  }
  opus_decoder_destroy(dec);
  return pcm;
}

// Power of `frequency` in one channel of interleaved 48 kHz samples [from, to) (Goertzel).
double goertzel(const std::vector<float>& pcm, int channels, int channel, size_t from, size_t to, double frequency) {
  double coeff = 2 * std::cos(2 * std::numbers::pi * frequency / 48000);
  double s1 = 0, s2 = 0;
  for (size_t i = from; i < to; ++i) {
    double s0 = pcm[i * static_cast<size_t>(channels) + static_cast<size_t>(channel)] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / static_cast<double>(to - from);
}

double rms(const std::vector<float>& pcm, int channels, int channel, size_t from, size_t to) {
  double sum = 0;
  for (size_t i = from; i < to; ++i) {
    double v = pcm[i * static_cast<size_t>(channels) + static_cast<size_t>(channel)];
    sum += v * v;
  }
  return std::sqrt(sum / static_cast<double>(to - from));
}

// The decoded signal in [from, to) (per-channel sample indices) is a clear 1 kHz tone on every channel.
void expect_1khz_tone(const std::vector<float>& pcm, int channels, size_t from, size_t to) {
  ASSERT_LT(from, to);
  ASSERT_LE(to * static_cast<size_t>(channels), pcm.size());
  for (int c = 0; c < channels; ++c) {
    double level = rms(pcm, channels, c, from, to);
    EXPECT_GT(level, 0.05) << "channel " << c << " is (near) silent";
    double at_1k = goertzel(pcm, channels, c, from, to, 1000);
    double at_3k = goertzel(pcm, channels, c, from, to, 3100);
    double at_440 = goertzel(pcm, channels, c, from, to, 440);
    EXPECT_GT(at_1k, 100 * at_3k) << "channel " << c;
    EXPECT_GT(at_1k, 100 * at_440) << "channel " << c;
  }
}

struct Transcoded {
  std::unique_ptr<AacToOpus> transcoder;
  std::vector<AacToOpus::Packet> packets;
};

Transcoded transcode_all(const AdtsStream& s, uint32_t first_ts) {
  Transcoded run;
  auto created = AacToOpus::create(s.asc, 64000);
  EXPECT_TRUE(created.ok()) << created.error();
  if (!created.ok()) return run;
  run.transcoder = std::move(*created);
  for (size_t i = 0; i < s.units.size(); ++i) {
    Status st = run.transcoder->push(s.units[i], first_ts + static_cast<uint32_t>(i * 1024), run.packets);
    EXPECT_TRUE(st.ok()) << "unit " << i << ": " << st.error();
  }
  return run;
}

void expect_timestamps_step_960(const std::vector<AacToOpus::Packet>& packets, uint32_t first) {
  ASSERT_FALSE(packets.empty());
  for (size_t i = 0; i < packets.size(); ++i) {
    ASSERT_EQ(packets[i].timestamp, first + static_cast<uint32_t>(960 * i)) << "packet " << i;
  }
}

TEST(AacToOpus, AvAvailableLoadsTheInstalledLibav) {
  std::string why;
  EXPECT_TRUE(av_available(&why)) << why;
  EXPECT_TRUE(av_available());  // cached
}

TEST(AacToOpus, Mono44100BecomesMonoOpusWithTheSameToneDurationAndTimestamps) {
  AdtsStream s = split_adts(read_data("sine1k_44100_mono.aac"));
  ASSERT_EQ(s.rate, 44100u);
  ASSERT_GE(s.units.size(), 40u);
  const uint32_t first_ts = 123456;
  Transcoded run = transcode_all(s, first_ts);
  ASSERT_TRUE(run.transcoder);
  EXPECT_EQ(run.transcoder->channels(), 1);
  EXPECT_EQ(run.transcoder->source_rate(), 44100);
  expect_timestamps_step_960(run.packets, image48(first_ts, 44100));

  std::vector<float> pcm = decode_opus(run.packets, 1);
  double input48 = static_cast<double>(s.units.size()) * 1024 * 48000 / 44100;
  EXPECT_NEAR(static_cast<double>(pcm.size()), input48, 2 * 960);
  EXPECT_LE(static_cast<double>(pcm.size()), input48);
  // Skip the AAC priming and the Opus ramp-up at the start and the encoder's tail at the end.
  expect_1khz_tone(pcm, 1, 4800, pcm.size() - 4800);
}

TEST(AacToOpus, Stereo48000BecomesStereoOpusWithTheToneOnBothChannels) {
  AdtsStream s = split_adts(read_data("sine1k_48000_stereo.aac"));
  ASSERT_EQ(s.rate, 48000u);
  const uint32_t first_ts = 0xFFFFF000u;  // wraps during the run
  Transcoded run = transcode_all(s, first_ts);
  ASSERT_TRUE(run.transcoder);
  EXPECT_EQ(run.transcoder->channels(), 2);
  EXPECT_EQ(run.transcoder->source_rate(), 48000);
  expect_timestamps_step_960(run.packets, first_ts);

  std::vector<float> pcm = decode_opus(run.packets, 2);
  size_t frames = pcm.size() / 2;
  double input48 = static_cast<double>(s.units.size()) * 1024;
  EXPECT_NEAR(static_cast<double>(frames), input48, 2 * 960);
  expect_1khz_tone(pcm, 2, 4800, frames - 4800);
}

TEST(AacToOpus, FiveOneIsDownmixedToStereo) {
  AdtsStream s = split_adts(read_data("sine1k_48000_5.1.aac"));
  ASSERT_EQ(s.rate, 48000u);
  Transcoded run = transcode_all(s, 7);
  ASSERT_TRUE(run.transcoder);
  EXPECT_EQ(run.transcoder->channels(), 2);
  expect_timestamps_step_960(run.packets, 7);
  std::vector<float> pcm = decode_opus(run.packets, 2);
  size_t frames = pcm.size() / 2;
  EXPECT_NEAR(static_cast<double>(frames), static_cast<double>(s.units.size()) * 1024, 2 * 960);
  expect_1khz_tone(pcm, 2, 4800, frames - 2400);
}

TEST(AacToOpus, TimestampJumpResyncsToTheImageOfTheNewTimestamp) {
  AdtsStream s = split_adts(read_data("sine1k_44100_mono.aac"));
  auto created = AacToOpus::create(s.asc);
  ASSERT_TRUE(created.ok()) << created.error();
  AacToOpus& t = **created;
  std::vector<AacToOpus::Packet> before, after;
  const uint32_t ts0 = 1000;
  const size_t half = s.units.size() / 2;
  for (size_t i = 0; i < half; ++i) ASSERT_TRUE(t.push(s.units[i], ts0 + static_cast<uint32_t>(i * 1024), before).ok());
  expect_timestamps_step_960(before, image48(ts0, 44100));

  // 10 s later (a gap or a source restart): the output restarts at the 48 kHz image of the new timestamp.
  const uint32_t ts1 = ts0 + static_cast<uint32_t>(half * 1024) + 441000;
  for (size_t i = half; i < s.units.size(); ++i) {
    ASSERT_TRUE(t.push(s.units[i], ts1 + static_cast<uint32_t>((i - half) * 1024), after).ok());
  }
  expect_timestamps_step_960(after, image48(ts1, 44100));

  // And a jump backwards (a reset to 0) resyncs as well.
  std::vector<AacToOpus::Packet> reset;
  for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(t.push(s.units[i], static_cast<uint32_t>(i * 1024), reset).ok());
  expect_timestamps_step_960(reset, 0);
}

TEST(AacToOpus, SmallTimestampDeviationDoesNotResync) {
  AdtsStream s = split_adts(read_data("sine1k_48000_stereo.aac"));
  auto created = AacToOpus::create(s.asc);
  ASSERT_TRUE(created.ok()) << created.error();
  std::vector<AacToOpus::Packet> out;
  for (size_t i = 0; i < s.units.size(); ++i) {
    // Every tenth unit claims a timestamp 300 ms late: under the 1 s threshold, the output timeline goes on.
    uint32_t ts = static_cast<uint32_t>(i * 1024) + (i % 10 == 5 ? 14400u : 0u);
    ASSERT_TRUE((*created)->push(s.units[i], ts, out).ok());
  }
  expect_timestamps_step_960(out, 0);
}

TEST(AacToOpus, GarbageAccessUnitIsAnErrorAndLaterUnitsStillTranscode) {
  AdtsStream s = split_adts(read_data("sine1k_44100_mono.aac"));
  auto created = AacToOpus::create(s.asc);
  ASSERT_TRUE(created.ok()) << created.error();
  AacToOpus& t = **created;
  std::vector<AacToOpus::Packet> out;
  const size_t half = s.units.size() / 2;
  uint32_t ts = 0;
  for (size_t i = 0; i < half; ++i, ts += 1024) ASSERT_TRUE(t.push(s.units[i], ts, out).ok());

  // A unit of all ones (element id 7, ID_END, then junk: not a valid raw_data_block) is a decode error.
  ByteVector all_ones(40, std::byte{0xFF});
  Status st = t.push(all_ones, ts, out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().find("decode"), std::string::npos) << st.error();
  ts += 1024;
  Status empty = t.push(Bytes{}, ts, out);
  EXPECT_FALSE(empty.ok());

  size_t good_from = out.size();
  for (size_t i = half; i < s.units.size(); ++i, ts += 1024) {
    Status ok = t.push(s.units[i], ts, out);
    ASSERT_TRUE(ok.ok()) << "unit " << i << ": " << ok.error();
  }
  std::vector<AacToOpus::Packet> later(out.begin() + static_cast<std::ptrdiff_t>(good_from), out.end());
  ASSERT_GE(later.size(), 15u);
  for (size_t i = 1; i < later.size(); ++i) EXPECT_EQ(later[i].timestamp, later[i - 1].timestamp + 960);
  std::vector<float> pcm = decode_opus(later, 1);
  expect_1khz_tone(pcm, 1, 2400, pcm.size() - 4800);
}

TEST(AacToOpus, BadAudioSpecificConfigFailsWithAReason) {
  // audioObjectType 0 (null object), then a reserved sampling frequency index.
  const ByteVector object_type_0 = {std::byte{0x00}, std::byte{0x00}};
  auto r = AacToOpus::create(object_type_0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("AudioSpecificConfig"), std::string::npos) << r.error();

  const ByteVector reserved_rate = {std::byte{0x16}, std::byte{0x88}};  // AAC-LC, index 13, 1 channel
  auto r2 = AacToOpus::create(reserved_rate);
  EXPECT_FALSE(r2.ok());

  auto empty = AacToOpus::create(Bytes{});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("empty"), std::string::npos) << empty.error();
}

TEST(AacToOpus, BitrateOutsideOpusRangeFails) {
  const ByteVector lc_44100_stereo = {std::byte{0x12}, std::byte{0x10}};
  EXPECT_TRUE(AacToOpus::create(lc_44100_stereo, 32000).ok());
  auto r = AacToOpus::create(lc_44100_stereo, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bitrate"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace sg::transcode
