#include "pipeline/messaging.hpp"

#include <algorithm>

#include "pipeline/shipment_links.hpp"
#include "pipeline/threading.hpp"
#include "services/common.hpp"
#include "services/notifications.hpp"
#include "services/contacts.hpp"
#include "services/threads.hpp"

namespace banxway::pipeline {
namespace {

using messaging::DeliveryStatus;


std::string opt_json(const std::string& s) { return s.empty() ? "null" : json::quote(s); }

bool terminal_call_status(std::string_view s) {
  return s == "completed" || s == "busy" || s == "no-answer" || s == "failed" || s == "canceled";
}

std::string channel_label(const std::string& channel) {
  if (channel == "whatsapp") return "WhatsApp";
  if (channel == "sms") return "SMS";
  return "Call";
}

}  // namespace

Status add_thread_channel(store::Conn& c, const std::string& org, const std::string& thread_id,
                      const std::string& channel) {
  BX_ASSIGN_OR_RETURN(auto ch, c.query("SELECT channels FROM threads WHERE id = ? AND org_id = ?",
                                       {thread_id, org}));
  if (ch.empty()) return NotFound("thread " + thread_id + " not found");
  std::string chans(ch[0].text(0));
  if (chans.find("\"" + channel + "\"") != std::string::npos) return Status();
  chans = chans.size() <= 2 ? "[\"" + channel + "\"]"
                            : chans.substr(0, chans.size() - 1) + ",\"" + channel + "\"]";
  return c.query("UPDATE threads SET channels = ? WHERE id = ? AND org_id = ?",
                 {chans, thread_id, org})
      .status();
}

namespace {

// A thread a message joins, with the status it has now.
struct FoundThread {
  std::string id, status;
};

// The thread a message of `channel` from `contact` joins: the thread of the message it replies
// to, else the contact's most recently active open thread on that channel; nullopt: a new one.
Result<std::optional<FoundThread>> thread_for(store::Conn& c, api::Ctx& ctx,
                                              const std::string& contact_id,
                                              const std::string& channel,
                                              const std::string& reply_to) {
  if (!reply_to.empty()) {
    // Provider ids are only unique within a channel, and the channel is what lets the lookup
    // seek messages_org_provider_id (org, channel, provider_id) instead of reading every
    // message with a provider id in the organization.
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT m.thread_id, t.status FROM messages m JOIN "
                                        "threads t ON t.id = m.thread_id WHERE m.org_id = ? AND "
                                        "m.channel = ? AND m.provider_id = ? AND "
                                        "t.merged_into IS NULL LIMIT 1",
                                        {ctx.org(), channel, reply_to}));
    if (!r.empty()) return std::optional<FoundThread>(FoundThread{r[0].str(0), r[0].str(1)});
  }
  // The pattern is built in SQL, not bound whole: SQLite re-prepares a statement every time a
  // parameter that is a LIKE pattern by itself is bound again (its LIKE optimization depends on
  // the value), which cost about a tenth of the webhook drain.
  BX_ASSIGN_OR_RETURN(
      auto r, c.query("SELECT id, status FROM threads WHERE org_id = ? AND contact_id = ? AND "
                      "merged_into IS NULL AND status IN ('open','pending','snoozed') AND "
                      "CAST(channels AS TEXT) LIKE '%\"' || ? || '\"%' "
                      "ORDER BY last_activity_at DESC, id DESC LIMIT 1",
                      {ctx.org(), contact_id, channel}));
  if (r.empty()) return std::optional<FoundThread>();
  return std::optional<FoundThread>(FoundThread{r[0].str(0), r[0].str(1)});
}

// An inbound message reopens a thread that is resolved, closed or snoozed.
bool reopens(const std::optional<FoundThread>& t, bool inbound) {
  return inbound && t && inbound_reopens(t->status);
}

Result<std::string> new_thread(store::Conn& c, api::Ctx& ctx, const PhoneContact& who,
                               const std::string& channel, const std::string& display,
                               const std::string& when) {
  std::string id = ctx.new_id();
  std::string subject = channel_label(channel) + " with " + display;
  auto r = c.query(
      "INSERT INTO threads (id, org_id, subject, status, priority, customer_id, contact_id, "
      "channels, tags, last_activity_at, created_at, updated_at) "
      "VALUES (?, ?, ?, 'open', 'normal', ?, ?, ?, '[]', ?, ?, ?)",
      {id, ctx.org(), subject.substr(0, 998), store::Value(who.customer_id), who.contact_id,
       "[\"" + channel + "\"]", ctx.now(), when, ctx.now()});
  if (!r.ok()) return r.status();
  return id;
}

Status add_attachment(store::Conn& c, api::Ctx& ctx, const std::string& message_id,
                      const StoredMedia& m) {
  // Results not read: on PostgreSQL both travel with the next statement.
  BX_RETURN_IF_ERROR(ctx.core().blobs->record(c, ctx.org(), m.blob, m.media_type, ctx.now()));
  return c.write_deferred(
      "INSERT INTO attachments (id, org_id, message_id, blob_sha256, filename, media_type, size, "
      "is_inline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {ctx.new_id(), ctx.org(), message_id, m.blob.sha,
       m.filename.empty() ? store::Value() : store::Value(m.filename), m.media_type,
       static_cast<int64_t>(m.blob.size), false, ctx.now()});
}

// Counters, preview and activity of a thread after a message at `when`; `reopen`: the thread
// was read as resolved, closed or snoozed and an inbound message opens it again. On SQLite the
// status is written only then: an UPDATE that sets it fires the resolved_at trigger and makes
// SQLite run a two-pass update with temporary tables, which was an eighth of the webhook drain;
// there the transaction is the only writer, so the status read earlier is still the status. On
// PostgreSQL another transaction may resolve the thread in between, so the statement decides.
Status bump_thread(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                   const std::string& snippet, const std::string& when, bool inbound, bool reopen,
                   const std::optional<std::string>& window_until) {
  // The window clause only when there is a window to move (PostgreSQL cannot type a bare NULL).
  std::string sql =
      "UPDATE threads SET message_count = message_count + 1, unread_count = unread_count + ?, "
      "preview = CASE WHEN last_message_at IS NULL OR last_message_at <= ? THEN ? ELSE preview END, "
      "last_message_at = CASE WHEN last_message_at IS NULL OR last_message_at < ? THEN ? "
      "ELSE last_message_at END, ";
  std::vector<store::Value> args{inbound ? 1 : 0, when, snippet, when, when};
  if (c.dialect() == store::Dialect::postgres) {
    if (inbound) sql += kInboundReopensSet;
  } else if (reopen) {
    sql += "status = 'open', ";
  }
  if (window_until) {
    sql += "can_reply_freely_until = CASE WHEN can_reply_freely_until IS NULL OR "
           "can_reply_freely_until < ? THEN ? ELSE can_reply_freely_until END, ";
    args.emplace_back(*window_until);
    args.emplace_back(*window_until);
  }
  sql += "last_activity_at = ?, updated_at = ? WHERE id = ? AND org_id = ?";
  args.emplace_back(ctx.now());
  args.emplace_back(ctx.now());
  args.emplace_back(thread_id);
  args.emplace_back(ctx.org());
  return c.query(sql, args).status();
}

Status emit_message(store::Conn& c, api::Ctx& ctx, const std::string& type, const std::string& id,
                    const std::string& thread_id, bool new_thread) {
  BX_ASSIGN_OR_RETURN(auto mj, services::message_json(c, ctx, id));
  BX_RETURN_IF_ERROR(ctx.event(c, type, "message", id, thread_id, mj));
  BX_ASSIGN_OR_RETURN(auto tj, services::thread_json(c, ctx, thread_id));
  return ctx.event(c, new_thread ? "thread.created" : "thread.updated", "thread", thread_id,
                   thread_id, tj);
}

Status apply_inbound(store::Conn& c, api::Ctx& ctx, const messaging::MessagingAccount& acct,
                     const messaging::InboundMessage& m, const std::vector<StoredMedia>& media,
                     const std::string& region, MessagingOutcome& out) {
  std::string channel = m.channel.empty() ? acct.channel : m.channel;
  if (m.provider_id.empty()) return InvalidArgument("inbound message without a provider id");
  BX_ASSIGN_OR_RETURN(auto dup, c.query("SELECT id FROM messages WHERE org_id = ? AND "
                                        "channel = ? AND provider_id = ?",
                                        {ctx.org(), channel, m.provider_id}));
  if (!dup.empty()) {
    ++out.duplicates;
    out.message_ids.push_back(dup[0].str(0));
    return Status();
  }
  std::optional<std::string> phone = phone_of(m.from, region);
  std::vector<std::string> wa_ids;
  if (channel == "whatsapp") {
    std::string id = m.from;
    if (id.rfind("whatsapp:", 0) == 0) id = id.substr(9);
    if (!id.empty() && id[0] == '+') id = id.substr(1);
    if (!id.empty()) wa_ids.push_back(id);
    if (!m.from_user_id.empty() && m.from_user_id != id) wa_ids.push_back(m.from_user_id);
  }
  std::string display = !m.profile_name.empty() ? m.profile_name : phone ? *phone : m.from;
  BX_ASSIGN_OR_RETURN(PhoneContact who, contact_for_phone(c, ctx, phone, wa_ids, m.profile_name));

  std::string when = format_time(m.timestamp.value_or(ctx.core().clock->now()));
  BX_ASSIGN_OR_RETURN(auto existing, thread_for(c, ctx, who.contact_id, channel,
                                                m.reply_to_provider_id));
  bool created = !existing;
  std::string thread_id;
  if (existing) {
    thread_id = existing->id;
    // A thread found by the contact's channel lists the channel already; one found through a
    // quoted message may not.
    if (!m.reply_to_provider_id.empty())
      BX_RETURN_IF_ERROR(add_thread_channel(c, ctx.org(), thread_id, channel));
  } else {
    BX_ASSIGN_OR_RETURN(thread_id, new_thread(c, ctx, who, channel, display, when));
  }

  std::string text = m.text;
  if (text.empty() && !m.media.empty()) text = "[" + m.media[0].kind + "]";
  std::string id = ctx.new_id();
  std::string from = "{\"name\":" + opt_json(m.profile_name) + ",\"address\":" +
                     json::quote(m.from) + ",\"phone\":" + opt_json(phone.value_or("")) + "}";
  std::string to = "[{\"name\":null,\"address\":" + json::quote(m.to) + "}]";
  std::string meta = "{\"provider\":" + json::quote(m.provider) + ",\"content_type\":" +
                     opt_json(m.content_type) + ",\"reply_to\":" +
                     opt_json(m.reply_to_provider_id) + ",\"user_id\":" +
                     opt_json(m.from_user_id) + "}";
  auto r = c.query(
      "INSERT INTO messages (id, org_id, thread_id, channel, direction, contact_id, from_addr, "
      "to_addrs, cc_addrs, body_text, snippet, provider_id, status, sent_at, created_at, "
      "channel_account_id, meta) VALUES (?, ?, ?, ?, 'inbound', ?, ?, ?, '[]', ?, ?, ?, "
      "'received', ?, ?, ?, ?)",
      {id, ctx.org(), thread_id, channel, who.contact_id, from, to, text, services::snippet_of(text),
       m.provider_id, when, when, acct.id, meta});
  if (!r.ok()) return r.status();
  for (const auto& sm : media)
    if (!sm.blob.sha.empty()) BX_RETURN_IF_ERROR(add_attachment(c, ctx, id, sm));
  BX_RETURN_IF_ERROR(
      link_shipments_from_text(c, ctx, thread_id, who.contact_id, text).status());

  std::optional<std::string> window;
  if (channel == "whatsapp")
    window = format_time(m.timestamp.value_or(ctx.core().clock->now()) + std::chrono::hours(24));
  BX_RETURN_IF_ERROR(bump_thread(c, ctx, thread_id, services::snippet_of(text), when, true,
                                 reopens(existing, true), window));
  BX_RETURN_IF_ERROR(emit_message(c, ctx, "message.received", id, thread_id, created));
  if (!created) BX_RETURN_IF_ERROR(services::notify_followers(c, ctx, thread_id, id));
  ++out.received;
  out.message_ids.push_back(id);
  return ctx.audit(c, "message", id);
}

std::string call_summary(const messaging::CallUpdate& u, const std::string& direction) {
  std::string s = direction == "inbound" ? "Incoming call" : "Outgoing call";
  s += ": " + (u.status.empty() ? std::string("in progress") : u.status);
  if (u.duration_seconds > 0) {
    int m = u.duration_seconds / 60, sec = u.duration_seconds % 60;
    s += ", " + std::to_string(m) + "m " + std::to_string(sec) + "s";
  }
  if (!u.answered_by.empty()) s += ", answered by " + u.answered_by;
  return s;
}

std::string call_meta(const messaging::CallUpdate& u, const std::optional<StoredMedia>& rec,
                      const std::string& prior_meta) {
  // Keep what earlier updates learned (e.g. the recording) when this one lacks it.
  json::Document old;
  bool have_old = !prior_meta.empty() && json::parse(prior_meta, &old).ok() && old.IsObject();
  auto keep = [&](const char* k, const std::string& now) {
    if (!now.empty()) return json::quote(now);
    if (have_old)
      if (auto v = json::get_string(old, k)) return json::quote(*v);
    return std::string("null");
  };
  std::string duration = u.duration_seconds >= 0 ? std::to_string(u.duration_seconds) : "null";
  if (u.duration_seconds < 0 && have_old)
    if (auto d = json::get_int(old, "duration_seconds")) duration = std::to_string(*d);
  return "{\"provider\":" + json::quote(u.provider) + ",\"call_status\":" + keep("call_status", u.status) +
         ",\"duration_seconds\":" + duration + ",\"answered_by\":" +
         keep("answered_by", u.answered_by) + ",\"recording_url\":" +
         keep("recording_url", u.recording_url) + ",\"recording_sha256\":" +
         keep("recording_sha256", rec && !rec->blob.sha.empty() ? rec->blob.sha : "") +
         ",\"transcript_status\":" + keep("transcript_status", "") + "}";
}

Status apply_call(store::Conn& c, api::Ctx& ctx, const messaging::MessagingAccount& acct,
                  const messaging::CallUpdate& u, const std::optional<StoredMedia>& rec,
                  const std::string& region, MessagingOutcome& out) {
  if (u.call_id.empty()) return InvalidArgument("call update without a call id");
  BX_ASSIGN_OR_RETURN(auto found, c.query("SELECT id, thread_id, status, direction, meta FROM "
                                          "messages WHERE org_id = ? AND channel = 'voice' AND "
                                          "provider_id = ?",
                                          {ctx.org(), u.call_id}));
  if (found.empty() && !u.reference.empty() && is_uuid(u.reference)) {
    BX_ASSIGN_OR_RETURN(found, c.query("SELECT id, thread_id, status, direction, meta FROM "
                                       "messages WHERE org_id = ? AND channel = 'voice' AND id = ?",
                                       {ctx.org(), u.reference}));
  }
  ++out.calls;
  if (!found.empty()) {
    std::string id = found[0].str(0), thread_id = found[0].str(1), before = found[0].str(2);
    std::string direction = found[0].str(3);
    // A late "answered" after the end must not reopen a finished call.
    std::string status = u.status.empty() ? before : u.status;
    if (terminal_call_status(before) && !terminal_call_status(status)) status = before;
    std::string meta = call_meta(u, rec, found[0].is_null(4) ? "" : found[0].str(4));
    messaging::CallUpdate shown = u;
    shown.status = status;
    auto r = c.query("UPDATE messages SET status = ?, meta = ?, body_text = ?, snippet = ?, "
                     "provider_id = ? WHERE id = ? AND org_id = ?",
                     {status, meta, call_summary(shown, direction),
                      services::snippet_of(call_summary(shown, direction)), u.call_id, id, ctx.org()});
    if (!r.ok()) return r.status();
    if (rec && !rec->blob.sha.empty()) {
      BX_ASSIGN_OR_RETURN(auto has, c.query("SELECT 1 FROM attachments WHERE org_id = ? AND "
                                            "message_id = ? AND blob_sha256 = ?",
                                            {ctx.org(), id, rec->blob.sha}));
      if (has.empty()) {
        BX_RETURN_IF_ERROR(add_attachment(c, ctx, id, *rec));
        out.recordings.emplace_back(id, rec->blob.sha);
      }
    }
    if (status != before) {
      std::string data = "{\"id\":" + json::quote(id) + ",\"thread_id\":" + json::quote(thread_id) +
                         ",\"status\":" + json::quote(status) + ",\"previous_status\":" +
                         json::quote(before) + ",\"error\":null}";
      BX_RETURN_IF_ERROR(ctx.event(c, "message.status_changed", "message", id, thread_id, data));
    }
    out.message_ids.push_back(id);
    return Status();
  }
  // A call banxway did not start (inbound, or dialled from the provider's dashboard).
  std::string direction = u.direction == "inbound" ? "inbound" : "outbound";
  const std::string& customer = direction == "inbound" ? u.from : u.to;
  std::optional<std::string> phone = phone_of(customer, region);
  BX_ASSIGN_OR_RETURN(PhoneContact who, contact_for_phone(c, ctx, phone, {}, ""));
  std::string when = format_time(u.started_at.value_or(ctx.core().clock->now()));
  BX_ASSIGN_OR_RETURN(auto existing, thread_for(c, ctx, who.contact_id, "voice", ""));
  std::string thread_id;
  if (existing) {
    thread_id = existing->id;
  } else {
    BX_ASSIGN_OR_RETURN(thread_id, new_thread(c, ctx, who, "voice", phone.value_or(customer), when));
  }
  std::string id = ctx.new_id();
  std::string summary = call_summary(u, direction);
  std::string from = "{\"name\":null,\"address\":" + json::quote(u.from) + "}";
  std::string to = "[{\"name\":null,\"address\":" + json::quote(u.to) + "}]";
  auto r = c.query(
      "INSERT INTO messages (id, org_id, thread_id, channel, direction, contact_id, from_addr, "
      "to_addrs, cc_addrs, body_text, snippet, provider_id, status, sent_at, created_at, "
      "channel_account_id, meta) VALUES (?, ?, ?, 'voice', ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, ctx.org(), thread_id, direction,
       direction == "inbound" ? store::Value(who.contact_id) : store::Value(), from, to, summary,
       services::snippet_of(summary), u.call_id, u.status.empty() ? "completed" : u.status, when, when,
       acct.id, call_meta(u, rec, "")});
  if (!r.ok()) return r.status();
  if (rec && !rec->blob.sha.empty()) {
    BX_RETURN_IF_ERROR(add_attachment(c, ctx, id, *rec));
    out.recordings.emplace_back(id, rec->blob.sha);
  }
  BX_RETURN_IF_ERROR(add_thread_channel(c, ctx.org(), thread_id, "voice"));
  BX_RETURN_IF_ERROR(bump_thread(c, ctx, thread_id, services::snippet_of(summary), when,
                                 direction == "inbound", reopens(existing, direction == "inbound"),
                                 std::nullopt));
  BX_RETURN_IF_ERROR(emit_message(c, ctx, direction == "inbound" ? "message.received" : "message.created",
                                  id, thread_id, !existing));
  out.message_ids.push_back(id);
  return ctx.audit(c, "message", id);
}

}  // namespace

std::optional<std::string> phone_of(std::string_view address, const std::string& region) {
  std::string a(address);
  if (a.rfind("whatsapp:", 0) == 0) a = a.substr(9);
  if (a.empty() || a.size() > 32) return std::nullopt;
  bool digits = std::all_of(a.begin(), a.end(), [](unsigned char ch) { return std::isdigit(ch); });
  // Meta writes international numbers without '+'; a bare digit string that long is
  // international. Shorter digit strings are national numbers of the region.
  if (digits && a.size() >= 11) {
    if (auto e = services::to_e164("+" + a, region)) return e;
  }
  bool plausible = std::all_of(a.begin(), a.end(), [](unsigned char ch) {
    return std::isdigit(ch) || ch == '+' || ch == ' ' || ch == '-' || ch == '(' || ch == ')';
  });
  if (!plausible) return std::nullopt;  // e.g. a BSUID "IN.1502..."
  return services::to_e164(a, region);
}

Result<PhoneContact> contact_for_phone(store::Conn& c, api::Ctx& ctx,
                                       const std::optional<std::string>& e164,
                                       const std::vector<std::string>& whatsapp_ids,
                                       const std::string& name) {
  std::vector<std::pair<std::string, std::string>> ids;  // (kind, value)
  for (const auto& w : whatsapp_ids) ids.emplace_back("whatsapp", w);
  if (e164) ids.emplace_back("phone", *e164);
  if (ids.empty()) return InvalidArgument("no phone number or WhatsApp id to identify the sender");
  PhoneContact out;
  std::vector<bool> known(ids.size(), false);  // the identity exists (for this contact or another)
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& [kind, value] = ids[i];
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT ci.contact_id, k.customer_id FROM "
                                        "contact_identities ci JOIN contacts k ON "
                                        "k.id = ci.contact_id WHERE ci.org_id = ? AND "
                                        "ci.kind = ? AND ci.value = ?",
                                        {ctx.org(), kind, value}));
    if (r.empty()) continue;
    known[i] = true;
    if (out.contact_id.empty()) {
      out.contact_id = r[0].str(0);
      out.customer_id = r[0].opt(1);
    }
  }
  std::string identities = "[";
  if (out.contact_id.empty()) {
    out.created = true;
    out.contact_id = ctx.new_id();
    std::optional<std::string> n;
    if (!name.empty()) n = name.substr(0, 200);
    auto r = c.query("INSERT INTO contacts (id, org_id, name, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     {out.contact_id, ctx.org(), store::Value(n), ctx.now(), ctx.now()});
    if (!r.ok()) return r.status();
  }
  // The identities it lacks (one that belongs to someone else stays theirs).
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& [kind, value] = ids[i];
    if (!known[i]) {
      auto r = c.query("INSERT INTO contact_identities (id, org_id, contact_id, kind, value, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, kind, value) "
                       "DO NOTHING",
                       {ctx.new_id(), ctx.org(), out.contact_id, kind, value, ctx.now()});
      if (!r.ok()) return r.status();
    }
    if (identities.size() > 1) identities += ',';
    identities += "{\"kind\":" + json::quote(kind) + ",\"value\":" + json::quote(value) + "}";
  }
  identities += "]";
  if (out.created) {
    std::string data = "{\"id\":" + json::quote(out.contact_id) + ",\"name\":" +
                       (name.empty() ? std::string("null") : json::quote(name.substr(0, 200))) +
                       ",\"customer_id\":null,\"identities\":" + identities + "}";
    BX_RETURN_IF_ERROR(ctx.event(c, "contact.created", "contact", out.contact_id, std::nullopt, data));
  }
  return out;
}

Result<bool> apply_status_update(store::Conn& c, api::Ctx& ctx, const messaging::StatusUpdate& s) {
  store::Rows rows;
  if (!s.provider_id.empty()) {
    BX_ASSIGN_OR_RETURN(rows, c.query("SELECT id, thread_id, status, meta FROM messages WHERE "
                                      "org_id = ? AND provider_id = ? AND direction = 'outbound' "
                                      "AND channel IN ('whatsapp','sms')",
                                      {ctx.org(), s.provider_id}));
  }
  // A report can overtake the send job's own bookkeeping: fall back on the reference
  // (banxway's message id, echoed by the provider).
  if (rows.empty() && !s.reference.empty() && is_uuid(s.reference)) {
    BX_ASSIGN_OR_RETURN(rows, c.query("SELECT id, thread_id, status, meta FROM messages WHERE "
                                      "org_id = ? AND id = ? AND direction = 'outbound' AND "
                                      "channel IN ('whatsapp','sms')",
                                      {ctx.org(), s.reference}));
  }
  if (rows.empty()) return NotFound("no outbound message with provider id " + s.provider_id);
  std::string id = rows[0].str(0), thread_id = rows[0].str(1), before = rows[0].str(2);
  auto current = messaging::status_from_name(before);
  int cur_rank = current ? messaging::status_rank(*current) : 0;  // queued/sending: 0
  bool moves = before != "failed" && before != "cancelled" &&
               (s.status == DeliveryStatus::failed ||
                messaging::status_rank(s.status) > cur_rank);
  if (!moves) return false;
  std::string to(messaging::status_name(s.status));
  std::optional<std::string> error;
  if (s.status == DeliveryStatus::failed)
    error = (s.error_code.empty() ? std::string() : s.error_code + ": ") +
            (s.error_message.empty() ? s.provider_status : s.error_message);
  auto r = c.query("UPDATE messages SET status = ?, error = COALESCE(?, error), provider_id = "
                   "COALESCE(provider_id, ?) WHERE id = ? AND org_id = ?",
                   {to, store::Value(error), s.provider_id.empty() ? store::Value() : store::Value(s.provider_id),
                    id, ctx.org()});
  if (!r.ok()) return r.status();
  std::string data = "{\"id\":" + json::quote(id) + ",\"thread_id\":" + json::quote(thread_id) +
                     ",\"status\":" + json::quote(to) + ",\"previous_status\":" +
                     json::quote(before) + ",\"error\":" +
                     (error ? json::quote(*error) : std::string("null")) +
                     ",\"provider_status\":" + opt_json(s.provider_status) + "}";
  BX_RETURN_IF_ERROR(ctx.event(c, "message.status_changed", "message", id, thread_id, data));
  return true;
}

Status apply_messaging_batch(store::Conn& c, api::Ctx& ctx, const messaging::MessagingAccount& acct,
                             const std::string& region, const messaging::WebhookBatch& batch,
                             const std::vector<std::vector<StoredMedia>>& media,
                             const std::vector<std::optional<StoredMedia>>& recordings,
                             MessagingOutcome& out) {
  static const std::vector<StoredMedia> kNone;
  for (size_t i = 0; i < batch.messages.size(); ++i)
    BX_RETURN_IF_ERROR(apply_inbound(c, ctx, acct, batch.messages[i],
                                     i < media.size() ? media[i] : kNone, region, out));
  for (const auto& s : batch.statuses) {
    auto moved = apply_status_update(c, ctx, s);
    if (!moved.ok()) {
      if (moved.status().code() != Code::not_found) return moved.status();
      ++out.unmatched;
      continue;
    }
    if (*moved)
      ++out.statuses;
    else
      ++out.stale;
  }
  for (size_t i = 0; i < batch.calls.size(); ++i)
    BX_RETURN_IF_ERROR(apply_call(c, ctx, acct, batch.calls[i],
                                  i < recordings.size() ? recordings[i] : std::nullopt, region, out));
  return Status();
}

}  // namespace banxway::pipeline
