// RTP-Info header of a PLAY response (RFC 2326 12.33).
#include <gtest/gtest.h>

#include "rtsp/rtp_info.hpp"

namespace sg::rtsp {
namespace {

TEST(RtpInfo, ListsEveryStreamWithSeqAndRtptime) {
  std::vector<RtpInfo> info = {{"rtsp://h:8554/cam/trackID=0", 4711, 123456789u},
                               {"rtsp://h:8554/cam/trackID=1", 1, 0u}};
  EXPECT_EQ(format_rtp_info(info),
            "url=rtsp://h:8554/cam/trackID=0;seq=4711;rtptime=123456789,url=rtsp://h:8554/cam/trackID=1;seq=1;"
            "rtptime=0");
}

TEST(RtpInfo, OmitsAnUnknownRtptime) {
  std::vector<RtpInfo> info = {{"rtsp://h/cam/trackID=1", 65535, std::nullopt}};
  EXPECT_EQ(format_rtp_info(info), "url=rtsp://h/cam/trackID=1;seq=65535");
}

}  // namespace
}  // namespace sg::rtsp
