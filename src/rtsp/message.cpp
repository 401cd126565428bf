#include "rtsp/message.hpp"

#include <algorithm>
#include <utility>

#include "rtsp/text.hpp"

namespace sg::rtsp {

// ---- Headers ----

const std::string* Headers::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return &f.value;
  }
  return nullptr;
}

std::optional<std::string_view> Headers::find(std::string_view name) const {
  if (const auto* v = get(name)) return std::string_view(*v);
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) out.emplace_back(f.value);
  }
  return out;
}

void Headers::set(std::string_view name, std::string value) {
  auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); });
  if (it == fields_.end()) {
    fields_.push_back({std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  auto first = static_cast<size_t>(it - fields_.begin());
  for (size_t i = fields_.size(); i-- > first + 1;) {
    if (iequals(fields_[i].name, name)) fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Headers::add(std::string_view name, std::string value) { fields_.push_back({std::string(name), std::move(value)}); }

size_t Headers::remove(std::string_view name) {
  auto before = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.name, name); });
  return before - fields_.size();
}

// ---- Methods, status ----

namespace {
constexpr std::pair<Method, std::string_view> kMethods[] = {
    {Method::Options, "OPTIONS"},   {Method::Describe, "DESCRIBE"},          {Method::Announce, "ANNOUNCE"},
    {Method::Setup, "SETUP"},       {Method::Play, "PLAY"},                  {Method::Pause, "PAUSE"},
    {Method::Record, "RECORD"},     {Method::Teardown, "TEARDOWN"},          {Method::GetParameter, "GET_PARAMETER"},
    {Method::SetParameter, "SET_PARAMETER"}, {Method::Redirect, "REDIRECT"},
};
}  // namespace

Method method_from_string(std::string_view method) {
  for (const auto& [m, name] : kMethods) {
    if (name == method) return m;
  }
  return Method::Unknown;
}

std::string_view to_string(Method method) {
  for (const auto& [m, name] : kMethods) {
    if (m == method) return name;
  }
  return "UNKNOWN";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 250: return "Low on Storage Space";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Time-out";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Large";
    case 415: return "Unsupported Media Type";
    case 451: return "Parameter Not Understood";
    case 452: return "Conference Not Found";
    case 453: return "Not Enough Bandwidth";
    case 454: return "Session Not Found";
    case 455: return "Method Not Valid in This State";
    case 456: return "Header Field Not Valid for Resource";
    case 457: return "Invalid Range";
    case 458: return "Parameter Is Read-Only";
    case 459: return "Aggregate operation not allowed";
    case 460: return "Only aggregate operation allowed";
    case 461: return "Unsupported transport";
    case 462: return "Destination unreachable";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Time-out";
    case 505: return "RTSP Version not supported";
    case 551: return "Option not supported";
    default: return "Unknown";
  }
}

std::optional<uint32_t> parse_cseq(std::string_view value) { return parse_decimal<uint32_t>(trim(value), UINT32_MAX); }

// ---- Serialization ----

namespace {

// Header values must not break the framing: CR and LF become spaces.
void append_clean(std::string& out, std::string_view s) {
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
}

void serialize_rest(std::string& out, const Headers& headers, const std::string& body) {
  for (const auto& f : headers) {
    if (iequals(f.name, "Content-Length")) continue;
    append_clean(out, f.name);
    out += ": ";
    append_clean(out, f.value);
    out += "\r\n";
  }
  if (!body.empty()) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
}

}  // namespace

std::optional<uint32_t> Request::cseq() const {
  const auto* v = headers.get("CSeq");
  return v ? parse_cseq(*v) : std::nullopt;
}

std::string Request::serialize() const {
  std::string out;
  out.reserve(128 + body.size());
  append_clean(out, method);
  out += ' ';
  append_clean(out, uri);
  out += ' ';
  append_clean(out, version);
  out += "\r\n";
  serialize_rest(out, headers, body);
  return out;
}

std::optional<uint32_t> Response::cseq() const {
  const auto* v = headers.get("CSeq");
  return v ? parse_cseq(*v) : std::nullopt;
}

std::string Response::serialize() const {
  std::string out;
  out.reserve(128 + body.size());
  append_clean(out, version);
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  append_clean(out, reason.empty() ? reason_phrase(status) : std::string_view(reason));
  out += "\r\n";
  serialize_rest(out, headers, body);
  return out;
}

Response Response::to(const Request& request, int status) {
  Response r;
  r.status = status;
  r.reason = std::string(reason_phrase(status));
  if (const auto* cseq = request.headers.get("CSeq")) r.headers.set("CSeq", *cseq);
  return r;
}

Response Response::to(const ParseError& error) {
  Response r;
  r.status = error.status;
  r.reason = std::string(reason_phrase(error.status));
  if (error.cseq) r.headers.set("CSeq", std::to_string(*error.cseq));
  return r;
}

// ---- Framing ----

namespace {

ParseResult fail(size_t consumed, std::string reason, int status = 400, std::optional<uint32_t> cseq = {}) {
  return ParseResult{consumed, ParseError{std::move(reason), status, cseq}};
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 32 && c != '\t') || u == 127;
  });
}

// "RTSP/<digit>.<digit>"
bool looks_like_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 5) == "RTSP/" && v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' &&
         v[7] <= '9';
}

struct StartLine {
  bool is_response = false;
  std::string_view method, uri, version, reason;
  int status = 0;
};

// Parses a request line (RFC 2326 6.1) or status line (7.1). The version is checked by the caller.
std::optional<std::string> parse_start_line(std::string_view line, StartLine& out) {
  if (has_control_chars(line)) return "RTSP: control character in start line " + quote_for_error(line);
  if (line.substr(0, 5) == "RTSP/") {
    out.is_response = true;
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return "RTSP: bad status line " + quote_for_error(line);
    out.version = line.substr(0, sp);
    auto rest = line.substr(sp + 1);
    auto code = rest.substr(0, 3);
    auto status = parse_decimal<int>(code, 999);
    if (code.size() != 3 || !status || *status < 100 || (rest.size() > 3 && rest[3] != ' ')) {
      return "RTSP: bad status code in " + quote_for_error(line);
    }
    out.status = *status;
    out.reason = rest.size() > 4 ? rest.substr(4) : std::string_view{};
    return std::nullopt;
  }
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return "RTSP: bad request line " + quote_for_error(line);
  out.method = line.substr(0, sp1);
  out.uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.version = line.substr(sp2 + 1);
  if (!is_token(out.method) || out.uri.empty() || out.uri.find(' ') != std::string_view::npos ||
      out.version.substr(0, 5) != "RTSP/") {
    return "RTSP: bad request line " + quote_for_error(line);
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse_next(Bytes buffer, const Limits& limits) {
  // RFC 2616 4.1 (applies to RTSP): ignore empty lines before a message (some clients send CRLF keep-alives).
  size_t skip = 0;
  while (skip < buffer.size() && (buffer[skip] == std::byte{'\r'} || buffer[skip] == std::byte{'\n'})) ++skip;
  Bytes data = buffer.subspan(skip);
  if (data.empty()) return ParseResult{skip, NeedMore{}};

  // RFC 2326 10.12: '$', channel, 16-bit length, binary payload.
  if (data[0] == std::byte{'$'}) {
    if (data.size() < kInterleavedHeaderSize) return ParseResult{skip, NeedMore{}};
    size_t len = be16(data, 2);
    if (data.size() < kInterleavedHeaderSize + len) return ParseResult{skip, NeedMore{}};
    return ParseResult{skip + kInterleavedHeaderSize + len,
                       Interleaved{u8(data, 1), data.subspan(kInterleavedHeaderSize, len)}};
  }

  std::string_view text = as_string_view(data);
  const size_t window = std::min(text.size(), limits.max_header_bytes);
  auto too_long_or_more = [&](std::string_view what) {
    if (text.size() >= limits.max_header_bytes) {
      return fail(0, "RTSP: " + std::string(what) + " exceeds " + std::to_string(limits.max_header_bytes) +
                         " bytes");
    }
    return ParseResult{skip, NeedMore{}};
  };

  // Start line: checked as soon as it is complete, so garbage fails fast.
  size_t nl = text.substr(0, window).find('\n');
  if (nl == std::string_view::npos) return too_long_or_more("start line");
  std::string_view line = text.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  StartLine start;
  if (auto err = parse_start_line(line, start)) return fail(0, std::move(*err));

  // Header fields up to the blank line.
  std::vector<Headers::Field> fields;
  size_t pos = nl + 1;
  for (;;) {
    nl = text.substr(0, window).find('\n', pos);
    if (nl == std::string_view::npos) return too_long_or_more("header section");
    line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (has_control_chars(line)) return fail(0, "RTSP: control character in header line " + quote_for_error(line));
    if (is_space(line.front())) {
      // RFC 2326 4.2 / RFC 2616 2.2: a line starting with whitespace continues the previous field.
      if (fields.empty()) return fail(0, "RTSP: continuation line without a header " + quote_for_error(line));
      fields.back().value += ' ';
      fields.back().value += trim(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail(0, "RTSP: header line without ':' " + quote_for_error(line));
    auto name = line.substr(0, colon);
    while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
    if (!is_token(name)) return fail(0, "RTSP: bad header name " + quote_for_error(name));
    if (fields.size() >= limits.max_header_count) {
      return fail(0, "RTSP: more than " + std::to_string(limits.max_header_count) + " header fields");
    }
    fields.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  }
  const size_t header_end = pos;
  Headers headers;
  for (auto& f : fields) headers.add(f.name, std::move(f.value));
  const std::string* cseq_text = headers.get("CSeq");
  std::optional<uint32_t> cseq = cseq_text ? parse_cseq(*cseq_text) : std::nullopt;

  // Body length (RFC 2326 12.14): every Content-Length must be a valid, identical, bounded number.
  size_t body_len = 0;
  bool have_length = false;
  for (auto v : headers.get_all("Content-Length")) {
    auto n = parse_decimal<uint64_t>(trim(v), UINT64_MAX);
    if (!n) return fail(0, "RTSP: bad Content-Length header " + quote_for_error(v));
    if (have_length && *n != body_len) return fail(0, "RTSP: conflicting Content-Length headers");
    if (*n > limits.max_body_bytes) {
      return fail(0, "RTSP: body of " + std::to_string(*n) + " bytes exceeds limit of " +
                         std::to_string(limits.max_body_bytes),
                  413, cseq);
    }
    body_len = static_cast<size_t>(*n);
    have_length = true;
  }
  if (text.size() - header_end < body_len) return ParseResult{skip, NeedMore{}};
  const size_t consumed = skip + header_end + body_len;
  if (start.version != kVersion) {
    if (looks_like_version(start.version)) {
      return fail(consumed, "RTSP: version " + quote_for_error(start.version) + " not supported", 505, cseq);
    }
    return fail(consumed, "RTSP: bad version " + quote_for_error(start.version));
  }
  // RFC 2326 12.17: every request and response carries a CSeq. live555 leaves it out of some error responses (its
  // 400 Bad Request under concurrent SETUPs), so a response without one is accepted (Response::cseq() is nullopt)
  // and the client matches it to its outstanding request. A CSeq that is present must be valid.
  if (!cseq_text && !start.is_response) return fail(consumed, "RTSP: missing CSeq header");
  if (cseq_text && !cseq) return fail(consumed, "RTSP: bad CSeq header " + quote_for_error(*cseq_text));

  std::string body(text.substr(header_end, body_len));
  if (start.is_response) {
    Response r;
    r.status = start.status;
    r.reason = std::string(start.reason);
    r.version = std::string(start.version);
    r.headers = std::move(headers);
    r.body = std::move(body);
    return ParseResult{consumed, std::move(r)};
  }
  Request r;
  r.method = std::string(start.method);
  r.uri = std::string(start.uri);
  r.version = std::string(start.version);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return ParseResult{consumed, std::move(r)};
}

}  // namespace sg::rtsp
