// RapidJSON helpers: bounded parsing (depth, size, strict UTF-8) and a string writer.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>
#include <string_view>

#include "banxway/status.hpp"

namespace banxway::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct ParseLimits {
  int max_depth = 32;
  size_t max_bytes = 1 << 20;
};

/// Parses JSON text strictly: valid UTF-8, no trailing garbage, nesting within max_depth.
/// Errors are invalid_argument (payload_too_large when over max_bytes) naming the offset.
Status parse(std::string_view text, Document* doc, const ParseLimits& limits = {});

/// Serializes a value compactly.
std::string stringify(const Value& v);

// Typed accessors; nullopt when absent, null or of another type.
std::optional<std::string_view> get_string(const Value& obj, const char* key);
std::optional<int64_t> get_int(const Value& obj, const char* key);
std::optional<bool> get_bool(const Value& obj, const char* key);
const Value* get(const Value& obj, const char* key);

/// Writes `text` (already JSON) as a raw value, or null when empty.
void write_raw(Writer& w, std::string_view json_text);
/// Writes a string or null.
void write_opt(Writer& w, const std::optional<std::string>& s);
inline void write_str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
/// A member: key and string value (field_opt: null for nullopt; field_int: an integer).
inline void field(Writer& w, std::string_view k, std::string_view v) {
  key(w, k);
  write_str(w, v);
}
inline void field_opt(Writer& w, std::string_view k, const std::optional<std::string>& v) {
  key(w, k);
  write_opt(w, v);
}
inline void field_int(Writer& w, std::string_view k, int64_t v) {
  key(w, k);
  w.Int64(v);
}

/// Quote a string as a JSON string literal.
std::string quote(std::string_view s);

}  // namespace banxway::json
