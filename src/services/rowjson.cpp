#include "services/rowjson.hpp"

#include <charconv>

namespace banxway::services {

std::string select_list(std::span<const ColSpec> cols, const char* alias) {
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) s += ", ";
    if (alias) {
      s += alias;
      s += '.';
    }
    s += cols[i].column;
  }
  return s;
}

void write_row(json::Writer& w, const store::Row& row, std::span<const ColSpec> cols,
               size_t offset) {
  w.StartObject();
  for (size_t i = 0; i < cols.size(); ++i) {
    const ColSpec& c = cols[i];
    size_t idx = offset + i;
    w.Key(c.key);
    if (row.is_null(idx)) {
      w.Null();
      continue;
    }
    const std::string& t = row.text(idx);
    switch (c.kind) {
      case Col::str: json::write_str(w, t); break;
      case Col::integer: {
        int64_t v = 0;
        std::from_chars(t.data(), t.data() + t.size(), v);
        w.Int64(v);
        break;
      }
      case Col::boolean: w.Bool(row.boolean(idx)); break;
      case Col::json: json::write_raw(w, t); break;
    }
  }
  w.EndObject();
}

std::string rows_to_json_array(const store::Rows& rows, std::span<const ColSpec> cols,
                               size_t count) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  for (size_t i = 0; i < count && i < rows.size(); ++i) write_row(w, rows[i], cols);
  w.EndArray();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string row_to_json(const store::Row& row, std::span<const ColSpec> cols) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  write_row(w, row, cols);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace banxway::services
