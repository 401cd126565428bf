#pragma once
// RTMP command messages (RTMP specification 7.1.1, 7.2): an AMF0 command name, a transaction id, a command object
// (or null) and optional arguments. AMF3 command messages (type 17) are the same after one format byte.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtmp/amf0.hpp"

namespace sg::rtmp {

struct Command {
  std::string name;
  double transaction = 0;
  Amf0Value object;              // the command object (connect), usually null otherwise
  std::vector<Amf0Value> args;   // what follows (publish: name, type; play: name, start...)
  // The i-th argument as a string, or empty.
  std::string_view string_arg(size_t i) const;
};

Result<Command> parse_command(Bytes payload, const Amf0Limits& limits = {});
ByteVector encode_command(std::string_view name, double transaction, const Amf0Value& object,
                          const std::vector<Amf0Value>& args = {});
// An info object of onStatus / _result (level, code, description).
Amf0Value status_object(std::string_view level, std::string_view code, std::string_view description);
// The onMetaData object of a data message: a plain onMetaData (as players receive it) or one wrapped in
// @setDataFrame (as publishers send it, and some servers relay it). Nothing for any other data message.
std::optional<Amf0Value> metadata_object(Bytes payload);

}  // namespace sg::rtmp
