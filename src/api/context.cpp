#include "api/context.hpp"

#include "core/crypto.hpp"

namespace banxway::api {

std::string_view permission_name(Permission p) {
  switch (p) {
    case Permission::read: return "read";
    case Permission::write: return "write";
    case Permission::remove: return "delete";
    case Permission::users_admin: return "users.admin";
  }
  return "?";
}

// The permission table. Roles are ordered; each permission names the least role that has it.
bool role_allows(Role r, Permission p) {
  switch (p) {
    case Permission::read: return r >= Role::viewer;
    case Permission::write: return r >= Role::agent;
    case Permission::remove: return r >= Role::manager;
    case Permission::users_admin: return r >= Role::admin;
  }
  return false;
}

Status Ctx::event(store::Conn& c, std::string_view type, std::string_view subject_type,
                  std::string_view subject_id, const std::optional<std::string>& thread_id,
                  std::string_view data_json) {
  if (c.dialect() == store::Dialect::postgres) {
    // Event ids come from a sequence; concurrent transactions could commit them out of order
    // and a reader polling "after id N" would skip the late one. Serializing event writers per
    // organization keeps commit order equal to id order.
    auto lock = c.query("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", {org()});
    if (!lock.ok()) return lock.status();
  }
  auto r = c.query(
      "INSERT INTO events (org_id, type, subject_type, subject_id, thread_id, payload, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      {org(), type, subject_type, subject_id, store::Value(thread_id), data_json, now_});
  if (r.ok()) c.note_event_org(org());
  return r.status();
}

Status Ctx::audit(store::Conn& c, std::string_view target_type, std::string_view target_id,
                  std::string_view detail_json) {
  auto r = c.query(
      "INSERT INTO audit (id, org_id, actor_type, actor_id, op, target_type, target_id, detail, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {new_id(), org(), who_.actor_type, who_.actor_id, op_, target_type, target_id, detail_json,
       now_});
  return r.status();
}

Principal system_principal(const std::string& org_id, const std::string& label) {
  Principal p;
  p.org_id = org_id;
  p.role = Role::admin;
  p.actor_type = "system";
  p.actor_id = label;
  return p;
}

std::string encode_cursor(std::initializer_list<std::string_view> parts) {
  std::string j = "[";
  for (std::string_view p : parts) {
    if (j.size() > 1) j += ',';
    j += json::quote(p);
  }
  j += ']';
  return crypto::base64url_encode(j);
}

Result<std::vector<std::string>> decode_cursor(std::string_view cursor, size_t expected) {
  auto bad = [] {
    return InvalidArgument("cursor: malformed or from another listing; pass next_cursor as given",
                           "{\"field\":\"cursor\"}");
  };
  std::string raw;
  if (cursor.size() > 2048 || !crypto::base64url_decode(cursor, &raw)) return bad();
  json::Document d;
  if (!json::parse(raw, &d, {4, 1024}).ok() || !d.IsArray() || d.Size() != expected) return bad();
  std::vector<std::string> out;
  for (auto& v : d.GetArray()) {
    if (!v.IsString()) return bad();
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

Result<std::vector<std::string>> decode_time_id_cursor(std::string_view cursor) {
  BX_ASSIGN_OR_RETURN(auto parts, decode_cursor(cursor, 2));
  TimePoint t;
  if (!parse_time(parts[0], &t) || !is_uuid(parts[1]))
    return InvalidArgument("cursor: malformed or from another listing; pass next_cursor as given",
                           "{\"field\":\"cursor\"}");
  return parts;
}

int param_limit(const json::Value& params, int def) {
  auto l = json::get_int(params, "limit");
  return l ? static_cast<int>(*l) : def;
}

std::optional<std::string> param_str(const json::Value& params, const char* key) {
  auto s = json::get_string(params, key);
  if (!s) return std::nullopt;
  return std::string(*s);
}

bool param_is_null(const json::Value& params, const char* key) {
  const json::Value* v = json::get(params, key);
  return v && v->IsNull();
}

std::string list_result(const std::string& items, const std::optional<std::string>& next) {
  std::string out;
  out.reserve(items.size() + 64);
  out += "{\"items\":";
  out += items;
  out += ",\"next_cursor\":";
  out += next ? json::quote(*next) : "null";
  out += '}';
  return out;
}

}  // namespace banxway::api
