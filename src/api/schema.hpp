// A JSON Schema subset for operation params, compiled once and checked before a handler runs.
//
// Supported keywords: type (string, integer, number, boolean, object, array, null, or a list of
// them), properties, required, additionalProperties (false unless given), enum, minLength,
// maxLength (in code points), minimum, maximum, items, minItems, maxItems, and format: uuid,
// email, date-time, e164. Validation lower-cases uuid values in place, so ids compare equal
// whatever case a client sent.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "banxway/status.hpp"
#include "core/json.hpp"

namespace banxway::api {

struct SchemaNode {
  unsigned types = 0;  // bit set of Type
  std::vector<std::pair<std::string, std::unique_ptr<SchemaNode>>> properties;
  std::vector<std::string> required;
  bool additional = false;
  std::vector<std::string> enum_values;
  std::optional<int64_t> min_length, max_length, min_items, max_items;
  std::optional<double> minimum, maximum;
  std::string format;
  std::unique_ptr<SchemaNode> items;

  enum Type : unsigned {
    kString = 1, kInteger = 2, kNumber = 4, kBoolean = 8, kObject = 16, kArray = 32, kNull = 64
  };
  const SchemaNode* property(std::string_view name) const;
};

class Schema {
 public:
  /// Compiles schema JSON text; a malformed schema is a programming error (internal).
  static Result<Schema> compile(std::string_view schema_json);
  /// Checks params (and normalizes uuids). Errors are invalid_argument naming the field, with
  /// details {"field": "a.b[2]"}.
  Status validate(json::Value& params, json::Document::AllocatorType& alloc) const;
  const std::string& text() const { return text_; }
  const SchemaNode& root() const { return *root_; }

 private:
  std::string text_;
  std::shared_ptr<SchemaNode> root_;
};

/// UTF-8 code points in s (s is valid UTF-8: the JSON parser checked it).
size_t utf8_length(std::string_view s);
bool is_email(std::string_view s);

}  // namespace banxway::api
