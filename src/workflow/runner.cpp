#include "workflow/runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <set>

#include "core/crypto.hpp"
#include "net/http.hpp"
#include "sched/cron.hpp"
#include "sched/duration.hpp"
#include "sched/zone.hpp"
#include "services/actions.hpp"
#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/outbox.hpp"
#include "services/shipment_refs.hpp"
#include "services/shipments.hpp"
#include "services/threads.hpp"

namespace banxway::workflow {

namespace {

constexpr int kMaxStepsPerRun = 500;  // branch loops end here: the run fails with the reason
constexpr int kRunJobAttempts = 50;   // the run's own retry policy decides before this

bool is_pg(store::Conn& c) { return c.dialect() == store::Dialect::postgres; }

uint32_t bit(Root r) { return 1u << static_cast<int>(r); }

// ---- facts -------------------------------------------------------------------------------------

std::string event_json(const runtime::EventRecord& ev) {
  std::string j = "{\"id\":" + std::to_string(ev.id) + ",\"type\":" + json::quote(ev.type) +
                  ",\"actor\":" + json::quote(ev.actor) +
                  ",\"subject_type\":" + json::quote(ev.subject_type) +
                  ",\"subject_id\":" + json::quote(ev.subject_id) + ",\"thread_id\":" +
                  (ev.thread_id ? json::quote(*ev.thread_id) : std::string("null")) +
                  ",\"created_at\":" + json::quote(ev.created_at) +
                  ",\"depth\":" + std::to_string(ev.depth) + ",\"data\":" +
                  (ev.payload.empty() ? std::string("{}") : ev.payload) + "}";
  return j;
}

// A record by id as JSON, or nullopt when it is gone (facts are what exists).
Result<std::optional<std::string>> record_json(store::Conn& c, api::Ctx& ctx,
                                               std::string_view table,
                                               std::span<const services::ColSpec> cols,
                                               const std::string& id) {
  auto r = services::get_by_id(c, ctx, table, cols, id, table);
  if (r.ok()) return std::optional<std::string>(std::move(*r));
  if (r.status().code() == Code::not_found) return std::optional<std::string>();
  return r.status();
}

const services::ColSpec kContact[] = {
    {"id", "id", services::Col::str},         {"name", "name", services::Col::str},
    {"title", "title", services::Col::str},   {"customer_id", "customer_id", services::Col::str},
    {"created_at", "created_at", services::Col::str},
};
const services::ColSpec kCustomer[] = {
    {"id", "id", services::Col::str},
    {"name", "name", services::Col::str},
    {"tier", "tier", services::Col::str},
    {"account_manager_id", "account_manager_id", services::Col::str},
    {"domains", "domains", services::Col::json},
    {"created_at", "created_at", services::Col::str},
};

std::optional<std::string> string_field(const Facts& f, Root r, const char* key) {
  const json::Value* v = f.root(r);
  if (!v) return std::nullopt;
  auto s = json::get_string(*v, key);
  if (!s) return std::nullopt;
  return std::string(*s);
}

// ---- runs --------------------------------------------------------------------------------------

struct RunRow {
  std::string id, org, workflow_id, status;
  int version = 0, step = 0, depth = 0, attempts = 0;
  std::optional<std::string> thread_id;
  std::string subject = "{}";
  int n = 0;         // steps executed so far (idempotency keys: <run>:<n>)
  int wait_seq = -1;  // the pending wait's sequence number
};

Result<std::optional<RunRow>> load_run(store::Conn& c, const std::string& run_id) {
  BX_ASSIGN_OR_RETURN(
      auto rows,
      c.query(std::string("SELECT org_id, workflow_id, version, status, step, depth, attempts, "
                          "thread_id, subject, state FROM workflow_runs WHERE id = ?") +
                  (is_pg(c) ? " FOR UPDATE" : ""),
              {run_id}));
  if (rows.empty()) return std::optional<RunRow>();
  const auto& r = rows[0];
  RunRow run;
  run.id = run_id;
  run.org = r.str(0);
  run.workflow_id = r.str(1);
  run.version = static_cast<int>(r.int64(2));
  run.status = r.str(3);
  run.step = static_cast<int>(r.int64(4));
  run.depth = static_cast<int>(r.int64(5));
  run.attempts = static_cast<int>(r.int64(6));
  run.thread_id = r.opt(7);
  run.subject = r.is_null(8) ? "{}" : r.str(8);
  json::Document st;
  if (json::parse(r.text(9), &st).ok() && st.IsObject()) {
    run.n = static_cast<int>(json::get_int(st, "n").value_or(0));
    run.wait_seq = static_cast<int>(json::get_int(st, "wait_seq").value_or(-1));
  }
  return std::optional<RunRow>(std::move(run));
}

std::string state_json(const RunRow& r) {
  return "{\"n\":" + std::to_string(r.n) + ",\"wait_seq\":" + std::to_string(r.wait_seq) + "}";
}

// History rows (workflow_run_steps) written with one INSERT: one row, or those collected during
// one step's transaction (a timer's resume and the step it leads to).
struct HistoryRows {
  size_t n = 0;
  std::vector<store::Value> args;
  void add(const RunRow& run, std::optional<int> step, const Step* st, std::string_view action,
           std::string_view input, std::string_view decision, std::string_view output,
           const std::optional<std::string>& error, int attempt, const std::string& now) {
    ++n;
    args.insert(args.end(), {run.id, run.org, step ? store::Value(*step) : store::Value(),
                             st ? store::Value(st->id) : store::Value(), action, input, decision,
                             output, store::Value(error), attempt, now});
  }
  Status flush(store::Conn& c) {
    if (n == 0) return Status();
    Status st = c.write_deferred("INSERT INTO workflow_run_steps (run_id, org_id, step, step_id, "
                                 "action, input, decision, output, error, attempt, created_at) "
                                 "VALUES " + store::value_rows(n, 11),
                                 args);
    n = 0;
    args.clear();
    return st;
  }
};

Status history(store::Conn& c, const RunRow& run, std::optional<int> step, const Step* st,
               std::string_view action, std::string_view input, std::string_view decision,
               std::string_view output, const std::optional<std::string>& error, int attempt,
               const std::string& now) {
  HistoryRows one;
  one.add(run, step, st, action, input, decision, output, error, attempt, now);
  return one.flush(c);
}

Status save_run(store::Conn& c, const RunRow& run, const std::string& now,
                const std::optional<std::string>& wait_event = {},
                const std::optional<std::string>& wait_until = {},
                const std::optional<std::string>& error = {}) {
  const bool final = run.status == "completed" || run.status == "failed" ||
                     run.status == "cancelled" || run.status == "skipped";
  return c.write_deferred(
      "UPDATE workflow_runs SET status = ?, step = ?, state = ?, attempts = ?, wait_event = ?, "
      "wait_until = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
      {run.status, run.step, state_json(run), run.attempts, store::Value(wait_event),
       store::Value(wait_until), store::Value(error), now,
       final ? store::Value(now) : store::Value(), run.id});
}

Principal workflow_principal(const RunRow& run) {
  Principal p;
  p.org_id = run.org;
  p.role = Role::admin;
  p.actor_type = "workflow";
  p.actor_id = run.workflow_id;
  p.chain_depth = run.depth;
  return p;
}

Status enqueue_step_job(store::Conn& c, api::Ctx& ctx, const std::string& run_id,
                        std::optional<TimePoint> at = {}, std::optional<int> wait_seq = {}) {
  runtime::JobSpec job;
  job.kind = std::string(wait_seq ? kTimerJob : kRunJob);
  job.payload_json = "{\"run_id\":" + json::quote(run_id) +
                     (wait_seq ? ",\"wait_seq\":" + std::to_string(*wait_seq) : std::string()) +
                     "}";
  job.run_at = at;
  job.max_attempts = kRunJobAttempts;
  // Timers are unique per wait; plain "advance" jobs are not (a resume while the previous job
  // is still finishing must get a job of its own: the run row serializes them).
  if (wait_seq) job.unique_key = "workflow.timer:" + run_id + ":" + std::to_string(*wait_seq);
  return runtime::JobQueue::enqueue(c, ctx, job).status();
}

int following(const Definition& def, int index) {
  const Step& s = def.steps[static_cast<size_t>(index)];
  return s.next >= 0 ? s.next : index + 1;
}

// What executing one step decided.
struct Outcome {
  std::string decision;          // human-readable, kept in the history
  std::string output = "{}";     // JSON
  int next = -1;                 // step index to go to; >= steps.size() or -1 = finished
  bool finish = false;           // stop: complete the run
  bool wait = false;
  std::optional<TimePoint> wait_until;
  std::string wait_event;
};

// "?, ?, ?" for n values.
std::string marks(size_t n) {
  std::string m;
  for (size_t i = 0; i < n; ++i) m += i ? ", ?" : "?";
  return m;
}

// The active users of the organization with `column` = value (role: a role is a team; team:
// users.team), or among the given ids; in id order, which is the order turns go in.
Result<std::vector<std::string>> active_users(store::Conn& c, const std::string& org,
                                              std::string_view column,
                                              const std::vector<std::string>& values) {
  if (values.empty()) return std::vector<std::string>();
  std::vector<store::Value> args{org};
  for (const auto& v : values) args.emplace_back(v);
  // `column` is one of role, team, id: fixed by the callers below, never input.
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id FROM users WHERE org_id = ? AND active = 1 "
                                         "AND " + std::string(column) + " IN (" +
                                             marks(values.size()) + ") ORDER BY id",
                                         args));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.str(0));
  return out;
}

Result<std::vector<std::string>> team_of(store::Conn& c, const std::string& org, const Step& st) {
  if (auto team = json::get_string(*st.spec, "team"))
    return active_users(c, org, "team", {std::string(*team)});
  if (const json::Value* users = json::get(*st.spec, "users")) {
    std::vector<std::string> ids;
    for (const auto& u : users->GetArray()) ids.emplace_back(u.GetString());
    return active_users(c, org, "id", ids);  // only active members of this organization
  }
  return active_users(c, org, "role",
                      {std::string(json::get_string(*st.spec, "role").value_or("agent"))});
}

Result<std::string> pick_assignee(store::Conn& c, api::Ctx& ctx, const RunRow& run,
                                  const Step& st) {
  std::string how(json::get_string(*st.spec, "strategy").value_or("user"));
  if (how == "user") return std::string(*json::get_string(*st.spec, "user_id"));
  BX_ASSIGN_OR_RETURN(auto team, team_of(c, run.org, st));
  if (team.empty()) return Conflict("the team has no active user to assign");
  if (how == "least_loaded") {
    // Fewest open (open or pending) threads; ties to the lowest id, so the choice is stable.
    std::vector<store::Value> args{run.org};
    for (const auto& u : team) args.emplace_back(u);
    BX_ASSIGN_OR_RETURN(auto loads, c.query("SELECT assignee_id, count(*) FROM threads WHERE "
                                            "org_id = ? AND status IN ('open','pending') AND "
                                            "assignee_id IN (" + marks(team.size()) +
                                                ") GROUP BY assignee_id",
                                            args));
    std::map<std::string, int64_t> load;
    for (const auto& r : loads) load[r.str(0)] = r.int64(1);
    std::string best = team.front();
    for (const auto& u : team)  // team is in id order: strict < keeps the lowest id on ties
      if (load[u] < load[best]) best = u;
    return best;
  }
  // Round robin: the pointer is a row of workflow_effects, per workflow and step.
  const std::string key = "rr:" + run.workflow_id + ":" + st.id;
  BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT result FROM workflow_effects WHERE org_id = ? AND "
                                        "key = ?",
                                        {run.org, key}));
  std::string last;
  if (!cur.empty()) {
    json::Document d;
    if (json::parse(cur[0].text(0), &d).ok())
      last = std::string(json::get_string(d, "last").value_or(""));
  }
  std::string next = team.front();
  for (const auto& u : team)
    if (u > last) {
      next = u;
      break;
    }
  std::string val = "{\"last\":" + json::quote(next) + "}";
  BX_RETURN_IF_ERROR(c.query("INSERT INTO workflow_effects (org_id, key, result, created_at) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (org_id, key) DO UPDATE SET "
                             "result = excluded.result",
                             {run.org, key, val, ctx.now()})
                         .status());
  return next;
}

Result<std::vector<std::string>> recipients(store::Conn& c, const RunRow& run, const Step& st,
                                            const Facts& facts) {
  const json::Value& to = *json::get(*st.spec, "to");
  std::vector<std::string> out;
  if (auto u = json::get_string(to, "user_id")) {
    out.emplace_back(*u);
  } else if (auto r = json::get_string(to, "role")) {
    BX_ASSIGN_OR_RETURN(out, active_users(c, run.org, "role", {std::string(*r)}));
  } else if (json::get_bool(to, "assignee").value_or(false)) {
    if (auto a = string_field(facts, Root::thread, "assignee_id")) out.push_back(*a);
  } else if (json::get_bool(to, "followers").value_or(false) && run.thread_id) {
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT user_id FROM thread_followers WHERE org_id = "
                                           "? AND thread_id = ? ORDER BY user_id",
                                           {run.org, *run.thread_id}));
    for (const auto& r : rows) out.push_back(r.str(0));
  }
  return out;
}

Status need_thread(const RunRow& run, const Step& st) {
  if (!run.thread_id)
    return Conflict(std::string(action_name(st.action)) +
                              " needs a thread and this run has none");
  return Status();
}

std::string thread_params(const std::string& id, std::string_view key, const std::string& value_json) {
  return "{\"id\":" + json::quote(id) + "," + json::quote(key) + ":" + value_json + "}";
}

Status apply_thread_update(store::Conn& c, api::Ctx& ctx, const std::string& params,
                           std::string* out) {
  json::Document p;
  BX_RETURN_IF_ERROR(json::parse(params, &p));
  return services::thread_update_in(c, ctx, p, out);
}

// Runs a step that is not a webhook, inside the caller's transaction.
Result<Outcome> exec_step(store::Conn& c, api::Ctx& ctx, const RunRow& run, const Compiled& comp,
                          int index, Facts& facts) {
  const Definition& def = *comp.def;
  const Step& st = def.steps[static_cast<size_t>(index)];
  Outcome o;
  o.next = following(def, index);
  auto text_of = [&](const char* key, Escape e = Escape::none) {
    return render(json::get_string(*st.spec, key).value_or(""), facts, e);
  };
  switch (st.action) {
    case Action::set_status:
    case Action::set_priority: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      const char* field = st.action == Action::set_status ? "status" : "priority";
      std::string value(*json::get_string(*st.spec, "value"));
      std::string cur = string_field(facts, Root::thread, field).value_or("");
      if (cur == value) {
        o.decision = std::string(field) + " already " + value;
        break;
      }
      std::string out;
      BX_RETURN_IF_ERROR(apply_thread_update(
          c, ctx, thread_params(*run.thread_id, field, json::quote(value)), &out));
      o.decision = std::string(field) + " " + cur + " -> " + value;
      break;
    }
    case Action::add_tag:
    case Action::remove_tag: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      std::string tag = text_of("value");
      std::vector<std::string> tags;
      if (const json::Value* t = facts.root(Root::thread) ? json::get(*facts.root(Root::thread), "tags") : nullptr)
        if (t->IsArray())
          for (const auto& x : t->GetArray())
            if (x.IsString()) tags.emplace_back(x.GetString());
      bool has = std::find(tags.begin(), tags.end(), tag) != tags.end();
      if ((st.action == Action::add_tag) == has) {
        o.decision = has ? "already tagged " + tag : "not tagged " + tag;
        break;
      }
      if (st.action == Action::add_tag) tags.push_back(tag);
      else tags.erase(std::remove(tags.begin(), tags.end(), tag), tags.end());
      std::string arr = "[";
      for (size_t i = 0; i < tags.size(); ++i) arr += (i ? "," : "") + json::quote(tags[i]);
      arr += "]";
      std::string out;
      BX_RETURN_IF_ERROR(apply_thread_update(c, ctx, thread_params(*run.thread_id, "tags", arr), &out));
      o.decision = (st.action == Action::add_tag ? "tagged " : "untagged ") + tag;
      break;
    }
    case Action::assign: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      BX_ASSIGN_OR_RETURN(std::string user, pick_assignee(c, ctx, run, st));
      std::string out;
      BX_RETURN_IF_ERROR(apply_thread_update(
          c, ctx, thread_params(*run.thread_id, "assignee_id", json::quote(user)), &out));
      o.decision = "assigned to " + user;
      o.output = "{\"assignee_id\":" + json::quote(user) + "}";
      break;
    }
    case Action::add_note: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      std::string out;
      BX_RETURN_IF_ERROR(services::note_create_in(c, ctx, *run.thread_id, text_of("text"), &out));
      json::Document d;
      if (json::parse(out, &d).ok())
        o.output = "{\"message_id\":" + json::quote(json::get_string(d, "id").value_or("")) + "}";
      o.decision = "note added";
      break;
    }
    case Action::create_action: {
      std::string p = "{\"title\":" + json::quote(text_of("title"));
      if (run.thread_id) p += ",\"thread_id\":" + json::quote(*run.thread_id);
      if (auto d = json::get_string(*st.spec, "description"))
        p += ",\"description\":" + json::quote(render(*d, facts));
      if (auto a = json::get_string(*st.spec, "assignee_id")) p += ",\"assignee_id\":" + json::quote(*a);
      if (auto due = json::get_string(*st.spec, "due_in")) {
        auto d = sched::parse_duration(*due);
        if (d.ok())
          p += ",\"due_at\":" + json::quote(format_time(ctx.core().clock->now() +
                                                        std::chrono::duration_cast<std::chrono::milliseconds>(*d)));
      }
      p += "}";
      json::Document pd;
      BX_RETURN_IF_ERROR(json::parse(p, &pd));
      std::string out;
      BX_RETURN_IF_ERROR(services::action_create_in(c, ctx, pd, &out));
      json::Document d;
      if (json::parse(out, &d).ok())
        o.output = "{\"action_id\":" + json::quote(json::get_string(d, "id").value_or("")) + "}";
      o.decision = "action created";
      break;
    }
    case Action::notify: {
      BX_ASSIGN_OR_RETURN(auto users, recipients(c, run, st, facts));
      std::string title = text_of("text");
      std::string ids;
      int sent = 0;
      for (const auto& u : users) {
        services::NewNotification n;
        n.user_id = u;
        n.kind = "workflow";
        n.thread_id = run.thread_id;
        n.title = title;
        n.data_json = "{\"workflow_id\":" + json::quote(run.workflow_id) +
                      ",\"run_id\":" + json::quote(run.id) + "}";
        BX_ASSIGN_OR_RETURN(auto id, services::create_notification(c, ctx, n));
        if (id) {
          ids += std::string(ids.empty() ? "" : ",") + json::quote(*id);
          ++sent;
        }
      }
      o.decision = "notified " + std::to_string(sent) + " of " + std::to_string(users.size()) +
                   " user(s)";
      o.output = "{\"notification_ids\":[" + ids + "]}";
      break;
    }
    case Action::link_shipment: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      std::string ref = services::normalize_reference(text_of("reference"));
      if (ref.empty()) return Conflict("the reference is empty once rendered");
      BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT DISTINCT shipment_id FROM shipment_references "
                                             "WHERE org_id = ? AND value = ? ORDER BY shipment_id "
                                             "LIMIT 2",
                                             {run.org, ref}));
      if (rows.empty()) {
        o.decision = "no shipment with reference " + ref;
        break;
      }
      if (rows.size() > 1) {
        o.decision = "reference " + ref + " names several shipments: not linked";
        break;
      }
      std::string out;
      BX_RETURN_IF_ERROR(services::shipment_link_in(c, ctx, rows[0].str(0), *run.thread_id, &out));
      o.decision = "linked shipment " + rows[0].str(0);
      o.output = out;
      break;
    }
    case Action::send_reply: {
      BX_RETURN_IF_ERROR(need_thread(run, st));
      // The thread's channel unless the step names one; WhatsApp and SMS get plain text, email
      // a plain-text body (the outbox builds the MIME). The outbox itself refuses a free-form
      // WhatsApp message outside the customer-service window (docs/MESSAGING.md).
      std::string channel(json::get_string(*st.spec, "channel").value_or("same"));
      if (channel == "same") {
        channel = "email";
        if (const json::Value* t = facts.root(Root::thread))
          if (const json::Value* chs = json::get(*t, "channels"); chs && chs->IsArray() && !chs->Empty())
            if ((*chs)[chs->Size() - 1].IsString()) channel = (*chs)[chs->Size() - 1].GetString();
      }
      std::string p = "{\"thread_id\":" + json::quote(*run.thread_id) + ",\"channel\":" +
                      json::quote(channel) + ",\"text\":" + json::quote(text_of("text")) + "}";
      json::Document pd;
      BX_RETURN_IF_ERROR(json::parse(p, &pd));
      // messages.send runs its own transaction: it joins this one (store/db.hpp), so the reply
      // is queued if and only if this step commits.
      auto sent = services::messages_send(ctx, pd);
      if (!sent.ok()) return sent.status();
      json::Document d;
      if (json::parse(*sent, &d).ok())
        o.output = "{\"message_id\":" + json::quote(json::get_string(d, "id").value_or("")) + "}";
      o.decision = "reply queued on " + channel;
      break;
    }
    case Action::wait: {
      TimePoint now = ctx.core().clock->now();
      TimePoint due = now;
      if (st.wait_for) {
        due = now + std::chrono::duration_cast<std::chrono::milliseconds>(*st.wait_for);
      } else if (st.wait_until) {
        std::string t = render(*st.wait_until, facts);
        if (!parse_time(t, &due))
          return Conflict("wait until: \"" + t.substr(0, 60) + "\" is not a time");
      }
      if (due <= now && st.until_event.empty()) {
        o.decision = "wait: already due";
        break;
      }
      o.wait = true;
      o.wait_until = due;
      o.wait_event = st.until_event;
      o.decision = "waiting until " + format_time(due) +
                   (st.until_event.empty() ? "" : " or event " + st.until_event);
      break;
    }
    case Action::branch: {
      Evaluator ev(comp.fields, facts);
      bool yes = ev.eval(st.when);
      int target = yes ? st.then_step : st.else_step;
      if (target >= 0) o.next = target;
      o.decision = std::string("condition ") + (yes ? "true" : "false") +
                   (target >= 0 ? " -> " + def.steps[static_cast<size_t>(target)].id : " -> next");
      break;
    }
    case Action::stop:
      o.finish = true;
      o.decision = "stop";
      break;
    case Action::webhook:
      return Internal("webhook steps run outside the transaction");
  }
  return o;
}

// The webhook step's request (rendered from the facts) and its result.
struct HttpCall {
  std::string url, body, key;
  int status = 0;
  std::string error;
  bool done = false;
};

std::string webhook_body(const Step& st, const RunRow& run, const Facts& facts) {
  std::string body = "{\"workflow_id\":" + json::quote(run.workflow_id) +
                     ",\"run_id\":" + json::quote(run.id);
  if (const json::Value* b = json::get(*st.spec, "body"); b && b->IsObject()) {
    // Every string value is a template; the JSON writer escapes what it substitutes.
    body += ",\"data\":{";
    bool first = true;
    for (auto it = b->MemberBegin(); it != b->MemberEnd(); ++it) {
      if (!first) body += ",";
      first = false;
      body += json::quote(std::string_view(it->name.GetString(), it->name.GetStringLength())) + ":";
      if (it->value.IsString()) body += json::quote(render(it->value.GetString(), facts));
      else body += json::stringify(it->value);
    }
    body += "}";
  }
  if (const json::Value* t = facts.root(Root::thread)) body += ",\"thread\":" + json::stringify(*t);
  body += ",\"event\":" + (run.subject.empty() ? std::string("{}") : run.subject) + "}";
  return body;
}

enum class Advance { more, parked, stale, retry_later };

}  // namespace

// ---- cache -------------------------------------------------------------------------------------

std::shared_ptr<OrgSet> Cache::build(const std::vector<std::tuple<std::string, int, std::string>>& rows,
                                     const std::vector<std::string>& all_definitions, int64_t gen) {
  auto set = std::make_shared<OrgSet>();
  set->gen = gen;
  for (const auto& [id, version, text] : rows) {
    auto def = compile(text, set->fields);
    if (!def.ok()) {
      spdlog::warn("workflow {} version {} no longer compiles: {}", id, version,
                   def.status().message());
      continue;
    }
    if (!(*def)->enabled) continue;
    set->entries.push_back({id, version, *def, 0, (*def)->has_conditions});
  }
  std::stable_sort(set->entries.begin(), set->entries.end(), [](const auto& a, const auto& b) {
    if (a.def->priority != b.def->priority) return a.def->priority < b.def->priority;
    if (a.def->name != b.def->name) return a.def->name < b.def->name;
    return a.id < b.id;
  });
  for (auto& e : set->entries)
    if (e.def->has_conditions) e.program = set->matcher.add(e.def->conditions);
  for (const auto& e : set->entries) {
    if (e.def->trigger.kind == TriggerKind::event) {
      set->by_event[e.def->trigger.event].push_back(&e);
      // Conditions read these records; the event itself is always there.
      set->roots_by_event[e.def->trigger.event] |= e.def->roots_used | bit(Root::event);
    } else if (e.def->trigger.kind == TriggerKind::relative) {
      set->relative.push_back(&e);
    }
  }
  std::set<std::string> waited;
  for (const auto& text : all_definitions) {
    json::Document d;
    if (!json::parse(text, &d).ok() || !d.IsObject()) continue;
    const json::Value* steps = json::get(d, "steps");
    if (!steps || !steps->IsArray()) continue;
    for (const auto& s : steps->GetArray())
      if (auto e = json::get_string(s, "until_event")) waited.emplace(*e);
  }
  set->waited_events.assign(waited.begin(), waited.end());
  return set;
}

Result<std::shared_ptr<const OrgSet>> Cache::org_set(store::Conn& c, const std::string& org) {
  BX_ASSIGN_OR_RETURN(auto g, c.query("SELECT gen FROM workflow_gens WHERE org_id = ?", {org}));
  int64_t gen = g.empty() ? 0 : g[0].int64(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = orgs_.find(org);
    if (it != orgs_.end() && it->second->gen == gen) return it->second;
  }
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id, version, definition FROM workflows WHERE "
                                         "org_id = ? AND deleted_at IS NULL AND enabled = 1",
                                         {org}));
  std::vector<std::tuple<std::string, int, std::string>> defs;
  for (const auto& r : rows) defs.emplace_back(r.str(0), static_cast<int>(r.int64(1)), r.str(2));
  // Runs may wait on events that only an older or disabled version waits for.
  BX_ASSIGN_OR_RETURN(auto all, c.query("SELECT DISTINCT v.definition FROM workflow_versions v "
                                        "JOIN workflow_runs r ON r.workflow_id = v.workflow_id AND "
                                        "r.version = v.version WHERE r.org_id = ? AND "
                                        "r.status = 'waiting'",
                                        {org}));
  std::vector<std::string> texts;
  for (const auto& [id, v, t] : defs) texts.push_back(t);
  for (const auto& r : all) texts.push_back(r.str(0));
  std::shared_ptr<const OrgSet> set = build(defs, texts, gen);
  std::lock_guard<std::mutex> lock(mu_);
  orgs_[org] = set;
  return set;
}

Result<std::shared_ptr<const Compiled>> Cache::version(store::Conn& c, const std::string& org,
                                                       const std::string& workflow_id, int version) {
  const std::string key = workflow_id + ":" + std::to_string(version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = versions_.find(key); it != versions_.end()) return it->second;
  }
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT definition FROM workflow_versions WHERE "
                                         "workflow_id = ? AND version = ? AND org_id = ?",
                                         {workflow_id, version, org}));
  if (rows.empty())
    return NotFound("workflow " + workflow_id + " version " + std::to_string(version) + " not found");
  auto comp = std::make_shared<Compiled>();
  BX_ASSIGN_OR_RETURN(comp->def, compile(rows[0].text(0), comp->fields));
  std::lock_guard<std::mutex> lock(mu_);
  if (versions_.size() > 10000) versions_.clear();  // bounded; definitions reload on demand
  versions_[key] = comp;
  return std::shared_ptr<const Compiled>(comp);
}

Cache& cache(api::Core& core) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!core.workflows) core.workflows = std::make_shared<Cache>();
  return *core.workflows;
}

// ---- facts -------------------------------------------------------------------------------------

Status load_facts(store::Conn& c, api::Ctx& ctx, Facts& f, const runtime::EventRecord* ev,
                  const std::optional<std::string>& thread_id, uint32_t roots) {
  f.now = ctx.core().clock->now();
  if (ev) {
    f.set(Root::event, event_json(*ev));
    if (const json::Value* data = json::get(f.roots[0], "data"))
      if (const json::Value* ch = json::get(*data, "changes"); ch && ch->IsObject())
        f.changes.CopyFrom(*ch, f.changes.GetAllocator());
    if (ev->type == "message.analyzed" && (roots & bit(Root::analysis))) f.set(Root::analysis, ev->payload);
  }
  const uint32_t need_thread =
      bit(Root::thread) | bit(Root::contact) | bit(Root::customer) | bit(Root::shipment);
  std::optional<std::string> tid = thread_id;
  if (!tid && ev && ev->thread_id) tid = ev->thread_id;
  if (tid && (roots & need_thread)) {
    auto t = services::thread_json(c, ctx, *tid);
    if (t.ok()) f.set(Root::thread, *t);
  }
  if (ev && ev->subject_type == "message" && (roots & (bit(Root::message) | bit(Root::analysis)))) {
    auto m = services::message_json(c, ctx, ev->subject_id);
    if (m.ok()) {
      f.set(Root::message, *m);
      if (!f.present[static_cast<int>(Root::analysis)])
        if (const json::Value* a = json::get(f.roots[static_cast<int>(Root::message)], "analysis");
            a && a->IsObject())
          f.set(Root::analysis, json::stringify(*a));
    }
  }
  std::optional<std::string> contact = string_field(f, Root::thread, "contact_id");
  if (contact && (roots & (bit(Root::contact) | bit(Root::customer)))) {
    BX_ASSIGN_OR_RETURN(auto cj, record_json(c, ctx, "contacts", kContact, *contact));
    if (cj) f.set(Root::contact, *cj);
  }
  std::optional<std::string> customer = string_field(f, Root::thread, "customer_id");
  if (!customer) customer = string_field(f, Root::contact, "customer_id");
  if (customer && (roots & bit(Root::customer))) {
    BX_ASSIGN_OR_RETURN(auto cj, record_json(c, ctx, "customers", kCustomer, *customer));
    if (cj) f.set(Root::customer, *cj);
  }
  if (roots & bit(Root::shipment)) {
    std::optional<std::string> sid;
    if (ev && ev->subject_type == "shipment") sid = ev->subject_id;
    if (!sid && tid) {
      BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT shipment_id FROM thread_shipments WHERE org_id = "
                                          "? AND thread_id = ? ORDER BY created_at DESC, "
                                          "shipment_id LIMIT 1",
                                          {ctx.org(), *tid}));
      if (!r.empty()) sid = r[0].str(0);
    }
    if (sid) {
      auto s = services::shipment_record(c, ctx, *sid);
      if (s.ok()) f.set(Root::shipment, *s);
    }
  }
  return Status();
}

// ---- matching ----------------------------------------------------------------------------------

std::vector<const OrgSet::Entry*> match(const OrgSet& set, const runtime::EventRecord& ev,
                                        const Facts& facts) {
  std::vector<const OrgSet::Entry*> out;
  auto it = set.by_event.find(ev.type);
  if (it == set.by_event.end()) return out;
  Evaluator e(set.fields, facts);
  std::vector<int8_t> memo = set.matcher.memo();
  const bool by_workflow = ev.actor.rfind("workflow:", 0) == 0;
  for (const OrgSet::Entry* w : it->second) {
    // Loop guard: a workflow never reacts to a change it made itself.
    if (by_workflow && std::string_view(ev.actor).substr(9) == w->id) continue;
    if (w->has_conditions && !set.matcher.eval(w->program, e, memo)) continue;
    out.push_back(w);
  }
  return out;
}

Status enqueue_run(store::Conn& c, api::Ctx& ctx, const std::string& run_id) {
  return enqueue_step_job(c, ctx, run_id);
}

Result<std::string> start_run(store::Conn& c, api::Ctx& ctx, const StartRun& s) {
  std::string id = ctx.new_id();
  std::string status = s.skipped ? "skipped" : "running";
  auto r = c.query(
      "INSERT INTO workflow_runs (id, org_id, workflow_id, version, status, trigger_kind, "
      "event_id, thread_id, subject, step, state, depth, attempts, error, created_at, "
      "updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '{\"n\":0}', ?, 0, ?, ?, ?, ?)",
      {id, ctx.org(), s.workflow_id, s.version, status, trigger_kind_name(s.trigger),
       s.event_id ? store::Value(*s.event_id) : store::Value(), store::Value(s.thread_id),
       s.subject_json, s.depth, s.skipped ? store::Value(s.note) : store::Value(), ctx.now(),
       ctx.now(), s.skipped ? store::Value(ctx.now()) : store::Value()});
  if (!r.ok()) return r.status();
  RunRow run;
  run.id = id;
  run.org = ctx.org();
  BX_RETURN_IF_ERROR(history(c, run, std::nullopt, nullptr, "trigger", s.subject_json, s.note, "{}",
                             std::nullopt, 1, ctx.now()));
  if (!s.skipped) BX_RETURN_IF_ERROR(enqueue_step_job(c, ctx, id));
  return id;
}

Status schedule_relative_for_events(store::Conn& c, api::Ctx& ctx, const OrgSet& set,
                                    const runtime::EventRecord& ev);
void register_trigger_jobs(runtime::JobQueue& q, api::Core& core);

Status on_events(store::Conn& c, api::Ctx& ctx, const std::vector<runtime::EventRecord>& events) {
  BX_ASSIGN_OR_RETURN(auto set, cache(ctx.core()).org_set(c, ctx.org()));
  const int max_depth = ctx.core().opts.workflow_max_chain_depth;
  for (const auto& ev : events) {
    // Runs waiting for this event on this thread resume (or finish) now.
    if (ev.thread_id && std::binary_search(set->waited_events.begin(), set->waited_events.end(),
                                           ev.type)) {
      BX_ASSIGN_OR_RETURN(auto waiting,
                          c.query("SELECT id FROM workflow_runs WHERE org_id = ? AND status = "
                                  "'waiting' AND wait_event = ? AND thread_id = ? ORDER BY id",
                                  {ctx.org(), ev.type, *ev.thread_id}));
      for (const auto& w : waiting) {
        BX_ASSIGN_OR_RETURN(auto run, load_run(c, w.str(0)));
        if (!run || run->status != "waiting") continue;
        BX_ASSIGN_OR_RETURN(auto comp, cache(ctx.core()).version(c, run->org, run->workflow_id,
                                                                 run->version));
        const Step& st = comp->def->steps[static_cast<size_t>(run->step)];
        std::string decision = "event " + ev.type + " (" + std::to_string(ev.id) + ") arrived";
        run->wait_seq = -1;
        if (st.on_event >= 0) {
          run->status = "running";
          run->step = st.on_event;
          decision += " -> " + comp->def->steps[static_cast<size_t>(st.on_event)].id;
        } else {
          run->status = "completed";
          decision += ": run complete";
        }
        BX_RETURN_IF_ERROR(history(c, *run, run->step, &st, "resume", event_json(ev), decision, "{}",
                                   std::nullopt, 1, ctx.now()));
        BX_RETURN_IF_ERROR(save_run(c, *run, ctx.now()));
        if (run->status == "running") BX_RETURN_IF_ERROR(enqueue_step_job(c, ctx, run->id));
      }
    }
    if (!set->relative.empty()) BX_RETURN_IF_ERROR(schedule_relative_for_events(c, ctx, *set, ev));
    auto it = set->roots_by_event.find(ev.type);
    if (it == set->roots_by_event.end()) continue;
    Facts facts;
    BX_RETURN_IF_ERROR(load_facts(c, ctx, facts, &ev, std::nullopt, it->second));
    for (const OrgSet::Entry* w : match(*set, ev, facts)) {
      StartRun s;
      s.workflow_id = w->id;
      s.version = w->version;
      s.trigger = TriggerKind::event;
      s.event_id = ev.id;
      s.thread_id = ev.thread_id;
      s.subject_json = event_json(ev);
      s.depth = ev.depth + 1;
      if (ev.depth >= max_depth) {
        s.skipped = true;
        s.note = "chain depth limit reached: event " + std::to_string(ev.id) + " is " +
                 std::to_string(ev.depth) + " workflow reactions deep (limit " +
                 std::to_string(max_depth) + ")";
      } else {
        s.note = "matched event " + ev.type + " (" + std::to_string(ev.id) + ")";
      }
      BX_RETURN_IF_ERROR(start_run(c, ctx, s).status());
    }
  }
  return Status();
}

// ---- execution ---------------------------------------------------------------------------------

namespace {

// A wait's timer fired: leave the wait by its timeout path (history row, run row updated).
Status resume_after_timer(store::Conn& c, api::Ctx& ctx, RunRow& run, const Definition& def,
                          bool save = true, HistoryRows* rows = nullptr) {
  const int steps = static_cast<int>(def.steps.size());
  const Step& ws = def.steps[static_cast<size_t>(run.step)];
  int next = ws.on_timeout >= 0 ? ws.on_timeout : following(def, run.step);
  std::string decision =
      ws.until_event.empty() ? "wait over" : "timed out waiting for " + ws.until_event;
  HistoryRows own;
  (rows ? rows : &own)->add(run, run.step, &ws, "wait", "{}", decision, "{}", std::nullopt, 1,
                            ctx.now());
  if (!rows) BX_RETURN_IF_ERROR(own.flush(c));
  run.status = next < steps ? "running" : "completed";
  run.step = std::min(next, steps);
  run.wait_seq = -1;
  // Continuing in the same transaction: the step's own save records the run.
  if (!save && run.status == "running") return Status();
  return save_run(c, run, ctx.now());
}

// One transaction: one step (or a timer's resume). *http carries a webhook step's request out
// and its result back in.
Result<Advance> advance_once(api::Core& core, const std::string& run_id,
                             std::optional<int> timer_seq, HttpCall* http, std::string* error) {
  Advance result = Advance::stale;
  Status st = core.db->transaction([&](store::Conn& c) -> Status {
    result = Advance::stale;
    HistoryRows rows;  // written before the run is saved, on every path that saves it
    BX_ASSIGN_OR_RETURN(auto loaded, load_run(c, run_id));
    if (!loaded) return Status();
    RunRow run = *loaded;
    Principal who = workflow_principal(run);
    api::Ctx ctx(core, who, "workflow.step");
    BX_ASSIGN_OR_RETURN(auto comp, cache(core).version(c, run.org, run.workflow_id, run.version));
    const Definition& def = *comp->def;
    const int steps = static_cast<int>(def.steps.size());
    if (timer_seq) {
      if (run.status != "waiting" || run.wait_seq != *timer_seq) return Status();  // stale timer
      // The wait is over; the next step runs in this same transaction (if it fails, the
      // failure's record repeats this resume: see record_failure).
      BX_RETURN_IF_ERROR(resume_after_timer(c, ctx, run, def, /*save=*/false, &rows));
      if (run.status != "running") {
        result = Advance::parked;
        return rows.flush(c);
      }
    }
    if (run.status != "running") return Status();
    if (run.step >= steps) {
      run.status = "completed";
      BX_RETURN_IF_ERROR(rows.flush(c));
      BX_RETURN_IF_ERROR(save_run(c, run, ctx.now()));
      result = Advance::parked;
      return Status();
    }
    if (run.n >= kMaxStepsPerRun) {
      run.status = "failed";
      std::string why = "more than " + std::to_string(kMaxStepsPerRun) + " steps: a loop?";
      rows.add(run, run.step, nullptr, "fail", "{}", why, "{}", why, 1, ctx.now());
      BX_RETURN_IF_ERROR(rows.flush(c));
      BX_RETURN_IF_ERROR(save_run(c, run, ctx.now(), {}, {}, why));
      result = Advance::parked;
      return Status();
    }
    const int index = run.step;
    const Step& step = def.steps[static_cast<size_t>(index)];
    const std::string key = run.id + ":" + std::to_string(run.n);
    Facts facts;
    BX_RETURN_IF_ERROR(load_facts(c, ctx, facts, nullptr, run.thread_id, step.roots));
    if (!run.subject.empty()) facts.set(Root::event, run.subject);

    Outcome o;
    std::string input = json::stringify(*step.spec);
    if (step.action == Action::webhook) {
      BX_ASSIGN_OR_RETURN(auto done, c.query("SELECT result FROM workflow_effects WHERE org_id = ? "
                                             "AND key = ?",
                                             {run.org, key}));
      if (done.empty() && !http->done) {
        http->url = render(*json::get_string(*step.spec, "url"), facts);
        http->body = webhook_body(step, run, facts);
        http->key = key;
        result = Advance::retry_later;  // the caller makes the request, then comes back
        *error = "";
        BX_RETURN_IF_ERROR(rows.flush(c));
        return save_run(c, run, ctx.now());  // a timer's resume, if any, is kept
      }
      if (http->done && !(http->status >= 200 && http->status < 300)) {
        *error = http->error.empty() ? "webhook answered HTTP " + std::to_string(http->status)
                                     : http->error;
        return Status(Code::unavailable, *error);
      }
      o.next = following(def, index);
      o.decision = done.empty() ? "webhook answered HTTP " + std::to_string(http->status)
                                : "webhook already delivered (idempotency key " + key + ")";
      o.output = "{\"status\":" + std::to_string(http->status) + ",\"idempotency_key\":" +
                 json::quote(key) + "}";
    } else {
      auto r = exec_step(c, ctx, run, *comp, index, facts);
      if (!r.ok()) {
        *error = r.status().message();
        return r.status();  // rolls the step's writes back; the failure is recorded after
      }
      o = std::move(*r);
    }
    // The effect's key. A database effect commits with the run's move past it, so the run's
    // position is its key (kept in the history row); the webhook's key is recorded because its
    // effect happened outside this transaction.
    if (step.action == Action::webhook)
      BX_RETURN_IF_ERROR(c.query("INSERT INTO workflow_effects (org_id, key, result, created_at) "
                                 "VALUES (?, ?, ?, ?) ON CONFLICT (org_id, key) DO NOTHING",
                                 {run.org, key, o.output, ctx.now()})
                             .status());
    if (o.output.size() >= 2 && o.output.back() == '}')
      o.output = o.output.substr(0, o.output.size() - 1) + (o.output.size() > 2 ? "," : "") +
                 "\"idempotency_key\":" + json::quote(key) + "}";
    rows.add(run, index, &step, action_name(step.action), input, o.decision, o.output,
             std::nullopt, run.attempts + 1, ctx.now());
    BX_RETURN_IF_ERROR(rows.flush(c));
    run.n += 1;
    run.attempts = 0;
    std::optional<std::string> wait_event, wait_until;
    if (o.wait) {
      run.status = "waiting";
      run.wait_seq = run.n;
      wait_until = format_time(*o.wait_until);
      if (!o.wait_event.empty()) wait_event = o.wait_event;
      BX_RETURN_IF_ERROR(enqueue_step_job(c, ctx, run.id, o.wait_until, run.wait_seq));
      result = Advance::parked;
    } else if (o.finish || o.next < 0 || o.next >= steps) {
      run.status = "completed";
      run.step = steps;
      result = Advance::parked;
    } else {
      run.step = o.next;
      result = Advance::more;
    }
    BX_RETURN_IF_ERROR(save_run(c, run, ctx.now(), wait_event, wait_until));
    return Status();
  });
  if (!st.ok()) {
    if (error->empty()) *error = st.message();
    return st;
  }
  return result;
}

// Records a failed step attempt; the run fails once the retry policy is spent. Returns true
// when the run should be tried again.
// What record_failure decided: try again (after `delay` when the policy sets a backoff).
struct Again {
  bool again = false;
  std::optional<std::chrono::milliseconds> delay;
};

Result<Again> record_failure(api::Core& core, const std::string& run_id, const std::string& error,
                             std::optional<int> timer_seq) {
  bool again = false;
  std::optional<std::chrono::milliseconds> delay;
  BX_RETURN_IF_ERROR(core.db->transaction([&](store::Conn& c) -> Status {
    again = false;
    BX_ASSIGN_OR_RETURN(auto loaded, load_run(c, run_id));
    if (!loaded) return Status();
    RunRow run = *loaded;
    Principal who = workflow_principal(run);
    api::Ctx ctx(core, who, "workflow.step");
    BX_ASSIGN_OR_RETURN(auto comp, cache(core).version(c, run.org, run.workflow_id, run.version));
    // The step after a timer failed: its transaction also undid the resume; redo it here.
    if (timer_seq && run.status == "waiting" && run.wait_seq == *timer_seq)
      BX_RETURN_IF_ERROR(resume_after_timer(c, ctx, run, *comp->def));
    if (run.status != "running") return Status();
    const Step* step = run.step < static_cast<int>(comp->def->steps.size())
                           ? &comp->def->steps[static_cast<size_t>(run.step)]
                           : nullptr;
    run.attempts += 1;
    const bool spent = run.attempts >= comp->def->retry.max_attempts;
    std::string decision = spent ? "failed: retry policy spent (" +
                                       std::to_string(run.attempts) + " attempts)"
                                 : "failed: will retry";
    BX_RETURN_IF_ERROR(history(c, run, run.step, step,
                               step ? action_name(step->action) : std::string_view("step"),
                               step ? json::stringify(*step->spec) : "{}", decision, "{}", error,
                               run.attempts, ctx.now()));
    std::optional<std::string> err;
    if (spent) {
      run.status = "failed";
      err = error;
      std::string data = "{\"run_id\":" + json::quote(run.id) + ",\"workflow_id\":" +
                         json::quote(run.workflow_id) + ",\"error\":" + json::quote(error) + "}";
      BX_RETURN_IF_ERROR(ctx.event(c, "workflow.run_failed", "workflow_run", run.id, run.thread_id, data));
    }
    BX_RETURN_IF_ERROR(save_run(c, run, ctx.now(), {}, {}, err));
    again = !spent;
    if (again && comp->def->retry.backoff) {
      // backoff × 2^(attempts - 1), capped at an hour.
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(*comp->def->retry.backoff);
      for (int i = 1; i < run.attempts && d < std::chrono::hours(1); ++i) d *= 2;
      delay = std::min<std::chrono::milliseconds>(d, std::chrono::hours(1));
    }
    return Status();
  }));
  return Again{again, delay};
}

// grouped: the job runs inside the queue's group transaction (timers); it must not block, so
// a webhook step is handed to a workflow.run job of its own.
runtime::JobResult run_job(api::Core& core, const runtime::Job& job, bool grouped) {
  auto run_id = runtime::payload_string(job, "run_id");
  if (!run_id) return runtime::JobResult::fail("payload has no run_id");
  std::optional<int> timer_seq;
  {
    json::Document d;
    if (json::parse(job.payload_json, &d).ok() && d.IsObject())
      if (auto s = json::get_int(d, "wait_seq")) timer_seq = static_cast<int>(*s);
  }
  HttpCall http;
  for (int i = 0; i <= kMaxStepsPerRun + 1; ++i) {
    std::string error;
    const std::optional<int> this_timer = timer_seq;
    auto r = advance_once(core, *run_id, timer_seq, &http, &error);
    timer_seq.reset();
    if (r.ok() && *r == Advance::retry_later && !http.url.empty() && !http.done && grouped) {
      Status st = core.db->transaction([&](store::Conn& c) -> Status {
        BX_ASSIGN_OR_RETURN(auto run, load_run(c, *run_id));
        if (!run) return Status();
        Principal who = workflow_principal(*run);
        api::Ctx ctx(core, who, "workflow.step");
        return enqueue_step_job(c, ctx, *run_id);
      });
      if (!st.ok()) return runtime::JobResult::retry(st.message());
      return runtime::JobResult::ok();
    }
    if (r.ok() && *r == Advance::retry_later && !http.url.empty() && !http.done) {
      // A webhook step: the request happens here, outside any transaction.
      net::HttpRequest req;
      req.method = "POST";
      req.url = http.url;
      req.body = http.body;
      req.headers = {{"Content-Type", "application/json"},
                     {"Idempotency-Key", http.key},
                     {"User-Agent", "banxway-workflows"}};
      req.connect_timeout = std::chrono::seconds(5);
      req.timeout = std::chrono::seconds(15);
      req.max_response_bytes = 64 * 1024;
      req.allow_private_network = core.opts.workflow_webhooks_allow_private_network;
      auto resp = net::http_request(req);
      http.done = true;
      if (resp.ok()) http.status = resp->status;
      else http.error = resp.status().message();
      continue;  // the next transaction records the outcome
    }
    if (!r.ok()) {
      // A step failed (its writes rolled back): count the attempt against the retry policy.
      auto again =
          record_failure(core, *run_id, error.empty() ? r.status().message() : error, this_timer);
      if (!again.ok()) return runtime::JobResult::retry(again.status().message());
      if (again->again) return runtime::JobResult::retry(error, again->delay);
      return runtime::JobResult::ok();
    }
    http = HttpCall{};
    if (*r == Advance::more) continue;
    return runtime::JobResult::ok();
  }
  return runtime::JobResult::ok();
}

}  // namespace

void register_jobs(runtime::JobQueue& q, api::Core& core) {
  api::Core* cp = &core;
  q.register_handler(std::string(kRunJob),
                     [cp](const runtime::Job& j) { return run_job(*cp, j, false); });
  q.register_handler(std::string(kTimerJob),
                     [cp](const runtime::Job& j) { return run_job(*cp, j, true); },
                     /*group_commit=*/true);
  register_trigger_jobs(q, core);
}

// ---- dry run -----------------------------------------------------------------------------------

Result<std::string> dry_run(store::Conn& c, api::Ctx& ctx, const Definition& def,
                            const FieldTable& fields, const runtime::EventRecord* ev,
                            const std::optional<std::string>& thread_id) {
  Facts facts;
  BX_RETURN_IF_ERROR(load_facts(c, ctx, facts, ev, thread_id, ~0u));
  Evaluator e(fields, facts);
  bool trigger_ok = true;
  std::string why;
  if (def.trigger.kind == TriggerKind::event) {
    trigger_ok = ev && ev->type == def.trigger.event;
    why = ev ? (trigger_ok ? "event type matches" : "the workflow triggers on " + def.trigger.event +
                                                          ", not " + ev->type)
             : "no event given: trigger not checked";
    if (!ev) trigger_ok = true;
  }
  bool cond_ok = !def.has_conditions || e.eval(def.conditions);
  std::string out = "{\"trigger_matches\":" + std::string(trigger_ok ? "true" : "false") +
                    ",\"trigger\":" + json::quote(why) +
                    ",\"conditions_match\":" + (cond_ok ? "true" : "false") + ",\"steps\":[";
  // Walk the steps as a run would, without effects: branches are evaluated, waits assumed to
  // time out, at most one visit per step.
  std::vector<bool> seen(def.steps.size(), false);
  int i = 0;
  bool first = true;
  while (i >= 0 && i < static_cast<int>(def.steps.size()) && !seen[static_cast<size_t>(i)]) {
    seen[static_cast<size_t>(i)] = true;
    const Step& st = def.steps[static_cast<size_t>(i)];
    std::string would;
    int next = following(def, i);
    auto text = [&](const char* k) { return render(json::get_string(*st.spec, k).value_or(""), facts); };
    switch (st.action) {
      case Action::set_status:
      case Action::set_priority:
        would = std::string("set ") + (st.action == Action::set_status ? "status" : "priority") +
                " to " + std::string(*json::get_string(*st.spec, "value"));
        break;
      case Action::add_tag: would = "add tag " + text("value"); break;
      case Action::remove_tag: would = "remove tag " + text("value"); break;
      case Action::add_note: would = "add note: " + text("text"); break;
      case Action::create_action: would = "create action: " + text("title"); break;
      case Action::notify: would = "notify: " + text("text"); break;
      case Action::assign:
        would = "assign (" + std::string(json::get_string(*st.spec, "strategy").value_or("user")) + ")";
        break;
      case Action::send_reply: would = "send reply: " + text("text"); break;
      case Action::link_shipment: would = "link shipment " + text("reference"); break;
      case Action::webhook: would = "POST " + text("url"); break;
      case Action::wait:
        would = "wait " + (st.wait_for ? sched::format_duration(*st.wait_for)
                                       : "until " + render(st.wait_until.value_or(""), facts)) +
                (st.until_event.empty() ? "" : " or until " + st.until_event);
        if (st.on_timeout >= 0) next = st.on_timeout;
        break;
      case Action::branch: {
        bool yes = e.eval(st.when);
        int target = yes ? st.then_step : st.else_step;
        if (target >= 0) next = target;
        would = std::string("condition is ") + (yes ? "true" : "false");
        break;
      }
      case Action::stop:
        would = "stop";
        next = -1;
        break;
    }
    if (!first) out += ",";
    first = false;
    out += "{\"step\":" + std::to_string(i) + ",\"id\":" + json::quote(st.id) +
           ",\"action\":" + json::quote(action_name(st.action)) + ",\"would\":" + json::quote(would) +
           "}";
    i = next;
  }
  out += "]}";
  return out;
}

namespace {

// The organization's time zone (organizations.settings.time_zone), UTC when unset or unknown.
Result<const date::time_zone*> org_zone(store::Conn& c, const std::string& org) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT settings FROM organizations WHERE id = ?", {org}));
  std::string name = "UTC";
  if (!r.empty()) {
    json::Document d;
    if (json::parse(r[0].text(0), &d).ok() && d.IsObject())
      if (auto z = json::get_string(d, "time_zone")) name = std::string(*z);
  }
  auto z = sched::find_zone(name);
  if (!z.ok()) return sched::find_zone("UTC");
  return z;
}

Status enqueue_fire(store::Conn& c, api::Ctx& ctx, std::string_view kind, const std::string& key,
                    const std::string& payload, TimePoint at) {
  runtime::JobSpec job;
  job.kind = std::string(kind);
  job.payload_json = payload;
  job.run_at = at;
  job.unique_key = key;
  job.max_attempts = 10;
  return runtime::JobQueue::enqueue(c, ctx, job).status();
}

// The time a relative trigger's field gives for a record (nullopt: unset or not a time).
Result<std::optional<TimePoint>> field_time(store::Conn& c, api::Ctx& ctx, const Trigger& t,
                                            const std::string& subject_id) {
  const bool shipment = t.field.rfind("shipment.", 0) == 0;
  const std::string column = t.field.substr(t.field.find('.') + 1);
  // The column comes from the compiler's fixed list, never from input.
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT " + column + " FROM " +
                                          std::string(shipment ? "shipments" : "threads") +
                                          " WHERE id = ? AND org_id = ?",
                                      {subject_id, ctx.org()}));
  if (r.empty() || r[0].is_null(0)) return std::optional<TimePoint>();
  TimePoint tp;
  if (!parse_time(r[0].text(0), &tp)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(tp);
}

std::string relative_key(const std::string& wf, int version, const std::string& subject,
                         TimePoint at) {
  return std::string(kRelativeJob) + ":" + wf + ":" + std::to_string(version) + ":" + subject +
         ":" + format_time(at);
}

// Schedules (or re-schedules) one record's relative timer: a job at field + offset. Timers for
// older values of the field stay queued and find themselves stale when they fire.
Status schedule_relative(store::Conn& c, api::Ctx& ctx, const std::string& wf, int version,
                         const Trigger& t, const std::string& subject_id) {
  BX_ASSIGN_OR_RETURN(auto value, field_time(c, ctx, t, subject_id));
  if (!value) return Status();
  TimePoint at = *value + std::chrono::duration_cast<std::chrono::milliseconds>(t.offset);
  if (at < ctx.core().clock->now() - std::chrono::minutes(1)) return Status();  // already past
  // Already fired for this very time (the field did not move): nothing to queue.
  const std::string key = relative_key(wf, version, subject_id, at);
  BX_ASSIGN_OR_RETURN(auto fired, c.query("SELECT 1 FROM workflow_effects WHERE org_id = ? AND "
                                          "key = ?",
                                          {ctx.org(), "fired:" + key}));
  if (!fired.empty()) return Status();
  std::string payload = "{\"workflow_id\":" + json::quote(wf) + ",\"version\":" +
                        std::to_string(version) + ",\"subject_id\":" + json::quote(subject_id) +
                        ",\"fire_at\":" + json::quote(format_time(at)) + "}";
  return enqueue_fire(c, ctx, kRelativeJob, key, payload, at);
}

bool relative_on_shipment(const Trigger& t) { return t.field.rfind("shipment.", 0) == 0; }

// Does this event move the record a relative trigger reads? Returns the record's id.
std::optional<std::string> relative_subject(const Trigger& t, const runtime::EventRecord& ev) {
  if (relative_on_shipment(t)) {
    if (ev.subject_type == "shipment" &&
        (ev.type == "shipment.created" || ev.type == "shipment.updated"))
      return ev.subject_id;
    return std::nullopt;
  }
  if (!ev.thread_id) return std::nullopt;
  static const std::set<std::string, std::less<>> kThreadMoves = {
      "thread.created", "thread.updated", "message.received", "message.created", "message.sent"};
  if (kThreadMoves.count(ev.type)) return ev.thread_id;
  return std::nullopt;
}

// A schedule or relative timer's payload: {workflow_id, version, fire_at, subject_id?}.
struct FirePayload {
  std::string wf, fire, subject_id;
  int version = 0;
};

std::optional<FirePayload> fire_payload(const runtime::Job& job) {
  json::Document p;
  if (!json::parse(job.payload_json, &p).ok() || !p.IsObject()) return std::nullopt;
  FirePayload f;
  f.wf = std::string(json::get_string(p, "workflow_id").value_or(""));
  f.version = static_cast<int>(json::get_int(p, "version").value_or(0));
  f.fire = std::string(json::get_string(p, "fire_at").value_or(""));
  f.subject_id = std::string(json::get_string(p, "subject_id").value_or(""));
  return f;
}

// The compiled version a timer was queued for, if it is still the workflow's enabled current
// version (a newer version queued timers of its own; a disabled or deleted workflow has none).
Result<std::shared_ptr<const Compiled>> still_current(store::Conn& c, api::Core& core,
                                                      const std::string& org, const FirePayload& f) {
  BX_ASSIGN_OR_RETURN(auto w, c.query("SELECT version, enabled, deleted_at FROM workflows WHERE "
                                      "id = ? AND org_id = ?",
                                      {f.wf, org}));
  if (w.empty() || w[0].int64(0) != f.version || w[0].int64(1) == 0 || !w[0].is_null(2))
    return std::shared_ptr<const Compiled>();
  return cache(core).version(c, org, f.wf, f.version);
}

// A schedule or relative timer: in one transaction, if the workflow version it was queued for
// is still current, `fire` acts as the workflows system principal.
using FireFn = std::function<Status(store::Conn&, api::Ctx&, const FirePayload&, const Compiled&)>;

runtime::JobResult fire_timer(api::Core& core, const runtime::Job& job, const char* op,
                              const FireFn& fire) {
  auto f = fire_payload(job);
  if (!f) return runtime::JobResult::fail("bad payload");
  Status st = core.db->transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto comp, still_current(c, core, job.org_id, *f));
    if (!comp) return Status();
    Principal who = api::system_principal(job.org_id, "workflows");
    api::Ctx ctx(core, who, op);
    return fire(c, ctx, *f, *comp);
  });
  if (!st.ok()) return runtime::JobResult::retry(st.message());
  return runtime::JobResult::ok();
}

// Fires a schedule: one run, then the next firing.
runtime::JobResult schedule_job(api::Core& core, const runtime::Job& job) {
  return fire_timer(core, job, "workflow.schedule",
                    [&](store::Conn& c, api::Ctx& ctx, const FirePayload& f,
                        const Compiled& comp) -> Status {
    const Definition& def = *comp.def;
    std::string subject = "{\"type\":\"schedule\",\"cron\":" + json::quote(def.trigger.cron) +
                          ",\"fired_at\":" + json::quote(f.fire) + "}";
    Facts facts;
    facts.now = core.clock->now();
    facts.set(Root::event, subject);
    Evaluator e(comp.fields, facts);
    if (!def.has_conditions || e.eval(def.conditions)) {
      StartRun s;
      s.workflow_id = f.wf;
      s.version = f.version;
      s.trigger = TriggerKind::schedule;
      s.subject_json = subject;
      s.depth = 1;
      s.note = "schedule " + def.trigger.cron + " fired for " + f.fire;
      BX_RETURN_IF_ERROR(start_run(c, ctx, s).status());
    }
    return schedule_next(c, ctx, f.wf, def, f.version);
  });
}

// A relative timer is due: if the record still gives this time, start a run on it.
runtime::JobResult relative_job(api::Core& core, const runtime::Job& job) {
  return fire_timer(core, job, "workflow.relative",
                    [&](store::Conn& c, api::Ctx& ctx, const FirePayload& f,
                        const Compiled& comp) -> Status {
    const Definition& def = *comp.def;
    const std::string& subject_id = f.subject_id;
    const std::string& fire = f.fire;
    BX_ASSIGN_OR_RETURN(auto value, field_time(c, ctx, def.trigger, subject_id));
    if (!value) return Status();
    TimePoint at = *value + std::chrono::duration_cast<std::chrono::milliseconds>(def.trigger.offset);
    if (format_time(at) != fire) return Status();  // the field moved: a newer timer exists
    // Once per (workflow version, record, time): a change that leaves the field as it was
    // re-queues the same timer, which must not fire twice.
    BX_ASSIGN_OR_RETURN(auto fired, c.query("INSERT INTO workflow_effects (org_id, key, result, "
                                            "created_at) VALUES (?, ?, '{}', ?) ON CONFLICT "
                                            "(org_id, key) DO NOTHING RETURNING key",
                                            {job.org_id, "fired:" + job.unique_key, ctx.now()}));
    if (fired.empty()) return Status();
    std::optional<std::string> thread;
    const bool shipment = relative_on_shipment(def.trigger);
    if (shipment) {
      BX_ASSIGN_OR_RETURN(auto t, c.query("SELECT thread_id FROM thread_shipments WHERE org_id = ? "
                                          "AND shipment_id = ? ORDER BY created_at DESC, thread_id "
                                          "LIMIT 1",
                                          {job.org_id, subject_id}));
      if (!t.empty()) thread = t[0].str(0);
    } else {
      thread = subject_id;
    }
    std::string subject = "{\"type\":\"relative\",\"field\":" + json::quote(def.trigger.field) +
                          ",\"value\":" + json::quote(format_time(*value)) + ",\"offset\":" +
                          json::quote(sched::format_duration(def.trigger.offset)) +
                          ",\"fire_at\":" + json::quote(fire) + ",\"subject_type\":" +
                          json::quote(shipment ? "shipment" : "thread") +
                          ",\"subject_id\":" + json::quote(subject_id) + "}";
    Facts facts;
    runtime::EventRecord ev;
    ev.type = "relative";
    ev.org_id = job.org_id;
    ev.subject_type = shipment ? "shipment" : "thread";
    ev.subject_id = subject_id;
    ev.thread_id = thread;
    ev.payload = subject;
    BX_RETURN_IF_ERROR(load_facts(c, ctx, facts, &ev, thread, def.roots_used | (1u << static_cast<int>(Root::shipment))));
    facts.set(Root::event, subject);
    Evaluator e(comp.fields, facts);
    if (def.has_conditions && !e.eval(def.conditions)) return Status();
    StartRun s;
    s.workflow_id = f.wf;
    s.version = f.version;
    s.trigger = TriggerKind::relative;
    s.thread_id = thread;
    s.subject_json = subject;
    s.depth = 1;
    s.note = def.trigger.field + " " + format_time(*value) + " " +
             sched::format_duration(def.trigger.offset) + " reached at " + fire;
    return start_run(c, ctx, s).status();
  });
}

}  // namespace

Status schedule_next(store::Conn& c, api::Ctx& ctx, const std::string& workflow_id,
                     const Definition& def, int version) {
  if (!def.enabled) return Status();
  if (def.trigger.kind == TriggerKind::schedule) {
    BX_ASSIGN_OR_RETURN(auto cron, sched::Cron::parse(def.trigger.cron));
    const date::time_zone* tz = nullptr;
    if (!def.trigger.time_zone.empty()) {
      BX_ASSIGN_OR_RETURN(tz, sched::find_zone(def.trigger.time_zone));
    } else {
      BX_ASSIGN_OR_RETURN(tz, org_zone(c, ctx.org()));
    }
    auto next = cron.next_after(ctx.core().clock->now(), tz);
    if (!next) return Status();  // never fires (e.g. February 30th)
    std::string payload = "{\"workflow_id\":" + json::quote(workflow_id) + ",\"version\":" +
                          std::to_string(version) + ",\"fire_at\":" +
                          json::quote(format_time(*next)) + "}";
    BX_RETURN_IF_ERROR(c.query("UPDATE workflows SET next_fire_at = ? WHERE id = ? AND org_id = ?",
                               {format_time(*next), workflow_id, ctx.org()})
                           .status());
    return enqueue_fire(c, ctx, kScheduleJob,
                        std::string(kScheduleJob) + ":" + workflow_id + ":" +
                            std::to_string(version) + ":" + format_time(*next),
                        payload, *next);
  }
  if (def.trigger.kind == TriggerKind::relative) {
    // Records that exist already get their timers now (bounded; later changes arrive as events).
    const bool shipment = relative_on_shipment(def.trigger);
    const std::string column = def.trigger.field.substr(def.trigger.field.find('.') + 1);
    std::string sql = shipment
                          ? "SELECT id FROM shipments WHERE org_id = ? AND " + column +
                                " IS NOT NULL AND status NOT IN ('delivered','cancelled')"
                          : "SELECT id FROM threads WHERE org_id = ? AND " + column +
                                " IS NOT NULL AND status IN ('open','pending','snoozed')";
    sql += " ORDER BY id LIMIT 10000";
    BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {ctx.org()}));
    for (const auto& r : rows)
      BX_RETURN_IF_ERROR(schedule_relative(c, ctx, workflow_id, version, def.trigger, r.str(0)));
  }
  return Status();
}

Status schedule_relative_for_events(store::Conn& c, api::Ctx& ctx, const OrgSet& set,
                                    const runtime::EventRecord& ev) {
  for (const OrgSet::Entry* w : set.relative) {
    auto subject = relative_subject(w->def->trigger, ev);
    if (!subject) continue;
    BX_RETURN_IF_ERROR(schedule_relative(c, ctx, w->id, w->version, w->def->trigger, *subject));
  }
  return Status();
}

void register_trigger_jobs(runtime::JobQueue& q, api::Core& core) {
  api::Core* cp = &core;
  q.register_handler(std::string(kScheduleJob),
                     [cp](const runtime::Job& j) { return schedule_job(*cp, j); });
  q.register_handler(std::string(kRelativeJob),
                     [cp](const runtime::Job& j) { return relative_job(*cp, j); });
}

}  // namespace banxway::workflow
