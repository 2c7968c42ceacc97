#include "services/analytics.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>

#include "services/common.hpp"

namespace banxway::services {
namespace {

using std::chrono::days;
using std::chrono::hours;

// Bounds a query's work (and a day-grouped answer's size): two years and a day.
constexpr auto kMaxRange = days(731);

struct Range {
  TimePoint from, to;
  std::string from_s, to_s;  // the stored form, compared as text on SQLite
};

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// A bound: a date (midnight UTC; for `to` the end of that day, so dates read inclusively) or an
// RFC 3339 date-time.
Result<TimePoint> parse_bound(const json::Value& p, const char* field, bool end) {
  auto s = json::get_string(p, field);
  if (!s)
    return InvalidArgument(std::string(field) +
                               ": required (a date such as 2026-01-31 or an "
                               "RFC 3339 date-time)",
                           "{\"field\":" + json::quote(field) + "}");
  TimePoint t;
  if (is_date(*s)) {
    auto num = [&](size_t at, size_t len) { return std::stoi(std::string(s->substr(at, len))); };
    std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)),
                                    std::chrono::month(static_cast<unsigned>(num(5, 2))),
                                    std::chrono::day(static_cast<unsigned>(num(8, 2)))};
    if (!ymd.ok() || !parse_time(std::string(*s) + "T00:00:00Z", &t))
      return InvalidArgument(std::string(field) + ": not a calendar date",
                             "{\"field\":" + json::quote(field) + "}");
    if (end) t += days(1);
    return t;
  }
  if (!parse_time(*s, &t))
    return InvalidArgument(std::string(field) +
                               ": expected a date (2026-01-31) or an RFC 3339 date-time with a "
                               "zone (2026-01-31T09:30:00Z)",
                           "{\"field\":" + json::quote(field) + "}");
  return t;
}

Result<Range> parse_range(const json::Value& p) {
  Range r;
  BX_ASSIGN_OR_RETURN(r.from, parse_bound(p, "from", false));
  BX_ASSIGN_OR_RETURN(r.to, parse_bound(p, "to", true));
  if (r.to <= r.from) return InvalidArgument("to: must be after from", "{\"field\":\"to\"}");
  if (r.to - r.from > kMaxRange)
    return InvalidArgument("to: the range is limited to 731 days; ask for several ranges",
                           "{\"field\":\"to\"}");
  r.from_s = format_time(r.from);
  r.to_s = format_time(r.to);
  return r;
}

std::string range_json(const Range& r) {
  return "\"from\":" + json::quote(r.from_s) + ",\"to\":" + json::quote(r.to_s);
}

// Milliseconds from a to b (both stored times); 0 when either is unreadable or b precedes a.
int64_t millis_between(std::string_view a, std::string_view b) {
  TimePoint ta, tb;
  if (!parse_time(a, &ta) || !parse_time(b, &tb) || tb < ta) return 0;
  return (tb - ta).count();
}

std::string opt_json(const std::optional<std::string>& s) {
  return s ? json::quote(*s) : std::string("null");
}

// {"count", "median_seconds", "p90_seconds"} over durations in milliseconds (sorted here).
// Seconds are whole (truncated), so both backends print the same digits.
std::string summary_json(std::vector<int64_t>& ms) {
  std::sort(ms.begin(), ms.end());
  std::string j = "{\"count\":" + std::to_string(ms.size());
  if (ms.empty()) return j + ",\"median_seconds\":null,\"p90_seconds\":null}";
  return j + ",\"median_seconds\":" + std::to_string(nearest_rank(ms, 50) / 1000) +
         ",\"p90_seconds\":" + std::to_string(nearest_rank(ms, 90) / 1000) + "}";
}

// Per-thread probes must walk messages_thread (org, thread, created_at). Without statistics,
// SQLite's planner prefers the covering analytics index (org, created_at, ...) for them, which
// turns each probe into a scan of every message before a time: pin the index there.
std::string thread_probe(store::Dialect d) {
  return d == store::Dialect::sqlite ? " INDEXED BY messages_thread" : "";
}

// The group key of a thread for response_times, as a SQL expression over `t` (threads).
// Parameters it needs (the org id for the channel look-up) are appended to args.
std::string group_expr(std::string_view by, std::vector<store::Value>& args, api::Ctx& ctx) {
  const std::string probe = thread_probe(ctx.db().dialect());
  if (by == "customer") return "t.customer_id";
  if (by == "channel") {
    // A thread's channel: that of its first message with the customer (notes are internal).
    args.emplace_back(ctx.org());
    return "(SELECT c.channel FROM messages c" + probe +
           " WHERE c.org_id = ? AND c.thread_id = t.id AND c.direction <> 'internal' "
           "ORDER BY c.created_at, c.id LIMIT 1)";
  }
  return "t.assignee_id";  // agent: the thread's owner
}

struct Group {
  std::vector<int64_t> first_response;  // ms, answered threads only
  int64_t unanswered = 0;
  std::vector<int64_t> resolution;  // ms
};

// NULL keys sort first, then text order (ids and channel names are ASCII).
struct KeyLess {
  bool operator()(const std::optional<std::string>& a, const std::optional<std::string>& b) const {
    if (!a || !b) return !a && b;
    return *a < *b;
  }
};

std::string group_json(Group& g) {
  return "\"first_response\":{\"answered\":" + std::to_string(g.first_response.size()) +
         ",\"unanswered\":" + std::to_string(g.unanswered) +
         ",\"time\":" + summary_json(g.first_response) +
         "},\"resolution\":" + summary_json(g.resolution);
}

constexpr std::array<std::string_view, 3> kOpenStatuses{"open", "pending", "snoozed"};
constexpr std::array<std::string_view, 6> kAgeBuckets{"lt_1h", "1h_4h", "4h_24h",
                                                      "1d_3d", "3d_7d", "gt_7d"};

}  // namespace

int64_t nearest_rank(const std::vector<int64_t>& sorted, int pct) {
  // rank = ceil(pct/100 * n), 1-based; integer arithmetic so no rounding differs anywhere.
  size_t n = sorted.size();
  size_t rank = (static_cast<size_t>(pct) * n + 99) / 100;
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

Result<std::string> analytics_volume(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(Range range, parse_range(p));
  std::string group_by = api::param_str(p, "group_by").value_or("day");
  bool pg = ctx.db().dialect() == store::Dialect::postgres;
  DbReader c(ctx.db());
  // (UTC day, channel, direction) -> count. Whole days come from message_counts_daily (kept by
  // triggers); the partial days at either end of the range are counted from messages.
  std::vector<std::tuple<std::string, std::string, std::string, int64_t>> day_rows;
  auto from_messages = [&](TimePoint a, TimePoint b) -> Status {
    if (a >= b) return Status();
    std::string day =
        pg ? "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" : "substr(created_at, 1, 10)";
    std::string sql = "SELECT " + day +
                      ", channel, direction, COUNT(*) FROM messages WHERE org_id = ? AND "
                      "created_at >= ? AND created_at < ?";
    std::vector<store::Value> args{ctx.org(), format_time(a), format_time(b)};
    add_equal_filters(sql, args, p, {"channel", "direction"});
    sql += " GROUP BY 1, 2, 3";
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
    for (const auto& row : rows)
      day_rows.emplace_back(row.str(0), row.str(1), row.str(2), row.int64(3));
    return Status();
  };
  TimePoint whole_from = std::chrono::ceil<days>(range.from);
  TimePoint whole_to = std::chrono::floor<days>(range.to);
  if (whole_from < whole_to) {
    BX_RETURN_IF_ERROR(from_messages(range.from, whole_from));
    std::string sql =
        "SELECT day, channel, direction, count FROM message_counts_daily WHERE org_id = ? AND "
        "day >= ? AND day < ? AND count > 0";
    std::vector<store::Value> args{ctx.org(), format_time(whole_from).substr(0, 10),
                                   format_time(whole_to).substr(0, 10)};
    add_equal_filters(sql, args, p, {"channel", "direction"});
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
    for (const auto& row : rows)
      day_rows.emplace_back(row.str(0), row.str(1), row.str(2), row.int64(3));
    BX_RETURN_IF_ERROR(from_messages(whole_to, range.to));
  } else {
    BX_RETURN_IF_ERROR(from_messages(range.from, range.to));
  }

  // Sorted here rather than by ORDER BY: the databases' collations need not agree.
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> cells;
  std::map<std::string, int64_t> by_channel, by_direction;
  int64_t total = 0;
  for (const auto& [day, channel, direction, n] : day_rows) {
    std::string period = group_by == "month" ? day.substr(0, 7) : day;
    cells[{period, channel, direction}] += n;
    by_channel[channel] += n;
    by_direction[direction] += n;
    total += n;
  }
  std::string j = "{" + range_json(range) + ",\"group_by\":" + json::quote(group_by) +
                  ",\"total\":" + std::to_string(total) + ",\"by_channel\":{";
  bool first = true;
  for (const auto& [k, n] : by_channel) {
    j += (first ? "" : ",") + json::quote(k) + ":" + std::to_string(n);
    first = false;
  }
  j += "},\"by_direction\":{";
  first = true;
  for (const auto& [k, n] : by_direction) {
    j += (first ? "" : ",") + json::quote(k) + ":" + std::to_string(n);
    first = false;
  }
  j += "},\"items\":[";
  first = true;
  for (const auto& [k, n] : cells) {
    j += first ? "" : ",";
    j += "{\"period\":" + json::quote(std::get<0>(k)) +
         ",\"channel\":" + json::quote(std::get<1>(k)) +
         ",\"direction\":" + json::quote(std::get<2>(k)) + ",\"count\":" + std::to_string(n) + "}";
    first = false;
  }
  return j + "]}";
}

Result<std::string> analytics_response_times(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(Range range, parse_range(p));
  std::string by = api::param_str(p, "by").value_or("agent");
  DbReader c(ctx.db());
  std::map<std::optional<std::string>, Group, KeyLess> groups;

  // First response: threads whose first inbound message ever falls in the range, with the
  // first outbound reply at or after it (failed and cancelled sends never reached anyone).
  {
    std::vector<store::Value> args{ctx.org()};
    std::string key = group_expr(by, args, ctx);
    const std::string probe = thread_probe(ctx.db().dialect());
    std::string sql =
        "SELECT f.first_in, (SELECT r.created_at FROM messages r" + probe +
        " WHERE r.org_id = ? AND "
        "r.thread_id = f.thread_id AND r.direction = 'outbound' AND r.created_at >= f.first_in "
        "AND (r.status IS NULL OR r.status NOT IN ('failed','cancelled')) "
        "ORDER BY r.created_at, r.id LIMIT 1), " +
        key +
        " FROM (SELECT m.thread_id, MIN(m.created_at) AS first_in FROM messages m "
        "WHERE m.org_id = ? AND m.created_at >= ? AND m.created_at < ? AND "
        "m.direction = 'inbound' GROUP BY m.thread_id) f "
        "JOIN threads t ON t.id = f.thread_id "
        "WHERE t.org_id = ? AND t.merged_into IS NULL AND t.system_kind IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM messages e" +
        probe +
        " WHERE e.org_id = ? AND e.thread_id = f.thread_id AND e.direction = 'inbound' AND "
        "e.created_at < ?)";
    // The key's own parameter (channel look-up) sits between the reply's and the range's.
    std::vector<store::Value> all{ctx.org()};
    all.insert(all.end(), args.begin() + 1, args.end());
    for (auto v : {store::Value(ctx.org()), store::Value(range.from_s), store::Value(range.to_s),
                   store::Value(ctx.org()), store::Value(ctx.org()), store::Value(range.from_s)})
      all.push_back(std::move(v));
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, all));
    for (const auto& row : rows) {
      Group& g = groups[row.opt(2)];
      if (row.is_null(1))
        ++g.unanswered;
      else
        g.first_response.push_back(millis_between(row.text(0), row.text(1)));
    }
  }
  // Resolution: threads resolved (last entered resolved/closed) in the range, from creation.
  {
    std::vector<store::Value> args;
    std::string key = group_expr(by, args, ctx);
    std::string sql = "SELECT t.created_at, t.resolved_at, " + key +
                      " FROM threads t WHERE t.org_id = ? AND t.resolved_at >= ? AND "
                      "t.resolved_at < ? AND t.merged_into IS NULL AND t.system_kind IS NULL";
    for (auto v : {store::Value(ctx.org()), store::Value(range.from_s), store::Value(range.to_s)})
      args.push_back(std::move(v));
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
    for (const auto& row : rows)
      groups[row.opt(2)].resolution.push_back(millis_between(row.text(0), row.text(1)));
  }

  Group overall;
  std::string items = "[";
  for (auto& [key, g] : groups) {
    overall.first_response.insert(overall.first_response.end(), g.first_response.begin(),
                                  g.first_response.end());
    overall.resolution.insert(overall.resolution.end(), g.resolution.begin(), g.resolution.end());
    overall.unanswered += g.unanswered;
    if (items.size() > 1) items += ',';
    items += "{\"key\":" + opt_json(key) + "," + group_json(g) + "}";
  }
  items += ']';
  return "{" + range_json(range) + ",\"by\":" + json::quote(by) + ",\"overall\":{" +
         group_json(overall) + "},\"groups\":" + items + "}";
}

Result<std::string> analytics_backlog(api::Ctx& ctx, json::Value& /*p*/) {
  TimePoint now = ctx.core().clock->now();
  // Age buckets by creation time: boundaries computed here, compared in SQL (exact on both).
  const std::array<TimePoint, 5> edges{now - hours(1), now - hours(4), now - hours(24),
                                       now - days(3), now - days(7)};
  std::string sql =
      "SELECT t.status, CASE WHEN t.created_at > ? THEN 0 WHEN t.created_at > ? THEN 1 "
      "WHEN t.created_at > ? THEN 2 WHEN t.created_at > ? THEN 3 WHEN t.created_at > ? THEN 4 "
      "ELSE 5 END AS bucket, COUNT(*) FROM threads t WHERE t.org_id = ? AND "
      "t.status IN ('open','pending','snoozed') AND t.merged_into IS NULL AND t.system_kind IS "
      "NULL GROUP BY 1, 2";
  std::vector<store::Value> args;
  for (const auto& e : edges) args.emplace_back(format_time(e));
  args.emplace_back(ctx.org());
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));

  std::array<std::array<int64_t, kAgeBuckets.size()>, kOpenStatuses.size()> cells{};
  for (const auto& row : rows) {
    auto s = std::find(kOpenStatuses.begin(), kOpenStatuses.end(), row.text(0));
    int64_t b = row.int64(1);
    if (s == kOpenStatuses.end() || b < 0 || b >= static_cast<int64_t>(kAgeBuckets.size()))
      continue;
    cells[s - kOpenStatuses.begin()][b] += row.int64(2);
  }
  std::array<int64_t, kAgeBuckets.size()> by_age{};
  int64_t total = 0;
  std::string statuses = "{";
  for (size_t s = 0; s < kOpenStatuses.size(); ++s) {
    int64_t st_total = 0;
    std::string ages = "{";
    for (size_t b = 0; b < kAgeBuckets.size(); ++b) {
      st_total += cells[s][b];
      by_age[b] += cells[s][b];
      ages +=
          (b ? ",\"" : "\"") + std::string(kAgeBuckets[b]) + "\":" + std::to_string(cells[s][b]);
    }
    total += st_total;
    statuses += (s ? ",\"" : "\"") + std::string(kOpenStatuses[s]) +
                "\":{\"total\":" + std::to_string(st_total) + ",\"by_age\":" + ages + "}}";
  }
  statuses += "}";
  std::string ages = "{";
  for (size_t b = 0; b < kAgeBuckets.size(); ++b)
    ages += (b ? ",\"" : "\"") + std::string(kAgeBuckets[b]) + "\":" + std::to_string(by_age[b]);
  ages += "}";
  return "{\"as_of\":" + json::quote(format_time(now)) + ",\"total\":" + std::to_string(total) +
         ",\"by_age\":" + ages + ",\"by_status\":" + statuses + "}";
}

}  // namespace banxway::services
