#pragma once
// RTSP 1.0 messages (RFC 2326 6, 7) and incremental framing of a TCP byte stream that mixes RTSP messages and
// interleaved binary frames (RFC 2326 10.12).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.hpp"

namespace sg::rtsp {

inline constexpr std::string_view kVersion = "RTSP/1.0";

// Header fields in arrival order; names compare case-insensitively (RFC 2326 4.2 via RFC 2616 4.2).
class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  // First value of `name`, or nullptr.
  const std::string* get(std::string_view name) const;
  // First value of `name`, or nullopt.
  std::optional<std::string_view> find(std::string_view name) const;
  // All values of `name` in order (e.g. several WWW-Authenticate challenges).
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  // Replaces the first field called `name` (removing any others) or appends it.
  void set(std::string_view name, std::string value);
  // Appends a field even if one with that name exists.
  void add(std::string_view name, std::string value);
  // Removes every field called `name`; returns how many.
  size_t remove(std::string_view name);

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const std::vector<Field>& fields() const { return fields_; }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

enum class Method {
  Options,
  Describe,
  Announce,
  Setup,
  Play,
  Pause,
  Record,
  Teardown,
  GetParameter,
  SetParameter,
  Redirect,
  Unknown,
};
// Methods are case-sensitive (RFC 2326 6.1): "setup" is Unknown.
Method method_from_string(std::string_view method);
std::string_view to_string(Method method);

// Parses a CSeq value: decimal digits only, fits in 32 bits.
std::optional<uint32_t> parse_cseq(std::string_view value);

struct Request {
  std::string method;
  std::string uri;
  std::string version{kVersion};
  Headers headers;
  std::string body;

  Method method_id() const { return method_from_string(method); }
  // CSeq as a number, or nullopt when missing or invalid.
  std::optional<uint32_t> cseq() const;
  void set_cseq(uint32_t cseq) { headers.set("CSeq", std::to_string(cseq)); }
  // Start line, headers in order, then Content-Length (computed; any Content-Length header set by hand is
  // ignored) when the body is not empty, a blank line and the body. CRLF line endings.
  std::string serialize() const;
};

struct Response {
  int status = 200;
  std::string reason;  // empty: the standard phrase for `status` is used by serialize()
  std::string version{kVersion};
  Headers headers;
  std::string body;

  std::optional<uint32_t> cseq() const;
  // Same rules as Request::serialize().
  std::string serialize() const;

  // A response to `request` with its CSeq copied (if it has one) and the standard reason phrase.
  static Response to(const Request& request, int status = 200);
  // The answer to a message parse_next() rejected: its suggested status, and its CSeq when it had a valid one.
  static Response to(const struct ParseError& error);
};

// Standard reason phrase for an RTSP status code (RFC 2326 7.1.1), or "Unknown" for codes it does not list.
std::string_view reason_phrase(int status);

// Framing limits: beyond them parse_next() fails rather than waiting for more bytes.
struct Limits {
  size_t max_header_bytes = 16 * 1024;  // start line + header fields + blank line
  size_t max_header_count = 64;
  size_t max_body_bytes = 64 * 1024;
};

// Not a complete message or frame yet: read more bytes and call again with the whole unconsumed buffer.
struct NeedMore {};

// One interleaved frame ('$', channel, 16-bit length, payload). `payload` points into the parsed buffer.
struct Interleaved {
  uint8_t channel = 0;
  Bytes payload;
};

struct ParseError {
  std::string reason;  // says what and where, e.g. "RTSP: bad CSeq header 'abc'"
  // Status the server can answer with: 400, 413 (body too large) or 505 (version not supported).
  int status = 400;
  // CSeq of the offending message when it could be read, for the answer.
  std::optional<uint32_t> cseq;
};

struct ParseResult {
  // Bytes to drop from the front of the buffer. Can be > 0 with NeedMore (leading blank lines skipped).
  // With ParseError: > 0 when the bad message was framed completely (the caller may answer and go on);
  // 0 when framing is lost (answer if you like, then close the connection).
  size_t consumed = 0;
  std::variant<NeedMore, Request, Response, Interleaved, ParseError> value;

  bool need_more() const { return std::holds_alternative<NeedMore>(value); }
  const Request* request() const { return std::get_if<Request>(&value); }
  Request* request() { return std::get_if<Request>(&value); }
  const Response* response() const { return std::get_if<Response>(&value); }
  Response* response() { return std::get_if<Response>(&value); }
  const Interleaved* interleaved() const { return std::get_if<Interleaved>(&value); }
  const ParseError* error() const { return std::get_if<ParseError>(&value); }
};

// Parses the first message or interleaved frame at the start of `buffer`. Accepts CRLF and lone LF line
// endings and folded (continued) header lines. Requests must carry a valid CSeq; a response may lack one (live555
// omits it in some error responses: Response::cseq() is then nullopt), but a CSeq present must be valid.
ParseResult parse_next(Bytes buffer, const Limits& limits = {});
inline ParseResult parse_next(std::string_view buffer, const Limits& limits = {}) {
  return parse_next(as_bytes(buffer), limits);
}

// Interleaved frame header (RFC 2326 10.12): '$', channel, payload length big-endian.
inline constexpr size_t kInterleavedHeaderSize = 4;
inline void write_interleaved_header(std::span<std::byte, kInterleavedHeaderSize> out, uint8_t channel,
                                     uint16_t payload_size) {
  out[0] = std::byte{'$'};
  out[1] = std::byte{channel};
  out[2] = std::byte(payload_size >> 8);
  out[3] = std::byte(payload_size & 0xff);
}
inline std::array<std::byte, kInterleavedHeaderSize> interleaved_header(uint8_t channel, uint16_t payload_size) {
  std::array<std::byte, kInterleavedHeaderSize> h{};
  write_interleaved_header(h, channel, payload_size);
  return h;
}

}  // namespace sg::rtsp
