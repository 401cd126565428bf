// Checks our TS and fMP4 output with a real demuxer/decoder: ffprobe must identify and decode both streams.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "hls/segmenter.hpp"
#include "real_stream_data.hpp"

namespace sg::hls {
namespace {

using mp4::Sample;
using mp4::TrackInfo;

template <size_t N>
ByteVector bytes(const uint8_t (&a)[N]) {
  return ByteVector(reinterpret_cast<const std::byte*>(a), reinterpret_cast<const std::byte*>(a) + N);
}

ByteVector avcc_sample(const uint8_t* nal, size_t size) {
  ByteVector out;
  append32(out, static_cast<uint32_t>(size));
  append(out, Bytes(reinterpret_cast<const std::byte*>(nal), size));
  return out;
}

std::vector<TrackInfo> real_tracks() {
  TrackInfo v;
  v.codec = TrackInfo::Codec::H264;
  v.timescale = 90000;
  v.width = 160;
  v.height = 90;
  v.sps = bytes(test::kH264Sps);
  v.pps = bytes(test::kH264Pps);
  // avcC (ISO/IEC 14496-15 5.3.3.1): version, profile, compatibility, level, 4-byte lengths, 1 SPS, 1 PPS.
  append8(v.codec_config, 1);
  append(v.codec_config, Bytes(v.sps).subspan(1, 3));
  append8(v.codec_config, 0xff);
  append8(v.codec_config, 0xe1);
  append16(v.codec_config, static_cast<uint16_t>(v.sps.size()));
  append(v.codec_config, v.sps);
  append8(v.codec_config, 1);
  append16(v.codec_config, static_cast<uint16_t>(v.pps.size()));
  append(v.codec_config, v.pps);
  TrackInfo a;
  a.codec = TrackInfo::Codec::AAC;
  a.timescale = 44100;
  a.sample_rate = 44100;
  a.channels = 1;
  a.codec_config = bytes(test::kAacConfig);
  return {v, a};
}

Segmenter segment_real_stream(Variant variant) {
  SegmenterConfig cfg;
  cfg.variant = variant;
  auto made = Segmenter::create(real_tracks(), cfg);
  EXPECT_TRUE(made.ok()) << made.error();
  Segmenter seg = std::move(*made);
  const int64_t wall = 1764037906000;
  EXPECT_TRUE(seg.push(0, Sample{0, 0, 3600, true, avcc_sample(test::kH264Idr, sizeof test::kH264Idr)}, wall).ok());
  EXPECT_TRUE(seg.push(1, Sample{0, 0, 1024, true, bytes(test::kAacFrame0)}, wall).ok());
  EXPECT_TRUE(seg.push(1, Sample{1024, 0, 1024, true, bytes(test::kAacFrame1)}, wall + 23).ok());
  EXPECT_TRUE(
      seg.push(0, Sample{3600, 0, 3600, false, avcc_sample(test::kH264P, sizeof test::kH264P)}, wall + 40).ok());
  seg.finish();
  EXPECT_EQ(seg.segments().size(), 1u);
  return seg;
}

bool have_ffprobe() { return std::system("ffprobe -version >/dev/null 2>&1") == 0; }

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  pclose(p);
  return out;
}

std::string write_temp(const std::string& name, std::initializer_list<const ByteVector*> parts) {
  const std::string path = "/tmp/sg_test_hls_" + std::to_string(getpid()) + "_" + name;
  std::ofstream f(path, std::ios::binary);
  for (const ByteVector* p : parts)
    f.write(reinterpret_cast<const char*>(p->data()), static_cast<std::streamsize>(p->size()));
  return path;
}

constexpr const char* kProbe =
    "ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames "
    "-of default=noprint_wrappers=1 ";

TEST(Ffprobe, DecodesOurMpegTsSegment) {
  if (!have_ffprobe()) GTEST_SKIP() << "ffprobe not installed";
  Segmenter seg = segment_real_stream(Variant::MpegTs);
  auto data = seg.segment_data(0);
  ASSERT_TRUE(data);
  const std::string path = write_temp("seg0.ts", {data.get()});
  const std::string out = run(kProbe + path + " 2>&1");
  std::remove(path.c_str());
  const std::string streams =
      "codec_name=h264\nwidth=160\nheight=90\nnb_read_frames=2\n"
      "codec_name=aac\nnb_read_frames=2\n";
  EXPECT_EQ(out, streams + streams);  // once inside the PMT's program, once as plain streams
}

TEST(Ffprobe, DecodesOurFmp4InitSegmentPlusFragment) {
  if (!have_ffprobe()) GTEST_SKIP() << "ffprobe not installed";
  Segmenter seg = segment_real_stream(Variant::Fmp4);
  auto data = seg.segment_data(0);
  ASSERT_TRUE(data && seg.init_segment());
  const std::string path = write_temp("seg0.mp4", {seg.init_segment().get(), data.get()});
  const std::string out = run(kProbe + path + " 2>&1");
  std::remove(path.c_str());
  EXPECT_EQ(out,
            "codec_name=h264\nwidth=160\nheight=90\nnb_read_frames=2\n"
            "codec_name=aac\nnb_read_frames=2\n");
}

}  // namespace
}  // namespace sg::hls
