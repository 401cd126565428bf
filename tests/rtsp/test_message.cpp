#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "captures.hpp"
#include "rtsp/message.hpp"

namespace sg::rtsp {
namespace {

std::string ffmpeg_publish_stream() {
  std::string s;
  s += captures::kFfmpegOptions;
  s += captures::kFfmpegAnnounceHead;
  s += captures::kFfmpegAnnounceSdp;
  s += captures::kFfmpegSetupVideo;
  s += captures::kFfmpegSetupAudio;
  s += captures::kFfmpegRecord;
  auto f1 = from_hex(captures::kFfmpegRtcpSrChannel1Hex);
  auto f3 = from_hex(captures::kFfmpegRtcpSrChannel3Hex);
  s += as_string_view(f1);
  s += as_string_view(f3);
  s += captures::kFfmpegTeardown;
  return s;
}

// A compact description of a parse result, to compare results of different feeding patterns.
std::string describe(const ParseResult& r) {
  if (r.need_more()) return "need-more";
  if (const auto* q = r.request()) return "request " + q->method + " " + q->uri + " cseq=" + std::to_string(*q->cseq()) + " body=" + std::to_string(q->body.size());
  if (const auto* p = r.response()) return "response " + std::to_string(p->status) + " body=" + p->body;
  if (const auto* i = r.interleaved()) return "interleaved " + std::to_string(i->channel) + " " + to_hex(i->payload);
  return "error " + r.error()->reason;
}

std::vector<std::string> parse_all(std::string_view stream) {
  std::vector<std::string> out;
  Bytes rest = as_bytes(stream);
  for (;;) {
    auto r = parse_next(rest);
    if (r.need_more() || r.error()) {
      if (r.error()) out.push_back(describe(r));
      break;
    }
    out.push_back(describe(r));
    rest = rest.subspan(r.consumed);
  }
  return out;
}

TEST(RtspParse, FfmpegOptionsRequestIsParsed) {
  auto r = parse_next(captures::kFfmpegOptions);
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, captures::kFfmpegOptions.size());
  EXPECT_EQ(r.request()->method, "OPTIONS");
  EXPECT_EQ(r.request()->method_id(), Method::Options);
  EXPECT_EQ(r.request()->uri, "rtsp://127.0.0.1:18554/test");
  EXPECT_EQ(r.request()->version, "RTSP/1.0");
  EXPECT_EQ(r.request()->cseq(), 1u);
  ASSERT_NE(r.request()->headers.get("user-agent"), nullptr);
  EXPECT_EQ(*r.request()->headers.get("user-agent"), "Lavf59.27.100");
  EXPECT_TRUE(r.request()->body.empty());
}

TEST(RtspParse, FfmpegAnnounceCarriesSdpBody) {
  std::string msg = std::string(captures::kFfmpegAnnounceHead) + std::string(captures::kFfmpegAnnounceSdp);
  ASSERT_EQ(captures::kFfmpegAnnounceSdp.size(), 498u);
  auto r = parse_next(msg);
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, msg.size());
  EXPECT_EQ(r.request()->method_id(), Method::Announce);
  EXPECT_EQ(r.request()->body, captures::kFfmpegAnnounceSdp);
  EXPECT_EQ(r.request()->headers.find("content-type"), "application/sdp");
}

TEST(RtspParse, FfmpegPublishStreamMixesMessagesAndInterleavedFrames) {
  auto results = parse_all(ffmpeg_publish_stream());
  std::vector<std::string> expected = {
      "request OPTIONS rtsp://127.0.0.1:18554/test cseq=1 body=0",
      "request ANNOUNCE rtsp://127.0.0.1:18554/test cseq=2 body=498",
      "request SETUP rtsp://127.0.0.1:18554/test/streamid=0 cseq=3 body=0",
      "request SETUP rtsp://127.0.0.1:18554/test/streamid=1 cseq=4 body=0",
      "request RECORD rtsp://127.0.0.1:18554/test cseq=5 body=0",
      "interleaved 1 " + std::string(captures::kFfmpegRtcpSrChannel1Hex.substr(8)),
      "interleaved 3 " + std::string(captures::kFfmpegRtcpSrChannel3Hex.substr(8)),
      "request TEARDOWN rtsp://127.0.0.1:18554/test cseq=6 body=0",
  };
  EXPECT_EQ(results, expected);
}

TEST(RtspParse, EveryPrefixOfEachMessageNeedsMoreAndTheWholeGivesTheSameResult) {
  const std::string stream = ffmpeg_publish_stream();
  Bytes rest = as_bytes(stream);
  size_t messages = 0;
  while (!rest.empty()) {
    auto whole = parse_next(rest);
    ASSERT_FALSE(whole.need_more());
    ASSERT_EQ(whole.error(), nullptr) << describe(whole);
    for (size_t k = 0; k < whole.consumed; ++k) {
      auto part = parse_next(rest.first(k));
      ASSERT_TRUE(part.need_more()) << "message " << messages << " prefix " << k << ": " << describe(part);
      EXPECT_EQ(part.consumed, 0u);
    }
    rest = rest.subspan(whole.consumed);
    ++messages;
  }
  EXPECT_EQ(messages, 8u);
}

TEST(RtspParse, ByteByByteFeedingGivesTheSameSequence) {
  const std::string stream = ffmpeg_publish_stream();
  std::string buffer;
  std::vector<std::string> results;
  for (char c : stream) {
    buffer += c;
    for (;;) {
      auto r = parse_next(buffer);
      ASSERT_EQ(r.error(), nullptr) << describe(r);
      if (r.need_more()) break;
      results.push_back(describe(r));
      buffer.erase(0, r.consumed);
    }
  }
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(results, parse_all(stream));
}

// A DESCRIBE answer in the form IP cameras send (Hikvision-like headers, H.264 + PCMA).
constexpr std::string_view kDescribeResponse =
    "RTSP/1.0 200 OK\r\n"
    "CSeq: 3\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Base: rtsp://192.168.1.64:554/Streaming/Channels/101/\r\n"
    "Content-Length: 358\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n"
    "s=Media Presentation\r\n"
    "e=NONE\r\n"
    "b=AS:5050\r\n"
    "t=0 0\r\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "b=AS:5000\r\n"
    "a=control:trackID=1\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "m=audio 0 RTP/AVP 8\r\n"
    "b=AS:50\r\n"
    "a=control:trackID=2\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=Media_header:MEDIAINFO=494D4B48;\r\n";

TEST(RtspParse, DescribeResponseWithSdpBody) {
  auto r = parse_next(kDescribeResponse);
  ASSERT_NE(r.response(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, kDescribeResponse.size());
  EXPECT_EQ(r.response()->status, 200);
  EXPECT_EQ(r.response()->reason, "OK");
  EXPECT_EQ(r.response()->cseq(), 3u);
  EXPECT_EQ(r.response()->headers.find("Content-Base"), "rtsp://192.168.1.64:554/Streaming/Channels/101/");
  EXPECT_EQ(r.response()->body.size(), 358u);
  EXPECT_TRUE(r.response()->body.starts_with("v=0\r\n"));
  EXPECT_TRUE(r.response()->body.ends_with("MEDIAINFO=494D4B48;\r\n"));
}

TEST(RtspParse, UnauthorizedResponseKeepsEveryChallenge) {
  auto r = parse_next(
      "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"x\", nonce=\"n\"\r\n"
      "WWW-Authenticate: Basic realm=\"x\"\r\n\r\n");
  ASSERT_NE(r.response(), nullptr) << describe(r);
  EXPECT_EQ(r.response()->status, 401);
  auto all = r.response()->headers.get_all("www-authenticate");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1], "Basic realm=\"x\"");
}

TEST(RtspParse, StatusLineWithoutReasonIsAccepted) {
  auto r = parse_next("RTSP/1.0 200\r\nCSeq: 9\r\n\r\n");
  ASSERT_NE(r.response(), nullptr) << describe(r);
  EXPECT_EQ(r.response()->status, 200);
  EXPECT_EQ(r.response()->reason, "");
}

TEST(RtspParse, LoneLfLineEndingsAreAccepted) {
  std::string_view msg = "SETUP rtsp://h/s/trackID=1 RTSP/1.0\nCSeq: 7\nContent-Length: 2\n\nab";
  auto r = parse_next(msg);
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, msg.size());
  EXPECT_EQ(r.request()->cseq(), 7u);
  EXPECT_EQ(r.request()->body, "ab");
}

TEST(RtspParse, FoldedHeaderLineIsJoined) {
  auto r = parse_next("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Long: one\r\n \t two\r\n\r\n");
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.request()->uri, "*");
  EXPECT_EQ(r.request()->headers.find("x-long"), "one two");
}

TEST(RtspParse, LeadingBlankLinesAreSkipped) {
  std::string msg = "\r\n\r\n" + std::string(captures::kFfmpegOptions);
  auto only_blank = parse_next("\r\n\n");
  EXPECT_TRUE(only_blank.need_more());
  EXPECT_EQ(only_blank.consumed, 3u);
  auto r = parse_next(msg);
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, msg.size());
}

TEST(RtspParse, EmptyInterleavedFrameIsReturned) {
  auto r = parse_next(as_string_view(from_hex("24050000")));
  ASSERT_NE(r.interleaved(), nullptr) << describe(r);
  EXPECT_EQ(r.interleaved()->channel, 5);
  EXPECT_TRUE(r.interleaved()->payload.empty());
  EXPECT_EQ(r.consumed, 4u);
}

TEST(RtspParse, InterleavedPayloadPointsIntoTheBuffer) {
  auto bytes = from_hex(captures::kFfmpegRtcpSrChannel1Hex);
  auto r = parse_next(Bytes(bytes));
  ASSERT_NE(r.interleaved(), nullptr);
  EXPECT_EQ(r.interleaved()->payload.data(), bytes.data() + 4);
  EXPECT_EQ(r.interleaved()->payload.size(), 28u);
}

// ---- errors ----

ParseError expect_error(std::string_view input, const Limits& limits = {}) {
  auto r = parse_next(input, limits);
  EXPECT_NE(r.error(), nullptr) << describe(r);
  return r.error() ? *r.error() : ParseError{};
}

TEST(RtspParseError, BadCSeqIsReportedWithItsValue) {
  auto e = expect_error("OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: abc\r\n\r\n");
  EXPECT_EQ(e.reason, "RTSP: bad CSeq header 'abc'");
  EXPECT_EQ(e.status, 400);
}

TEST(RtspParseError, BadCSeqMessageIsStillFramedSoTheCallerCanGoOn) {
  std::string_view msg = "OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: -1\r\n\r\n";
  auto r = parse_next(msg);
  ASSERT_NE(r.error(), nullptr);
  EXPECT_EQ(r.consumed, msg.size());
}

TEST(RtspParseError, RequestWithoutCSeqIsReported) {
  EXPECT_EQ(expect_error("OPTIONS rtsp://h/ RTSP/1.0\r\nUser-Agent: x\r\n\r\n").reason, "RTSP: missing CSeq header");
}

// live555's answer to a request it cannot handle (e.g. a SETUP racing another on the same session): a 400 with a
// Date and an Allow header and no CSeq (its handleCmd_bad response format).
TEST(RtspParse, Live555BadRequestWithoutCSeqIsAResponseWithoutCSeq) {
  std::string_view msg =
      "RTSP/1.0 400 Bad Request\r\nDate: Tue, Dec 01 2026 17:20:00 GMT\r\n"
      "Allow: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n\r\n";
  auto r = parse_next(msg);
  ASSERT_NE(r.response(), nullptr) << describe(r);
  EXPECT_EQ(r.consumed, msg.size());
  EXPECT_EQ(r.response()->status, 400);
  EXPECT_EQ(r.response()->reason, "Bad Request");
  EXPECT_EQ(r.response()->cseq(), std::nullopt);
}

TEST(RtspParseError, ResponseWithABadCSeqIsStillAnError) {
  EXPECT_EQ(expect_error("RTSP/1.0 200 OK\r\nCSeq: x1\r\n\r\n").reason, "RTSP: bad CSeq header 'x1'");
}

TEST(RtspParseError, CSeqBeyond32BitsIsBad) {
  EXPECT_EQ(expect_error("OPTIONS * RTSP/1.0\r\nCSeq: 4294967296\r\n\r\n").reason,
            "RTSP: bad CSeq header '4294967296'");
}

TEST(RtspParseError, Rtsp2IsAnsweredWith505AndItsCSeq) {
  std::string_view msg = "OPTIONS rtsp://h/ RTSP/2.0\r\nCSeq: 12\r\n\r\n";
  auto r = parse_next(msg);
  ASSERT_NE(r.error(), nullptr) << describe(r);
  EXPECT_EQ(r.error()->status, 505);
  EXPECT_EQ(r.error()->cseq, 12u);
  EXPECT_EQ(r.consumed, msg.size());
  EXPECT_EQ(r.error()->reason, "RTSP: version 'RTSP/2.0' not supported");
}

TEST(RtspParseError, ErrorAnswerCarriesStatusAndCSeq) {
  auto r = parse_next("SETUP rtsp://h/ RTSP/2.0\r\nCSeq: 7\r\n\r\n");
  ASSERT_NE(r.error(), nullptr);
  EXPECT_EQ(Response::to(*r.error()).serialize(), "RTSP/1.0 505 RTSP Version not supported\r\nCSeq: 7\r\n\r\n");
  auto bad = parse_next("SETUP rtsp://h/ RTSP/1.0\r\nCSeq: x\r\n\r\n");
  ASSERT_NE(bad.error(), nullptr);
  EXPECT_EQ(Response::to(*bad.error()).serialize(), "RTSP/1.0 400 Bad Request\r\n\r\n");
}

TEST(RtspParseError, HttpRequestIsABadRequestLine) {
  auto e = expect_error("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(e.reason, "RTSP: bad request line 'GET / HTTP/1.1'");
  EXPECT_EQ(e.status, 400);
}

TEST(RtspParseError, MalformedStartLinesAreRejectedAsSoonAsTheLineIsComplete) {
  for (std::string_view line : {"OPTIONS\r\n", "OPTIONS rtsp://h/\r\n", "OPTIONS  RTSP/1.0\r\n",
                                "OPTIONS rtsp://a b RTSP/1.0\r\n", "OPT:IONS * RTSP/1.0\r\n", "RTSP/1.0\r\n",
                                "RTSP/1.0 20 OK\r\n", "RTSP/1.0 2000 OK\r\n", "RTSP/1.0 abc OK\r\n",
                                "RTSP/1.0 099 Low\r\n", "OPTIONS * RTSP/1.0\x01\r\n"}) {
    auto r = parse_next(line);  // no header section yet: the start line alone must fail
    ASSERT_NE(r.error(), nullptr) << line << " -> " << describe(r);
    EXPECT_EQ(r.consumed, 0u);
  }
}

TEST(RtspParseError, BadContentLengthIsAnError) {
  for (std::string_view v : {"abc", "-1", "1.5", "", "99999999999999999999999"}) {
    auto e = expect_error("ANNOUNCE rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nContent-Length: " + std::string(v) +
                          "\r\n\r\n");
    EXPECT_EQ(e.reason.rfind("RTSP: bad Content-Length header", 0), 0u) << e.reason;
  }
}

TEST(RtspParseError, ConflictingContentLengthsAreAnError) {
  auto e = expect_error("ANNOUNCE rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(e.reason, "RTSP: conflicting Content-Length headers");
}

TEST(RtspParseError, BodyOverTheLimitIs413WithoutWaitingForIt) {
  Limits limits;
  limits.max_body_bytes = 100;
  auto r = parse_next("ANNOUNCE rtsp://h/ RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 101\r\n\r\n", limits);
  ASSERT_NE(r.error(), nullptr) << describe(r);
  EXPECT_EQ(r.error()->status, 413);
  EXPECT_EQ(r.error()->cseq, 4u);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(parse_next("ANNOUNCE rtsp://h/ RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 100\r\n\r\n", limits).need_more());
}

TEST(RtspParseError, HeaderSectionOverTheLimitIsAnErrorNotMoreBuffering) {
  Limits limits;
  limits.max_header_bytes = 256;
  std::string msg = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Pad: " + std::string(300, 'a');
  auto r = parse_next(msg, limits);
  ASSERT_NE(r.error(), nullptr) << describe(r);
  EXPECT_EQ(r.error()->reason, "RTSP: header section exceeds 256 bytes");
  // Just below the limit it still waits.
  EXPECT_TRUE(parse_next(std::string_view(msg).substr(0, 255), limits).need_more());
  // A start line that never ends is also bounded.
  EXPECT_NE(parse_next(std::string(300, 'A'), limits).error(), nullptr);
}

TEST(RtspParseError, TooManyHeaderFieldsIsAnError) {
  Limits limits;
  limits.max_header_count = 4;
  std::string ok = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  EXPECT_NE(parse_next(ok, limits).request(), nullptr);
  auto e = expect_error("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits);
  EXPECT_EQ(e.reason, "RTSP: more than 4 header fields");
}

TEST(RtspParseError, MalformedHeaderLinesAreRejected) {
  EXPECT_EQ(expect_error("OPTIONS * RTSP/1.0\r\nCSeq 1\r\n\r\n").reason, "RTSP: header line without ':' 'CSeq 1'");
  EXPECT_EQ(expect_error("OPTIONS * RTSP/1.0\r\n continued\r\n\r\n").reason,
            "RTSP: continuation line without a header ' continued'");
  EXPECT_EQ(expect_error("OPTIONS * RTSP/1.0\r\nBad Name: 1\r\n\r\n").reason, "RTSP: bad header name 'Bad Name'");
  EXPECT_EQ(expect_error("OPTIONS * RTSP/1.0\r\n: 1\r\n\r\n").reason, "RTSP: bad header name ''");
  EXPECT_EQ(expect_error(std::string_view("OPTIONS * RTSP/1.0\r\nCSeq: 1\0\r\n\r\n", 33)).reason,
            "RTSP: control character in header line 'CSeq: 1\\x00'");
}

TEST(RtspParseError, UnknownVersionWordIsABadVersion) {
  auto e = expect_error("OPTIONS * RTSP/one\r\nCSeq: 1\r\n\r\n");
  EXPECT_EQ(e.reason, "RTSP: bad version 'RTSP/one'");
  EXPECT_EQ(e.status, 400);
}

// ---- building ----

TEST(RtspSerialize, RequestWithBodyAlwaysGetsContentLength) {
  Request req;
  req.method = "ANNOUNCE";
  req.uri = "rtsp://127.0.0.1:8554/test";
  req.set_cseq(2);
  req.headers.set("Content-Type", "application/sdp");
  req.headers.set("Content-Length", "999");  // stale value set by hand is replaced
  req.body = "v=0\r\n";
  EXPECT_EQ(req.serialize(),
            "ANNOUNCE rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
            "Content-Length: 5\r\n\r\nv=0\r\n");
}

TEST(RtspSerialize, SerializedRequestParsesBackToTheSame) {
  Request req;
  req.method = "SETUP";
  req.uri = "rtsp://h/s/streamid=0";
  req.set_cseq(3);
  req.headers.add("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1");
  req.body = "x";
  auto r = parse_next(req.serialize());
  ASSERT_NE(r.request(), nullptr) << describe(r);
  EXPECT_EQ(r.request()->method, "SETUP");
  EXPECT_EQ(r.request()->uri, req.uri);
  EXPECT_EQ(r.request()->headers.find("transport"), "RTP/AVP/TCP;unicast;interleaved=0-1");
  EXPECT_EQ(r.request()->body, "x");
}

TEST(RtspSerialize, ResponseToRequestCopiesCSeqAndUsesStandardReason) {
  auto req = parse_next(captures::kFfmpegSetupVideo);
  ASSERT_NE(req.request(), nullptr);
  auto resp = Response::to(*req.request(), 461);
  EXPECT_EQ(resp.serialize(), "RTSP/1.0 461 Unsupported transport\r\nCSeq: 3\r\n\r\n");
}

TEST(RtspSerialize, HeaderValuesCannotInjectLines) {
  Response r;
  r.headers.set("CSeq", "1\r\nX-Evil: 1");
  EXPECT_EQ(r.serialize(), "RTSP/1.0 200 OK\r\nCSeq: 1  X-Evil: 1\r\n\r\n");
}

TEST(RtspSerialize, StandardReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(301), "Moved Permanently");
  EXPECT_EQ(reason_phrase(302), "Moved Temporarily");
  EXPECT_EQ(reason_phrase(401), "Unauthorized");
  EXPECT_EQ(reason_phrase(451), "Parameter Not Understood");
  EXPECT_EQ(reason_phrase(453), "Not Enough Bandwidth");
  EXPECT_EQ(reason_phrase(454), "Session Not Found");
  EXPECT_EQ(reason_phrase(455), "Method Not Valid in This State");
  EXPECT_EQ(reason_phrase(459), "Aggregate operation not allowed");
  EXPECT_EQ(reason_phrase(505), "RTSP Version not supported");
  EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(RtspSerialize, InterleavedHeaderIsDollarChannelLength) {
  auto h = interleaved_header(3, 0x01f4);
  EXPECT_EQ(to_hex(h), "240301f4");
  std::array<std::byte, 8> buf{};
  write_interleaved_header(std::span<std::byte, 4>(buf.data(), 4), 255, 65535);
  EXPECT_EQ(to_hex(Bytes(buf).first(4)), "24ffffff");
}

TEST(RtspMethod, MethodsAreCaseSensitive) {
  EXPECT_EQ(method_from_string("GET_PARAMETER"), Method::GetParameter);
  EXPECT_EQ(method_from_string("setup"), Method::Unknown);
  EXPECT_EQ(to_string(Method::Record), "RECORD");
}

// ---- headers ----

TEST(RtspHeaders, LookupIsCaseInsensitiveAndKeepsOrder) {
  Headers h;
  h.add("CSeq", "1");
  h.add("Session", "a");
  h.add("session", "b");
  EXPECT_EQ(*h.get("cseq"), "1");
  EXPECT_EQ(h.find("SESSION"), "a");
  EXPECT_EQ(h.get("missing"), nullptr);
  EXPECT_EQ(h.find("missing"), std::nullopt);
  EXPECT_EQ(h.get_all("Session"), (std::vector<std::string_view>{"a", "b"}));
}

TEST(RtspHeaders, SetReplacesEveryFieldOfThatName) {
  Headers h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("a", "3");
  h.set("A", "x");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h.fields()[0].value, "x");
  EXPECT_EQ(h.fields()[1].name, "B");
  h.set("C", "y");
  EXPECT_EQ(h.fields().back().value, "y");
}

TEST(RtspHeaders, RemoveDropsAllMatches) {
  Headers h;
  h.add("A", "1");
  h.add("a", "2");
  h.add("B", "3");
  EXPECT_EQ(h.remove("A"), 2u);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.remove("A"), 0u);
}

}  // namespace
}  // namespace sg::rtsp
