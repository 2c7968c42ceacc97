// SLA clocks: the primitives every clock goes through (start, arm, pause, end, fire) and the
// "sla.check" timers. Threads: sla_threads.cpp; shipments: sla_shipments.cpp. docs/SLA.md.
#include <algorithm>

#include "sched/duration.hpp"
#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/sla.hpp"
#include "services/sla_internal.hpp"

namespace banxway::services {

// ---- shared helpers (sla_internal.hpp) --------------------------------------------------------

namespace {
void read_list(const json::Value& obj, const char* key, std::vector<std::string>* out) {
  std::set<std::string> vals;
  if (const json::Value* v = json::get(obj, key); v && v->IsArray())
    for (const auto& x : v->GetArray())
      if (x.IsString()) vals.insert(std::string(x.GetString(), x.GetStringLength()));
  out->assign(vals.begin(), vals.end());
}
bool accepts_one(const std::vector<std::string>& list, std::string_view v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}
std::string list_json(const std::vector<std::string>& l) {
  std::string j = "[";
  for (size_t i = 0; i < l.size(); ++i) j += (i ? "," : "") + json::quote(l[i]);
  return j + "]";
}
}  // namespace

bool PolicyMatch::accepts(std::string_view priority, const std::optional<std::string>& tier,
                          std::string_view channel) const {
  if (!accepts_one(priorities, priority)) return false;
  if (!customer_tiers.empty() && (!tier || !accepts_one(customer_tiers, *tier))) return false;
  return accepts_one(channels, channel);
}

PolicyMatch parse_match(std::string_view text) {
  PolicyMatch m;
  json::Document d;
  if (!json::parse(text, &d).ok() || !d.IsObject()) return m;
  read_list(d, "priorities", &m.priorities);
  read_list(d, "customer_tiers", &m.customer_tiers);
  read_list(d, "channels", &m.channels);
  return m;
}

std::string match_json(const PolicyMatch& m) {
  return "{\"priorities\":" + list_json(m.priorities) +
         ",\"customer_tiers\":" + list_json(m.customer_tiers) +
         ",\"channels\":" + list_json(m.channels) + "}";
}

Result<sched::BusinessCalendar> load_calendar_text(std::string_view definition) {
  json::Document d;
  BX_RETURN_IF_ERROR(json::parse(definition, &d));
  return sched::BusinessCalendar::from_json(d);
}

Result<sched::BusinessCalendar> load_calendar(store::Conn& c, const std::string& org,
                                              const std::optional<std::string>& calendar_id) {
  if (!calendar_id || calendar_id->empty()) return sched::BusinessCalendar::always();
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT definition FROM business_calendars WHERE id = ? "
                                         "AND org_id = ?",
                                         {*calendar_id, org}));
  if (rows.empty()) return sched::BusinessCalendar::always();  // deleted: count wall time
  return load_calendar_text(rows[0].text(0));
}

bool is_milestone_kind(std::string_view kind) {
  for (std::string_view k : {"booked", "picked_up", "gate_in", "loaded", "departed", "transshipped",
                             "arrived", "customs_cleared", "delivered"})
    if (kind == k) return true;
  return false;
}

namespace sla_detail {
namespace {

constexpr const char* kClockCols =
    "id, subject_type, subject_id, thread_id, metric, policy_id, rule_id, calendar_id, target_s, "
    "warn_permille, status, started_at, segment_start, used_s, due_at, warn_at, warned_at, "
    "breached_at, met_at";

Clock clock_from(const store::Row& r) {
  Clock k;
  k.id = r.str(0);
  k.subject_type = r.str(1);
  k.subject_id = r.str(2);
  k.thread_id = r.opt(3);
  k.metric = r.str(4);
  k.policy_id = r.opt(5);
  k.rule_id = r.opt(6);
  k.calendar_id = r.opt(7);
  k.target_s = r.int64(8);
  k.warn_permille = r.int64(9);
  k.status = r.str(10);
  k.started_at = r.str(11);
  k.segment_start = r.opt(12);
  k.used_s = r.int64(13);
  k.due_at = r.opt(14);
  k.warn_at = r.opt(15);
  k.warned_at = r.opt(16);
  k.breached_at = r.opt(17);
  k.met_at = r.opt(18);
  return k;
}

Status enqueue_check(store::Conn& c, api::Ctx& ctx, const std::string& clock_id, const char* what,
                     const std::string& at) {
  runtime::JobSpec job;
  job.kind = std::string(kSlaCheckJob);
  job.payload_json = "{\"clock_id\":" + json::quote(clock_id) + ",\"what\":" + json::quote(what) +
                     ",\"at\":" + json::quote(at) + "}";
  job.run_at = at_time(at);
  // The deadline is part of the key: a moved deadline gets its own timer, the old one finds the
  // clock changed and does nothing; the same deadline twice is one timer.
  job.unique_key = "sla:" + clock_id + ":" + what + ":" + at;
  return runtime::JobQueue::enqueue(c, ctx, job).status();
}

}  // namespace

// ---- clocks -----------------------------------------------------------------------------------

Result<std::vector<Clock>> clocks_where(store::Conn& c, const std::string& org,
                                        const std::string& cond, std::vector<store::Value> args) {
  args.insert(args.begin(), store::Value(org));
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT ") + kClockCols +
                                             " FROM sla_clocks WHERE org_id = ? AND " + cond +
                                             " ORDER BY created_at, id",
                                         args));
  std::vector<Clock> out;
  for (const auto& r : rows) out.push_back(clock_from(r));
  return out;
}

TimePoint at_time(const std::string& s) {
  TimePoint t{};
  (void)parse_time(s, &t);
  return t;
}

// Emits sla.warning / sla.breached for clock k once: the UPDATE claims the event only while the
// clock still has that deadline (a moved, paused or met clock makes a stale timer a no-op).
Status fire(store::Conn& c, api::Ctx& ctx, const Clock& k, bool breach, const std::string& at) {
  const char* col = breach ? "breached_at" : "warned_at";
  const char* when = breach ? "due_at" : "warn_at";
  BX_ASSIGN_OR_RETURN(auto r,
                      c.query(std::string("UPDATE sla_clocks SET ") + col +
                                  " = ?, updated_at = ? "
                                  "WHERE id = ? AND org_id = ? AND status = 'running' AND " +
                                  col + " IS NULL AND " + when + " = ?",
                              {at, ctx.now(), k.id, ctx.org(), at}));
  if (r.affected != 1) return Status();
  std::string policy = "null";
  if (k.policy_id) {
    BX_ASSIGN_OR_RETURN(auto p, c.query("SELECT name FROM sla_policies WHERE id = ? AND org_id = ?",
                                        {*k.policy_id, ctx.org()}));
    policy = "{\"id\":" + json::quote(*k.policy_id) +
             ",\"name\":" + (p.empty() ? std::string("null") : json::quote(p[0].text(0))) + "}";
  }
  std::string rule = "null";
  if (k.rule_id) {
    BX_ASSIGN_OR_RETURN(auto p, c.query("SELECT name FROM sla_milestone_rules WHERE id = ? AND "
                                        "org_id = ?",
                                        {*k.rule_id, ctx.org()}));
    rule = "{\"id\":" + json::quote(*k.rule_id) +
           ",\"name\":" + (p.empty() ? std::string("null") : json::quote(p[0].text(0))) + "}";
  }
  std::optional<std::string> assignee;
  if (k.thread_id) {
    BX_ASSIGN_OR_RETURN(auto t,
                        c.query("SELECT assignee_id FROM threads WHERE id = ? AND org_id = ?",
                                {*k.thread_id, ctx.org()}));
    if (!t.empty()) assignee = t[0].opt(0);
  }
  std::string data = "{\"clock_id\":" + json::quote(k.id) + ",\"metric\":" + json::quote(k.metric) +
                     ",\"subject_type\":" + json::quote(k.subject_type) +
                     ",\"subject_id\":" + json::quote(k.subject_id) + ",\"policy\":" + policy +
                     ",\"rule\":" + rule +
                     ",\"target\":" + json::quote(sched::format_duration(seconds(k.target_s))) +
                     ",\"started_at\":" + json::quote(k.started_at) +
                     ",\"due_at\":" + (k.due_at ? json::quote(*k.due_at) : std::string("null")) +
                     ",\"at\":" + json::quote(at) + ",\"assignee_id\":" +
                     (assignee ? json::quote(*assignee) : std::string("null")) + "}";
  BX_RETURN_IF_ERROR(ctx.event(c, breach ? "sla.breached" : "sla.warning", k.subject_type,
                               k.subject_id, k.thread_id, data));
  if (breach) {
    auto u = c.query("UPDATE sla_clocks SET assignee_id = ? WHERE id = ? AND org_id = ?",
                     {assignee, k.id, ctx.org()});
    if (!u.ok()) return u.status();
  }
  if (assignee && k.thread_id)
    BX_RETURN_IF_ERROR(notify_sla(c, ctx, *k.thread_id, *assignee,
                                  k.metric + (breach ? "_breached" : "_due"),
                                  k.due_at.value_or(at)));
  return Status();
}

// Runs clock k from `from`: computes its deadlines on its calendar and sets the timers.
Status arm(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint from) {
  BX_ASSIGN_OR_RETURN(auto cal, load_calendar(c, ctx.org(), k.calendar_id));
  seconds remaining(std::max<int64_t>(0, k.target_s - k.used_s));
  TimePoint due = cal.add(from, remaining);
  std::optional<std::string> warn;
  if (!k.warned_at) {
    int64_t w = k.target_s * k.warn_permille / 1000;
    warn = format_time(w > k.used_s ? cal.add(from, seconds(w - k.used_s)) : from);
  }
  k.status = "running";
  k.segment_start = format_time(from);
  k.due_at = format_time(due);
  k.warn_at = warn;
  auto r = c.query(
      "UPDATE sla_clocks SET status = 'running', segment_start = ?, due_at = ?, "
      "warn_at = ?, updated_at = ? WHERE id = ? AND org_id = ?",
      {k.segment_start, k.due_at, warn, ctx.now(), k.id, ctx.org()});
  if (!r.ok()) return r.status();
  if (warn) BX_RETURN_IF_ERROR(enqueue_check(c, ctx, k.id, "warning", *warn));
  if (!k.breached_at) BX_RETURN_IF_ERROR(enqueue_check(c, ctx, k.id, "breach", *k.due_at));
  return Status();
}

// Deadlines already passed at t fire now (a pause or a reply can be handled before the timer).
Status catch_up(store::Conn& c, api::Ctx& ctx, const Clock& k, TimePoint t) {
  if (k.status != "running") return Status();
  if (k.warn_at && !k.warned_at && at_time(*k.warn_at) <= t)
    BX_RETURN_IF_ERROR(fire(c, ctx, k, false, *k.warn_at));
  if (k.due_at && !k.breached_at && at_time(*k.due_at) <= t)
    BX_RETURN_IF_ERROR(fire(c, ctx, k, true, *k.due_at));
  return Status();
}

Status pause_clock(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint t) {
  if (k.status != "running") return Status();
  BX_RETURN_IF_ERROR(catch_up(c, ctx, k, t));
  BX_ASSIGN_OR_RETURN(auto cal, load_calendar(c, ctx.org(), k.calendar_id));
  TimePoint seg = at_time(k.segment_start.value_or(k.started_at));
  k.used_s += cal.between(seg, t).count();
  k.status = "paused";
  auto r = c.query(
      "UPDATE sla_clocks SET status = 'paused', used_s = ?, segment_start = NULL, "
      "due_at = NULL, warn_at = NULL, updated_at = ? WHERE id = ? AND org_id = ?",
      {k.used_s, ctx.now(), k.id, ctx.org()});
  return r.status();
}

Status end_clock(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint t, bool met) {
  if (k.status != "running" && k.status != "paused") return Status();
  BX_RETURN_IF_ERROR(catch_up(c, ctx, k, t));
  std::optional<std::string> assignee;
  if (k.thread_id) {
    BX_ASSIGN_OR_RETURN(auto th,
                        c.query("SELECT assignee_id FROM threads WHERE id = ? AND org_id = ?",
                                {*k.thread_id, ctx.org()}));
    if (!th.empty()) assignee = th[0].opt(0);
  }
  auto r = c.query(
      std::string("UPDATE sla_clocks SET status = '") + (met ? "met" : "cancelled") +
          "', met_at = ?, assignee_id = COALESCE(assignee_id, ?), updated_at = ? "
          "WHERE id = ? AND org_id = ?",
      {met ? store::Value(format_time(t)) : store::Value(), assignee, ctx.now(), k.id, ctx.org()});
  k.status = met ? "met" : "cancelled";
  return r.status();
}

Status start_clock(store::Conn& c, api::Ctx& ctx, const NewClock& n, TimePoint t, bool paused) {
  Clock k;
  k.id = ctx.new_id();
  k.subject_type = n.subject_type;
  k.subject_id = n.subject_id;
  k.thread_id = n.thread_id;
  k.metric = n.metric;
  k.policy_id = n.policy_id;
  k.rule_id = n.rule_id;
  k.calendar_id = n.calendar_id;
  k.target_s = n.target_s;
  k.warn_permille = n.warn_permille;
  k.started_at = format_time(t);
  auto r = c.query(
      "INSERT INTO sla_clocks (id, org_id, subject_type, subject_id, thread_id, metric, policy_id, "
      "rule_id, calendar_id, target_s, warn_permille, status, started_at, used_s, customer_id, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'paused', ?, 0, ?, ?, ?)",
      {k.id, ctx.org(), k.subject_type, k.subject_id, k.thread_id, k.metric, k.policy_id, k.rule_id,
       k.calendar_id, k.target_s, k.warn_permille, k.started_at, n.customer_id, ctx.now(),
       ctx.now()});
  if (!r.ok()) return r.status();
  k.status = "paused";
  if (paused) return Status();
  return arm(c, ctx, k, t);
}

}  // namespace sla_detail

// ---- timers -----------------------------------------------------------------------------------

void register_sla_jobs(runtime::JobQueue& q, api::Core& core) {
  q.register_handler(std::string(kSlaCheckJob), [&core](const runtime::Job& job) {
    auto clock_id = runtime::payload_string(job, "clock_id");
    auto what = runtime::payload_string(job, "what");
    auto at = runtime::payload_string(job, "at");
    if (!clock_id || !what || !at) return runtime::JobResult::fail("sla.check: bad payload");
    Principal who = api::system_principal(job.org_id, "sla");
    api::Ctx ctx(core, who, kSlaCheckJob);
    Status st = core.db->transaction([&](store::Conn& c) -> Status {
      BX_ASSIGN_OR_RETURN(auto ks, sla_detail::clocks_where(c, job.org_id, "id = ?", {*clock_id}));
      if (ks.empty()) return Status();  // the clock is gone: nothing to check
      return sla_detail::fire(c, ctx, ks[0], *what == "breach", *at);
    });
    if (!st.ok()) return runtime::JobResult::retry(st.to_string());
    return runtime::JobResult::ok();
  });
}

}  // namespace banxway::services
