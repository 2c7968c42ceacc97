#include "services/search.hpp"

#include <cctype>
#include <cstdlib>

#include "core/env.hpp"
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
  // Keyset over (rank, id). The rank is quantized to an integer (1e-9 steps, best first as the
  // smallest) so a cursor carries it exactly — floating-point text would not round-trip — and
  // both databases compare it the same way.
  std::optional<std::vector<std::string>> after;
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_cursor(*cur, 2));
    char* end = nullptr;
    std::strtoll(parts[0].c_str(), &end, 10);
    if (parts[0].empty() || *end || !is_uuid(parts[1]))
      return InvalidArgument("cursor: malformed or from another listing; pass next_cursor as given",
                             "{\"field\":\"cursor\"}");
    after = std::move(parts);
  }
  std::string cols = select_list(kHit, "m");
  std::string inner;
  std::vector<store::Value> args;
  auto thread_id = api::param_str(p, "thread_id");
  if (ctx.db().dialect() == store::Dialect::sqlite) {
    std::string fq = fts5_query(q);
    if (fq.empty()) return api::list_result("[]", std::nullopt);
    // bm25() is lower for better matches.
    inner = "SELECT " + cols +
            ", CAST(bm25(messages_fts) * 1000000000 AS INTEGER) AS qrank "
            "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
            "WHERE messages_fts MATCH ? AND m.org_id = ?";
    args = {fq, ctx.org()};
  } else {
    // ts_rank() is higher for better matches: negate so that smaller is better here too.
    inner = "SELECT " + cols +
            ", CAST(-ts_rank(m.search, plainto_tsquery('simple', ?)) * 1000000000 AS BIGINT) "
            "AS qrank FROM messages m "
            "WHERE m.org_id = ? AND m.search @@ plainto_tsquery('simple', ?)";
    args = {q, ctx.org(), q};
  }
  if (thread_id) {
    inner += " AND m.thread_id = ?";
    args.emplace_back(*thread_id);
  }
  std::string sql = "SELECT * FROM (" + inner + ") hits";
  if (after) {
    sql += " WHERE (qrank, id) > (CAST(? AS BIGINT), ?)";
    args.emplace_back((*after)[0]);
    args.emplace_back((*after)[1]);
  }
  sql += " ORDER BY qrank, id LIMIT ?";
  args.emplace_back(limit + 1);
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    const auto& last = rows[limit - 1];
    next = api::encode_cursor({last.text(std::size(kHit)), last.text(0)});
  }
  return rows_to_list(rows, kHit, limit, next);
}

std::span<const ColSpec> event_columns() { return kEvent; }

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
