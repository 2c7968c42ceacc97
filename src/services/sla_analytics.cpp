// analytics.sla: SLA compliance (met, breached, rate) by policy or rule, agent and customer.
#include <chrono>
#include <cstdio>
#include <map>

#include "services/common.hpp"
#include "services/sla.hpp"

namespace banxway::services {
namespace {

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

}  // namespace

Result<std::string> analytics_sla(api::Ctx& ctx, json::Value& p) {
  TimePoint from, to;
  auto from_s = json::get_string(p, "from"), to_s = json::get_string(p, "to");
  if (!parse_time(*from_s, &from)) return field_error("from", "expected an RFC 3339 date-time");
  if (!parse_time(*to_s, &to)) return field_error("to", "expected an RFC 3339 date-time");
  if (to <= from) return field_error("to", "must be after from");
  if (to - from > std::chrono::days(731))
    return field_error("to", "the range is limited to 731 days; ask for several ranges");
  // Clocks that ended (met or breached) with their deadline inside the range.
  BX_ASSIGN_OR_RETURN(
      auto rows,
      ctx.db().query("SELECT k.policy_id, p.name, k.rule_id, r.name, k.assignee_id, k.customer_id, "
                     "CASE WHEN k.breached_at IS NOT NULL THEN 1 ELSE 0 END FROM sla_clocks k "
                     "LEFT JOIN sla_policies p ON p.id = k.policy_id AND p.org_id = k.org_id "
                     "LEFT JOIN sla_milestone_rules r ON r.id = k.rule_id AND r.org_id = k.org_id "
                     "WHERE k.org_id = ? AND k.started_at >= ? AND k.started_at < ? AND "
                     "(k.breached_at IS NOT NULL OR k.status = 'met')",
                     {ctx.org(), format_time(from), format_time(to)}));
  struct Tally {
    std::string name;
    int64_t met = 0, breached = 0;
  };
  std::map<std::string, Tally> by_policy, by_agent, by_customer;
  int64_t met = 0, breached = 0;
  for (const auto& row : rows) {
    bool b = row.int64(6) == 1;
    (b ? breached : met)++;
    std::string pkey = !row.is_null(0)   ? "policy:" + row.str(0)
                       : !row.is_null(2) ? "rule:" + row.str(2)
                                         : "none";
    Tally& tp = by_policy[pkey];
    tp.name = !row.is_null(1) ? row.str(1) : !row.is_null(3) ? row.str(3) : "";
    (b ? tp.breached : tp.met)++;
    Tally& ta = by_agent[row.is_null(4) ? "" : row.str(4)];
    (b ? ta.breached : ta.met)++;
    Tally& tc = by_customer[row.is_null(5) ? "" : row.str(5)];
    (b ? tc.breached : tc.met)++;
  }
  auto counts = [](int64_t m, int64_t b) {
    std::string rate = "null";
    if (m + b > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(m) / static_cast<double>(m + b));
      rate = buf;
    }
    return "\"met\":" + std::to_string(m) + ",\"breached\":" + std::to_string(b) +
           ",\"rate\":" + rate;
  };
  auto section = [&](const std::map<std::string, Tally>& m, const char* id_key, bool names) {
    std::string j = "[";
    for (const auto& [k, t] : m) {
      if (j.size() > 1) j += ',';
      std::string id = k, kind;
      if (names) {
        auto colon = k.find(':');
        kind = colon == std::string::npos ? "" : k.substr(0, colon);
        id = colon == std::string::npos ? "" : k.substr(colon + 1);
      }
      j += std::string("{\"") + id_key + "\":" + (id.empty() ? "null" : json::quote(id));
      if (names)
        j += ",\"kind\":" + (kind.empty() ? std::string("null") : json::quote(kind)) +
             ",\"name\":" + (t.name.empty() ? std::string("null") : json::quote(t.name));
      j += "," + counts(t.met, t.breached) + "}";
    }
    return j + "]";
  };
  return "{\"from\":" + json::quote(format_time(from)) + ",\"to\":" + json::quote(format_time(to)) +
         ",\"total\":{" + counts(met, breached) +
         "},\"by_policy\":" + section(by_policy, "id", true) +
         ",\"by_agent\":" + section(by_agent, "assignee_id", false) +
         ",\"by_customer\":" + section(by_customer, "customer_id", false) + "}";
}

}  // namespace banxway::services
