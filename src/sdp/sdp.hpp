#pragma once
// SDP session descriptions (RFC 8866): parse what cameras, ffmpeg, GStreamer and browsers send, and write
// descriptions that parse back to the same value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace sg::sdp {

// One "a=" line: "a=name:value" or the flag form "a=name" (value empty).
struct Attribute {
  std::string name;
  std::string value;
  bool operator==(const Attribute&) const = default;
};

// The a= lines of a session or media section, in their original order.
class Attributes {
 public:
  const Attribute* first(std::string_view name) const;     // nullptr if absent
  std::vector<const Attribute*> all(std::string_view name) const;
  bool has(std::string_view name) const { return first(name) != nullptr; }
  void add(std::string name, std::string value = {});
  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  auto begin() const { return list_.begin(); }
  auto end() const { return list_.end(); }
  const std::vector<Attribute>& list() const { return list_; }
  std::vector<Attribute>& list() { return list_; }
  bool operator==(const Attributes&) const = default;

 private:
  std::vector<Attribute> list_;
};

// "a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]" (RFC 8866 6.6).
struct RtpMap {
  std::string encoding;  // as written, e.g. "H264", "MPEG4-GENERIC", "opus"
  uint32_t clock_rate = 0;
  uint32_t channels = 1;  // RFC 8866 6.6: one channel when omitted
  bool operator==(const RtpMap&) const = default;
};

// "a=fmtp:<pt> k=v;k=v" split on ';' with spaces trimmed; keys are looked up case-insensitively.
class FormatParameters {
 public:
  std::optional<std::string_view> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  void add(std::string key, std::string value) { entries_.emplace_back(std::move(key), std::move(value)); }
  bool operator==(const FormatParameters&) const = default;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // in order, a key without '=' has an empty value
};
FormatParameters parse_format_parameters(std::string_view text);

enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view to_string(Direction d);

// "o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>"
struct Origin {
  std::string username = "-";
  std::string session_id = "0";  // kept as text: some senders exceed 64 bits
  std::string session_version = "0";
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address = "127.0.0.1";
  bool operator==(const Origin&) const = default;
};

// "c=<nettype> <addrtype> <connection-address>" (address may carry "/ttl[/count]").
struct Connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address = "0.0.0.0";
  bool operator==(const Connection&) const = default;
};

// "b=<bwtype>:<bandwidth>", e.g. AS:1024 (kbit/s), TIAS:64000 (bit/s).
struct Bandwidth {
  std::string type;
  uint64_t value = 0;
  bool operator==(const Bandwidth&) const = default;
};

// "t=<start> <stop>" plus its "r=" lines (kept verbatim).
struct Timing {
  uint64_t start = 0;
  uint64_t stop = 0;
  std::vector<std::string> repeats;
  bool operator==(const Timing&) const = default;
};

// One "m=" section.
struct Media {
  std::string type;  // "video", "audio", "application", ...
  uint16_t port = 0;
  std::optional<uint32_t> port_count;  // "m=video 49170/2 ..."
  std::string proto;                   // "RTP/AVP", "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
  std::vector<std::string> formats;    // payload types for RTP protos, e.g. {"96", "97"}
  std::optional<std::string> title;    // i=
  std::optional<Connection> connection;
  std::vector<Bandwidth> bandwidths;
  Attributes attributes;

  // Formats that are RTP payload type numbers (0-127), in m= order.
  std::vector<uint8_t> payload_types() const;
  std::optional<RtpMap> rtpmap(uint8_t pt) const;
  std::optional<FormatParameters> fmtp(uint8_t pt) const;
  std::optional<std::string_view> control() const;
  std::optional<Direction> direction() const;  // the last direction attribute, if any
  std::optional<std::string_view> mid() const;
  bool operator==(const Media&) const = default;
};

struct SessionDescription {
  int version = 0;
  Origin origin;
  std::string session_name = "-";
  std::optional<std::string> information;  // i=
  std::optional<std::string> uri;          // u=
  std::vector<std::string> emails;         // e=
  std::vector<std::string> phones;         // p=
  std::optional<Connection> connection;
  std::vector<Bandwidth> bandwidths;
  std::vector<Timing> timings;             // parse adds "t=0 0" when the input has none
  std::optional<std::string> time_zones;   // z=
  Attributes attributes;
  std::vector<Media> media;

  std::optional<std::string_view> control() const;
  std::optional<Direction> direction() const;

  // CRLF line endings, RFC 8866 5 order: v o s i u e p c b t r z a, then each m= section (m i c b a).
  std::string serialize() const;
  bool operator==(const SessionDescription&) const = default;
};

// Media direction after applying the session-level default (RFC 8866 6.7: sendrecv when nothing is said).
Direction effective_direction(const SessionDescription& session, const Media& media);

struct ParseLimits {
  size_t max_bytes = 256 * 1024;
  size_t max_lines = 4096;
  size_t max_line_length = 16 * 1024;
  size_t max_media = 64;
};

// Accepts CRLF or LF line endings and trailing blank lines. Errors name the line: "SDP line 4: bad m= line 'xyz'".
Result<SessionDescription> parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace sg::sdp
