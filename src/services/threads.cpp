#include "services/threads.hpp"

#include <algorithm>
#include <set>

#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/sla.hpp"

namespace banxway::services {
namespace {

const ColSpec kThread[] = {
    {"id", "id", Col::str},
    {"subject", "subject", Col::str},
    {"status", "status", Col::str},
    {"priority", "priority", Col::str},
    {"assignee_id", "assignee_id", Col::str},
    {"customer_id", "customer_id", Col::str},
    {"contact_id", "contact_id", Col::str},
    {"channels", "channels", Col::json},
    {"tags", "tags", Col::json},
    {"snoozed_until", "snoozed_until", Col::str},
    {"first_response_due_at", "first_response_due_at", Col::str},
    {"resolution_due_at", "resolution_due_at", Col::str},
    {"last_message_at", "last_message_at", Col::str},
    {"last_activity_at", "last_activity_at", Col::str},
    {"preview", "preview", Col::str},
    {"message_count", "message_count", Col::integer},
    {"unread_count", "unread_count", Col::integer},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
    // WhatsApp: free-form replies allowed until then (24 h after the customer's last message).
    {"can_reply_freely_until", "can_reply_freely_until", Col::str},
};
constexpr size_t kThreadActivityCol = 13;

const ColSpec kMessage[] = {
    {"id", "id", Col::str},
    {"thread_id", "thread_id", Col::str},
    {"channel", "channel", Col::str},
    {"direction", "direction", Col::str},
    {"author_id", "author_id", Col::str},
    {"contact_id", "contact_id", Col::str},
    {"from_addr", "from", Col::json},
    {"to_addrs", "to", Col::json},
    {"cc_addrs", "cc", Col::json},
    {"subject", "subject", Col::str},
    {"body_text", "text", Col::str},
    {"body_html", "html", Col::str},
    {"snippet", "snippet", Col::str},
    {"message_id", "message_id", Col::str},
    {"in_reply_to", "in_reply_to", Col::str},
    {"refs", "references", Col::json},
    {"provider_id", "provider_id", Col::str},
    {"status", "status", Col::str},
    {"analysis", "analysis", Col::json},
    {"sent_at", "sent_at", Col::str},
    {"created_at", "created_at", Col::str},
    // Outbound delivery (the outbox): Bcc, scheduled time, attempts and the last error.
    {"bcc_addrs", "bcc", Col::json},
    {"send_at", "send_at", Col::str},
    {"attempts", "attempts", Col::integer},
    {"error", "error", Col::str},
    {"meta", "meta", Col::json},  // channel details: call outcome, provider codes, ...
};
constexpr size_t kMessageCreatedCol = 20;

const std::string& thread_select() {
  static const std::string s = "SELECT " + select_list(kThread) + " FROM threads";
  return s;
}

// Normalizes a tag list: trimmed, lower-cased, unique, sorted.
std::vector<std::string> normalize_tags(const json::Value* v) {
  std::set<std::string> out;
  if (v && v->IsArray()) {
    for (auto& t : v->GetArray()) {
      std::string s(t.GetString(), t.GetStringLength());
      auto b = s.find_first_not_of(" \t");
      auto e = s.find_last_not_of(" \t");
      if (b == std::string::npos) continue;
      s = s.substr(b, e - b + 1);
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.insert(s);
    }
  }
  return {out.begin(), out.end()};
}

std::string tags_json(const std::vector<std::string>& tags) {
  std::string j = "[";
  for (size_t i = 0; i < tags.size(); ++i) j += (i ? "," : "") + json::quote(tags[i]);
  return j + "]";
}

// Replaces a thread's tag set: tags rows are created on first use; threads.tags keeps a
// denormalized copy so listing needs no join.
Status set_tags(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                const std::vector<std::string>& tags) {
  auto r = c.query("DELETE FROM thread_tags WHERE org_id = ? AND thread_id = ?",
                   {ctx.org(), thread_id});
  if (!r.ok()) return r.status();
  for (const auto& t : tags) {
    r = c.query(
        "INSERT INTO tags (id, org_id, name, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (org_id, name) DO NOTHING",
        {ctx.new_id(), ctx.org(), t, ctx.now()});
    if (!r.ok()) return r.status();
    r = c.query(
        "INSERT INTO thread_tags (org_id, thread_id, tag_id) "
        "SELECT ?, ?, id FROM tags WHERE org_id = ? AND name = ?",
        {ctx.org(), thread_id, ctx.org(), t});
    if (!r.ok()) return r.status();
  }
  r = c.query("UPDATE threads SET tags = ? WHERE id = ? AND org_id = ?",
              {tags_json(tags), thread_id, ctx.org()});
  return r.status();
}

Status check_thread_refs(store::Conn& c, api::Ctx& ctx, const json::Value& p) {
  struct Ref {
    const char* field;
    const char* table;
  };
  for (Ref ref : {Ref{"customer_id", "customers"}, Ref{"contact_id", "contacts"}}) {
    if (auto id = json::get_string(p, ref.field))
      BX_RETURN_IF_ERROR(require_ref(c, ctx, ref.table, *id, ref.field));
  }
  if (auto id = api::param_str(p, "assignee_id")) BX_RETURN_IF_ERROR(check_assignee(c, ctx, *id));
  return Status();
}

}  // namespace

Result<std::string> thread_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  auto r = c.query(thread_select() + " WHERE id = ? AND org_id = ?", {id, ctx.org()});
  if (!r.ok()) return r.status();
  if (r->empty()) return NotFound("thread " + id + " not found");
  return row_to_json(r->rows[0], kThread);
}

Result<std::string> message_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return get_by_id(c, ctx, "messages", kMessage, id, "message");
}

const std::string& thread_columns() {
  static const std::string s = select_list(kThread);
  return s;
}

std::string thread_row_json(const store::Row& row) { return row_to_json(row, kThread); }

const std::string& message_columns() {
  static const std::string s = select_list(kMessage);
  return s;
}

std::string message_row_json(const store::Row& row) { return row_to_json(row, kMessage); }

Result<std::string> threads_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  std::string sql = thread_select();
  // Threads merged into another stay for history but leave the inbox.
  // The system's own threads (notification emails) never show either.
  sql += " WHERE org_id = ? AND merged_into IS NULL AND system_kind IS NULL";
  std::vector<store::Value> args;
  args.reserve(10);
  args.emplace_back(ctx.org());
  for (const char* f : {"status", "priority", "assignee_id", "customer_id", "contact_id"}) {
    if (auto v = json::get_string(p, f)) {
      sql += std::string(" AND ") + f + " = ?";
      args.emplace_back(*v);
    }
  }
  if (auto tag = api::param_str(p, "tag")) {
    std::string t = *tag;
    for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    sql +=
        " AND id IN (SELECT tt.thread_id FROM thread_tags tt JOIN tags g ON g.id = tt.tag_id "
        "WHERE tt.org_id = ? AND g.org_id = ? AND g.name = ?)";
    args.emplace_back(ctx.org());
    args.emplace_back(ctx.org());
    args.emplace_back(t);
  }
  if (auto cur = api::param_str(p, "cursor")) {
    BX_ASSIGN_OR_RETURN(auto parts, api::decode_time_id_cursor(*cur));
    sql += " AND (last_activity_at, id) < (?, ?)";
    args.emplace_back(parts[0]);
    args.emplace_back(parts[1]);
  }
  sql += " ORDER BY last_activity_at DESC, id DESC LIMIT ?";
  args.emplace_back(limit + 1);
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    const auto& last = rows[limit - 1];
    next = api::encode_cursor({last.text(kThreadActivityCol), last.text(0)});
  }
  // Each thread with its "sla" object (services/sla.hpp).
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(rows[i].str(0));
  DbReader reader(ctx.db());
  BX_ASSIGN_OR_RETURN(auto sla, thread_sla_json(reader, ctx.org(), ids));
  std::string items = "[";
  for (size_t i = 0; i < n; ++i) {
    std::string j = row_to_json(rows[i], kThread);
    j.pop_back();  // '}'
    items += (i ? "," : "") + j + ",\"sla\":" + sla[ids[i]] + "}";
  }
  return api::list_result(items + "]", next);
}

Result<std::string> threads_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  std::string id = *api::param_str(p, "id");
  BX_ASSIGN_OR_RETURN(std::string j, thread_json(c, ctx, id));
  BX_ASSIGN_OR_RETURN(auto sla, thread_sla_json(c, ctx.org(), {id}));
  j.pop_back();  // '}'
  return j + ",\"sla\":" + sla[id] + "}";
}

Result<std::string> threads_create(api::Ctx& ctx, json::Value& p) {
  std::string id = ctx.new_id();
  std::string out;
  auto tags = normalize_tags(json::get(p, "tags"));
  std::string channels = "[]";
  if (auto ch = json::get_string(p, "channel")) channels = "[" + json::quote(*ch) + "]";
  std::optional<std::string> snoozed;
  if (auto s = json::get_string(p, "snoozed_until")) snoozed = normalized_time(*s);
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(check_thread_refs(c, ctx, p));
    auto r = c.query(
        "INSERT INTO threads (id, org_id, subject, status, priority, assignee_id, customer_id, "
        "contact_id, channels, tags, snoozed_until, last_activity_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)",
        {id, ctx.org(), api::param_str(p, "subject"),
         api::param_str(p, "status").value_or(snoozed ? "snoozed" : "open"),
         api::param_str(p, "priority").value_or("normal"), api::param_str(p, "assignee_id"),
         api::param_str(p, "customer_id"), api::param_str(p, "contact_id"), channels,
         store::Value(snoozed), ctx.now(), ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
    if (!tags.empty()) BX_RETURN_IF_ERROR(set_tags(c, ctx, id, tags));
    BX_ASSIGN_OR_RETURN(out, thread_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.created", "thread", id, id, out));
    if (auto a = api::param_str(p, "assignee_id"))
      BX_RETURN_IF_ERROR(assignment_effects(c, ctx, id, a, std::nullopt, out));
    return ctx.audit(c, "thread", id);
  }));
  return out;
}

Status thread_update_in(store::Conn& c, api::Ctx& ctx, const json::Value& p, std::string* out_json) {
    const std::string id = *api::param_str(p, "id");
    std::string& out = *out_json;
    auto cur = c.query("SELECT status, assignee_id, priority, subject, customer_id, contact_id, "
                       "tags FROM threads WHERE id = ? AND org_id = ?",
                       {id, ctx.org()});
    if (!cur.ok()) return cur.status();
    if (cur->empty()) return NotFound("thread " + id + " not found");
    std::string old_status = cur->rows[0].str(0);
    std::optional<std::string> old_assignee = cur->rows[0].opt(1);
    BX_RETURN_IF_ERROR(check_thread_refs(c, ctx, p));

    std::string sets;
    std::vector<store::Value> args;
    auto set = [&](const char* col, store::Value v) {
      sets += std::string(sets.empty() ? "" : ", ") + col + " = ?";
      args.push_back(std::move(v));
    };
    for (const char* f : {"subject", "priority", "assignee_id", "customer_id", "contact_id"}) {
      if (const json::Value* v = json::get(p, f))
        set(f, v->IsNull() ? store::Value() : store::Value(v->GetString()));
    }
    std::optional<std::string> new_status = api::param_str(p, "status");
    if (const json::Value* v = json::get(p, "snoozed_until")) {
      if (v->IsNull()) {
        set("snoozed_until", store::Value());
        if (!new_status && old_status == "snoozed") new_status = "open";
      } else {
        set("snoozed_until", normalized_time(v->GetString()));
        if (!new_status) new_status = "snoozed";
      }
    } else if (new_status && *new_status != "snoozed" && old_status == "snoozed") {
      set("snoozed_until", store::Value());  // leaving snooze clears its wake-up time
    }
    if (new_status) set("status", *new_status);
    set("updated_at", ctx.now());
    set("last_activity_at", ctx.now());
    args.emplace_back(id);
    args.emplace_back(ctx.org());
    // The row as updated comes back with the UPDATE (no read after it), unless the tags change
    // too: they are written after it.
    const bool tags = json::get(p, "tags") != nullptr;
    auto r = c.query("UPDATE threads SET " + sets + " WHERE id = ? AND org_id = ?" +
                         (tags ? std::string() : " RETURNING " + thread_columns()),
                     args);
    if (!r.ok()) return r.status();
    if (tags) {
      BX_RETURN_IF_ERROR(set_tags(c, ctx, id, normalize_tags(json::get(p, "tags"))));
      BX_ASSIGN_OR_RETURN(out, thread_json(c, ctx, id));
    } else {
      if (r->empty()) return NotFound("thread " + id + " not found");
      out = thread_row_json(r->rows[0]);
    }
    // The event says what changed, from what to what (workflow conditions changed_from/_to).
    std::string changes;
    {
      json::Document now_doc;
      if (!json::parse(out, &now_doc).ok() || !now_doc.IsObject()) return Internal("thread json");
      const char* cols[] = {"status", "assignee_id", "priority", "subject", "customer_id",
                            "contact_id", "tags"};
      for (size_t i = 0; i < 7; ++i) {
        const json::Value* nv = json::get(now_doc, cols[i]);
        std::string now_text = nv ? (nv->IsString() ? std::string(nv->GetString()) : json::stringify(*nv)) : "";
        const bool was_null = cur->rows[0].is_null(i);
        std::string old_text = cur->rows[0].str(i);
        if (i == 6) {  // tags: compare as compact JSON (PostgreSQL's jsonb text has blanks)
          json::Document od;
          if (json::parse(old_text, &od).ok()) old_text = json::stringify(od);
        }
        const bool now_null = !nv || nv->IsNull();
        if (was_null == now_null && old_text == now_text) continue;
        std::string from = was_null ? "null" : (i == 6 ? old_text : json::quote(old_text));
        std::string to = nv ? json::stringify(*nv) : "null";
        changes += std::string(changes.empty() ? "" : ",") + json::quote(cols[i]) +
                   ":{\"from\":" + from + ",\"to\":" + to + "}";
      }
    }
    std::string data = out;
    if (!changes.empty() && data.size() > 1 && data.back() == '}')
      data = data.substr(0, data.size() - 1) + ",\"changes\":{" + changes + "}}";
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.updated", "thread", id, id, data));
    if (new_status && *new_status != old_status)
      BX_RETURN_IF_ERROR(ctx.event(c, "thread.status_changed", "thread", id, id, data));
    if (const json::Value* a = json::get(p, "assignee_id")) {
      std::optional<std::string> na;
      if (a->IsString()) na = a->GetString();
      if (na != old_assignee)
        BX_RETURN_IF_ERROR(assignment_effects(c, ctx, id, na, old_assignee, out));
    }
    return ctx.audit(c, "thread", id);
}

Result<std::string> threads_update(api::Ctx& ctx, json::Value& p) {
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction(
      [&](store::Conn& c) -> Status { return thread_update_in(c, ctx, p, &out); }));
  return out;
}

Result<std::string> messages_list(api::Ctx& ctx, json::Value& p) {
  std::string thread_id = *api::param_str(p, "thread_id");
  int limit = api::param_limit(p);
  DbReader reader(ctx.db());
  BX_RETURN_IF_ERROR(require_ref(reader, ctx, "threads", thread_id, "thread_id"));
  static const std::string base =
      "SELECT " + select_list(kMessage) + " FROM messages WHERE org_id = ? AND thread_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org(), thread_id};
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/false));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  std::optional<std::string> next = next_created_cursor(rows, limit, kMessageCreatedCol);
  return rows_to_list(rows, kMessage, limit, next);
}

Result<std::string> messages_create_note(api::Ctx& ctx, json::Value& p) {
  std::string thread_id = *api::param_str(p, "thread_id");
  std::string text = *api::param_str(p, "text");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    return note_create_in(c, ctx, thread_id, text, &out);
  }));
  return out;
}

Status note_create_in(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                      const std::string& text, std::string* out_json) {
    std::string id = ctx.new_id();
    std::string snippet = snippet_of(text);
    std::string& out = *out_json;
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", thread_id, "thread_id"));
    std::optional<std::string> author;
    if (!ctx.who().user_id.empty()) author = ctx.who().user_id;
    auto r = c.query(
        "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, body_text, "
        "snippet, created_at) VALUES (?, ?, ?, 'note', 'internal', ?, ?, ?, ?)",
        {id, ctx.org(), thread_id, store::Value(author), text, snippet, ctx.now()});
    if (!r.ok()) return r.status();
    r = c.query("UPDATE threads SET last_activity_at = ?, updated_at = ? WHERE id = ? AND org_id = ?",
                {ctx.now(), ctx.now(), thread_id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "messages", kMessage, id, "message"));
    BX_RETURN_IF_ERROR(ctx.event(c, "note.created", "message", id, thread_id, out));
    // The author follows the thread from now on; users named with @name hear about the note.
    if (author) BX_RETURN_IF_ERROR(add_follower(c, ctx, thread_id, *author).status());
    BX_RETURN_IF_ERROR(notify_mentions(c, ctx, thread_id, id, text).status());
    return ctx.audit(c, "message", id);
}

}  // namespace banxway::services
