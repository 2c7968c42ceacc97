// SLA configuration: business calendars, policies and shipment milestone rules (CRUD). Clocks:
// sla_clocks.cpp, sla_threads.cpp, sla_shipments.cpp; the report: sla_analytics.cpp. docs/SLA.md.
#include "services/sla.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "runtime/event_dispatch.hpp"
#include "sched/calendar.hpp"
#include "sched/duration.hpp"
#include "services/common.hpp"
#include "services/sla_internal.hpp"

namespace banxway::services {
namespace {

constexpr int kMaxListed = 500;  // policies, calendars and rules are configuration: few per org

Status field_error(const std::string& field, const std::string& what,
                   Code code = Code::invalid_argument) {
  return Status(code, field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

// ---- business calendars -------------------------------------------------------------------

// The definition part of params (time_zone, hours, holidays), merged over `base` when given.
Result<sched::BusinessCalendar> calendar_from_params(const json::Value& p,
                                                     const std::string* base) {
  json::Document def;
  def.SetObject();
  auto& a = def.GetAllocator();
  json::Document old;
  if (base) {
    if (!json::parse(*base, &old).ok() || !old.IsObject())
      return Internal("stored calendar is not JSON");
    for (auto it = old.MemberBegin(); it != old.MemberEnd(); ++it)
      def.AddMember(json::Value(it->name, a), json::Value(it->value, a), a);
  }
  for (const char* k : {"time_zone", "hours", "holidays"}) {
    if (!p.HasMember(k)) continue;
    if (def.HasMember(k)) def.RemoveMember(k);
    def.AddMember(json::Value(k, a), json::Value(p[k], a), a);
  }
  return sched::BusinessCalendar::from_json(def);
}

std::string calendar_json(const store::Row& row) {
  // id, name, definition, created_at, updated_at
  std::string def(row.text(2));
  auto cal = load_calendar_text(def);
  std::string body = cal.ok() ? cal->to_json() : def;
  std::string j = "{\"id\":" + json::quote(row.text(0)) + ",\"name\":" + json::quote(row.text(1)) +
                  "," + body.substr(1, body.size() - 2) +
                  ",\"created_at\":" + json::quote(row.text(3)) +
                  ",\"updated_at\":" + json::quote(row.text(4)) + "}";
  return j;
}

constexpr const char* kCalendarCols = "id, name, definition, created_at, updated_at";

Result<std::string> calendar_by_id(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT ") + kCalendarCols +
                                             " FROM business_calendars WHERE id = ? AND org_id = ?",
                                         {id, ctx.org()}));
  if (rows.empty()) return NotFound("business calendar " + id + " not found");
  return calendar_json(rows[0]);
}

Status name_taken(store::Conn& c, api::Ctx& ctx, const char* table, const std::string& name,
                  const std::string& except_id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT id FROM ") + table +
                                             " WHERE org_id = ? AND name = ? AND id <> ?",
                                         {ctx.org(), name, except_id}));
  if (!rows.empty())
    return field_error("name", "\"" + name + "\" is already used by " + rows[0].str(0),
                       Code::already_exists);
  return Status();
}

// ---- policies -------------------------------------------------------------------------------

constexpr const char* kPolicyCols =
    "id, name, position, enabled, match, first_response_s, next_response_s, resolution_s, "
    "calendar_id, warn_permille, created_at, updated_at";

std::string target_json(const store::Row& row, size_t i) {
  if (row.is_null(i)) return "null";
  return json::quote(sched::format_duration(std::chrono::seconds(row.int64(i))));
}

std::string warn_json(int64_t permille) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(permille) / 1000.0);
  return buf;
}

std::string policy_json(const store::Row& row) {
  PolicyMatch m = parse_match(row.text(4));
  return "{\"id\":" + json::quote(row.text(0)) + ",\"name\":" + json::quote(row.text(1)) +
         ",\"position\":" + std::to_string(row.int64(2)) +
         ",\"enabled\":" + (row.boolean(3) ? "true" : "false") + ",\"match\":" + match_json(m) +
         ",\"first_response\":" + target_json(row, 5) +
         ",\"next_response\":" + target_json(row, 6) + ",\"resolution\":" + target_json(row, 7) +
         ",\"calendar_id\":" + (row.is_null(8) ? std::string("null") : json::quote(row.text(8))) +
         ",\"warn_at\":" + warn_json(row.int64(9)) +
         ",\"created_at\":" + json::quote(row.text(10)) +
         ",\"updated_at\":" + json::quote(row.text(11)) + "}";
}

Result<std::string> policy_by_id(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT ") + kPolicyCols +
                                             " FROM sla_policies WHERE id = ? AND org_id = ?",
                                         {id, ctx.org()}));
  if (rows.empty()) return NotFound("SLA policy " + id + " not found");
  return policy_json(rows[0]);
}

// A target param: an ISO 8601 duration (positive) or null.
Result<store::Value> target_param(const json::Value& p, const char* field) {
  const json::Value* v = json::get(p, field);
  if (!v || v->IsNull()) return store::Value();
  auto d = sched::parse_duration(std::string_view(v->GetString(), v->GetStringLength()));
  if (!d.ok()) return field_error(field, d.status().message());
  if (d->count() <= 0) return field_error(field, "must be longer than zero");
  return store::Value(static_cast<int64_t>(d->count()));
}

Result<int64_t> warn_param(const json::Value& p) {
  const json::Value* v = json::get(p, "warn_at");
  double w = v && v->IsNumber() ? v->GetDouble() : 0.8;
  if (!(w > 0 && w < 1))
    return field_error("warn_at", "must be a share between 0 and 1 (e.g. 0.8)");
  return static_cast<int64_t>(std::llround(w * 1000));
}

Status check_calendar_ref(store::Conn& c, api::Ctx& ctx, const json::Value& p) {
  if (auto cal = json::get_string(p, "calendar_id"))
    return require_ref(c, ctx, "business_calendars", *cal, "calendar_id");
  return Status();
}

// ---- milestone rules ------------------------------------------------------------------------

constexpr const char* kRuleCols =
    "id, name, enabled, trigger_on, anchor, offset_s, met_by, calendar_id, warn_permille, "
    "created_at, updated_at";

std::string rule_json(const store::Row& row) {
  return "{\"id\":" + json::quote(row.text(0)) + ",\"name\":" + json::quote(row.text(1)) +
         ",\"enabled\":" + (row.boolean(2) ? "true" : "false") +
         ",\"trigger\":" + json::quote(row.text(3)) + ",\"anchor\":" + json::quote(row.text(4)) +
         ",\"offset\":" + json::quote(sched::format_duration(std::chrono::seconds(row.int64(5)))) +
         ",\"met_by\":" + json::quote(row.text(6)) +
         ",\"calendar_id\":" + (row.is_null(7) ? std::string("null") : json::quote(row.text(7))) +
         ",\"warn_at\":" + warn_json(row.int64(8)) + ",\"created_at\":" + json::quote(row.text(9)) +
         ",\"updated_at\":" + json::quote(row.text(10)) + "}";
}

Result<std::string> rule_by_id(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query(std::string("SELECT ") + kRuleCols +
                                  " FROM sla_milestone_rules WHERE id = ? AND org_id = ?",
                              {id, ctx.org()}));
  if (rows.empty()) return NotFound("SLA milestone rule " + id + " not found");
  return rule_json(rows[0]);
}

bool is_milestone_ref(std::string_view s) {
  if (!s.starts_with("milestone:")) return false;
  return is_milestone_kind(s.substr(10));
}

Status check_rule_fields(const json::Value& p) {
  if (auto t = json::get_string(p, "trigger"))
    if (*t != "eta_changed" && *t != "etd_changed" && !is_milestone_ref(*t))
      return field_error("trigger",
                         "expected eta_changed, etd_changed or milestone:<kind> (e.g. "
                         "milestone:departed)");
  if (auto a = json::get_string(p, "anchor"))
    if (*a != "event" && *a != "eta" && *a != "etd" && !is_milestone_ref(*a))
      return field_error("anchor",
                         "expected event, eta, etd or milestone:<kind> (that "
                         "milestone's planned time)");
  if (auto m = json::get_string(p, "met_by"))
    if (*m != "reply" && !is_milestone_ref(*m))
      return field_error("met_by", "expected reply or milestone:<kind>");
  return Status();
}

}  // namespace

// ---- business_calendars.* -------------------------------------------------------------------

Result<std::string> calendars_list(api::Ctx& ctx, json::Value&) {
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(std::string("SELECT ") + kCalendarCols +
                                                    " FROM business_calendars WHERE org_id = ? "
                                                    "ORDER BY name, id LIMIT " +
                                                    std::to_string(kMaxListed),
                                                {ctx.org()}));
  std::string items = "[";
  for (size_t i = 0; i < rows.size(); ++i) items += (i ? "," : "") + calendar_json(rows[i]);
  return api::list_result(items + "]", std::nullopt);
}

Result<std::string> calendars_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return calendar_by_id(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> calendars_create(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(auto cal, calendar_from_params(p, nullptr));
  std::string name = *api::param_str(p, "name");
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(name_taken(c, ctx, "business_calendars", name, id));
    auto r = c.query(
        "INSERT INTO business_calendars (id, org_id, name, definition, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), name, cal.to_json(), ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, calendar_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "business_calendar.created", "business_calendar", id, std::nullopt, out));
    return ctx.audit(c, "business_calendar", id);
  }));
  return out;
}

Result<std::string> calendars_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT definition FROM business_calendars WHERE id = ? "
                                           "AND org_id = ?",
                                           {id, ctx.org()}));
    if (rows.empty()) return NotFound("business calendar " + id + " not found");
    std::string base = rows[0].str(0);
    BX_ASSIGN_OR_RETURN(auto cal, calendar_from_params(p, &base));
    std::string sets = "definition = ?, updated_at = ?";
    std::vector<store::Value> args{cal.to_json(), ctx.now()};
    if (auto name = api::param_str(p, "name")) {
      BX_RETURN_IF_ERROR(name_taken(c, ctx, "business_calendars", *name, id));
      sets += ", name = ?";
      args.emplace_back(*name);
    }
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    auto r =
        c.query("UPDATE business_calendars SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, calendar_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "business_calendar.updated", "business_calendar", id, std::nullopt, out));
    return ctx.audit(c, "business_calendar", id);
  }));
  return out;
}

Result<std::string> calendars_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "business_calendars", id, "id"));
    for (const char* table : {"sla_policies", "sla_milestone_rules"}) {
      BX_ASSIGN_OR_RETURN(auto users, c.query(std::string("SELECT name FROM ") + table +
                                                  " WHERE org_id = ? AND calendar_id = ? "
                                                  "ORDER BY name LIMIT 1",
                                              {ctx.org(), id}));
      if (!users.empty())
        return Status(Code::conflict,
                      "id: the calendar is used by \"" + users[0].str(0) + "\"; change that first",
                      "{\"field\":\"id\"}");
    }
    auto r = c.query("DELETE FROM business_calendars WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    out = "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
    BX_RETURN_IF_ERROR(
        ctx.event(c, "business_calendar.deleted", "business_calendar", id, std::nullopt, out));
    return ctx.audit(c, "business_calendar", id);
  }));
  return out;
}

// ---- sla_policies.* -------------------------------------------------------------------------

Result<std::string> sla_policies_list(api::Ctx& ctx, json::Value&) {
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(std::string("SELECT ") + kPolicyCols +
                                                    " FROM sla_policies WHERE org_id = ? ORDER "
                                                    "BY position, name, id LIMIT " +
                                                    std::to_string(kMaxListed),
                                                {ctx.org()}));
  std::string items = "[";
  for (size_t i = 0; i < rows.size(); ++i) items += (i ? "," : "") + policy_json(rows[i]);
  return api::list_result(items + "]", std::nullopt);
}

Result<std::string> sla_policies_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return policy_by_id(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> sla_policies_create(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(auto fr, target_param(p, "first_response"));
  BX_ASSIGN_OR_RETURN(auto nr, target_param(p, "next_response"));
  BX_ASSIGN_OR_RETURN(auto res, target_param(p, "resolution"));
  if (fr.is_null() && nr.is_null() && res.is_null())
    return field_error("first_response",
                       "a policy needs at least one target (first_response, "
                       "next_response or resolution)");
  BX_ASSIGN_OR_RETURN(int64_t warn, warn_param(p));
  std::string match = "{}";
  if (const json::Value* m = json::get(p, "match"))
    match = match_json(parse_match(json::stringify(*m)));
  std::string name = *api::param_str(p, "name");
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(name_taken(c, ctx, "sla_policies", name, id));
    BX_RETURN_IF_ERROR(check_calendar_ref(c, ctx, p));
    auto r = c.query(
        "INSERT INTO sla_policies (id, org_id, name, position, enabled, match, first_response_s, "
        "next_response_s, resolution_s, calendar_id, warn_permille, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), name, json::get_int(p, "position").value_or(0),
         json::get_bool(p, "enabled").value_or(true), match, fr, nr, res,
         api::param_str(p, "calendar_id"), warn, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, policy_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "sla_policy.created", "sla_policy", id, std::nullopt, out));
    BX_RETURN_IF_ERROR(runtime::EventDispatcher::activate(c, kSlaConsumer, ctx.org(), ctx.now()));
    return ctx.audit(c, "sla_policy", id);
  }));
  return out;
}

Result<std::string> sla_policies_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string sets = "updated_at = ?";
  std::vector<store::Value> args{ctx.now()};
  for (const char* f : {"first_response", "next_response", "resolution"}) {
    if (!p.HasMember(f)) continue;
    BX_ASSIGN_OR_RETURN(auto v, target_param(p, f));
    sets += std::string(", ") + f + "_s = ?";
    args.push_back(v);
  }
  if (p.HasMember("warn_at")) {
    BX_ASSIGN_OR_RETURN(int64_t warn, warn_param(p));
    sets += ", warn_permille = ?";
    args.emplace_back(warn);
  }
  if (auto pos = json::get_int(p, "position")) {
    sets += ", position = ?";
    args.emplace_back(*pos);
  }
  if (auto en = json::get_bool(p, "enabled")) {
    sets += ", enabled = ?";
    args.emplace_back(*en);
  }
  if (const json::Value* m = json::get(p, "match")) {
    sets += ", match = ?";
    args.emplace_back(match_json(parse_match(json::stringify(*m))));
  }
  if (p.HasMember("calendar_id")) {
    sets += ", calendar_id = ?";
    args.emplace_back(api::param_str(p, "calendar_id"));
  }
  auto name = api::param_str(p, "name");
  if (name) {
    sets += ", name = ?";
    args.emplace_back(*name);
  }
  args.emplace_back(id);
  args.emplace_back(ctx.org());
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "sla_policies", id, "id"));
    if (name) BX_RETURN_IF_ERROR(name_taken(c, ctx, "sla_policies", *name, id));
    BX_RETURN_IF_ERROR(check_calendar_ref(c, ctx, p));
    auto r = c.query("UPDATE sla_policies SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(auto check, c.query("SELECT first_response_s, next_response_s, "
                                            "resolution_s FROM sla_policies WHERE id = ?",
                                            {id}));
    if (check[0].is_null(0) && check[0].is_null(1) && check[0].is_null(2))
      return field_error("first_response", "a policy needs at least one target");
    BX_ASSIGN_OR_RETURN(out, policy_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "sla_policy.updated", "sla_policy", id, std::nullopt, out));
    return ctx.audit(c, "sla_policy", id);
  }));
  return out;
}

Result<std::string> sla_policies_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "sla_policies", id, "id"));
    // Clocks of the policy stop (their timers find them cancelled); history stays for analytics.
    auto r = c.query(
        "UPDATE sla_clocks SET status = 'cancelled', due_at = NULL, warn_at = NULL, "
        "updated_at = ? WHERE org_id = ? AND policy_id = ? AND status IN "
        "('running','paused')",
        {ctx.now(), ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query(
        "UPDATE thread_sla SET policy_id = NULL, updated_at = ? WHERE org_id = ? AND "
        "policy_id = ?",
        {ctx.now(), ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM sla_policies WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    out = "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
    BX_RETURN_IF_ERROR(ctx.event(c, "sla_policy.deleted", "sla_policy", id, std::nullopt, out));
    return ctx.audit(c, "sla_policy", id);
  }));
  return out;
}

// ---- sla_milestone_rules.* ------------------------------------------------------------------

Result<std::string> sla_milestone_rules_list(api::Ctx& ctx, json::Value&) {
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(std::string("SELECT ") + kRuleCols +
                                                    " FROM sla_milestone_rules WHERE org_id = ? "
                                                    "ORDER BY name, id LIMIT " +
                                                    std::to_string(kMaxListed),
                                                {ctx.org()}));
  std::string items = "[";
  for (size_t i = 0; i < rows.size(); ++i) items += (i ? "," : "") + rule_json(rows[i]);
  return api::list_result(items + "]", std::nullopt);
}

Result<std::string> sla_milestone_rules_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return rule_by_id(c, ctx, *api::param_str(p, "id"));
}

namespace {
Result<int64_t> offset_param(const json::Value& p) {
  auto s = json::get_string(p, "offset");
  auto d = sched::parse_duration(*s);
  if (!d.ok()) return field_error("offset", d.status().message());
  return static_cast<int64_t>(d->count());
}
}  // namespace

Result<std::string> sla_milestone_rules_create(api::Ctx& ctx, json::Value& p) {
  BX_RETURN_IF_ERROR(check_rule_fields(p));
  BX_ASSIGN_OR_RETURN(int64_t offset, offset_param(p));
  BX_ASSIGN_OR_RETURN(int64_t warn, warn_param(p));
  std::string anchor = api::param_str(p, "anchor").value_or("event");
  if (anchor == "event" && offset <= 0)
    return field_error("offset", "must be positive when the anchor is the triggering event");
  std::string name = *api::param_str(p, "name");
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(name_taken(c, ctx, "sla_milestone_rules", name, id));
    BX_RETURN_IF_ERROR(check_calendar_ref(c, ctx, p));
    auto r = c.query(
        "INSERT INTO sla_milestone_rules (id, org_id, name, enabled, trigger_on, anchor, "
        "offset_s, met_by, calendar_id, warn_permille, created_at, updated_at) VALUES (?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), name, json::get_bool(p, "enabled").value_or(true),
         *api::param_str(p, "trigger"), anchor, offset, *api::param_str(p, "met_by"),
         api::param_str(p, "calendar_id"), warn, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, rule_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "sla_milestone_rule.created", "sla_milestone_rule", id, std::nullopt, out));
    BX_RETURN_IF_ERROR(runtime::EventDispatcher::activate(c, kSlaConsumer, ctx.org(), ctx.now()));
    return ctx.audit(c, "sla_milestone_rule", id);
  }));
  return out;
}

Result<std::string> sla_milestone_rules_update(api::Ctx& ctx, json::Value& p) {
  BX_RETURN_IF_ERROR(check_rule_fields(p));
  std::string id = *api::param_str(p, "id");
  std::string sets = "updated_at = ?";
  std::vector<store::Value> args{ctx.now()};
  if (p.HasMember("offset")) {
    BX_ASSIGN_OR_RETURN(int64_t offset, offset_param(p));
    sets += ", offset_s = ?";
    args.emplace_back(offset);
  }
  if (p.HasMember("warn_at")) {
    BX_ASSIGN_OR_RETURN(int64_t warn, warn_param(p));
    sets += ", warn_permille = ?";
    args.emplace_back(warn);
  }
  if (auto en = json::get_bool(p, "enabled")) {
    sets += ", enabled = ?";
    args.emplace_back(*en);
  }
  for (auto [param, col] : {std::pair{"trigger", "trigger_on"}, std::pair{"anchor", "anchor"},
                            std::pair{"met_by", "met_by"}, std::pair{"name", "name"}}) {
    if (auto v = api::param_str(p, param)) {
      sets += std::string(", ") + col + " = ?";
      args.emplace_back(*v);
    }
  }
  if (p.HasMember("calendar_id")) {
    sets += ", calendar_id = ?";
    args.emplace_back(api::param_str(p, "calendar_id"));
  }
  args.emplace_back(id);
  args.emplace_back(ctx.org());
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "sla_milestone_rules", id, "id"));
    if (auto name = api::param_str(p, "name"))
      BX_RETURN_IF_ERROR(name_taken(c, ctx, "sla_milestone_rules", *name, id));
    BX_RETURN_IF_ERROR(check_calendar_ref(c, ctx, p));
    auto r =
        c.query("UPDATE sla_milestone_rules SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(auto check, c.query("SELECT anchor, offset_s FROM sla_milestone_rules "
                                            "WHERE id = ?",
                                            {id}));
    if (check[0].text(0) == "event" && check[0].int64(1) <= 0)
      return field_error("offset", "must be positive when the anchor is the triggering event");
    BX_ASSIGN_OR_RETURN(out, rule_by_id(c, ctx, id));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "sla_milestone_rule.updated", "sla_milestone_rule", id, std::nullopt, out));
    return ctx.audit(c, "sla_milestone_rule", id);
  }));
  return out;
}

Result<std::string> sla_milestone_rules_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "sla_milestone_rules", id, "id"));
    auto r = c.query(
        "UPDATE sla_clocks SET status = 'cancelled', due_at = NULL, warn_at = NULL, "
        "updated_at = ? WHERE org_id = ? AND rule_id = ? AND status IN "
        "('running','paused')",
        {ctx.now(), ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM sla_milestone_rules WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    out = "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
    BX_RETURN_IF_ERROR(
        ctx.event(c, "sla_milestone_rule.deleted", "sla_milestone_rule", id, std::nullopt, out));
    return ctx.audit(c, "sla_milestone_rule", id);
  }));
  return out;
}

}  // namespace banxway::services
