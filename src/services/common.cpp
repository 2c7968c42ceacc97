#include "services/common.hpp"

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
