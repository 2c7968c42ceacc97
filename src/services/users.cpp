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

}  // namespace

Result<std::string> users_list(api::Ctx& ctx, json::Value& p) {
  return list_by_created(ctx, p, "users", kUser);
}

Result<std::string> users_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return get_by_id(c, ctx, "users", kUser, *api::param_str(p, "id"), "user");
}

Result<std::string> users_create(api::Ctx& ctx, json::Value& p) {
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    auto r = c.query(
        "INSERT INTO users (id, org_id, email, name, role, team, active, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
        {id, ctx.org(), lower(*json::get_string(p, "email")), api::param_str(p, "name"),
         *api::param_str(p, "role"), api::param_str(p, "team"), ctx.now(), ctx.now()});
    if (!r.ok()) {
      if (r.status().code() == Code::already_exists)
        return AlreadyExists("email: a user with this email already exists");
      return r.status();
    }
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "users", kUser, id, "user"));
    BX_RETURN_IF_ERROR(ctx.event(c, "user.created", "user", id, std::nullopt, out));
    return ctx.audit(c, "user", id);
  }));
  return out;
}

Result<std::string> users_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(get_by_id(c, ctx, "users", kUser, id, "user").status());
    std::string sets;
    std::vector<store::Value> args;
    for (const char* f : {"name", "role", "team"}) {
      if (const json::Value* v = json::get(p, f)) {
        sets += std::string(sets.empty() ? "" : ", ") + f + " = ?";
        args.emplace_back(v->IsNull() ? store::Value() : store::Value(v->GetString()));
      }
    }
    if (auto a = json::get_bool(p, "active")) {
      sets += std::string(sets.empty() ? "" : ", ") + "active = ?";
      args.emplace_back(*a);
    }
    if (!sets.empty()) {
      sets += ", updated_at = ?";
      args.emplace_back(ctx.now());
      args.emplace_back(id);
      args.emplace_back(ctx.org());
      auto r = c.query("UPDATE users SET " + sets + " WHERE id = ? AND org_id = ?", args);
      if (!r.ok()) return r.status();
    }
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "users", kUser, id, "user"));
    BX_RETURN_IF_ERROR(ctx.event(c, "user.updated", "user", id, std::nullopt, out));
    return ctx.audit(c, "user", id);
  }));
  return out;
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
