#include "rtmp/command.hpp"

namespace sg::rtmp {

std::string_view Command::string_arg(size_t i) const {
  if (i >= args.size() || !args[i].is_string()) return {};
  return args[i].string;
}

Result<Command> parse_command(Bytes payload, const Amf0Limits& limits) {
  auto values = decode_amf0(payload, limits);
  if (!values) return make_error(values.error());
  auto& v = *values;
  if (v.empty() || !v[0].is_string()) return make_error("RTMP command: no command name");
  Command c;
  c.name = v[0].string;
  if (v.size() > 1 && v[1].is_number()) c.transaction = v[1].number;
  if (v.size() > 2) c.object = std::move(v[2]);
  for (size_t i = 3; i < v.size(); ++i) c.args.push_back(std::move(v[i]));
  return c;
}

ByteVector encode_command(std::string_view name, double transaction, const Amf0Value& object,
                          const std::vector<Amf0Value>& args) {
  ByteVector out;
  encode_amf0(out, Amf0Value::make_string(std::string(name)));
  encode_amf0(out, Amf0Value::make_number(transaction));
  encode_amf0(out, object);
  for (const auto& a : args) encode_amf0(out, a);
  return out;
}

Amf0Value status_object(std::string_view level, std::string_view code, std::string_view description) {
  return Amf0Value::make_object({{"level", Amf0Value::make_string(std::string(level))},
                                 {"code", Amf0Value::make_string(std::string(code))},
                                 {"description", Amf0Value::make_string(std::string(description))}});
}

std::optional<Amf0Value> metadata_object(Bytes payload) {
  auto values = decode_amf0(payload);
  if (!values || values->empty() || !(*values)[0].is_string()) return std::nullopt;
  const size_t at = (*values)[0].string == "@setDataFrame" ? 1 : 0;
  if (values->size() > at + 1 && (*values)[at].is_string() && (*values)[at].string == "onMetaData" &&
      (*values)[at + 1].is_object())
    return std::move((*values)[at + 1]);
  return std::nullopt;
}

}  // namespace sg::rtmp
