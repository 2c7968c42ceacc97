// Thread operations beyond create/update: assignment, followers, merge, split, bulk status.
// docs/NOTIFICATIONS.md ("Thread operations") describes them.
#include <algorithm>
#include <map>
#include <set>

#include "pipeline/threading.hpp"
#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/threads.hpp"

namespace banxway::services {
namespace {

std::string opt_json(const std::optional<std::string>& s) {
  return s ? json::quote(*s) : std::string("null");
}

// Which user a follow/unfollow is about: the caller by default; someone else needs manager.
Result<std::string> follow_target(api::Ctx& ctx, const json::Value& p) {
  auto user = api::param_str(p, "user_id");
  if (!user) {
    if (ctx.who().user_id.empty())
      return InvalidArgument(
          "user_id: required when the caller is not a user (an API key "
          "without user_id)",
          "{\"field\":\"user_id\"}");
    return ctx.who().user_id;
  }
  if (*user != ctx.who().user_id && ctx.who().role < Role::manager)
    return PermissionDenied("only a manager or admin may change another user's follows");
  return *user;
}

Result<std::string> require_thread(store::Conn& c, api::Ctx& ctx, const std::string& id,
                                   std::optional<std::string>* assignee = nullptr) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT assignee_id, merged_into FROM threads WHERE id = ? "
                                      "AND org_id = ?",
                                      {id, ctx.org()}));
  if (r.empty()) return NotFound("thread " + id + " not found");
  if (assignee) *assignee = r[0].opt(0);
  return r[0].is_null(1) ? std::string() : r[0].str(1);  // merged_into, "" when live
}

// Sets (or clears) the assignee through the one path every assignment takes.
Result<std::string> set_assignee(api::Ctx& ctx, const std::string& id,
                                 const std::optional<std::string>& assignee) {
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    std::optional<std::string> previous;
    BX_ASSIGN_OR_RETURN(std::string merged, require_thread(c, ctx, id, &previous));
    if (!merged.empty())
      return Conflict("thread " + id + " was merged into " + merged +
                      "; assign that thread instead");
    if (assignee) BX_RETURN_IF_ERROR(check_assignee(c, ctx, *assignee));
    if (previous == assignee) {  // nothing changes: no event, no notification
      BX_ASSIGN_OR_RETURN(out, thread_json(c, ctx, id));
      return Status();
    }
    auto r = c.query(
        "UPDATE threads SET assignee_id = ?, updated_at = ?, last_activity_at = ? "
        "WHERE id = ? AND org_id = ?",
        {store::Value(assignee), ctx.now(), ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, thread_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.updated", "thread", id, id, out));
    BX_RETURN_IF_ERROR(assignment_effects(c, ctx, id, assignee, previous, out));
    return ctx.audit(c, "thread", id,
                     "{\"assignee_id\":" + opt_json(assignee) +
                         ",\"previous_assignee_id\":" + opt_json(previous) + "}");
  }));
  return out;
}

Result<std::string> followers_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT f.user_id, u.name, u.email, f.created_at FROM "
                                         "thread_followers f JOIN users u ON u.id = f.user_id "
                                         "WHERE f.org_id = ? AND f.thread_id = ? "
                                         "ORDER BY f.created_at, f.user_id",
                                         {ctx.org(), id}));
  static const ColSpec kFollower[] = {{"user_id", "user_id", Col::str},
                                      {"name", "name", Col::str},
                                      {"email", "email", Col::str},
                                      {"created_at", "followed_at", Col::str}};
  return api::list_result(rows_to_json_array(rows, kFollower, rows.size()), std::nullopt);
}

}  // namespace

Status check_assignee(store::Conn& c, api::Ctx& ctx, const std::string& user_id) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT active FROM users WHERE id = ? AND org_id = ?",
                                      {user_id, ctx.org()}));
  if (r.empty())
    return Status(Code::not_found, "assignee_id: no such user (" + user_id + ")",
                  "{\"field\":\"assignee_id\"}");
  if (r[0].int64(0) == 0)
    return InvalidArgument("assignee_id: user " + user_id + " is deactivated",
                           "{\"field\":\"assignee_id\"}");
  return Status();
}

Status assignment_effects(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                          const std::optional<std::string>& assignee,
                          const std::optional<std::string>& previous,
                          const std::string& thread_json_text) {
  // The thread's JSON (it carries assignee_id) with previous_assignee_id added.
  std::string data = thread_json_text;
  if (!data.empty() && data.back() == '}') {
    data.pop_back();
    data += ",\"previous_assignee_id\":" + opt_json(previous) + "}";
  }
  BX_RETURN_IF_ERROR(ctx.event(c, "thread.assigned", "thread", thread_id, thread_id, data));
  if (!assignee) return Status();
  BX_RETURN_IF_ERROR(add_follower(c, ctx, thread_id, *assignee).status());
  return notify_assigned(c, ctx, thread_id, *assignee);
}

Result<bool> add_follower(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                          const std::string& user_id) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("INSERT INTO thread_followers (org_id, thread_id, user_id, "
                                      "created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING "
                                      "RETURNING user_id",
                                      {ctx.org(), thread_id, user_id, ctx.now()}));
  return !r.empty();
}

Result<std::string> threads_assign(api::Ctx& ctx, json::Value& p) {
  return set_assignee(ctx, *api::param_str(p, "id"), api::param_str(p, "assignee_id"));
}

Result<std::string> threads_unassign(api::Ctx& ctx, json::Value& p) {
  return set_assignee(ctx, *api::param_str(p, "id"), std::nullopt);
}

Result<std::string> threads_follow(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_ASSIGN_OR_RETURN(std::string user, follow_target(ctx, p));
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string merged, require_thread(c, ctx, id));
    if (!merged.empty())
      return Conflict("thread " + id + " was merged into " + merged +
                      "; follow that thread instead");
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", user, "user_id"));
    BX_ASSIGN_OR_RETURN(bool added, add_follower(c, ctx, id, user));
    std::string data = "{\"thread_id\":" + json::quote(id) + ",\"user_id\":" + json::quote(user) +
                       ",\"following\":true}";
    out = data;
    if (!added) return Status();  // following already: nothing written
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.followed", "thread", id, id, data));
    return ctx.audit(c, "thread", id, data);
  }));
  return out;
}

Result<std::string> threads_unfollow(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_ASSIGN_OR_RETURN(std::string user, follow_target(ctx, p));
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_thread(c, ctx, id).status());
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", user, "user_id"));
    BX_ASSIGN_OR_RETURN(auto r, c.query("DELETE FROM thread_followers WHERE org_id = ? AND "
                                        "thread_id = ? AND user_id = ? RETURNING user_id",
                                        {ctx.org(), id, user}));
    std::string data = "{\"thread_id\":" + json::quote(id) + ",\"user_id\":" + json::quote(user) +
                       ",\"following\":false}";
    out = data;
    if (r.empty()) return Status();
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.unfollowed", "thread", id, id, data));
    return ctx.audit(c, "thread", id, data);
  }));
  return out;
}

Result<std::string> threads_followers(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  DbReader reader(ctx.db());
  BX_RETURN_IF_ERROR(require_thread(reader, ctx, id).status());
  return followers_json(reader, ctx, id);
}

Result<std::string> threads_merge(api::Ctx& ctx, json::Value& p) {
  std::string target = *api::param_str(p, "id");
  std::string source = *api::param_str(p, "source_id");
  if (target == source)
    return InvalidArgument("source_id: a thread cannot be merged into itself",
                           "{\"field\":\"source_id\"}");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string t_merged, require_thread(c, ctx, target));
    BX_ASSIGN_OR_RETURN(auto s, c.query("SELECT merged_into, system_kind FROM threads WHERE id = ? "
                                        "AND org_id = ?",
                                        {source, ctx.org()}));
    if (s.empty())
      return Status(Code::not_found, "source_id: no such thread (" + source + ")",
                    "{\"field\":\"source_id\"}");
    BX_ASSIGN_OR_RETURN(auto sys, c.query("SELECT COUNT(*) FROM threads WHERE org_id = ? AND id IN "
                                          "(?, ?) AND system_kind IS NOT NULL",
                                          {ctx.org(), target, source}));
    if (sys[0].int64(0) > 0)
      return InvalidArgument("the system's own threads (notification emails) cannot be merged");
    if (!t_merged.empty())
      return Conflict("thread " + target + " was merged into " + t_merged +
                      "; merge into that thread instead");
    if (!s[0].is_null(0))
      return Conflict("source thread " + source + " was merged already (into " + s[0].str(0) + ")");
    BX_RETURN_IF_ERROR(pipeline::merge_threads(c, ctx, target, {source}));
    BX_ASSIGN_OR_RETURN(out, thread_json(c, ctx, target));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.updated", "thread", target, target, out));
    return ctx.audit(c, "thread", target, "{\"merged_thread_id\":" + json::quote(source) + "}");
  }));
  return out;
}

const char* const kSplitMoveRefsSql =
    "UPDATE message_refs SET thread_id = ? WHERE org_id = ? AND thread_id = ? AND message_id = ?";
const char* const kSplitMoveActionsSql =
    "UPDATE actions SET thread_id = ? WHERE org_id = ? AND thread_id = ? AND message_id = ?";
const char* const kSplitMoveNotificationsSql =
    "UPDATE notifications SET thread_id = ? WHERE org_id = ? AND message_id = ?";

Result<std::string> threads_split(api::Ctx& ctx, json::Value& p) {
  std::string message_id = *api::param_str(p, "message_id");
  bool later = json::get_bool(p, "include_later").value_or(false);
  std::string new_id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto m, c.query("SELECT thread_id, created_at FROM messages WHERE id = ? "
                                        "AND org_id = ?",
                                        {message_id, ctx.org()}));
    if (m.empty()) return NotFound("message " + message_id + " not found");
    std::string source = m[0].str(0);
    std::string created = m[0].str(1);
    // The messages that move, oldest first.
    std::string moving_sql =
        "SELECT id, channel FROM messages WHERE org_id = ? AND thread_id = ? AND ";
    std::vector<store::Value> args{ctx.org(), source};
    if (later) {
      moving_sql += "(id = ? OR (created_at, id) > (?, ?))";
      args.emplace_back(message_id);
      args.emplace_back(created);
      args.emplace_back(message_id);
    } else {
      moving_sql += "id = ?";
      args.emplace_back(message_id);
    }
    BX_ASSIGN_OR_RETURN(auto moving, c.query(moving_sql + " ORDER BY created_at, id", args));
    BX_ASSIGN_OR_RETURN(auto total, c.query("SELECT COUNT(*) FROM messages WHERE org_id = ? AND "
                                            "thread_id = ?",
                                            {ctx.org(), source}));
    if (static_cast<int64_t>(moving.size()) >= total[0].int64(0))
      return Conflict("splitting would leave thread " + source +
                      " without messages; nothing to split off");
    BX_ASSIGN_OR_RETURN(auto src, c.query("SELECT subject, priority, customer_id, contact_id FROM "
                                          "threads WHERE id = ? AND org_id = ?",
                                          {source, ctx.org()}));
    std::string subject = api::param_str(p, "subject").value_or(src[0].str(0));
    std::set<std::string> channels;
    for (const auto& row : moving)
      if (row.text(1) != "note") channels.insert(row.str(1));
    std::string cj = "[";
    for (const auto& ch : channels) cj += (cj.size() > 1 ? "," : "") + json::quote(ch);
    cj += "]";
    auto r = c.query(
        "INSERT INTO threads (id, org_id, subject, subject_key, status, priority, customer_id, "
        "contact_id, channels, tags, last_activity_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, '[]', ?, ?, ?)",
        {new_id, ctx.org(), subject.substr(0, 998), pipeline::normalize_subject(subject),
         src[0].str(1), store::Value(src[0].opt(2)), store::Value(src[0].opt(3)), cj, ctx.now(),
         ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    for (const auto& row : moving) {
      std::string mid = row.str(0);
      for (const char* sql : {
               "UPDATE messages SET thread_id = ? WHERE org_id = ? AND id = ?",
               kSplitMoveNotificationsSql,
           }) {
        auto u = c.query(sql, {new_id, ctx.org(), mid});
        if (!u.ok()) return u.status();
      }
      // A message's references (its own Message-ID, so replies to it follow it into the new
      // thread) and its actions are in its thread: ingest and actions.create put them there,
      // and merges and splits move them with it. Naming the thread lets the lookup seek the
      // (org_id, thread_id) index instead of reading every row of the organization.
      for (const char* sql : {kSplitMoveRefsSql, kSplitMoveActionsSql}) {
        auto u = c.query(sql, {new_id, ctx.org(), source, mid});
        if (!u.ok()) return u.status();
      }
    }
    // Whoever followed the conversation follows both halves.
    r = c.query(
        "INSERT INTO thread_followers (org_id, thread_id, user_id, created_at) "
        "SELECT org_id, ?, user_id, ? FROM thread_followers WHERE org_id = ? AND "
        "thread_id = ?",
        {new_id, ctx.now(), ctx.org(), source});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(pipeline::refresh_thread_counters(c, ctx.org(), source, ctx.now()));
    BX_RETURN_IF_ERROR(pipeline::refresh_thread_counters(c, ctx.org(), new_id, ctx.now()));
    r = c.query("UPDATE threads SET unread_count = 0 WHERE id = ? AND org_id = ?",
                {new_id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(std::string nt, thread_json(c, ctx, new_id));
    BX_ASSIGN_OR_RETURN(std::string st, thread_json(c, ctx, source));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.created", "thread", new_id, new_id, nt));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.updated", "thread", source, source, st));
    std::string ids = "[";
    for (const auto& row : moving) ids += (ids.size() > 1 ? "," : "") + json::quote(row.text(0));
    ids += "]";
    out = "{\"thread\":" + nt + ",\"source_thread\":" + st + ",\"moved_message_ids\":" + ids + "}";
    return ctx.audit(c, "thread", new_id,
                     "{\"split_from\":" + json::quote(source) + ",\"message_ids\":" + ids + "}");
  }));
  return out;
}

Result<std::string> threads_bulk_update(api::Ctx& ctx, json::Value& p) {
  std::string status = *api::param_str(p, "status");
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (auto& v : json::get(p, "ids")->GetArray()) {
    std::string id(v.GetString(), v.GetStringLength());
    if (seen.insert(id).second) ids.push_back(id);
  }
  std::string items = "[";
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    std::string in;
    std::vector<store::Value> args{ctx.org()};
    for (const auto& id : ids) {
      in += in.empty() ? "?" : ",?";
      args.emplace_back(id);
    }
    BX_ASSIGN_OR_RETURN(auto found, c.query("SELECT id, status FROM threads WHERE org_id = ? AND "
                                            "merged_into IS NULL AND id IN (" +
                                                in + ")",
                                            args));
    std::map<std::string, std::string> old;
    for (const auto& r : found) old[r.str(0)] = r.str(1);
    for (const auto& id : ids)
      if (!old.count(id))
        return Status(Code::not_found, "ids: no such thread (" + id + "); nothing was changed",
                      "{\"field\":\"ids\"}");
    for (const auto& id : ids) {
      // Leaving snooze clears its wake-up time, as threads.update does.
      auto r = c.query(
          "UPDATE threads SET status = ?, snoozed_until = NULL, updated_at = ?, "
          "last_activity_at = ? WHERE id = ? AND org_id = ?",
          {status, ctx.now(), ctx.now(), id, ctx.org()});
      if (!r.ok()) return r.status();
      BX_ASSIGN_OR_RETURN(std::string tj, thread_json(c, ctx, id));
      BX_RETURN_IF_ERROR(ctx.event(c, "thread.updated", "thread", id, id, tj));
      if (old[id] != status)
        BX_RETURN_IF_ERROR(ctx.event(c, "thread.status_changed", "thread", id, id, tj));
      BX_RETURN_IF_ERROR(ctx.audit(c, "thread", id, "{\"status\":" + json::quote(status) + "}"));
      items += (items.size() > 1 ? "," : "") + tj;
    }
    return Status();
  }));
  return "{\"items\":" + items + "],\"updated\":" + std::to_string(ids.size()) + "}";
}

}  // namespace banxway::services
