#include "services/outbox.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "channels/email/account.hpp"
#include "channels/email/html.hpp"
#include "channels/email/mime.hpp"
#include "channels/email/mime_builder.hpp"
#include "channels/email/mime_internal.hpp"
#include "channels/email/smtp_sender.hpp"
#include "core/crypto.hpp"
#include "pipeline/identify.hpp"
#include "pipeline/threading.hpp"
#include "services/channel_accounts.hpp"
#include "services/common.hpp"
#include "services/messaging.hpp"
#include "services/threads.hpp"

namespace banxway::services {
namespace {

constexpr int kSendAttempts = 12;  // 1 s doubling, capped: about an hour and a half of retries
constexpr size_t kMaxRefs = 50;    // References kept on the row (the header is capped again)

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// An addr-spec the SMTP envelope and the headers can carry: local@domain, printable ASCII or
// UTF-8, no spaces, angle brackets, commas, quotes or control characters.
bool plausible_address(std::string_view a) {
  if (a.empty() || a.size() > 320) return false;
  size_t at = a.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= a.size()) return false;
  if (a.substr(at + 1).find('.') == std::string_view::npos &&
      a.substr(at + 1) != "localhost")
    return false;
  for (unsigned char ch : a)
    if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>' || ch == ',' || ch == '"' ||
        ch == ';' || ch == '(' || ch == ')' || ch == '\\')
      return false;
  return a.find('@') == at;
}

struct Party {
  std::string name, address;
};

std::string party_json(const Party& a) {
  return "{\"name\":" + (a.name.empty() ? std::string("null") : json::quote(a.name)) +
         ",\"address\":" + json::quote(a.address) + "}";
}
std::string parties_json(const std::vector<Party>& v) {
  std::string j = "[";
  for (size_t i = 0; i < v.size(); ++i) j += (i ? "," : "") + party_json(v[i]);
  return j + "]";
}

// Reads a stored [{"name","address"}] (or one object) column.
std::vector<Party> parties_of(std::string_view json_text) {
  std::vector<Party> out;
  json::Document d;
  if (json_text.empty() || !json::parse(json_text, &d).ok()) return out;
  auto one = [&](const json::Value& v) {
    if (!v.IsObject()) return;
    Party p;
    p.address = std::string(json::get_string(v, "address").value_or(""));
    p.name = std::string(json::get_string(v, "name").value_or(""));
    if (!p.address.empty()) out.push_back(std::move(p));
  };
  if (d.IsArray())
    for (auto& v : d.GetArray()) one(v);
  else
    one(d);
  return out;
}

std::vector<std::string> strings_of(std::string_view json_text) {
  std::vector<std::string> out;
  json::Document d;
  if (json_text.empty() || !json::parse(json_text, &d).ok() || !d.IsArray()) return out;
  for (auto& v : d.GetArray())
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

std::string strings_json(const std::vector<std::string>& v) {
  std::string j = "[";
  for (size_t i = 0; i < v.size(); ++i) j += (i ? "," : "") + json::quote(v[i]);
  return j + "]";
}

Result<std::vector<Party>> address_param(const json::Value& p, const char* field) {
  std::vector<Party> out;
  const json::Value* v = json::get(p, field);
  if (!v) return out;
  std::set<std::string> seen;
  for (auto& a : v->GetArray()) {
    std::string addr = lower(std::string(a.GetString(), a.GetStringLength()));
    if (!plausible_address(addr))
      return field_error(field, "not an email address: " + json::quote(addr.substr(0, 100)));
    if (seen.insert(addr).second) out.push_back({"", addr});
  }
  return out;
}


struct NewAttachment {
  std::string filename, media_type;
  store::StagedBlob blob;  // an uploaded one's bytes, or a forwarded one's address
};

// The email account a message goes out through: the one named, else the one the thread's mail
// came in on, else the organization's first active account that can send.
Result<email::EmailAccount> pick_account(store::Conn& c, api::Ctx& ctx,
                                         const std::optional<std::string>& named,
                                         const std::optional<std::string>& thread_account) {
  if (named) {
    auto a = email::load_email_account(c, ctx.org(), *named);
    if (!a.ok()) {
      if (a.status().code() == Code::not_found)
        return field_error("channel_account_id", "no email channel account " + *named);
      return a.status();
    }
    if (!a->active) return field_error("channel_account_id", "the account is not active");
    if (!a->smtp) return field_error("channel_account_id", "the account has no SMTP settings");
    return a;
  }
  if (thread_account) {
    auto a = email::load_email_account(c, ctx.org(), *thread_account);
    if (a.ok() && a->active && a->smtp) return a;
  }
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id FROM channel_accounts WHERE org_id = ? AND "
                                         "channel = 'email' AND active = 1 "
                                         "ORDER BY created_at, id",
                                         {ctx.org()}));
  for (const auto& r : rows) {
    auto a = email::load_email_account(c, ctx.org(), r.str(0));
    if (a.ok() && a->smtp) return a;
  }
  return field_error("channel_account_id",
                     "no active email channel account with SMTP settings; create one with "
                     "channels.create");
}

// The Thread-Index of a stored message: its column (set by ingest and by the outbox), else —
// for rows stored before the column was filled at ingest — read from its raw source.
std::string thread_index_of(api::Ctx& ctx, const std::optional<std::string>& column,
                            const std::optional<std::string>& raw_sha) {
  if (column && !column->empty()) return *column;
  if (!raw_sha) return {};
  auto raw = ctx.core().blobs->get(ctx.db(), ctx.org(), *raw_sha);
  if (!raw.ok()) return {};
  auto parsed = email::parse_email(*raw);
  return parsed.ok() ? parsed->thread_index : std::string();
}


}  // namespace

Status message_status_event(store::Conn& c, api::Ctx& ctx, const std::string& id,
                    const std::string& thread_id, std::string_view from, std::string_view to,
                    const std::optional<std::string>& error) {
  std::string data = "{\"id\":" + json::quote(id) + ",\"thread_id\":" + json::quote(thread_id) +
                     ",\"status\":" + json::quote(to) + ",\"previous_status\":" +
                     json::quote(from) + ",\"error\":" +
                     (error ? json::quote(*error) : std::string("null")) + "}";
  return ctx.event(c, "message.status_changed", "message", id, thread_id, data);
}

Result<std::string> messages_send(api::Ctx& ctx, json::Value& p) {
  std::string channel = api::param_str(p, "channel").value_or("email");
  if (channel == "whatsapp" || channel == "sms") return messaging_send(ctx, p);
  if (channel != "email") return field_error("channel", "cannot send on " + channel);
  if (json::get(p, "template") || json::get(p, "media_url"))
    return field_error("template", "templates and media_url are for WhatsApp");
  auto thread_param = api::param_str(p, "thread_id");
  auto text_param = api::param_str(p, "text");
  if (!text_param) return field_error("text", "required");
  std::string text = *text_param;
  std::optional<std::string> html;
  if (auto h = api::param_str(p, "html")) html = email::sanitize_html(*h);
  BX_ASSIGN_OR_RETURN(auto to, address_param(p, "to"));
  BX_ASSIGN_OR_RETURN(auto cc, address_param(p, "cc"));
  BX_ASSIGN_OR_RETURN(auto bcc, address_param(p, "bcc"));
  bool reply_all = json::get_bool(p, "reply_all").value_or(true);
  std::optional<std::string> send_at;
  if (auto s = api::param_str(p, "send_at")) {
    TimePoint t;
    if (!parse_time(*s, &t)) return field_error("send_at", "not an ISO-8601 time");
    if (t > ctx.core().clock->now()) send_at = format_time(t);  // a past time sends now
  }
  if (auto s = api::param_str(p, "subject"))
    if (s->find_first_of("\r\n") != std::string::npos)
      return field_error("subject", "must not contain CR or LF");

  // Attachments given inline go to the blob store first (content-addressed, so a rolled-back
  // send leaves at most an unreferenced blob, never a half-written row).
  std::vector<NewAttachment> atts;
  std::vector<std::string> forward_ids;
  if (const json::Value* a = json::get(p, "attachments")) {
    size_t i = 0;
    for (auto& item : a->GetArray()) {
      std::string f = "attachments[" + std::to_string(i++) + "]";
      if (auto aid = json::get_string(item, "attachment_id")) {
        forward_ids.emplace_back(*aid);
        continue;
      }
      auto name = json::get_string(item, "filename");
      auto b64 = json::get_string(item, "content_base64");
      if (!name || !b64) return field_error(f, "give attachment_id, or filename and content_base64");
      if (name->find_first_of("\r\n/\\") != std::string_view::npos)
        return field_error(f + ".filename", "must not contain CR, LF or path separators");
      NewAttachment n;
      std::string data;
      if (!crypto::base64_decode(*b64, &data)) return field_error(f + ".content_base64", "not base64");
      if (data.size() > ctx.core().opts.max_attachment_bytes)
        return PayloadTooLarge(f + ": " + std::to_string(data.size()) + " bytes; the limit is " +
                               std::to_string(ctx.core().opts.max_attachment_bytes));
      n.filename = std::string(*name);
      n.media_type = lower(std::string(json::get_string(item, "media_type").value_or("")));
      if (n.media_type.empty()) n.media_type = email::detail::sniff_media_type(data);
      if (n.media_type.empty()) n.media_type = "application/octet-stream";
      if (n.media_type.find_first_of("\r\n") != std::string::npos)
        return field_error(f + ".media_type", "must not contain CR or LF");
      BX_ASSIGN_OR_RETURN(n.blob, ctx.core().blobs->stage(ctx.org(), data));
      atts.push_back(std::move(n));
    }
  }

  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    std::string thread_id;
    std::string subject;
    std::optional<std::string> in_reply_to, parent_account, parent_tindex_col, parent_raw;
    std::vector<std::string> refs;
    bool new_thread = !thread_param;
    if (thread_param) {
      thread_id = *thread_param;
      BX_ASSIGN_OR_RETURN(auto t, c.query("SELECT subject, merged_into FROM threads WHERE id = ? "
                                          "AND org_id = ?",
                                          {thread_id, ctx.org()}));
      if (t.empty()) return NotFound("thread " + thread_id + " not found");
      if (!t[0].is_null(1)) thread_id = t[0].str(1);  // merged: reply in the surviving thread
      // The message replied to: the thread's newest email with a Message-ID.
      BX_ASSIGN_OR_RETURN(
          auto m, c.query("SELECT message_id, refs, direction, from_addr, to_addrs, cc_addrs, "
                          "channel_account_id, thread_index, raw_sha256 FROM messages "
                          "WHERE org_id = ? AND thread_id = ? AND channel = 'email' AND "
                          "message_id IS NOT NULL AND status IS NOT NULL AND "
                          "status NOT IN ('failed','cancelled') "
                          "ORDER BY created_at DESC, id DESC LIMIT 1",
                          {ctx.org(), thread_id}));
      subject = api::param_str(p, "subject").value_or("");
      if (subject.empty()) subject = email::reply_subject(t[0].text(0));
      if (!m.empty()) {
        const auto& r = m[0];
        in_reply_to = r.str(0);
        refs = strings_of(r.text(1));
        if (refs.empty() || refs.back() != *in_reply_to) refs.push_back(*in_reply_to);
        if (refs.size() > kMaxRefs) refs.erase(refs.begin() + 1, refs.end() - (kMaxRefs - 1));
        parent_account = r.opt(6);
        parent_tindex_col = r.opt(7);
        parent_raw = r.opt(8);
        if (to.empty() && cc.empty() && bcc.empty()) {
          BX_ASSIGN_OR_RETURN(const std::set<std::string>* own,
                              [&]() -> Result<const std::set<std::string>*> {
                                static thread_local pipeline::IdentifyCache cache;
                                cache = {};
                                return pipeline::own_addresses(c, ctx.org(), cache);
                              }());
          std::set<std::string> taken;
          auto add = [&](std::vector<Party>& list, const Party& a) {
            std::string addr = lower(a.address);
            if (own->count(addr) || !taken.insert(addr).second) return;
            list.push_back({a.name, addr});
          };
          if (r.text(2) == "inbound") {
            for (const auto& a : parties_of(r.text(3))) add(to, a);
            if (reply_all) {
              for (const auto& a : parties_of(r.text(4))) add(cc, a);
              for (const auto& a : parties_of(r.text(5))) add(cc, a);
            }
          } else {  // following up on our own message: same recipients
            for (const auto& a : parties_of(r.text(4))) add(to, a);
            if (reply_all)
              for (const auto& a : parties_of(r.text(5))) add(cc, a);
          }
        }
      }
    } else {
      subject = api::param_str(p, "subject").value_or("");
      if (subject.empty()) return field_error("subject", "required when starting a new thread");
    }
    if (to.empty() && cc.empty() && bcc.empty())
      return field_error("to", "no recipients: give to (the thread has no message to reply to)");
    BX_ASSIGN_OR_RETURN(auto acct, pick_account(c, ctx, api::param_str(p, "channel_account_id"),
                                                parent_account));
    Party from{acct.from_name, lower(acct.address)};

    if (new_thread) {
      thread_id = ctx.new_id();
      std::optional<pipeline::ContactRef> party;
      for (const auto* list : {&to, &cc}) {
        if (party || list->empty()) continue;
        BX_ASSIGN_OR_RETURN(auto ref, pipeline::contact_for_email(c, ctx, (*list)[0].address, ""));
        party = ref;
      }
      auto r = c.query(
          "INSERT INTO threads (id, org_id, subject, subject_key, status, priority, customer_id, "
          "contact_id, channels, tags, last_activity_at, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, 'open', 'normal', ?, ?, '[\"email\"]', '[]', ?, ?, ?)",
          {thread_id, ctx.org(), subject.substr(0, 998), pipeline::normalize_subject(subject),
           party ? store::Value(party->customer_id) : store::Value(),
           party ? store::Value(party->contact_id) : store::Value(), ctx.now(), ctx.now(),
           ctx.now()});
      if (!r.ok()) return r.status();
    }

    std::string message_id =
        pipeline::make_message_id(thread_id, ctx.core().opts.message_id_domain);
    std::string tindex = email::next_thread_index(
        thread_index_of(ctx, parent_tindex_col, parent_raw), ctx.core().clock->now());
    std::optional<std::string> author;
    if (!ctx.who().user_id.empty()) author = ctx.who().user_id;
    auto r = c.query(
        "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, from_addr, "
        "to_addrs, cc_addrs, bcc_addrs, subject, body_text, body_html, snippet, message_id, "
        "in_reply_to, refs, status, send_at, thread_index, channel_account_id, created_at) "
        "VALUES (?, ?, ?, 'email', 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, "
        "?, ?)",
        {id, ctx.org(), thread_id, store::Value(author), party_json(from), parties_json(to),
         parties_json(cc), parties_json(bcc), subject, text, store::Value(html), snippet_of(text),
         message_id, store::Value(in_reply_to), strings_json(refs), store::Value(send_at), tindex,
         acct.id, ctx.now()});
    if (!r.ok()) return r.status();

    for (const auto& fid : forward_ids) {
      BX_ASSIGN_OR_RETURN(auto a, c.query("SELECT blob_sha256, filename, media_type, size FROM "
                                          "attachments WHERE id = ? AND org_id = ?",
                                          {fid, ctx.org()}));
      if (a.empty()) return field_error("attachments", "attachment " + fid + " not found");
      // Its blob row exists already; recording it again below changes nothing.
      atts.push_back({a[0].str(1), a[0].str(2), {a[0].str(0), static_cast<size_t>(a[0].int64(3)), {}}});
    }
    for (const auto& a : atts) {
      BX_RETURN_IF_ERROR(ctx.core().blobs->record(c, ctx.org(), a.blob, a.media_type, ctx.now(),
                                                  /*deferred=*/false));
      auto ar = c.query(
          "INSERT INTO attachments (id, org_id, message_id, blob_sha256, filename, media_type, "
          "size, is_inline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {ctx.new_id(), ctx.org(), id, a.blob.sha, a.filename, a.media_type,
           static_cast<int64_t>(a.blob.size), false, ctx.now()});
      if (!ar.ok()) return ar.status();
    }
    // Our own Message-ID points at this thread, so replies join it even without References.
    pipeline::ThreadingInput tin;
    tin.message_id = message_id;
    tin.in_reply_to = in_reply_to.value_or("");
    tin.references = refs;
    tin.thread_index = tindex;
    BX_RETURN_IF_ERROR(pipeline::record_refs(c, ctx.org(), thread_id, id, tin, ctx.now()));

    auto t = c.query(
        "UPDATE threads SET message_count = message_count + 1, last_activity_at = ?, "
        "updated_at = ? WHERE id = ? AND org_id = ?",
        {ctx.now(), ctx.now(), thread_id, ctx.org()});
    if (!t.ok()) return t.status();

    BX_ASSIGN_OR_RETURN(out, queue_delivery(c, ctx, kEmailSendJob, id, thread_id, send_at,
                                            kSendAttempts, new_thread));
    return Status();
  }));
  return out;
}

Result<std::string> queue_delivery(store::Conn& c, api::Ctx& ctx, std::string_view kind,
                                   const std::string& id, const std::string& thread_id,
                                   const std::optional<std::string>& send_at, int max_attempts,
                                   bool new_thread) {
  runtime::JobSpec job;
  job.kind = std::string(kind);
  job.payload_json = "{\"message_id\":" + json::quote(id) + "}";
  if (send_at) {
    TimePoint when;
    if (parse_time(*send_at, &when)) job.run_at = when;
  }
  job.unique_key = std::string(kind) + ":" + id;
  job.max_attempts = max_attempts;
  BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, job).status());
  BX_ASSIGN_OR_RETURN(std::string out, message_json(c, ctx, id));
  BX_RETURN_IF_ERROR(ctx.event(c, "message.queued", "message", id, thread_id, out));
  if (new_thread) {
    BX_ASSIGN_OR_RETURN(auto tj, thread_json(c, ctx, thread_id));
    BX_RETURN_IF_ERROR(ctx.event(c, "thread.created", "thread", thread_id, thread_id, tj));
  }
  BX_RETURN_IF_ERROR(ctx.audit(c, "message", id));
  return out;
}

Result<std::string> messages_cancel(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto m, c.query("SELECT status, direction, thread_id FROM messages "
                                        "WHERE id = ? AND org_id = ?",
                                        {id, ctx.org()}));
    if (m.empty()) return NotFound("message " + id + " not found");
    std::string status = m[0].str(0);
    if (m[0].text(1) != "outbound" || status.empty())
      return field_error("id", "only outbound messages can be cancelled");
    if (status != "queued")
      return Conflict("message " + id + " is " + status + "; only a queued message can be cancelled");
    // Conditional on the status: a worker that has just claimed the send flips it to `sending`
    // with the same kind of update, so exactly one of the two wins.
    auto u = c.query("UPDATE messages SET status = 'cancelled' WHERE id = ? AND org_id = ? AND "
                     "status = 'queued'",
                     {id, ctx.org()});
    if (!u.ok()) return u.status();
    auto j = c.query("UPDATE jobs SET status = 'done', last_error = 'cancelled', updated_at = ? "
                     "WHERE org_id = ? AND unique_key = ? AND status = 'pending'",
                     {ctx.now(), ctx.org(), std::string(kEmailSendJob) + ":" + id});
    if (!j.ok()) return j.status();
    std::string thread_id = m[0].str(2);
    BX_RETURN_IF_ERROR(message_status_event(c, ctx, id, thread_id, "queued", "cancelled", std::nullopt));
    BX_ASSIGN_OR_RETURN(out, message_json(c, ctx, id));
    return ctx.audit(c, "message", id);
  }));
  return out;
}

runtime::JobResult run_email_send(api::Core& core, const runtime::Job& job) {
  using runtime::JobResult;
  auto mid = runtime::payload_string(job, "message_id");
  if (!mid) return JobResult::fail("payload has no message_id");
  std::string id = std::move(*mid);
  Principal sys = api::system_principal(job.org_id, "outbox");

  // queued -> sending, and read what the message needs.
  struct Loaded {
    std::string thread_id, account_id, from, to, cc, bcc, subject, text, message_id, refs;
    std::optional<std::string> html, in_reply_to, tindex;
    std::vector<email::OutgoingAttachment> attachments;
  } m;
  bool skip = false;
  {
    api::Ctx ctx(core, sys, "outbox.send");
    Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
      BX_ASSIGN_OR_RETURN(
          auto rows,
          c.query("SELECT status, thread_id, channel_account_id, from_addr, to_addrs, cc_addrs, "
                  "bcc_addrs, subject, body_text, body_html, message_id, in_reply_to, refs, "
                  "thread_index FROM messages WHERE id = ? AND org_id = ?",
                  {id, ctx.org()}));
      if (rows.empty() || (rows[0].text(0) != "queued" && rows[0].text(0) != "sending")) {
        skip = true;  // deleted, cancelled, or already sent by an earlier attempt
        return Status();
      }
      const auto& r = rows[0];
      m.thread_id = r.str(1);
      m.account_id = r.str(2);
      m.from = r.str(3);
      m.to = r.str(4);
      m.cc = r.str(5);
      m.bcc = r.str(6);
      m.subject = r.str(7);
      m.text = r.str(8);
      m.html = r.opt(9);
      m.message_id = r.str(10);
      m.in_reply_to = r.opt(11);
      m.refs = r.str(12);
      m.tindex = r.opt(13);
      bool was_queued = r.text(0) == "queued";
      auto u = c.query("UPDATE messages SET status = 'sending', attempts = attempts + 1 "
                       "WHERE id = ? AND org_id = ?",
                       {id, ctx.org()});
      if (!u.ok()) return u.status();
      if (was_queued)
        BX_RETURN_IF_ERROR(message_status_event(c, ctx, id, m.thread_id, "queued", "sending", std::nullopt));
      return Status();
    });
    if (!st.ok()) return JobResult::retry("claiming the message: " + st.message());
    if (skip) return JobResult::ok();
  }

  api::Ctx ctx(core, sys, "outbox.send");
  // Ends the send: failed (permanent), or back to queued for a retry.
  auto settle = [&](bool permanent, const std::string& error) -> JobResult {
    api::Ctx c2(core, sys, "outbox.send");
    std::string to_status = permanent ? "failed" : "queued";
    Status st = c2.db().transaction([&](store::Conn& c) -> Status {
      auto u = c.query("UPDATE messages SET status = ?, error = ? WHERE id = ? AND org_id = ? AND "
                       "status = 'sending'",
                       {to_status, error.substr(0, 2000), id, c2.org()});
      if (!u.ok()) return u.status();
      return message_status_event(c, c2, id, m.thread_id, "sending", to_status, error.substr(0, 2000));
    });
    if (!st.ok()) spdlog::warn("outbox: recording the outcome of {}: {}", id, st.message());
    if (permanent) return JobResult::fail(error);
    return JobResult::retry(error);
  };

  Result<email::EmailAccount> acct = [&]() -> Result<email::EmailAccount> {
    DbReader c(ctx.db());
    return email::load_email_account(c, ctx.org(), m.account_id);
  }();
  if (!acct.ok()) {
    if (acct.status().code() == Code::not_found || acct.status().code() == Code::invalid_argument)
      return settle(true, "channel account: " + acct.status().message());
    return settle(job.last_attempt(), "channel account: " + acct.status().message());
  }
  if (!acct->active || !acct->smtp)
    return settle(true, "channel account " + acct->id + " is inactive or has no SMTP settings");

  email::OutgoingEmail e;
  auto from = parties_of(m.from);
  e.from = from.empty() ? email::Address{acct->from_name, acct->address}
                        : email::Address{from[0].name, from[0].address};
  for (const auto& a : parties_of(m.to)) e.to.push_back({a.name, a.address});
  for (const auto& a : parties_of(m.cc)) e.cc.push_back({a.name, a.address});
  for (const auto& a : parties_of(m.bcc)) e.bcc.push_back({a.name, a.address});
  e.subject = m.subject;
  e.message_id = m.message_id;
  e.in_reply_to = m.in_reply_to.value_or("");
  e.references = strings_of(m.refs);
  e.text = m.text;
  e.html = m.html.value_or("");
  e.date = core.clock->now();
  {
    DbReader c(ctx.db());
    auto rows = c.query("SELECT blob_sha256, filename, media_type FROM attachments WHERE "
                        "message_id = ? AND org_id = ? ORDER BY created_at, id",
                        {id, ctx.org()});
    if (!rows.ok()) return settle(job.last_attempt(), "reading attachments: " + rows.status().message());
    for (const auto& r : *rows) {
      auto data = core.blobs->get(c, ctx.org(), r.text(0));
      if (!data.ok()) return settle(true, "attachment blob " + r.str(0) + ": " + data.status().message());
      e.attachments.push_back({r.str(1), r.str(2), std::move(data).value(), "", false});
    }
  }
  e.thread_index = m.tindex.value_or("");
  auto raw = email::build_email(e);
  if (!raw.ok()) return settle(true, "building the message: " + raw.status().message());

  auto sent = email::send_email(*acct->smtp, acct->address, email::envelope_recipients(e), *raw);
  if (!sent.ok()) {
    const Status& s = sent.status();
    std::string err = "smtp: " + s.message();
    if (s.code() == Code::unauthenticated) {
      auto changed = set_channel_status(ctx, acct->id, "auth_failed", err);
      (void)changed;
      return settle(true, err);
    }
    if (s.code() == Code::invalid_argument || s.code() == Code::permission_denied)
      return settle(true, err);
    if (s.code() != Code::unavailable)
      spdlog::warn("outbox: message {}: unexpected send error: {}", id, s.message());
    return settle(job.last_attempt(), err);
  }

  // Sent: keep the exact bytes that went out, as for received mail.
  auto sha = core.blobs->stage(ctx.org(), *raw);
  api::Ctx done(core, sys, "outbox.send");
  Status st = done.db().transaction([&](store::Conn& c) -> Status {
    std::optional<std::string> raw_sha;
    if (sha.ok()) {
      raw_sha = sha->sha;
      BX_RETURN_IF_ERROR(core.blobs->record(c, done.org(), *sha, "message/rfc822", done.now(),
                                            /*deferred=*/false));
    }
    auto u = c.query("UPDATE messages SET status = 'sent', sent_at = ?, raw_sha256 = ?, "
                     "error = NULL WHERE id = ? AND org_id = ?",
                     {done.now(), store::Value(raw_sha), id, done.org()});
    if (!u.ok()) return u.status();
    auto t = c.query(
        "UPDATE threads SET last_message_at = ?, preview = (SELECT snippet FROM messages WHERE "
        "id = ?), last_activity_at = ?, updated_at = ? WHERE id = ? AND org_id = ?",
        {done.now(), id, done.now(), done.now(), m.thread_id, done.org()});
    if (!t.ok()) return t.status();
    BX_RETURN_IF_ERROR(message_status_event(c, done, id, m.thread_id, "sending", "sent", std::nullopt));
    BX_ASSIGN_OR_RETURN(auto mj, message_json(c, done, id));
    return done.event(c, "message.sent", "message", id, m.thread_id, mj);
  });
  (void)set_channel_status(done, acct->id, "ok", "");
  if (!st.ok()) {
    // The mail is out; only the bookkeeping failed. Retrying would send it twice.
    spdlog::error("outbox: message {} was sent but recording it failed: {}", id, st.message());
  }
  return JobResult::ok();
}

}  // namespace banxway::services
