// SLA clocks on shipments (sla_milestone_rules): started by an ETA/ETD change or a milestone,
// due relative to the trigger or to a shipment time, met by a reply or a milestone. docs/SLA.md.
#include <algorithm>
#include <tuple>

#include "services/common.hpp"
#include "services/sla.hpp"
#include "services/sla_internal.hpp"

namespace banxway::services::sla_detail {
namespace {

// ---- shipments --------------------------------------------------------------------------------

struct Rule {
  std::string id, trigger, anchor, met_by;
  int64_t offset_s = 0, warn_permille = 800;
  std::optional<std::string> calendar_id;
};

Result<std::vector<Rule>> rules_where(store::Conn& c, const std::string& org,
                                      const std::string& cond, const std::string& arg) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id, trigger_on, anchor, met_by, offset_s, "
                                         "warn_permille, calendar_id FROM sla_milestone_rules "
                                         "WHERE org_id = ? AND enabled = 1 AND " +
                                             cond + " ORDER BY name, id",
                                         {org, arg}));
  std::vector<Rule> out;
  for (const auto& r : rows)
    out.push_back(Rule{r.str(0), r.str(1), r.str(2), r.str(3), r.int64(4), r.int64(5), r.opt(6)});
  return out;
}

// The time a rule's anchor names on this shipment (nullopt when unset).
Result<std::optional<TimePoint>> anchor_time(store::Conn& c, const std::string& org,
                                             const std::string& shipment,
                                             const std::string& anchor) {
  std::optional<std::string> v;
  if (anchor == "eta" || anchor == "etd") {
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT " + anchor +
                                               " FROM shipments WHERE id = ? AND "
                                               "org_id = ?",
                                           {shipment, org}));
    if (!rows.empty()) v = rows[0].opt(0);
  } else if (anchor.starts_with("milestone:")) {
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT planned_at FROM shipment_milestones WHERE "
                                           "shipment_id = ? AND org_id = ? AND kind = ?",
                                           {shipment, org, anchor.substr(10)}));
    if (!rows.empty()) v = rows[0].opt(0);
  }
  if (!v) return std::optional<TimePoint>();
  return std::optional<TimePoint>(at_time(*v));
}

// Starts (or restarts) rule r's clock on a shipment at t.
Status start_rule_clock(store::Conn& c, api::Ctx& ctx, const Rule& r, const std::string& shipment,
                        TimePoint t) {
  BX_ASSIGN_OR_RETURN(auto old, clocks_where(c, ctx.org(),
                                             "subject_type = 'shipment' AND subject_id = ? AND "
                                             "rule_id = ? AND status IN ('running','paused')",
                                             {shipment, r.id}));
  for (auto& k : old) BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, false));
  NewClock n;
  n.subject_type = "shipment";
  n.subject_id = shipment;
  n.metric = "rule";
  n.rule_id = r.id;
  n.warn_permille = r.warn_permille;
  if (r.anchor == "event") {
    n.calendar_id = r.calendar_id;
    n.target_s = r.offset_s;
  } else {
    // A deadline relative to a shipment time counts wall time: due = anchor + offset.
    BX_ASSIGN_OR_RETURN(auto anchor, anchor_time(c, ctx.org(), shipment, r.anchor));
    if (!anchor) return Status();  // nothing to count towards yet
    TimePoint due = *anchor + seconds(r.offset_s);
    n.target_s = std::max<int64_t>(0, std::chrono::duration_cast<seconds>(due - t).count());
  }
  return start_clock(c, ctx, n, t, false);
}

}  // namespace

Status meet_rule_clocks_on_reply(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                                 TimePoint t) {
  BX_ASSIGN_OR_RETURN(auto links,
                      c.query("SELECT shipment_id FROM thread_shipments WHERE org_id = ? "
                              "AND thread_id = ?",
                              {ctx.org(), thread_id}));
  for (const auto& l : links) {
    BX_ASSIGN_OR_RETURN(auto ks,
                        clocks_where(c, ctx.org(),
                                     "subject_type = 'shipment' AND subject_id = ? AND "
                                     "status IN ('running','paused') AND rule_id IN "
                                     "(SELECT id FROM sla_milestone_rules WHERE org_id = ? "
                                     "AND met_by = 'reply')",
                                     {l.str(0), ctx.org()}));
    for (auto& k : ks) BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, true));
  }
  return Status();
}

Status on_shipment(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                   const json::Value& sh, TimePoint t) {
  const std::string& id = ev.subject_id;
  std::optional<std::string> eta, etd;
  if (auto v = json::get_string(sh, "eta")) eta = normalized_time(*v);
  if (auto v = json::get_string(sh, "etd")) etd = normalized_time(*v);
  BX_ASSIGN_OR_RETURN(auto seen,
                      c.query("SELECT eta, etd FROM shipment_sla WHERE shipment_id = ? AND "
                              "org_id = ?",
                              {id, ctx.org()}));
  auto same = [](const std::optional<std::string>& a, const std::optional<std::string>& b) {
    if (!a || !b) return a.has_value() == b.has_value();
    return at_time(*a) == at_time(*b);
  };
  bool eta_changed = false, etd_changed = false;
  if (ev.type == "shipment.updated") {
    eta_changed = seen.empty() ? eta.has_value() : !same(seen[0].opt(0), eta);
    etd_changed = seen.empty() ? etd.has_value() : !same(seen[0].opt(1), etd);
  }
  auto r =
      c.query(seen.empty() ? "INSERT INTO shipment_sla (eta, etd, updated_at, shipment_id, org_id) "
                             "VALUES (?, ?, ?, ?, ?)"
                           : "UPDATE shipment_sla SET eta = ?, etd = ?, updated_at = ? WHERE "
                             "shipment_id = ? AND org_id = ?",
              {eta, etd, ctx.now(), id, ctx.org()});
  if (!r.ok()) return r.status();
  for (auto [changed, trigger, field] : {std::tuple{eta_changed, "eta_changed", "eta"},
                                         std::tuple{etd_changed, "etd_changed", "etd"}}) {
    if (!changed) continue;
    BX_ASSIGN_OR_RETURN(auto rules, rules_where(c, ctx.org(), "trigger_on = ?", trigger));
    for (const auto& rule : rules) BX_RETURN_IF_ERROR(start_rule_clock(c, ctx, rule, id, t));
    // Clocks counting towards this time move with it.
    BX_ASSIGN_OR_RETURN(auto anchored, rules_where(c, ctx.org(), "anchor = ?", field));
    for (const auto& rule : anchored) {
      BX_ASSIGN_OR_RETURN(auto live, clocks_where(c, ctx.org(),
                                                  "subject_type = 'shipment' AND subject_id = ? "
                                                  "AND rule_id = ? AND status = 'running'",
                                                  {id, rule.id}));
      if (!live.empty() && rule.trigger != trigger)
        BX_RETURN_IF_ERROR(start_rule_clock(c, ctx, rule, id, t));
    }
  }
  return Status();
}

Status on_milestone(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                    const json::Value& ms, TimePoint t) {
  const std::string& id = ev.subject_id;
  std::string kind(json::get_string(ms, "kind").value_or(""));
  if (kind.empty()) return Status();
  std::string ref = "milestone:" + kind;
  if (json::get_string(ms, "actual_at")) {
    // Met first: a milestone that both meets one rule and starts another does both.
    BX_ASSIGN_OR_RETURN(auto ks,
                        clocks_where(c, ctx.org(),
                                     "subject_type = 'shipment' AND subject_id = ? AND "
                                     "status IN ('running','paused') AND rule_id IN "
                                     "(SELECT id FROM sla_milestone_rules WHERE org_id = ? "
                                     "AND met_by = '" +
                                         ref + "')",
                                     {id, ctx.org()}));
    for (auto& k : ks) BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, true));
    BX_ASSIGN_OR_RETURN(auto rules, rules_where(c, ctx.org(), "trigger_on = ?", ref));
    for (const auto& rule : rules) {
      BX_ASSIGN_OR_RETURN(auto any, clocks_where(c, ctx.org(),
                                                 "subject_type = 'shipment' AND subject_id = ? AND "
                                                 "rule_id = ?",
                                                 {id, rule.id}));
      if (any.empty()) BX_RETURN_IF_ERROR(start_rule_clock(c, ctx, rule, id, t));
    }
  }
  // A planned time moved: clocks counting towards it move with it.
  BX_ASSIGN_OR_RETURN(auto anchored, rules_where(c, ctx.org(), "anchor = ?", ref));
  for (const auto& rule : anchored) {
    BX_ASSIGN_OR_RETURN(auto live, clocks_where(c, ctx.org(),
                                                "subject_type = 'shipment' AND subject_id = ? AND "
                                                "rule_id = ? AND status = 'running'",
                                                {id, rule.id}));
    for (auto& k : live) {
      BX_ASSIGN_OR_RETURN(auto anchor, anchor_time(c, ctx.org(), id, rule.anchor));
      if (!anchor) continue;
      TimePoint due = *anchor + seconds(rule.offset_s);
      if (k.due_at && at_time(*k.due_at) == due) continue;
      BX_RETURN_IF_ERROR(start_rule_clock(c, ctx, rule, id, t));
      break;
    }
  }
  return Status();
}

}  // namespace banxway::services::sla_detail
