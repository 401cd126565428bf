#pragma once
// Transport (RFC 2326 12.39), Session (12.37), RTP-Info (12.33), Range (12.29) and Public (12.28) headers.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sg::rtsp {

enum class LowerTransport { Udp, Tcp };
enum class TransportMode { Play, Record };

// A port or channel pair "a-b"; when only "a" was written, last == first.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  bool operator==(const PortRange&) const = default;
};

// One transport spec of a Transport header.
struct TransportSpec {
  std::string profile = "AVP";  // "AVP", "SAVP", "AVPF", "SAVPF" as written after "RTP/"
  LowerTransport lower = LowerTransport::Udp;
  bool multicast = false;  // "multicast"; unicast is the default
  std::optional<PortRange> interleaved;  // channels, each <= 255
  std::optional<PortRange> client_port;
  std::optional<PortRange> server_port;
  std::optional<PortRange> port;  // multicast port
  std::optional<TransportMode> mode;  // "PLAY" when absent (RFC 2326 12.39)
  std::optional<uint32_t> ssrc;
  std::optional<std::string> source;
  std::optional<std::string> destination;
  std::optional<uint8_t> ttl;
  std::vector<std::string> other;  // parameters not understood, kept as written ("append", "layers=2", ...)

  bool is_tcp() const { return lower == LowerTransport::Tcp; }
  bool is_record() const { return mode == TransportMode::Record; }
  // e.g. "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record". UDP is written as "RTP/AVP" (no "/UDP").
  std::string to_string() const;
};

// Parses a Transport header value: specs separated by commas (the client's preferences in order).
Result<std::vector<TransportSpec>> parse_transport(std::string_view value);
Result<TransportSpec> parse_transport_spec(std::string_view spec);
std::string build_transport(std::span<const TransportSpec> specs);

// Session: id[;timeout=seconds]
struct SessionHeader {
  std::string id;
  std::optional<uint32_t> timeout;
  std::string to_string() const;
};
Result<SessionHeader> parse_session(std::string_view value);

// RTP-Info: url=...;seq=...;rtptime=... for each stream, comma separated.
struct RtpInfoEntry {
  std::string url;
  std::optional<uint16_t> seq;
  std::optional<uint32_t> rtptime;
  bool operator==(const RtpInfoEntry&) const = default;
};
Result<std::vector<RtpInfoEntry>> parse_rtp_info(std::string_view value);
std::string build_rtp_info(std::span<const RtpInfoEntry> entries);

// Range: "npt=<start>-[<end>]" with seconds written with 3 decimals, e.g. "npt=0.000-".
std::string build_npt_range(double start_seconds, std::optional<double> end_seconds = std::nullopt);

// Public: "OPTIONS, DESCRIBE, ..." and back.
std::string build_public(std::span<const std::string_view> methods);
std::vector<std::string> parse_public(std::string_view value);

}  // namespace sg::rtsp
