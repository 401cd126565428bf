#pragma once
// AMF0 (Action Message Format 0, Adobe "AMF 0 File Format Specification"): the encoding of RTMP command and data
// messages. Decoding is bounded (nesting depth, element count) since every byte comes from the network.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace sg::rtmp {

// AMF0 2.1 type markers.
enum class Amf0Type : uint8_t {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  Null = 0x05,
  Undefined = 0x06,
  EcmaArray = 0x08,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
};

struct Amf0Value {
  Amf0Type type = Amf0Type::Null;
  double number = 0;        // Number, Date
  bool boolean = false;     // Boolean
  std::string string;       // String, LongString
  std::vector<std::string> keys;   // Object, EcmaArray: property names, parallel to `values`
  std::vector<Amf0Value> values;   // Object, EcmaArray: property values; StrictArray: the items

  static Amf0Value make_number(double n);
  static Amf0Value make_boolean(bool b);
  static Amf0Value make_string(std::string s);
  static Amf0Value make_null();
  static Amf0Value make_undefined();
  static Amf0Value make_object(std::vector<std::pair<std::string, Amf0Value>> properties);
  static Amf0Value make_ecma_array(std::vector<std::pair<std::string, Amf0Value>> properties);

  bool is_string() const { return type == Amf0Type::String || type == Amf0Type::LongString; }
  bool is_number() const { return type == Amf0Type::Number; }
  bool is_object() const { return type == Amf0Type::Object || type == Amf0Type::EcmaArray; }
  // Object / ECMA array property by name, or nullptr.
  const Amf0Value* get(std::string_view key) const;
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<double> get_number(std::string_view key) const;

  bool operator==(const Amf0Value&) const = default;
};

struct Amf0Limits {
  size_t max_depth = 16;         // nested objects / arrays
  size_t max_elements = 4096;    // values in one message, nested ones included
};

// Decodes every value in `data` (a command: name, transaction id, command object, arguments...).
Result<std::vector<Amf0Value>> decode_amf0(Bytes data, const Amf0Limits& limits = {});
void encode_amf0(ByteVector& out, const Amf0Value& value);
ByteVector encode_amf0(const std::vector<Amf0Value>& values);

}  // namespace sg::rtmp
