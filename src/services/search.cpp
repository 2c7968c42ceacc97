#include "services/search.hpp"

#include <cctype>
#include <cstdlib>

#include "services/rowjson.hpp"

namespace banxway::services {
namespace {

const ColSpec kHit[] = {
    {"id", "id", Col::str},
    {"thread_id", "thread_id", Col::str},
    {"channel", "channel", Col::str},
    {"direction", "direction", Col::str},
    {"subject", "subject", Col::str},
    {"snippet", "snippet", Col::str},
    {"created_at", "created_at", Col::str},
};

const ColSpec kEvent[] = {
    {"id", "id", Col::integer},
    {"type", "type", Col::str},
    {"subject_type", "subject_type", Col::str},
    {"subject_id", "subject_id", Col::str},
    {"thread_id", "thread_id", Col::str},
    {"payload", "data", Col::json},
    {"created_at", "created_at", Col::str},
};

// Turns free text into an FTS5 query of quoted terms (all must match), so user input can never
// be read as FTS5 syntax (NEAR, column filters, unbalanced quotes).
std::string fts5_query(std::string_view q) {
  std::string out, term;
  auto flush = [&] {
    if (term.empty()) return;
    if (!out.empty()) out += ' ';
    out += '"' + term + '"';
    term.clear();
  };
  for (unsigned char c : q) {
    if (std::isalnum(c) || c >= 0x80)
      term.push_back(static_cast<char>(c));
    else
      flush();
  }
  flush();
  return out;
}

}  // namespace

Result<std::string> search_messages(api::Ctx& ctx, json::Value& p) {
  std::string q = *api::param_str(p, "q");
  int limit = api::param_limit(p, 20);
  int64_t offset = 0;
  if (auto cur = api::param_str(p, "cursor")) {
    // Results are ranked, not keyed: the cursor carries the offset of the next page.
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_cursor(*cur, 1));
    offset = std::strtoll(parts[0].c_str(), nullptr, 10);
    if (offset < 0 || offset > 100000) return InvalidArgument("cursor: out of range");
  }
  std::string cols = select_list(kHit, "m");
  std::string sql;
  std::vector<store::Value> args;
  auto thread_id = api::param_str(p, "thread_id");
  if (ctx.db().dialect() == store::Dialect::sqlite) {
    std::string fq = fts5_query(q);
    if (fq.empty()) return api::list_result("[]", std::nullopt);
    sql = "SELECT " + cols +
          " FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
          "WHERE messages_fts MATCH ? AND m.org_id = ?";
    args = {fq, ctx.org()};
    if (thread_id) {
      sql += " AND m.thread_id = ?";
      args.emplace_back(*thread_id);
    }
    sql += " ORDER BY bm25(messages_fts), m.id LIMIT ? OFFSET ?";
  } else {
    sql = "SELECT " + cols +
          " FROM messages m WHERE m.org_id = ? AND m.search @@ plainto_tsquery('simple', ?)";
    args = {ctx.org(), q};
    if (thread_id) {
      sql += " AND m.thread_id = ?";
      args.emplace_back(*thread_id);
    }
    sql += " ORDER BY ts_rank(m.search, plainto_tsquery('simple', ?)) DESC, m.id LIMIT ? OFFSET ?";
    args.emplace_back(q);
  }
  args.emplace_back(limit + 1);
  args.emplace_back(offset);
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) next = api::encode_cursor({std::to_string(offset + limit)});
  return rows_to_list(rows, kHit, limit, next);
}

Result<std::string> events_list(api::Ctx& ctx, json::Value& p) {
  int64_t after = json::get_int(p, "after").value_or(0);
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_cursor(*cur, 1));
    after = std::strtoll(parts[0].c_str(), nullptr, 10);
  }
  int limit = api::param_limit(p, 100);
  static const std::string sql = "SELECT " + select_list(kEvent) +
                                 " FROM events WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?";
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, {ctx.org(), after, limit + 1}));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) next = api::encode_cursor({rows[limit - 1].text(0)});
  return rows_to_list(rows, kEvent, limit, next);
}

}  // namespace banxway::services
