#include "services/notifications.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "channels/email/account.hpp"
#include "channels/email/mime_builder.hpp"
#include "pipeline/threading.hpp"
#include "services/common.hpp"
#include "services/outbox.hpp"
#include "services/threads.hpp"

namespace banxway::services {
namespace {

const ColSpec kNotification[] = {
    {"id", "id", Col::str},
    {"user_id", "user_id", Col::str},
    {"kind", "kind", Col::str},
    {"thread_id", "thread_id", Col::str},
    {"message_id", "message_id", Col::str},
    {"actor", "actor", Col::str},
    {"title", "title", Col::str},
    {"body", "body", Col::str},
    {"data", "data", Col::json},
    {"read_at", "read_at", Col::str},
    {"created_at", "created_at", Col::str},
    {"email_status", "email_status", Col::str},
};
constexpr size_t kNotificationCreatedCol = 10;

constexpr const char* kKinds[] = {"assigned", "mention", "reply", "sla"};

struct Pref {
  bool in_app = true;
  std::string email = "never";
};

Result<Pref> load_pref(store::Conn& c, const std::string& org, const std::string& user,
                       std::string_view kind) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT in_app, email FROM notification_prefs WHERE "
                                      "org_id = ? AND user_id = ? AND kind = ?",
                                      {org, user, kind}));
  Pref p;
  if (!r.empty()) {
    p.in_app = r[0].int64(0) != 0;
    p.email = r[0].str(1);
  }
  return p;
}

// The caller's user id: notifications belong to users, so API keys without one cannot use them.
Result<std::string> caller_user(api::Ctx& ctx) {
  if (ctx.who().user_id.empty())
    return PermissionDenied(
        "notifications belong to a user: call with a user's token or an API key created with "
        "user_id (this credential has no user)");
  return ctx.who().user_id;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}

bool mention_char(unsigned char ch) {
  return std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch >= 0x80;
}

// A short label for the actor: the user's name or email, else the principal's label.
Result<std::string> actor_label(store::Conn& c, api::Ctx& ctx) {
  if (!ctx.who().user_id.empty()) {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT name, email FROM users WHERE id = ? AND org_id = ?",
                                        {ctx.who().user_id, ctx.org()}));
    if (!r.empty()) return r[0].is_null(0) || r[0].text(0).empty() ? r[0].str(1) : r[0].str(0);
  }
  if (ctx.who().actor_type == "api_key") return std::string("an API key");
  return ctx.who().actor_type == "system" ? std::string("banxway") : ctx.who().actor_id;
}

Result<std::string> thread_subject(store::Conn& c, api::Ctx& ctx, const std::string& thread_id) {
  BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT subject FROM threads WHERE id = ? AND org_id = ?",
                                      {thread_id, ctx.org()}));
  if (r.empty() || r[0].is_null(0) || r[0].text(0).empty()) return std::string("(no subject)");
  return r[0].str(0);
}

std::string notification_data(std::string_view thread_subject_text) {
  return "{\"thread_subject\":" + json::quote(thread_subject_text) + "}";
}

}  // namespace

// ---- creation ----------------------------------------------------------------------------------

Result<std::optional<std::string>> create_notification(store::Conn& c, api::Ctx& ctx,
                                                       const NewNotification& n) {
  if (!ctx.who().user_id.empty() && ctx.who().user_id == n.user_id)
    return std::optional<std::string>();  // nobody is told about what they did themselves
  BX_ASSIGN_OR_RETURN(auto user, c.query("SELECT active FROM users WHERE id = ? AND org_id = ?",
                                         {n.user_id, ctx.org()}));
  if (user.empty() || user[0].int64(0) == 0) return std::optional<std::string>();
  BX_ASSIGN_OR_RETURN(Pref pref, load_pref(c, ctx.org(), n.user_id, n.kind));
  bool email = pref.email != "never";
  if (!pref.in_app && !email) return std::optional<std::string>();

  std::string id = ctx.new_id();
  std::string actor = ctx.who().actor_type + ":" + ctx.who().actor_id;
  // Not shown in the app: stored read, so it never counts as unread (it exists for the email).
  std::optional<std::string> read_at;
  if (!pref.in_app) read_at = ctx.now();
  auto r = c.query(
      "INSERT INTO notifications (id, org_id, user_id, kind, thread_id, message_id, actor, title, "
      "body, data, read_at, created_at, email_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)",
      {id, ctx.org(), n.user_id, n.kind, store::Value(n.thread_id), store::Value(n.message_id),
       actor, snippet_of(n.title), store::Value(n.body), n.data_json, store::Value(read_at),
       ctx.now(), email ? store::Value("pending") : store::Value()});
  if (!r.ok()) return r.status();
  if (email) {
    runtime::JobSpec job;
    job.kind = std::string(kNotificationEmailJob);
    job.payload_json = "{\"notification_id\":" + json::quote(id) + "}";
    job.run_at = ctx.core().clock->now() + kNotificationEmailDelay;
    job.unique_key = std::string(kNotificationEmailJob) + ":" + id;
    job.max_attempts = 5;
    BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, job).status());
  }
  BX_ASSIGN_OR_RETURN(std::string nj,
                      get_by_id(c, ctx, "notifications", kNotification, id, "notification"));
  // No thread_id on the event: a notification is for its user's room only, never the thread's.
  std::string data = "{\"user_id\":" + json::quote(n.user_id) + ",\"notification\":" + nj + "}";
  BX_RETURN_IF_ERROR(ctx.event(c, "notification.created", "notification", id, std::nullopt, data));
  return std::optional<std::string>(id);
}

Status notify_assigned(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                       const std::string& assignee_id) {
  BX_ASSIGN_OR_RETURN(std::string subject, thread_subject(c, ctx, thread_id));
  BX_ASSIGN_OR_RETURN(std::string by, actor_label(c, ctx));
  NewNotification n;
  n.user_id = assignee_id;
  n.kind = "assigned";
  n.thread_id = thread_id;
  n.title = "Assigned to you: " + subject;
  n.body = "by " + by;
  n.data_json = notification_data(subject);
  return create_notification(c, ctx, n).status();
}

std::vector<std::string> mentioned_users(std::string_view text, const store::Rows& users) {
  std::set<std::string> tokens;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '@') continue;
    // "@" starts a mention only at the start or after a non-name character: never the "@" of
    // an email address written in the text.
    if (i > 0 && mention_char(static_cast<unsigned char>(text[i - 1]))) continue;
    size_t j = i + 1;
    while (j < text.size() && mention_char(static_cast<unsigned char>(text[j]))) ++j;
    std::string_view tok = text.substr(i + 1, j - i - 1);
    while (!tok.empty() && (tok.back() == '.' || tok.back() == '-' || tok.back() == '_'))
      tok.remove_suffix(1);  // "@ravi." at the end of a sentence
    if (!tok.empty()) tokens.insert(lower(tok));
    i = j - 1;
  }
  std::vector<std::string> out;
  if (tokens.empty()) return out;
  for (const auto& u : users) {
    std::set<std::string> names;
    std::string email = lower(u.text(2));
    names.insert(email.substr(0, email.find('@')));
    if (!u.is_null(1)) {
      std::string name = lower(u.text(1));
      std::string joined, dotted, first;
      bool first_done = false;
      for (char ch : name) {
        if (ch == ' ' || ch == '\t') {
          if (!dotted.empty() && dotted.back() != '.') dotted.push_back('.');
          first_done = !first.empty();
          continue;
        }
        joined.push_back(ch);
        dotted.push_back(ch);
        if (!first_done) first.push_back(ch);
      }
      for (const auto& n : {joined, dotted, first})
        if (!n.empty()) names.insert(n);
    }
    for (const auto& n : names) {
      if (tokens.count(n)) {
        out.push_back(u.str(0));
        break;
      }
    }
  }
  return out;
}

Result<std::vector<std::string>> notify_mentions(store::Conn& c, api::Ctx& ctx,
                                                 const std::string& thread_id,
                                                 const std::string& message_id,
                                                 std::string_view text) {
  std::vector<std::string> out;
  if (text.find('@') == std::string_view::npos) return out;
  BX_ASSIGN_OR_RETURN(auto users, c.query("SELECT id, name, email FROM users WHERE org_id = ? AND "
                                          "active = 1 ORDER BY created_at, id",
                                          {ctx.org()}));
  out = mentioned_users(text, users);
  if (out.empty()) return out;
  BX_ASSIGN_OR_RETURN(std::string subject, thread_subject(c, ctx, thread_id));
  BX_ASSIGN_OR_RETURN(std::string by, actor_label(c, ctx));
  for (const auto& user : out) {
    NewNotification n;
    n.user_id = user;
    n.kind = "mention";
    n.thread_id = thread_id;
    n.message_id = message_id;
    n.title = by + " mentioned you in " + subject;
    n.body = snippet_of(text);
    n.data_json = notification_data(subject);
    BX_RETURN_IF_ERROR(create_notification(c, ctx, n).status());
  }
  return out;
}

Status notify_followers(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                        const std::string& message_id) {
  BX_ASSIGN_OR_RETURN(auto followers, c.query("SELECT user_id FROM thread_followers WHERE "
                                              "org_id = ? AND thread_id = ?",
                                              {ctx.org(), thread_id}));
  if (followers.empty()) return Status();
  BX_ASSIGN_OR_RETURN(auto m, c.query("SELECT snippet, from_addr FROM messages WHERE id = ? AND "
                                      "org_id = ?",
                                      {message_id, ctx.org()}));
  BX_ASSIGN_OR_RETURN(std::string subject, thread_subject(c, ctx, thread_id));
  std::optional<std::string> body;
  if (!m.empty() && !m[0].is_null(0)) body = m[0].str(0);
  for (const auto& f : followers) {
    NewNotification n;
    n.user_id = f.str(0);
    n.kind = "reply";
    n.thread_id = thread_id;
    n.message_id = message_id;
    n.title = "New reply in " + subject;
    n.body = body;
    n.data_json = notification_data(subject);
    BX_RETURN_IF_ERROR(create_notification(c, ctx, n).status());
  }
  return Status();
}

Status notify_sla(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                  const std::string& user_id, std::string_view what, const std::string& due_at) {
  BX_ASSIGN_OR_RETURN(std::string subject, thread_subject(c, ctx, thread_id));
  NewNotification n;
  n.user_id = user_id;
  n.kind = "sla";
  n.thread_id = thread_id;
  n.title = "SLA " + std::string(what) + ": " + subject;
  n.body = "due " + due_at;
  n.data_json = "{\"thread_subject\":" + json::quote(subject) + ",\"sla\":" + json::quote(what) +
                ",\"due_at\":" + json::quote(due_at) + "}";
  return create_notification(c, ctx, n).status();
}

// ---- operations --------------------------------------------------------------------------------

Result<std::string> notifications_list(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(std::string user, caller_user(ctx));
  int limit = api::param_limit(p);
  static const std::string base = "SELECT " + select_list(kNotification) +
                                  " FROM notifications WHERE org_id = ? AND user_id = ?";
  std::string sql = base;
  std::vector<store::Value> args{ctx.org(), user};
  if (json::get_bool(p, "unread_only").value_or(false)) sql += " AND read_at IS NULL";
  if (auto k = json::get_string(p, "kind")) {
    sql += " AND kind = ?";
    args.emplace_back(*k);
  }
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  return rows_to_list(rows, kNotification, limit,
                      next_created_cursor(rows, limit, kNotificationCreatedCol));
}

Result<std::string> notifications_mark_read(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(std::string user, caller_user(ctx));
  auto id = api::param_str(p, "id");
  bool all = json::get_bool(p, "all").value_or(false);
  if (id && all) return InvalidArgument("give id or all, not both", "{\"field\":\"all\"}");
  if (!id && !all)
    return InvalidArgument("id: required (or \"all\": true to mark every notification read)",
                           "{\"field\":\"id\"}");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    if (id) {
      // Another user's notification is reported exactly like a missing one.
      BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT read_at FROM notifications WHERE id = ? AND "
                                          "org_id = ? AND user_id = ?",
                                          {*id, ctx.org(), user}));
      if (r.empty()) return NotFound("notification " + *id + " not found");
      if (r[0].is_null(0)) {
        auto u = c.query("UPDATE notifications SET read_at = ? WHERE id = ? AND org_id = ?",
                         {ctx.now(), *id, ctx.org()});
        if (!u.ok()) return u.status();
      }
      BX_ASSIGN_OR_RETURN(out,
                          get_by_id(c, ctx, "notifications", kNotification, *id, "notification"));
      BX_RETURN_IF_ERROR(
          ctx.event(c, "notification.read", "notification", *id, std::nullopt,
                    "{\"user_id\":" + json::quote(user) + ",\"ids\":[" + json::quote(*id) + "]}"));
      return ctx.audit(c, "notification", *id);
    }
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT COUNT(*) FROM notifications WHERE org_id = ? AND "
                                        "user_id = ? AND read_at IS NULL",
                                        {ctx.org(), user}));
    int64_t n = r.empty() ? 0 : r[0].int64(0);
    auto u = c.query(
        "UPDATE notifications SET read_at = ? WHERE org_id = ? AND user_id = ? AND "
        "read_at IS NULL",
        {ctx.now(), ctx.org(), user});
    if (!u.ok()) return u.status();
    out = "{\"marked\":" + std::to_string(n) + ",\"unread_count\":0}";
    BX_RETURN_IF_ERROR(ctx.event(c, "notification.read", "user", user, std::nullopt,
                                 "{\"user_id\":" + json::quote(user) + ",\"all\":true}"));
    return ctx.audit(c, "user", user, "{\"all\":true}");
  }));
  return out;
}

Result<std::string> notifications_mark_all_read(api::Ctx& ctx, json::Value&) {
  json::Document all;
  all.SetObject();
  all.AddMember("all", true, all.GetAllocator());
  return notifications_mark_read(ctx, all);
}

Result<std::string> notifications_unread_count(api::Ctx& ctx, json::Value&) {
  BX_ASSIGN_OR_RETURN(std::string user, caller_user(ctx));
  BX_ASSIGN_OR_RETURN(auto r, ctx.db().query("SELECT COUNT(*) FROM notifications WHERE org_id = ? "
                                             "AND user_id = ? AND read_at IS NULL",
                                             {ctx.org(), user}));
  return "{\"unread_count\":" + std::to_string(r.empty() ? 0 : r[0].int64(0)) + "}";
}

namespace {
Result<std::string> prefs_json(store::Conn& c, api::Ctx& ctx, const std::string& user) {
  std::string out = "{\"items\":[";
  bool first = true;
  for (const char* kind : kKinds) {
    BX_ASSIGN_OR_RETURN(Pref p, load_pref(c, ctx.org(), user, kind));
    out += first ? "" : ",";
    first = false;
    out += "{\"kind\":" + json::quote(kind) + ",\"in_app\":" + (p.in_app ? "true" : "false") +
           ",\"email\":" + json::quote(p.email) + "}";
  }
  return out + "]}";
}
}  // namespace

Result<std::string> notifications_prefs_get(api::Ctx& ctx, json::Value&) {
  BX_ASSIGN_OR_RETURN(std::string user, caller_user(ctx));
  DbReader reader(ctx.db());
  return prefs_json(reader, ctx, user);
}

Result<std::string> notifications_prefs_update(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(std::string user, caller_user(ctx));
  std::string kind = *api::param_str(p, "kind");
  auto in_app = json::get_bool(p, "in_app");
  auto email = api::param_str(p, "email");
  if (!in_app && !email)
    return InvalidArgument("give in_app and/or email to change", "{\"field\":\"in_app\"}");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(Pref cur, load_pref(c, ctx.org(), user, kind));
    if (in_app) cur.in_app = *in_app;
    if (email) cur.email = *email;
    auto r = c.query(
        "INSERT INTO notification_prefs (org_id, user_id, kind, in_app, email, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, user_id, kind) DO UPDATE SET "
        "in_app = excluded.in_app, email = excluded.email, updated_at = excluded.updated_at",
        {ctx.org(), user, kind, cur.in_app ? 1 : 0, cur.email, ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, prefs_json(c, ctx, user));
    BX_RETURN_IF_ERROR(ctx.event(c, "notification.prefs_updated", "user", user, std::nullopt,
                                 "{\"user_id\":" + json::quote(user) + ",\"prefs\":" + out + "}"));
    return ctx.audit(c, "user", user, "{\"kind\":" + json::quote(kind) + "}");
  }));
  return out;
}

// ---- email delivery ----------------------------------------------------------------------------

const char* const kNotificationThreadSql =
    "SELECT id FROM threads WHERE org_id = ? AND system_kind = 'notifications' "
    "ORDER BY created_at, id LIMIT 1";

namespace {

// The organization's thread for notification emails (created on first use; never listed).
Result<std::string> notifications_thread(store::Conn& c, api::Ctx& ctx) {
  BX_ASSIGN_OR_RETURN(auto r, c.query(kNotificationThreadSql, {ctx.org()}));
  if (!r.empty()) return r[0].str(0);
  std::string id = ctx.new_id();
  auto ins = c.query(
      "INSERT INTO threads (id, org_id, subject, status, priority, channels, tags, system_kind, "
      "last_activity_at, created_at, updated_at) VALUES (?, ?, 'Notification emails', 'closed', "
      "'low', '[\"email\"]', '[]', 'notifications', ?, ?, ?)",
      {id, ctx.org(), ctx.now(), ctx.now(), ctx.now()});
  if (!ins.ok()) return ins.status();
  return id;
}

Result<std::optional<email::EmailAccount>> sending_account(store::Conn& c, api::Ctx& ctx) {
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id FROM channel_accounts WHERE org_id = ? AND "
                                         "channel = 'email' AND active = 1 ORDER BY created_at, id",
                                         {ctx.org()}));
  for (const auto& r : rows) {
    auto a = email::load_email_account(c, ctx.org(), r.str(0));
    if (a.ok() && a->smtp) return std::optional<email::EmailAccount>(std::move(a).value());
  }
  return std::optional<email::EmailAccount>();
}

std::string party(const std::string& name, const std::string& address) {
  return "{\"name\":" + (name.empty() ? std::string("null") : json::quote(name)) +
         ",\"address\":" + json::quote(address) + "}";
}

}  // namespace

runtime::JobResult run_notification_email(api::Core& core, const runtime::Job& job) {
  json::Document payload;
  if (!json::parse(job.payload_json, &payload).ok() || !payload.IsObject())
    return runtime::JobResult::fail("payload is not a JSON object");
  auto nid = json::get_string(payload, "notification_id");
  if (!nid) return runtime::JobResult::fail("payload without notification_id");
  std::string id(*nid);
  Principal who = api::system_principal(job.org_id, "notifications");
  api::Ctx ctx(core, who, kNotificationEmailJob);

  // Presence is asked outside the transaction (it is the host's callback, maybe slow).
  auto head = ctx.db().query("SELECT user_id FROM notifications WHERE id = ? AND org_id = ?",
                             {id, ctx.org()});
  if (!head.ok()) return runtime::JobResult::retry(head.status().message());
  if (head->empty()) return runtime::JobResult::ok();  // gone with its user
  std::string user = head->rows[0].str(0);
  bool online = core.user_online && core.user_online(ctx.org(), user);

  Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT n.kind, n.title, n.body, n.read_at, "
                                        "n.email_status, u.email, u.name, u.active, n.thread_id "
                                        "FROM notifications n JOIN users u ON u.id = n.user_id "
                                        "WHERE n.id = ? AND n.org_id = ?",
                                        {id, ctx.org()}));
    if (r.empty()) return Status();
    const auto& row = r[0];
    if (row.is_null(4) || row.text(4) != "pending") return Status();  // decided already
    BX_ASSIGN_OR_RETURN(Pref pref, load_pref(c, ctx.org(), user, row.text(0)));
    std::string outcome;
    if (row.int64(7) == 0 || pref.email == "never")
      outcome = "skipped_pref";
    else if (pref.in_app && !row.is_null(3))
      outcome = "skipped_read";
    else if (pref.email == "offline" && online)
      outcome = "skipped_online";
    std::optional<email::EmailAccount> acct;
    if (outcome.empty()) {
      BX_ASSIGN_OR_RETURN(acct, sending_account(c, ctx));
      if (!acct) outcome = "no_account";
    }
    if (outcome.empty()) {
      BX_ASSIGN_OR_RETURN(std::string thread_id, notifications_thread(c, ctx));
      std::string mid = ctx.new_id();
      std::string subject = "[banxway] " + row.str(1);
      for (auto& ch : subject)
        if (ch == '\r' || ch == '\n') ch = ' ';
      std::string text = row.str(1) + "\n";
      if (!row.is_null(2)) text += "\n" + row.str(2) + "\n";
      if (!row.is_null(8)) text += "\nThread: " + row.str(8) + "\n";
      text += "\nYou receive this email because of your banxway notification preferences.\n";
      std::string message_id = pipeline::make_message_id(thread_id, core.opts.message_id_domain);
      auto ins = c.query(
          "INSERT INTO messages (id, org_id, thread_id, channel, direction, from_addr, to_addrs, "
          "cc_addrs, bcc_addrs, subject, body_text, snippet, message_id, refs, status, "
          "thread_index, channel_account_id, meta, created_at) VALUES (?, ?, ?, 'email', "
          "'outbound', ?, ?, '[]', '[]', ?, ?, ?, ?, '[]', 'queued', ?, ?, ?, ?)",
          {mid, ctx.org(), thread_id, party(acct->from_name, acct->address),
           "[" + party(row.is_null(6) ? "" : row.str(6), row.str(5)) + "]", subject, text,
           snippet_of(text), message_id, email::next_thread_index("", core.clock->now()), acct->id,
           "{\"notification_id\":" + json::quote(id) + "}", ctx.now()});
      if (!ins.ok()) return ins.status();
      pipeline::ThreadingInput tin;
      tin.message_id = message_id;
      BX_RETURN_IF_ERROR(pipeline::record_refs(c, ctx.org(), thread_id, mid, tin, ctx.now()));
      auto t = c.query(
          "UPDATE threads SET message_count = message_count + 1, "
          "last_activity_at = ?, updated_at = ? WHERE id = ? AND org_id = ?",
          {ctx.now(), ctx.now(), thread_id, ctx.org()});
      if (!t.ok()) return t.status();
      // The outbox's own tail: email.send job, message.queued event, audit row.
      BX_RETURN_IF_ERROR(
          queue_delivery(c, ctx, kEmailSendJob, mid, thread_id, std::nullopt, 12, false).status());
      outcome = "sent_to_outbox";
    }
    auto u = c.query("UPDATE notifications SET email_status = ? WHERE id = ? AND org_id = ?",
                     {outcome, id, ctx.org()});
    if (!u.ok()) return u.status();
    return ctx.audit(c, "notification", id, "{\"email_status\":" + json::quote(outcome) + "}");
  });
  if (!st.ok()) return runtime::JobResult::retry(st.message());
  return runtime::JobResult::ok();
}

}  // namespace banxway::services
