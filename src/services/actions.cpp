#include "services/actions.hpp"

#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kAction[] = {
    {"id", "id", Col::str},
    {"thread_id", "thread_id", Col::str},
    {"message_id", "message_id", Col::str},
    {"type", "type", Col::str},
    {"title", "title", Col::str},
    {"description", "description", Col::str},
    {"assignee_id", "assignee_id", Col::str},
    {"due_at", "due_at", Col::str},
    {"status", "status", Col::str},
    {"created_by", "created_by", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kCreatedCol = 10;

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

Result<std::string> action_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return get_by_id(c, ctx, "actions", kAction, id, "action");
}

}  // namespace

Result<std::string> actions_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  static const std::string base =
      "SELECT " + select_list(kAction) + " FROM actions WHERE org_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org()};
  add_equal_filters(sql, args, p, {"thread_id", "status", "assignee_id"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  return rows_to_list(rows, kAction, limit, next_created_cursor(rows, limit, kCreatedCol));
}

Result<std::string> actions_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return action_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> actions_create(api::Ctx& ctx, json::Value& p) {
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction(
      [&](store::Conn& c) -> Status { return action_create_in(c, ctx, p, &out); }));
  return out;
}

Status action_create_in(store::Conn& c, api::Ctx& ctx, const json::Value& p, std::string* out_json) {
    std::string id = ctx.new_id();
    std::optional<std::string> due;
    if (auto d = json::get_string(p, "due_at")) due = normalized_time(*d);
    std::optional<std::string> thread_id = api::param_str(p, "thread_id");
    auto message_id = api::param_str(p, "message_id");
    auto assignee = api::param_str(p, "assignee_id");
    std::string& out = *out_json;
    if (thread_id) BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", *thread_id, "thread_id"));
    if (message_id) {
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "messages", *message_id, "message_id"));
      // An action born from a message belongs to that message's thread.
      BX_ASSIGN_OR_RETURN(auto m,
                          c.query("SELECT thread_id FROM messages WHERE id = ? AND org_id = ?",
                                  {*message_id, ctx.org()}));
      std::string message_thread = m[0].str(0);
      if (thread_id && *thread_id != message_thread)
        return field_error("message_id", "the message belongs to another thread than thread_id");
      thread_id = message_thread;
    }
    if (assignee) BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", *assignee, "assignee_id"));
    auto r = c.query(
        "INSERT INTO actions (id, org_id, thread_id, message_id, type, title, description, "
        "assignee_id, due_at, status, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
        {id, ctx.org(), thread_id, message_id, api::param_str(p, "type").value_or("task"),
         *api::param_str(p, "title"), api::param_str(p, "description"), assignee, store::Value(due),
         ctx.who().actor_id, ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, action_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "action.created", "action", id, thread_id, out));
    return ctx.audit(c, "action", id);
}

Result<std::string> actions_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(
        auto cur,
        c.query("SELECT thread_id FROM actions WHERE id = ? AND org_id = ?", {id, ctx.org()}));
    if (cur.empty()) return NotFound("action " + id + " not found");
    std::optional<std::string> thread_id = cur[0].opt(0);
    if (auto a = json::get_string(p, "assignee_id"))
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", *a, "assignee_id"));
    std::string sets = "updated_at = ?";
    std::vector<store::Value> args{ctx.now()};
    add_set_fields(sets, args, p, {"title", "description", "status", "assignee_id", "due_at"},
                   {"due_at"});
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    auto r = c.query("UPDATE actions SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, action_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "action.updated", "action", id, thread_id, out));
    return ctx.audit(c, "action", id);
  }));
  return out;
}

}  // namespace banxway::services
