// workflows.* and workflow_runs.*: definitions (versioned), runs and their history, dry runs,
// manual runs, cancel and retry (docs/WORKFLOWS.md).
#include "services/workflows.hpp"

#include "runtime/event_dispatch.hpp"
#include "services/common.hpp"
#include "workflow/runner.hpp"

namespace banxway::services {
namespace {

const ColSpec kWorkflow[] = {
    {"id", "id", Col::str},
    {"name", "name", Col::str},
    {"enabled", "enabled", Col::boolean},
    {"priority", "priority", Col::integer},
    {"version", "version", Col::integer},
    {"trigger_kind", "trigger_kind", Col::str},
    {"trigger_key", "trigger_key", Col::str},
    {"definition", "definition", Col::json},
    {"created_by", "created_by", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};

const ColSpec kRun[] = {
    {"id", "id", Col::str},
    {"workflow_id", "workflow_id", Col::str},
    {"version", "version", Col::integer},
    {"status", "status", Col::str},
    {"trigger_kind", "trigger_kind", Col::str},
    {"event_id", "event_id", Col::integer},
    {"thread_id", "thread_id", Col::str},
    {"step", "step", Col::integer},
    {"depth", "depth", Col::integer},
    {"attempts", "attempts", Col::integer},
    {"error", "error", Col::str},
    {"wait_event", "wait_event", Col::str},
    {"wait_until", "wait_until", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
    {"finished_at", "finished_at", Col::str},
};
constexpr size_t kRunCreatedCol = 13;

const ColSpec kHistory[] = {
    {"id", "id", Col::integer},
    {"step", "step", Col::integer},
    {"step_id", "step_id", Col::str},
    {"action", "action", Col::str},
    {"input", "input", Col::json},
    {"decision", "decision", Col::str},
    {"output", "output", Col::json},
    {"error", "error", Col::str},
    {"attempt", "attempt", Col::integer},
    {"created_at", "created_at", Col::str},
};

const ColSpec kVersion[] = {
    {"version", "version", Col::integer},
    {"definition", "definition", Col::json},
    {"created_by", "created_by", Col::str},
    {"created_at", "created_at", Col::str},
};

Result<std::string> workflow_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  static const std::string sql =
      "SELECT " + select_list(kWorkflow) + " FROM workflows WHERE id = ? AND org_id = ? AND "
      "deleted_at IS NULL";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {id, ctx.org()}));
  if (rows.empty()) return NotFound("workflow " + id + " not found");
  return row_to_json(rows[0], kWorkflow);
}

Result<std::string> run_json(store::Conn& c, api::Ctx& ctx, const std::string& id, bool history) {
  static const std::string sql =
      "SELECT " + select_list(kRun) + " FROM workflow_runs WHERE id = ? AND org_id = ?";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {id, ctx.org()}));
  if (rows.empty()) return NotFound("workflow run " + id + " not found");
  std::string out = row_to_json(rows[0], kRun);
  if (!history) return out;
  static const std::string hsql = "SELECT " + select_list(kHistory) +
                                  " FROM workflow_run_steps WHERE run_id = ? AND org_id = ? "
                                  "ORDER BY id LIMIT 1000";
  BX_ASSIGN_OR_RETURN(auto hist, c.query(hsql, {id, ctx.org()}));
  std::string items = "[";
  for (size_t i = 0; i < hist.size(); ++i) items += (i ? "," : "") + row_to_json(hist[i], kHistory);
  items += "]";
  out.pop_back();
  return out + ",\"history\":" + items + "}";
}

// Every change to an organization's workflows: bump the generation (caches reload), make sure
// the dispatcher reads the organization's events.
Status touched(store::Conn& c, api::Ctx& ctx) {
  BX_RETURN_IF_ERROR(c.query("INSERT INTO workflow_gens (org_id, gen) VALUES (?, 1) ON CONFLICT "
                             "(org_id) DO UPDATE SET gen = workflow_gens.gen + 1",
                             {ctx.org()})
                         .status());
  return runtime::EventDispatcher::activate(c, workflow::kConsumer, ctx.org(), ctx.now());
}

// The definition from params: the params object minus "id" (the route's id).
std::string definition_text(const json::Value& p) {
  json::Document d;
  d.SetObject();
  for (auto it = p.MemberBegin(); it != p.MemberEnd(); ++it) {
    std::string_view k(it->name.GetString(), it->name.GetStringLength());
    if (k == "id") continue;
    json::Value name(it->name, d.GetAllocator());
    json::Value val(it->value, d.GetAllocator());
    d.AddMember(name, val, d.GetAllocator());
  }
  return json::stringify(d);
}

struct Saved {
  std::shared_ptr<const workflow::Definition> def;
  std::string text;
};

Result<Saved> validate(std::string_view text) {
  workflow::FieldTable fields;
  BX_ASSIGN_OR_RETURN(auto def, workflow::compile(text, fields));
  return Saved{def, std::string(text)};
}

std::optional<std::string> trigger_key(const workflow::Definition& d) {
  switch (d.trigger.kind) {
    case workflow::TriggerKind::event: return d.trigger.event;
    case workflow::TriggerKind::schedule: return d.trigger.cron;
    case workflow::TriggerKind::relative: return d.trigger.field;
    case workflow::TriggerKind::manual: return std::nullopt;
  }
  return std::nullopt;
}

Status name_taken(store::Conn& c, api::Ctx& ctx, const std::string& name, const std::string& except) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT id FROM workflows WHERE org_id = ? AND name = ? AND "
                                      "deleted_at IS NULL AND id <> ?",
                                      {ctx.org(), name, except}));
  if (!r.empty()) return Conflict("name: a workflow named \"" + name + "\" exists (" + r[0].str(0) + ")");
  return Status();
}

Status save_version(store::Conn& c, api::Ctx& ctx, const std::string& id, int version,
                    const std::string& text) {
  return c
      .query("INSERT INTO workflow_versions (workflow_id, version, org_id, definition, created_by, "
             "created_at) VALUES (?, ?, ?, ?, ?, ?)",
             {id, version, ctx.org(), text, ctx.actor_label(), ctx.now()})
      .status();
}

Result<std::string> list_runs(api::Ctx& ctx, const json::Value& p, const char* column,
                              const std::string& value) {
  int limit = api::param_limit(p);
  std::string sql = "SELECT " + select_list(kRun) + " FROM workflow_runs WHERE org_id = ? AND " +
                    column + " = ?";
  std::vector<store::Value> args{ctx.org(), value};
  if (auto st = api::param_str(p, "status")) {
    sql += " AND status = ?";
    args.emplace_back(*st);
  }
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  return rows_to_list(rows, kRun, limit, next_created_cursor(rows, limit, kRunCreatedCol));
}

}  // namespace

Result<std::string> workflows_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p, 100);
  int offset = 0;
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_cursor(*cur, 1));
    offset = std::atoi(parts[0].c_str());
    if (offset < 0 || offset > 1000000) return InvalidArgument("cursor: not a workflows cursor");
  }
  std::string sql = "SELECT " + select_list(kWorkflow) +
                    " FROM workflows WHERE org_id = ? AND deleted_at IS NULL";
  std::vector<store::Value> args{ctx.org()};
  if (auto e = json::get_bool(p, "enabled")) {
    sql += " AND enabled = ?";
    args.emplace_back(*e ? 1 : 0);
  }
  if (auto t = api::param_str(p, "trigger_kind")) {
    sql += " AND trigger_kind = ?";
    args.emplace_back(*t);
  }
  // Run order: priority, then name (then id, which names never tie on).
  sql += " ORDER BY priority, name, id LIMIT ? OFFSET ?";
  args.emplace_back(limit + 1);
  args.emplace_back(offset);
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit)
    next = api::encode_cursor({std::to_string(offset + limit)});
  return rows_to_list(rows, kWorkflow, limit, next);
}

Result<std::string> workflows_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return workflow_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> workflows_create(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(Saved s, validate(definition_text(p)));
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(name_taken(c, ctx, s.def->name, id));
    auto r = c.query(
        "INSERT INTO workflows (id, org_id, name, enabled, priority, version, trigger_kind, "
        "trigger_key, definition, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, "
        "?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), s.def->name, s.def->enabled ? 1 : 0, s.def->priority,
         workflow::trigger_kind_name(s.def->trigger.kind), store::Value(trigger_key(*s.def)),
         s.text, ctx.actor_label(), ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(save_version(c, ctx, id, 1, s.text));
    BX_RETURN_IF_ERROR(touched(c, ctx));
    BX_RETURN_IF_ERROR(workflow::schedule_next(c, ctx, id, *s.def, 1));
    BX_ASSIGN_OR_RETURN(out, workflow_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "workflow.created", "workflow", id, std::nullopt, out));
    return ctx.audit(c, "workflow", id);
  }));
  return out;
}

Result<std::string> workflows_update(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT definition, version FROM workflows WHERE id = ? "
                                          "AND org_id = ? AND deleted_at IS NULL",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("workflow " + id + " not found");
    // The keys given replace the current definition's (a whole new definition, or just
    // {"enabled": false}).
    json::Document d;
    BX_RETURN_IF_ERROR(json::parse(cur[0].text(0), &d));
    if (!d.IsObject()) return Internal("stored workflow definition is not an object");
    for (auto it = p.MemberBegin(); it != p.MemberEnd(); ++it) {
      std::string_view k(it->name.GetString(), it->name.GetStringLength());
      if (k == "id") continue;
      json::Value val(it->value, d.GetAllocator());
      if (auto m = d.FindMember(it->name); m != d.MemberEnd()) {
        m->value = val;
      } else {
        json::Value name(it->name, d.GetAllocator());
        d.AddMember(name, val, d.GetAllocator());
      }
    }
    BX_ASSIGN_OR_RETURN(Saved s, validate(json::stringify(d)));
    BX_RETURN_IF_ERROR(name_taken(c, ctx, s.def->name, id));
    const int version = static_cast<int>(cur[0].int64(1)) + 1;
    auto r = c.query(
        "UPDATE workflows SET name = ?, enabled = ?, priority = ?, version = ?, trigger_kind = ?, "
        "trigger_key = ?, definition = ?, updated_at = ? WHERE id = ? AND org_id = ?",
        {s.def->name, s.def->enabled ? 1 : 0, s.def->priority, version,
         workflow::trigger_kind_name(s.def->trigger.kind), store::Value(trigger_key(*s.def)),
         s.text, ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(save_version(c, ctx, id, version, s.text));
    BX_RETURN_IF_ERROR(touched(c, ctx));
    BX_RETURN_IF_ERROR(workflow::schedule_next(c, ctx, id, *s.def, version));
    BX_ASSIGN_OR_RETURN(out, workflow_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "workflow.updated", "workflow", id, std::nullopt, out));
    return ctx.audit(c, "workflow", id, "{\"version\":" + std::to_string(version) + "}");
  }));
  return out;
}

Result<std::string> workflows_delete(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(workflow_json(c, ctx, id).status());
    BX_RETURN_IF_ERROR(c.query("UPDATE workflows SET deleted_at = ?, enabled = 0, updated_at = ? "
                               "WHERE id = ? AND org_id = ?",
                               {ctx.now(), ctx.now(), id, ctx.org()})
                           .status());
    BX_RETURN_IF_ERROR(touched(c, ctx));
    BX_RETURN_IF_ERROR(ctx.event(c, "workflow.deleted", "workflow", id, std::nullopt,
                                 "{\"id\":" + json::quote(id) + "}"));
    return ctx.audit(c, "workflow", id);
  }));
  return std::string("{\"deleted\":true,\"id\":" + json::quote(id) + "}");
}

Result<std::string> workflows_versions(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  DbReader c(ctx.db());
  BX_RETURN_IF_ERROR(workflow_json(c, ctx, id).status());
  static const std::string sql = "SELECT " + select_list(kVersion) +
                                 " FROM workflow_versions WHERE workflow_id = ? AND org_id = ? "
                                 "ORDER BY version DESC LIMIT 200";
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, {id, ctx.org()}));
  return rows_to_list(rows, kVersion, rows.size(), std::nullopt);
}

Result<std::string> workflows_test(api::Ctx& ctx, json::Value& p) {
  std::string text;
  DbReader c(ctx.db());
  if (const json::Value* def = json::get(p, "definition")) {
    text = json::stringify(*def);
  } else if (auto id = api::param_str(p, "id")) {
    BX_ASSIGN_OR_RETURN(auto w, c.query("SELECT definition FROM workflows WHERE id = ? AND "
                                        "org_id = ? AND deleted_at IS NULL",
                                        {*id, ctx.org()}));
    if (w.empty()) return NotFound("workflow " + *id + " not found");
    text = w[0].str(0);
  } else {
    return InvalidArgument("give id (a saved workflow) or definition (to test before saving)");
  }
  workflow::FieldTable fields;
  BX_ASSIGN_OR_RETURN(auto def, workflow::compile(text, fields));
  std::optional<runtime::EventRecord> ev;
  if (auto eid = json::get_int(p, "event_id")) {
    BX_ASSIGN_OR_RETURN(ev, runtime::read_event(c, ctx.org(), *eid));
    if (!ev) return NotFound("event " + std::to_string(*eid) + " not found");
  }
  std::optional<std::string> thread = api::param_str(p, "thread_id");
  if (thread) BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", *thread, "thread_id"));
  if (!ev && !thread) return InvalidArgument("give event_id or thread_id to test against");
  if (!thread && ev) thread = ev->thread_id;
  return workflow::dry_run(c, ctx, *def, fields, ev ? &*ev : nullptr, thread);
}

Result<std::string> workflows_run(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  const std::string thread = *api::param_str(p, "thread_id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto w, c.query("SELECT version, enabled FROM workflows WHERE id = ? AND "
                                        "org_id = ? AND deleted_at IS NULL",
                                        {id, ctx.org()}));
    if (w.empty()) return NotFound("workflow " + id + " not found");
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", thread, "thread_id"));
    workflow::StartRun s;
    s.workflow_id = id;
    s.version = static_cast<int>(w[0].int64(0));
    s.trigger = workflow::TriggerKind::manual;
    s.thread_id = thread;
    s.subject_json = "{\"type\":\"manual\",\"actor\":" + json::quote(ctx.actor_label()) +
                     ",\"thread_id\":" + json::quote(thread) + "}";
    s.depth = ctx.who().chain_depth + 1;
    s.note = "started by " + ctx.actor_label();
    BX_ASSIGN_OR_RETURN(std::string run_id, workflow::start_run(c, ctx, s));
    BX_ASSIGN_OR_RETURN(out, run_json(c, ctx, run_id, false));
    return ctx.audit(c, "workflow_run", run_id, "{\"workflow_id\":" + json::quote(id) + "}");
  }));
  return out;
}

Result<std::string> workflows_runs(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(auto w, c.query("SELECT 1 FROM workflows WHERE id = ? AND org_id = ?",
                                      {id, ctx.org()}));
  if (w.empty()) return NotFound("workflow " + id + " not found");
  return list_runs(ctx, p, "workflow_id", id);
}

Result<std::string> threads_runs(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "thread_id");
  DbReader c(ctx.db());
  BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", id, "thread_id"));
  return list_runs(ctx, p, "thread_id", id);
}

Result<std::string> workflow_runs_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return run_json(c, ctx, *api::param_str(p, "id"), true);
}

Result<std::string> workflow_runs_cancel(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT status FROM workflow_runs WHERE id = ? AND "
                                        "org_id = ?",
                                        {id, ctx.org()}));
    if (r.empty()) return NotFound("workflow run " + id + " not found");
    std::string status = r[0].str(0);
    if (status != "running" && status != "waiting")
      return Conflict("run " + id + " is " + status + "; only running or waiting runs "
                                "can be cancelled");
    BX_RETURN_IF_ERROR(c.query("UPDATE workflow_runs SET status = 'cancelled', wait_event = NULL, "
                               "updated_at = ?, finished_at = ? WHERE id = ?",
                               {ctx.now(), ctx.now(), id})
                           .status());
    BX_RETURN_IF_ERROR(c.query("INSERT INTO workflow_run_steps (run_id, org_id, action, decision, "
                               "created_at) VALUES (?, ?, 'cancel', ?, ?)",
                               {id, ctx.org(), "cancelled by " + ctx.actor_label(), ctx.now()})
                           .status());
    BX_ASSIGN_OR_RETURN(out, run_json(c, ctx, id, false));
    return ctx.audit(c, "workflow_run", id);
  }));
  return out;
}

Result<std::string> workflow_runs_retry(api::Ctx& ctx, json::Value& p) {
  const std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT status FROM workflow_runs WHERE id = ? AND "
                                        "org_id = ?",
                                        {id, ctx.org()}));
    if (r.empty()) return NotFound("workflow run " + id + " not found");
    if (r[0].str(0) != "failed")
      return Conflict("run " + id + " is " + r[0].str(0) + "; only failed runs can be "
                                "retried");
    // From the step that failed, with a fresh retry budget; the history keeps the failures.
    BX_RETURN_IF_ERROR(c.query("UPDATE workflow_runs SET status = 'running', attempts = 0, "
                               "error = NULL, finished_at = NULL, updated_at = ? WHERE id = ?",
                               {ctx.now(), id})
                           .status());
    BX_RETURN_IF_ERROR(c.query("INSERT INTO workflow_run_steps (run_id, org_id, action, decision, "
                               "created_at) VALUES (?, ?, 'retry', ?, ?)",
                               {id, ctx.org(), "retried by " + ctx.actor_label(), ctx.now()})
                           .status());
    BX_RETURN_IF_ERROR(workflow::enqueue_run(c, ctx, id));
    BX_ASSIGN_OR_RETURN(out, run_json(c, ctx, id, false));
    return ctx.audit(c, "workflow_run", id);
  }));
  return out;
}

}  // namespace banxway::services
