#include "api/context.hpp"

#include <algorithm>

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

Status Ctx::flush_appends(store::Conn& c) {
  constexpr size_t kRowsPerStatement = 64;
  if (!events_.empty()) {
    std::vector<store::EventRow> rows;
    rows.reserve(events_.size());
    for (auto& e : events_) rows.push_back(event_row(e.type, e.subject_type, e.subject_id,
                                                     e.thread_id, e.data));
    events_.clear();
    BX_RETURN_IF_ERROR(store::append_events(c, std::move(rows)));
  }
  for (size_t at = 0; at < audits_.size(); at += kRowsPerStatement) {
    size_t n = std::min(kRowsPerStatement, audits_.size() - at);
    std::vector<store::Value> args;
    args.reserve(n * 9);
    for (size_t i = at; i < at + n; ++i) {
      const auto& a = audits_[i];
      args.emplace_back(a.id);
      args.emplace_back(org());
      args.emplace_back(who_.actor_type);
      args.emplace_back(who_.actor_id);
      args.emplace_back(std::string(op_));
      args.emplace_back(a.target_type);
      args.emplace_back(a.target_id);
      args.emplace_back(a.detail);
      args.emplace_back(now_);
    }
    BX_RETURN_IF_ERROR(c.write_deferred("INSERT INTO audit (id, org_id, actor_type, actor_id, "
                                        "op, target_type, target_id, detail, created_at) VALUES " +
                                            store::value_rows(n, 9),
                                        args));
  }
  audits_.clear();
  return Status();
}

store::EventRow Ctx::event_row(std::string_view type, std::string_view subject_type,
                               std::string_view subject_id,
                               const std::optional<std::string>& thread_id,
                               std::string_view data_json) const {
  store::EventRow r;
  r.org_id = org();
  r.type = type;
  r.subject_type = subject_type;
  r.subject_id = subject_id;
  r.thread_id = thread_id;
  r.payload = data_json;
  r.created_at = now_;
  r.actor = actor_label();
  r.depth = who_.chain_depth;
  return r;
}

Status Ctx::event(store::Conn& c, std::string_view type, std::string_view subject_type,
                  std::string_view subject_id, const std::optional<std::string>& thread_id,
                  std::string_view data_json) {
  if (defer_) {
    events_.push_back({std::string(type), std::string(subject_type), std::string(subject_id),
                       std::string(data_json), thread_id});
    return Status();
  }
  // PostgreSQL: written just before COMMIT (store::Conn).
  return store::append_events(c, {event_row(type, subject_type, subject_id, thread_id, data_json)});
}

Status Ctx::audit(store::Conn& c, std::string_view target_type, std::string_view target_id,
                  std::string_view detail_json) {
  if (defer_) {
    audits_.push_back({new_id(), std::string(target_type), std::string(target_id),
                       std::string(detail_json)});
    return Status();
  }
  return c.write_deferred(
      "INSERT INTO audit (id, org_id, actor_type, actor_id, op, target_type, target_id, detail, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {new_id(), org(), who_.actor_type, who_.actor_id, op_, target_type, target_id, detail_json,
       now_});
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
