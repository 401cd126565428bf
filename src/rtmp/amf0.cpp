#include "rtmp/amf0.hpp"

#include <bit>
#include <cstring>

namespace sg::rtmp {

Amf0Value Amf0Value::make_number(double n) {
  Amf0Value v;
  v.type = Amf0Type::Number;
  v.number = n;
  return v;
}
Amf0Value Amf0Value::make_boolean(bool b) {
  Amf0Value v;
  v.type = Amf0Type::Boolean;
  v.boolean = b;
  return v;
}
Amf0Value Amf0Value::make_string(std::string s) {
  Amf0Value v;
  v.type = s.size() > 0xffff ? Amf0Type::LongString : Amf0Type::String;
  v.string = std::move(s);
  return v;
}
Amf0Value Amf0Value::make_null() { return Amf0Value{}; }
Amf0Value Amf0Value::make_undefined() {
  Amf0Value v;
  v.type = Amf0Type::Undefined;
  return v;
}
Amf0Value Amf0Value::make_object(std::vector<std::pair<std::string, Amf0Value>> properties) {
  Amf0Value v;
  v.type = Amf0Type::Object;
  for (auto& [k, val] : properties) {
    v.keys.push_back(std::move(k));
    v.values.push_back(std::move(val));
  }
  return v;
}
Amf0Value Amf0Value::make_ecma_array(std::vector<std::pair<std::string, Amf0Value>> properties) {
  Amf0Value v = make_object(std::move(properties));
  v.type = Amf0Type::EcmaArray;
  return v;
}

const Amf0Value* Amf0Value::get(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &values[i];
  return nullptr;
}
std::optional<std::string_view> Amf0Value::get_string(std::string_view key) const {
  const Amf0Value* v = get(key);
  if (!v || !v->is_string()) return std::nullopt;
  return v->string;
}
std::optional<double> Amf0Value::get_number(std::string_view key) const {
  const Amf0Value* v = get(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->number;
}

namespace {

class Decoder {
 public:
  Decoder(Bytes data, const Amf0Limits& limits) : data_(data), limits_(limits) {}

  Result<Amf0Value> value(size_t depth) {
    if (depth > limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth));
    if (++elements_ > limits_.max_elements) return fail("more than " + std::to_string(limits_.max_elements) + " values");
    if (!need(1)) return fail("truncated type marker");
    const size_t at = pos_;
    const uint8_t marker = u8(data_, pos_++);
    Amf0Value v;
    v.type = static_cast<Amf0Type>(marker);
    switch (v.type) {
      case Amf0Type::Number:
        if (!need(8)) return fail("truncated number");
        v.number = std::bit_cast<double>(be64(data_, pos_));
        pos_ += 8;
        return v;
      case Amf0Type::Boolean:
        if (!need(1)) return fail("truncated boolean");
        v.boolean = u8(data_, pos_++) != 0;
        return v;
      case Amf0Type::String:
      case Amf0Type::LongString: {
        auto s = v.type == Amf0Type::String ? short_string() : long_string();
        if (!s) return fail("truncated string");
        v.string = std::move(*s);
        return v;
      }
      case Amf0Type::Null:
      case Amf0Type::Undefined:
        return v;
      case Amf0Type::EcmaArray:
        if (!need(4)) return fail("truncated ECMA array count");
        pos_ += 4;  // the count is a hint only: the properties end with the object-end marker like an object's
        [[fallthrough]];
      case Amf0Type::Object:
        for (;;) {
          auto key = short_string();
          if (!key) return fail("truncated property name");
          if (key->empty()) {
            if (!need(1)) return fail("truncated object end");
            if (u8(data_, pos_) == 0x09) {  // AMF0 2.11: empty name + object-end marker
              ++pos_;
              return v;
            }
          }
          auto item = value(depth + 1);
          if (!item) return item;
          v.keys.push_back(std::move(*key));
          v.values.push_back(std::move(*item));
        }
      case Amf0Type::StrictArray: {
        if (!need(4)) return fail("truncated strict array count");
        uint32_t count = be32(data_, pos_);
        pos_ += 4;
        if (count > limits_.max_elements) return fail("strict array of " + std::to_string(count) + " items");
        for (uint32_t i = 0; i < count; ++i) {
          auto item = value(depth + 1);
          if (!item) return item;
          v.values.push_back(std::move(*item));
        }
        return v;
      }
      case Amf0Type::Date:
        if (!need(10)) return fail("truncated date");
        v.number = std::bit_cast<double>(be64(data_, pos_));
        pos_ += 10;  // the time zone is reserved (AMF0 2.13)
        return v;
    }
    pos_ = at;
    return fail("unsupported type marker " + std::to_string(marker));
  }

  bool done() const { return pos_ >= data_.size(); }

 private:
  bool need(size_t n) const { return data_.size() - pos_ >= n; }
  std::optional<std::string> short_string() {
    if (!need(2)) return std::nullopt;
    size_t n = be16(data_, pos_);
    if (!need(2 + n)) return std::nullopt;
    std::string s(as_string_view(data_.subspan(pos_ + 2, n)));
    pos_ += 2 + n;
    return s;
  }
  std::optional<std::string> long_string() {
    if (!need(4)) return std::nullopt;
    size_t n = be32(data_, pos_);
    if (!need(4) || data_.size() - pos_ - 4 < n) return std::nullopt;
    std::string s(as_string_view(data_.subspan(pos_ + 4, n)));
    pos_ += 4 + n;
    return s;
  }
  Error fail(const std::string& what) const { return make_error("AMF0: " + what + " at byte " + std::to_string(pos_)); }

  Bytes data_;
  const Amf0Limits& limits_;
  size_t pos_ = 0;
  size_t elements_ = 0;
};

void encode_key(ByteVector& out, std::string_view key) {
  size_t n = std::min<size_t>(key.size(), 0xffff);
  append16(out, static_cast<uint16_t>(n));
  append(out, key.substr(0, n));
}

}  // namespace

Result<std::vector<Amf0Value>> decode_amf0(Bytes data, const Amf0Limits& limits) {
  Decoder d(data, limits);
  std::vector<Amf0Value> out;
  while (!d.done()) {
    auto v = d.value(0);
    if (!v) return make_error(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

void encode_amf0(ByteVector& out, const Amf0Value& v) {
  append8(out, static_cast<uint8_t>(v.type));
  switch (v.type) {
    case Amf0Type::Number:
      append64(out, std::bit_cast<uint64_t>(v.number));
      break;
    case Amf0Type::Boolean:
      append8(out, v.boolean ? 1 : 0);
      break;
    case Amf0Type::String:
      encode_key(out, v.string);
      break;
    case Amf0Type::LongString:
      append32(out, static_cast<uint32_t>(v.string.size()));
      append(out, v.string);
      break;
    case Amf0Type::Null:
    case Amf0Type::Undefined:
      break;
    case Amf0Type::EcmaArray:
    case Amf0Type::Object:
      if (v.type == Amf0Type::EcmaArray) append32(out, static_cast<uint32_t>(v.keys.size()));
      for (size_t i = 0; i < v.keys.size() && i < v.values.size(); ++i) {
        encode_key(out, v.keys[i]);
        encode_amf0(out, v.values[i]);
      }
      append16(out, 0);
      append8(out, 0x09);
      break;
    case Amf0Type::StrictArray:
      append32(out, static_cast<uint32_t>(v.values.size()));
      for (const auto& item : v.values) encode_amf0(out, item);
      break;
    case Amf0Type::Date:
      append64(out, std::bit_cast<uint64_t>(v.number));
      append16(out, 0);
      break;
  }
}

ByteVector encode_amf0(const std::vector<Amf0Value>& values) {
  ByteVector out;
  for (const auto& v : values) encode_amf0(out, v);
  return out;
}

}  // namespace sg::rtmp
