#include "services/users.hpp"

#include "api/auth.hpp"
#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kUser[] = {
    {"id", "id", Col::str},           {"email", "email", Col::str},
    {"name", "name", Col::str},       {"role", "role", Col::str},
    {"team", "team", Col::str},       {"active", "active", Col::boolean},
    {"created_at", "created_at", Col::str}, {"updated_at", "updated_at", Col::str},
    {"invited_by", "invited_by", Col::str}, {"invited_at", "invited_at", Col::str},
    {"deactivated_at", "deactivated_at", Col::str},
};

// Never the hash: a key is shown once, at creation.
const ColSpec kKey[] = {
    {"id", "id", Col::str},           {"name", "name", Col::str},
    {"role", "role", Col::str},       {"user_id", "user_id", Col::str},
    {"prefix", "prefix", Col::str},   {"created_at", "created_at", Col::str},
    {"last_used_at", "last_used_at", Col::str}, {"revoked_at", "revoked_at", Col::str},
};

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Keyset listing ordered by (created_at, id) ascending: shared by users and API keys.
Result<std::string> list_by_created(api::Ctx& ctx, json::Value& p, const char* table,
                                    std::span<const ColSpec> cols) {
  int limit = api::param_limit(p);
  std::string sql = "SELECT " + select_list(cols) + " FROM " + table + " WHERE org_id = ?";
  std::vector<store::Value> args{ctx.org()};
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/false));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  size_t created = 0;
  for (size_t i = 0; i < cols.size(); ++i)
    if (std::string_view(cols[i].column) == "created_at") created = i;
  return rows_to_list(rows, cols, limit, next_created_cursor(rows, limit, created));
}

// users.create and users.invite: one insert; an invitation also records who invited and when.
Result<std::string> insert_user(api::Ctx& ctx, json::Value& p, bool invite) {
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto r = c.query(
        "INSERT INTO users (id, org_id, email, name, role, team, active, invited_by, invited_at, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        {id, ctx.org(), lower(*json::get_string(p, "email")), api::param_str(p, "name"),
         *api::param_str(p, "role"), api::param_str(p, "team"),
         invite ? store::Value(ctx.who().actor_id) : store::Value(),
         invite ? store::Value(ctx.now()) : store::Value(), ctx.now(), ctx.now()});
    if (!r.ok()) {
      if (r.status().code() == Code::already_exists)
        return AlreadyExists("email: a user with this email already exists");
      return r.status();
    }
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "users", kUser, id, "user"));
    BX_RETURN_IF_ERROR(
        ctx.event(c, invite ? "user.invited" : "user.created", "user", id, std::nullopt, out));
    return ctx.audit(c, "user", id);
  }));
  return out;
}

struct UserState {
  std::string role;
  bool active = false;
};

Result<UserState> user_state(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT role, active FROM users WHERE id = ? AND "
                                         "org_id = ?",
                                         {id, ctx.org()}));
  if (rows.empty()) return NotFound("user " + id + " not found");
  return UserState{rows[0].str(0), rows[0].boolean(1)};
}

// An organization keeps at least one active admin user: a change that would take away the
// last one (demotion or deactivation) is refused. Read inside the writer's transaction (SQLite
// has one writer; on PostgreSQL change_user holds the organization's lock first), so two
// concurrent demotions cannot both pass.
Status keep_an_admin(store::Conn& c, api::Ctx& ctx, const std::string& id,
                     const UserState& before, bool stays_active_admin) {
  if (before.role != "admin" || !before.active || stays_active_admin) return Status();
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT COUNT(*) FROM users WHERE org_id = ? AND "
                                         "role = 'admin' AND active = 1 AND id <> ?",
                                         {ctx.org(), id}));
  if (rows[0].int64(0) == 0)
    return Conflict("id: this user is the organization's last active admin; make another user "
                    "admin first");
  return Status();
}

// Keys tied to a user never outrank the user: lowered to `role` when it drops below theirs.
Status cap_user_keys(store::Conn& c, api::Ctx& ctx, const std::string& id,
                     const std::string& role) {
  Role cap = role_from_name(role).value_or(Role::viewer);
  BX_ASSIGN_OR_RETURN(auto keys, c.query("SELECT id, role FROM api_keys WHERE org_id = ? AND "
                                         "user_id = ? AND revoked_at IS NULL",
                                         {ctx.org(), id}));
  for (const auto& k : keys) {
    if (role_from_name(k.text(1)).value_or(Role::admin) <= cap) continue;
    auto r = c.query("UPDATE api_keys SET role = ? WHERE id = ? AND org_id = ?",
                     {role, k.text(0), ctx.org()});
    if (!r.ok()) return r.status();
  }
  return Status();
}

Status revoke_user_keys(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  auto r = c.query("UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND "
                   "revoked_at IS NULL",
                   {ctx.now(), ctx.org(), id});
  return r.status();
}

}  // namespace

Result<std::string> users_list(api::Ctx& ctx, json::Value& p) {
  return list_by_created(ctx, p, "users", kUser);
}

Result<std::string> users_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return get_by_id(c, ctx, "users", kUser, *api::param_str(p, "id"), "user");
}

Result<std::string> users_create(api::Ctx& ctx, json::Value& p) {
  return insert_user(ctx, p, /*invite=*/false);
}

Result<std::string> users_invite(api::Ctx& ctx, json::Value& p) {
  return insert_user(ctx, p, /*invite=*/true);
}

Result<std::string> users_me(api::Ctx& ctx, json::Value&) {
  if (ctx.who().user_id.empty())
    return InvalidArgument(
        "users.me: this credential is not tied to a user (an organization API key or a system "
        "caller); sign in as a user, or use a key created with user_id");
  DbReader c(ctx.db());
  return get_by_id(c, ctx, "users", kUser, ctx.who().user_id, "user");
}

// The one writer of a user's role and active flag (users.update, users.set_role,
// users.deactivate): the last active admin is kept, nobody deactivates themselves, a
// deactivated user's API keys are revoked, and keys never outrank their user.
struct UserChange {
  std::optional<std::string> role;
  std::optional<bool> active;
  std::vector<std::pair<const char*, store::Value>> other;  // name, team
};

Result<std::string> change_user(api::Ctx& ctx, const std::string& id, const UserChange& ch) {
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    if (c.dialect() == store::Dialect::postgres) {
      // Read committed would let two concurrent demotions each count the other as the admin
      // that stays. The organization's event lock (taken by Ctx::event anyway) serializes them
      // from here, and each statement after it sees the other's commit.
      auto lock = c.query("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", {ctx.org()});
      if (!lock.ok()) return lock.status();
    }
    BX_ASSIGN_OR_RETURN(UserState before, user_state(c, ctx, id));
    std::string role = ch.role.value_or(before.role);
    bool active = ch.active.value_or(before.active);
    if (before.active && !active && id == ctx.who().user_id)
      return Conflict("id: you cannot deactivate yourself; ask another admin");
    BX_RETURN_IF_ERROR(keep_an_admin(c, ctx, id, before, role == "admin" && active));

    std::string sets;
    std::vector<store::Value> args;
    auto set = [&](const char* col, store::Value v) {
      sets += std::string(sets.empty() ? "" : ", ") + col + " = ?";
      args.push_back(std::move(v));
    };
    for (const auto& [col, v] : ch.other) set(col, v);
    if (role != before.role) set("role", role);
    if (active != before.active) {
      set("active", active);
      set("deactivated_at", active ? store::Value() : store::Value(ctx.now()));
    }
    bool changed = !sets.empty();
    if (changed) {
      set("updated_at", ctx.now());
      args.emplace_back(id);
      args.emplace_back(ctx.org());
      auto r = c.query("UPDATE users SET " + sets + " WHERE id = ? AND org_id = ?", args);
      if (!r.ok()) return r.status();
    }
    if (!active && before.active) BX_RETURN_IF_ERROR(revoke_user_keys(c, ctx, id));
    if (role != before.role) BX_RETURN_IF_ERROR(cap_user_keys(c, ctx, id, role));
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "users", kUser, id, "user"));
    if (!changed) return Status();  // nothing to record
    BX_RETURN_IF_ERROR(ctx.event(c, "user.updated", "user", id, std::nullopt, out));
    if (role != before.role)
      BX_RETURN_IF_ERROR(ctx.event(c, "user.role_changed", "user", id, std::nullopt, out));
    if (active != before.active)
      BX_RETURN_IF_ERROR(ctx.event(c, active ? "user.reactivated" : "user.deactivated", "user",
                                   id, std::nullopt, out));
    return ctx.audit(c, "user", id);
  }));
  return out;
}

Result<std::string> users_update(api::Ctx& ctx, json::Value& p) {
  UserChange ch;
  ch.role = api::param_str(p, "role");
  ch.active = json::get_bool(p, "active");
  for (const char* f : {"name", "team"}) {
    if (const json::Value* v = json::get(p, f))
      ch.other.emplace_back(f, v->IsNull() ? store::Value() : store::Value(v->GetString()));
  }
  return change_user(ctx, *api::param_str(p, "id"), ch);
}

Result<std::string> users_set_role(api::Ctx& ctx, json::Value& p) {
  UserChange ch;
  ch.role = api::param_str(p, "role");
  return change_user(ctx, *api::param_str(p, "id"), ch);
}

Result<std::string> users_deactivate(api::Ctx& ctx, json::Value& p) {
  UserChange ch;
  ch.active = false;
  return change_user(ctx, *api::param_str(p, "id"), ch);
}

Result<std::string> apikeys_list(api::Ctx& ctx, json::Value& p) {
  return list_by_created(ctx, p, "api_keys", kKey);
}

Result<std::string> apikeys_create(api::Ctx& ctx, json::Value& p) {
  std::string id = ctx.new_id();
  std::string key = api::generate_api_key();
  std::string role = *api::param_str(p, "role");
  // Nobody mints a key stronger than their own role.
  if (static_cast<int>(role_from_name(role).value_or(Role::admin)) >
      static_cast<int>(ctx.who().role))
    return PermissionDenied("role: cannot create a key with a role above your own");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto user_id = api::param_str(p, "user_id");
    if (user_id) BX_RETURN_IF_ERROR(require_ref(c, ctx, "users", *user_id, "user_id"));
    auto r = c.query(
        "INSERT INTO api_keys (id, org_id, user_id, name, role, prefix, key_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), store::Value(user_id), api::param_str(p, "name"), role, key.substr(0, 12),
         api::api_key_hash(key), ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "api_keys", kKey, id, "API key"));
    BX_RETURN_IF_ERROR(ctx.event(c, "apikey.created", "api_key", id, std::nullopt, out));
    return ctx.audit(c, "api_key", id);
  }));
  // The plaintext key goes back once, next to the stored record.
  out.pop_back();
  out += ",\"key\":" + json::quote(key) + "}";
  return out;
}

Result<std::string> apikeys_revoke(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(get_by_id(c, ctx, "api_keys", kKey, id, "API key").status());
    auto r = c.query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND org_id = ?",
        {ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "api_keys", kKey, id, "API key"));
    BX_RETURN_IF_ERROR(ctx.event(c, "apikey.revoked", "api_key", id, std::nullopt, out));
    return ctx.audit(c, "api_key", id);
  }));
  return out;
}

}  // namespace banxway::services
