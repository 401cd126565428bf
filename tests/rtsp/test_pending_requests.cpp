// Matching a client's responses to its requests by CSeq, including live555's responses without CSeq.
#include <gtest/gtest.h>

#include "rtsp/pending_requests.hpp"

namespace sg::rtsp {
namespace {

// live555's answer to a SETUP it cannot handle: no CSeq.
Response live555_bad_request() {
  auto r = parse_next(
      "RTSP/1.0 400 Bad Request\r\nDate: Tue, Dec 01 2026 17:20:00 GMT\r\n"
      "Allow: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n\r\n");
  EXPECT_NE(r.response(), nullptr);
  return r.response() ? *r.response() : Response{};
}

Response with_cseq(uint32_t cseq) {
  Response r;
  r.headers.set("CSeq", std::to_string(cseq));
  return r;
}

TEST(PendingRequests, ResponseAnswersTheRequestWithItsCSeq) {
  PendingRequests p;
  p.sent(7);
  p.sent(8);
  auto a = p.answer(with_cseq(8));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 8u);
  EXPECT_EQ(p.size(), 1u);
}

TEST(PendingRequests, ResponseWithACSeqNotOutstandingAnswersNothing) {
  PendingRequests p;
  p.sent(3);
  auto a = p.answer(with_cseq(2));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, std::nullopt);
  EXPECT_EQ(p.size(), 1u);
}

TEST(PendingRequests, ResponseWithoutCSeqAnswersTheOnlyOutstandingRequest) {
  PendingRequests p;
  p.sent(4);
  auto a = p.answer(live555_bad_request());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 4u);
  EXPECT_EQ(p.size(), 0u);
}

TEST(PendingRequests, ResponseWithoutCSeqWhileSeveralAreOutstandingIsAnError) {
  PendingRequests p;
  p.sent(5);
  p.sent(6);
  auto a = p.answer(live555_bad_request());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error(), "RTSP: response 400 Bad Request without CSeq while 2 requests are outstanding");
}

TEST(PendingRequests, ResponseWithoutCSeqWithNothingOutstandingAnswersNothing) {
  PendingRequests p;
  auto a = p.answer(live555_bad_request());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, std::nullopt);
}

TEST(PendingRequests, ForgetDropsARequest) {
  PendingRequests p;
  p.sent(1);
  p.sent(2);
  p.forget(1);
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(*p.answer(live555_bad_request()), 2u);
}

}  // namespace
}  // namespace sg::rtsp
