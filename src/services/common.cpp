#include "services/common.hpp"

#include <algorithm>

namespace banxway::services {

Status require_ref(store::Conn& c, api::Ctx& ctx, std::string_view table, std::string_view id,
                   std::string_view field) {
  std::string sql = "SELECT 1 FROM " + std::string(table) + " WHERE id = ? AND org_id = ?";
  auto r = c.query(sql, {id, ctx.org()});
  if (!r.ok()) return r.status();
  if (r->empty())
    return Status(Code::not_found,
                  std::string(field) + ": no such record (" + std::string(id) + ")",
                  "{\"field\":" + json::quote(field) + "}");
  return Status();
}

Result<std::string> get_by_id(store::Conn& c, api::Ctx& ctx, std::string_view table,
                              std::span<const ColSpec> cols, std::string_view id,
                              std::string_view what) {
  std::string sql = "SELECT " + select_list(cols) + " FROM " + std::string(table) +
                    " WHERE id = ? AND org_id = ?";
  auto r = c.query(sql, {id, ctx.org()});
  if (!r.ok()) return r.status();
  if (r->empty()) return NotFound(std::string(what) + " " + std::string(id) + " not found");
  return row_to_json(r->rows[0], cols);
}

Status add_created_keyset(std::string& sql, std::vector<store::Value>& args, const json::Value& p,
                          int limit, bool descending) {
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_time_id_cursor(*cur));
    sql += descending ? " AND (created_at, id) < (?, ?)" : " AND (created_at, id) > (?, ?)";
    args.emplace_back(parts[0]);
    args.emplace_back(parts[1]);
  }
  sql += descending ? " ORDER BY created_at DESC, id DESC LIMIT ?" : " ORDER BY created_at, id LIMIT ?";
  args.emplace_back(limit + 1);
  return Status();
}

std::optional<std::string> next_created_cursor(const store::Rows& rows, int limit,
                                               size_t created_col) {
  if (static_cast<int>(rows.size()) <= limit) return std::nullopt;
  const auto& last = rows[limit - 1];
  return api::encode_cursor({last.text(created_col), last.text(0)});
}

void add_equal_filters(std::string& sql, std::vector<store::Value>& args, const json::Value& p,
                       std::initializer_list<const char*> fields) {
  for (const char* f : fields) {
    if (auto v = json::get_string(p, f)) {
      sql += std::string(" AND ") + f + " = ?";
      args.emplace_back(*v);
    }
  }
}

void add_set_fields(std::string& sets, std::vector<store::Value>& args, const json::Value& p,
                    std::initializer_list<const char*> fields,
                    std::initializer_list<const char*> time_fields) {
  for (const char* f : fields) {
    const json::Value* v = json::get(p, f);
    if (!v) continue;
    sets += std::string(", ") + f + " = ?";
    bool is_time = std::any_of(time_fields.begin(), time_fields.end(),
                               [&](const char* t) { return std::string_view(t) == f; });
    if (v->IsNull())
      args.emplace_back(store::Value());
    else if (is_time)
      args.emplace_back(normalized_time(v->GetString()));
    else
      args.emplace_back(std::string(v->GetString(), v->GetStringLength()));
  }
}

std::string normalized_time(std::string_view s) {
  TimePoint t;
  return parse_time(s, &t) ? format_time(t) : std::string(s);
}

std::string snippet_of(std::string_view text) {
  std::string out;
  size_t cps = 0;
  bool space = false;
  for (unsigned char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
      space = !out.empty();
      continue;
    }
    if ((ch & 0xC0) != 0x80) {
      if (cps == 200) break;
      ++cps;
      if (space) out.push_back(' ');
      space = false;
    }
    out.push_back(static_cast<char>(ch));
  }
  return out;
}

std::string string_array_json(const json::Value* v) {
  if (!v || !v->IsArray()) return "[]";
  return json::stringify(*v);
}

}  // namespace banxway::services
