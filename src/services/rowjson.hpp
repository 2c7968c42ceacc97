// Writing database rows as JSON objects: a column list declared once per resource drives both
// the SELECT list and the JSON keys, so the two cannot drift apart.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <string>

#include "core/json.hpp"
#include "store/db.hpp"

namespace banxway::services {

enum class Col { str, integer, boolean, json };

struct ColSpec {
  const char* column;    // SQL column (may be qualified, e.g. "m.body_text")
  std::string_view key;  // JSON key (a plain identifier: written without escaping)
  Col kind;
};

/// "c1, c2, …" for a SELECT, optionally qualified with a table alias ("t.c1, t.c2").
std::string select_list(std::span<const ColSpec> cols, const char* alias = nullptr);

/// Appends row columns [offset, offset + cols.size()) to out as one JSON object.
void append_row(std::string& out, const store::Row& row, std::span<const ColSpec> cols,
                size_t offset = 0);
/// Appends s as a JSON string literal.
void append_json_string(std::string& out, std::string_view s);

/// Serializes every row as a JSON array.
std::string rows_to_json_array(const store::Rows& rows, std::span<const ColSpec> cols,
                               size_t count);
/// {"items": [first `count` rows], "next_cursor": next | null}, built in one buffer.
std::string rows_to_list(const store::Rows& rows, std::span<const ColSpec> cols, size_t count,
                         const std::optional<std::string>& next);
std::string row_to_json(const store::Row& row, std::span<const ColSpec> cols);

}  // namespace banxway::services
