// SLA clocks on threads: policy choice, the "sla" event consumer, and the `sla` object of
// threads.get / threads.list. docs/SLA.md.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "services/common.hpp"
#include "services/sla.hpp"
#include "services/sla_internal.hpp"

namespace banxway::services {
namespace {

using namespace sla_detail;

// ---- threads ----------------------------------------------------------------------------------

struct ThreadInfo {
  std::string status, priority;
  std::optional<std::string> customer_id, tier;
  std::string channel;  // the first of the thread's channels
};

Result<std::optional<ThreadInfo>> thread_info(store::Conn& c, const std::string& org,
                                              const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query("SELECT t.status, t.priority, t.customer_id, cu.tier, t.channels "
                              "FROM threads t LEFT JOIN customers cu ON cu.id = t.customer_id AND "
                              "cu.org_id = t.org_id WHERE t.id = ? AND t.org_id = ?",
                              {id, org}));
  if (rows.empty()) return std::optional<ThreadInfo>();
  ThreadInfo i;
  i.status = rows[0].str(0);
  i.priority = rows[0].str(1);
  i.customer_id = rows[0].opt(2);
  i.tier = rows[0].opt(3);
  json::Document ch;
  if (json::parse(rows[0].text(4), &ch).ok() && ch.IsArray() && ch.Size() > 0 && ch[0].IsString())
    i.channel = ch[0].GetString();
  return std::optional<ThreadInfo>(i);
}

struct Policy {
  std::string id;
  std::optional<int64_t> first_s, next_s, res_s;
  std::optional<std::string> calendar_id;
  int64_t warn_permille = 800;
  std::optional<int64_t> target(std::string_view metric) const {
    return metric == "first_response" ? first_s : metric == "next_response" ? next_s : res_s;
  }
};

constexpr const char* kPolicyClockCols =
    "id, first_response_s, next_response_s, resolution_s, calendar_id, warn_permille, match";

Policy policy_from(const store::Row& r) {
  Policy p;
  p.id = r.str(0);
  if (!r.is_null(1)) p.first_s = r.int64(1);
  if (!r.is_null(2)) p.next_s = r.int64(2);
  if (!r.is_null(3)) p.res_s = r.int64(3);
  p.calendar_id = r.opt(4);
  p.warn_permille = r.int64(5);
  return p;
}

// The first enabled policy (by position, then name) whose match accepts the thread.
Result<std::optional<Policy>> pick_policy(store::Conn& c, const std::string& org,
                                          const ThreadInfo& t, std::string_view channel) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT ") + kPolicyClockCols +
                                             " FROM sla_policies WHERE org_id = ? AND enabled = 1 "
                                             "ORDER BY position, name, id",
                                         {org}));
  for (const auto& r : rows)
    if (parse_match(r.text(6)).accepts(t.priority, t.tier, channel))
      return std::optional<Policy>(policy_from(r));
  return std::optional<Policy>();
}

Result<std::optional<Policy>> policy_by_id(store::Conn& c, const std::string& org,
                                           const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query(std::string("SELECT ") + kPolicyClockCols +
                                             " FROM sla_policies WHERE org_id = ? AND id = ?",
                                         {org, id}));
  if (rows.empty()) return std::optional<Policy>();
  return std::optional<Policy>(policy_from(rows[0]));
}

struct ThreadSla {
  std::optional<std::string> policy_id, paused_at;
  bool awaiting_reply = false, replied = false;
};

Result<std::optional<ThreadSla>> thread_sla(store::Conn& c, const std::string& org,
                                            const std::string& thread_id) {
  BX_ASSIGN_OR_RETURN(auto rows,
                      c.query("SELECT policy_id, paused_at, awaiting_reply, replied FROM "
                              "thread_sla WHERE thread_id = ? AND org_id = ?",
                              {thread_id, org}));
  if (rows.empty()) return std::optional<ThreadSla>();
  ThreadSla s;
  s.policy_id = rows[0].opt(0);
  s.paused_at = rows[0].opt(1);
  s.awaiting_reply = rows[0].boolean(2);
  s.replied = rows[0].boolean(3);
  return std::optional<ThreadSla>(s);
}

bool pausing_status(std::string_view s) { return s == "pending" || s == "snoozed"; }

Result<std::vector<Clock>> live_clocks(store::Conn& c, const std::string& org,
                                       const std::string& thread_id, const char* metric = nullptr) {
  std::string cond =
      "subject_type = 'thread' AND subject_id = ? AND status IN ('running','paused')";
  std::vector<store::Value> args{thread_id};
  if (metric) {
    cond += " AND metric = ?";
    args.emplace_back(metric);
  }
  return clocks_where(c, org, cond, args);
}

// Starts the clocks a thread's state calls for under policy p (those not running yet).
Status ensure_thread_clocks(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                            const ThreadInfo& info, const ThreadSla& s, const Policy& p,
                            TimePoint t, bool inbound_now) {
  bool paused = s.paused_at.has_value();
  auto start = [&](const char* metric) -> Status {
    auto target = p.target(metric);
    if (!target) return Status();
    NewClock n;
    n.subject_type = "thread";
    n.subject_id = thread_id;
    n.thread_id = thread_id;
    n.metric = metric;
    n.policy_id = p.id;
    n.calendar_id = p.calendar_id;
    n.customer_id = info.customer_id;
    n.target_s = *target;
    n.warn_permille = p.warn_permille;
    return start_clock(c, ctx, n, t, paused);
  };
  if (!s.replied && s.awaiting_reply) {
    BX_ASSIGN_OR_RETURN(auto any, clocks_where(c, ctx.org(),
                                               "subject_type = 'thread' AND subject_id = ? "
                                               "AND metric = 'first_response'",
                                               {thread_id}));
    if (any.empty()) BX_RETURN_IF_ERROR(start("first_response"));
  }
  if (s.replied && inbound_now) {
    BX_ASSIGN_OR_RETURN(auto live, live_clocks(c, ctx.org(), thread_id, "next_response"));
    if (live.empty()) BX_RETURN_IF_ERROR(start("next_response"));
  }
  if (s.awaiting_reply || inbound_now) {
    BX_ASSIGN_OR_RETURN(auto live, live_clocks(c, ctx.org(), thread_id, "resolution"));
    if (live.empty()) BX_RETURN_IF_ERROR(start("resolution"));
  }
  return Status();
}

Status on_inbound(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                  const json::Value& msg, TimePoint t) {
  if (!ev.thread_id) return Status();
  if (json::get_string(msg, "direction").value_or("inbound") != "inbound") return Status();
  BX_ASSIGN_OR_RETURN(auto info, thread_info(c, ctx.org(), *ev.thread_id));
  if (!info) return Status();
  std::string channel(json::get_string(msg, "channel").value_or(info->channel));
  BX_ASSIGN_OR_RETURN(auto s, thread_sla(c, ctx.org(), *ev.thread_id));
  if (!s) {
    // The first customer message: the policy is picked now and recorded on the thread.
    BX_ASSIGN_OR_RETURN(auto p, pick_policy(c, ctx.org(), *info, channel));
    ThreadSla fresh;
    if (p) fresh.policy_id = p->id;
    if (pausing_status(info->status)) fresh.paused_at = format_time(t);
    auto r = c.query(
        "INSERT INTO thread_sla (thread_id, org_id, policy_id, awaiting_reply, replied, "
        "paused_at, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?)",
        {*ev.thread_id, ctx.org(), fresh.policy_id, fresh.paused_at, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    s = fresh;
  }
  bool was_awaiting = s->awaiting_reply;
  s->awaiting_reply = true;
  auto r = c.query(
      "UPDATE thread_sla SET awaiting_reply = 1, updated_at = ? WHERE thread_id = ? AND "
      "org_id = ?",
      {ctx.now(), *ev.thread_id, ctx.org()});
  if (!r.ok()) return r.status();
  if (!s->policy_id) return Status();
  BX_ASSIGN_OR_RETURN(auto p, policy_by_id(c, ctx.org(), *s->policy_id));
  if (!p) return Status();
  // Several customer messages before a reply: the clocks of the first one keep running.
  return ensure_thread_clocks(c, ctx, *ev.thread_id, *info, *s, *p, t, !was_awaiting);
}

Status on_reply(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                const json::Value& msg, TimePoint t) {
  if (!ev.thread_id) return Status();
  if (json::get_string(msg, "direction").value_or("outbound") != "outbound") return Status();
  BX_RETURN_IF_ERROR(meet_rule_clocks_on_reply(c, ctx, *ev.thread_id, t));
  BX_ASSIGN_OR_RETURN(auto s, thread_sla(c, ctx.org(), *ev.thread_id));
  if (!s) return Status();
  for (const char* metric : {"first_response", "next_response"}) {
    BX_ASSIGN_OR_RETURN(auto ks, live_clocks(c, ctx.org(), *ev.thread_id, metric));
    for (auto& k : ks) BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, true));
  }
  auto r = c.query(
      "UPDATE thread_sla SET replied = 1, awaiting_reply = 0, updated_at = ? WHERE "
      "thread_id = ? AND org_id = ?",
      {ctx.now(), *ev.thread_id, ctx.org()});
  return r.status();
}

// Switches a thread's live clocks to policy p: time already counted stays counted, the rest of
// each target counts under p (its target, calendar and warning share).
Status switch_policy(store::Conn& c, api::Ctx& ctx, const std::string& thread_id, const Policy& p,
                     TimePoint t) {
  BX_ASSIGN_OR_RETURN(auto ks, live_clocks(c, ctx.org(), thread_id));
  for (auto& k : ks) {
    auto target = p.target(k.metric);
    if (!target) {
      BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, false));
      continue;
    }
    bool was_running = k.status == "running";
    BX_RETURN_IF_ERROR(pause_clock(c, ctx, k, t));
    k.target_s = *target;
    k.policy_id = p.id;
    k.calendar_id = p.calendar_id;
    k.warn_permille = p.warn_permille;
    auto r = c.query(
        "UPDATE sla_clocks SET policy_id = ?, target_s = ?, calendar_id = ?, "
        "warn_permille = ?, updated_at = ? WHERE id = ? AND org_id = ?",
        {p.id, k.target_s, k.calendar_id, k.warn_permille, ctx.now(), k.id, ctx.org()});
    if (!r.ok()) return r.status();
    // Re-read: pause_clock may have fired the warning or the breach.
    BX_ASSIGN_OR_RETURN(auto fresh, clocks_where(c, ctx.org(), "id = ?", {k.id}));
    if (was_running && !fresh.empty()) BX_RETURN_IF_ERROR(arm(c, ctx, fresh[0], t));
  }
  auto r = c.query(
      "UPDATE thread_sla SET policy_id = ?, updated_at = ? WHERE thread_id = ? AND org_id = ?",
      {p.id, ctx.now(), thread_id, ctx.org()});
  return r.status();
}

Status on_thread(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                 const json::Value& th, TimePoint t) {
  if (!ev.thread_id) return Status();
  BX_ASSIGN_OR_RETURN(auto s, thread_sla(c, ctx.org(), *ev.thread_id));
  if (!s) return Status();
  const std::string& id = *ev.thread_id;
  std::string status(json::get_string(th, "status").value_or(""));
  if (pausing_status(status)) {
    if (!s->paused_at) {
      BX_ASSIGN_OR_RETURN(auto ks, live_clocks(c, ctx.org(), id));
      for (auto& k : ks) BX_RETURN_IF_ERROR(pause_clock(c, ctx, k, t));
      auto r = c.query(
          "UPDATE thread_sla SET paused_at = ?, updated_at = ? WHERE thread_id = ? AND "
          "org_id = ?",
          {format_time(t), ctx.now(), id, ctx.org()});
      if (!r.ok()) return r.status();
      s->paused_at = format_time(t);
    }
  } else if (status == "open") {
    if (s->paused_at) {
      BX_ASSIGN_OR_RETURN(auto ks, live_clocks(c, ctx.org(), id));
      for (auto& k : ks)
        if (k.status == "paused") BX_RETURN_IF_ERROR(arm(c, ctx, k, t));
      int64_t paused = std::max<int64_t>(
          0, std::chrono::duration_cast<seconds>(t - at_time(*s->paused_at)).count());
      auto r = c.query(
          "UPDATE thread_sla SET paused_at = NULL, paused_s = paused_s + ?, "
          "updated_at = ? WHERE thread_id = ? AND org_id = ?",
          {paused, ctx.now(), id, ctx.org()});
      if (!r.ok()) return r.status();
      s->paused_at.reset();
    }
  } else if (status == "resolved" || status == "closed") {
    // Resolution is met; response clocks still running stop without counting as met.
    BX_ASSIGN_OR_RETURN(auto ks, live_clocks(c, ctx.org(), id));
    for (auto& k : ks) BX_RETURN_IF_ERROR(end_clock(c, ctx, k, t, k.metric == "resolution"));
    auto r = c.query(
        "UPDATE thread_sla SET paused_at = NULL, awaiting_reply = 0, updated_at = ? "
        "WHERE thread_id = ? AND org_id = ?",
        {ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    return Status();
  }
  // A priority change picks the policy again; no policy matching keeps the current one.
  const json::Value* changes = json::get(th, "changes");
  if (changes && changes->IsObject() && changes->HasMember("priority")) {
    BX_ASSIGN_OR_RETURN(auto info, thread_info(c, ctx.org(), id));
    if (!info) return Status();
    info->priority = std::string(json::get_string(th, "priority").value_or(info->priority));
    BX_ASSIGN_OR_RETURN(auto p, pick_policy(c, ctx.org(), *info, info->channel));
    if (p && (!s->policy_id || *s->policy_id != p->id)) {
      bool had_policy = s->policy_id.has_value();
      BX_RETURN_IF_ERROR(switch_policy(c, ctx, id, *p, t));
      if (!had_policy)
        BX_RETURN_IF_ERROR(ensure_thread_clocks(c, ctx, id, *info, *s, *p, t, false));
    }
  }
  return Status();
}

}  // namespace

// ---- the consumer -----------------------------------------------------------------------------

Status sla_on_events(store::Conn& c, api::Ctx& ctx,
                     const std::vector<runtime::EventRecord>& events) {
  for (const auto& ev : events) {
    bool thread_event = ev.type == "thread.updated" || ev.type == "thread.status_changed";
    bool shipment_event = ev.type == "shipment.updated" || ev.type == "shipment.created";
    if (ev.type != "message.received" && ev.type != "message.sent" && !thread_event &&
        !shipment_event && ev.type != "shipment.milestone")
      continue;
    TimePoint t;
    json::Document payload;
    if (!parse_time(ev.created_at, &t) || !json::parse(ev.payload, &payload).ok() ||
        !payload.IsObject()) {
      spdlog::warn("sla: event {} ({}) is unreadable; skipped", ev.id, ev.type);
      continue;
    }
    Status st;
    if (ev.type == "message.received")
      st = on_inbound(c, ctx, ev, payload, t);
    else if (ev.type == "message.sent")
      st = on_reply(c, ctx, ev, payload, t);
    else if (thread_event)
      st = on_thread(c, ctx, ev, payload, t);
    else if (shipment_event)
      st = on_shipment(c, ctx, ev, payload, t);
    else
      st = on_milestone(c, ctx, ev, payload, t);
    if (!st.ok()) {
      // Bad data in one event is recorded and skipped; a database error retries the batch.
      if (st.code() == Code::invalid_argument || st.code() == Code::not_found) {
        spdlog::warn("sla: event {} ({}) skipped: {}", ev.id, ev.type, st.message());
        continue;
      }
      return st;
    }
  }
  return Status();
}

// ---- thread view ------------------------------------------------------------------------------

Result<std::map<std::string, std::string>> thread_sla_json(store::Conn& c, const std::string& org,
                                                           const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  if (ids.empty()) return out;
  std::string in = "(";
  std::vector<store::Value> args{org};
  for (size_t i = 0; i < ids.size(); ++i) {
    in += i ? ", ?" : "?";
    args.emplace_back(ids[i]);
  }
  in += ")";
  BX_ASSIGN_OR_RETURN(auto slas,
                      c.query("SELECT s.thread_id, s.policy_id, p.name, s.paused_at FROM "
                              "thread_sla s LEFT JOIN sla_policies p ON p.id = "
                              "s.policy_id AND p.org_id = s.org_id WHERE s.org_id = ? "
                              "AND s.thread_id IN " +
                                  in,
                              args));
  BX_ASSIGN_OR_RETURN(auto clocks, c.query("SELECT subject_id, metric, status, due_at, warned_at, "
                                           "breached_at FROM sla_clocks WHERE org_id = ? AND "
                                           "subject_type = 'thread' AND subject_id IN " +
                                               in + " ORDER BY created_at, id",
                                           args));
  struct View {
    std::string policy = "null";
    std::map<std::string, std::optional<std::string>> due;  // metric -> due of its latest clock
    bool any = false, running = false, paused = false, warned = false, breached = false,
         met = false;
  };
  std::map<std::string, View> views;
  for (const auto& s : slas) {
    View& v = views[s.str(0)];
    if (!s.is_null(1))
      v.policy = "{\"id\":" + json::quote(s.text(1)) +
                 ",\"name\":" + (s.is_null(2) ? std::string("null") : json::quote(s.text(2))) + "}";
  }
  for (const auto& k : clocks) {
    View& v = views[k.str(0)];
    std::string status = k.str(2);
    bool live = status == "running" || status == "paused";
    v.due[k.str(1)] = live ? k.opt(3) : std::nullopt;
    v.any = true;
    if (status == "running") v.running = true;
    if (status == "paused") v.paused = true;
    if (status == "met") v.met = true;
    if (live && !k.is_null(4)) v.warned = true;
    if (live && !k.is_null(5)) v.breached = true;
  }
  for (const auto& id : ids) {
    auto it = views.find(id);
    View v = it == views.end() ? View{} : it->second;
    auto due = [&](const char* m) {
      auto d = v.due.find(m);
      return d == v.due.end() || !d->second ? std::string("null") : json::quote(*d->second);
    };
    const char* state = v.breached               ? "breached"
                        : v.warned               ? "warning"
                        : v.paused && !v.running ? "paused"
                        : v.running              ? "active"
                        : v.met                  ? "met"
                                                 : "none";
    out[id] = "{\"policy\":" + v.policy + ",\"first_response_due\":" + due("first_response") +
              ",\"next_response_due\":" + due("next_response") +
              ",\"resolution_due\":" + due("resolution") + ",\"state\":\"" + state + "\"}";
  }
  return out;
}

}  // namespace banxway::services
