#include "services/messaging.hpp"

#include <glib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "channels/messaging/account.hpp"
#include "channels/messaging/provider.hpp"
#include "core/crypto.hpp"
#include "net/http.hpp"
#include "pipeline/fts_batch.hpp"
#include "pipeline/messaging.hpp"
#include "services/channel_accounts.hpp"
#include "services/common.hpp"
#include "services/contacts.hpp"
#include "services/outbox.hpp"
#include "services/threads.hpp"

namespace banxway::services {
namespace {

using messaging::MessagingAccount;
using runtime::JobResult;

constexpr int kDrainBatch = 200;            // stored webhooks per transaction
constexpr int kDrainMaxPerRun = 20000;      // then the job hands over to a fresh run
constexpr size_t kMaxWebhookBody = 4u << 20;
constexpr int kSendAttempts = 10;

std::atomic<uint64_t> g_rejected{0};

Status field_error(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what, "{\"field\":" + json::quote(field) + "}");
}

// A refused webhook: counted and logged (never with the token or a signature), nothing stored.
Status reject(const WebhookRequest& req, Status s) {
  g_rejected.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("webhook {}/{} from {} refused: {}", req.provider, req.channel,
               req.remote_addr.empty() ? "?" : req.remote_addr, s.message());
  return s;
}

messaging::WebhookRequest adapter_request(const WebhookRequest& req) {
  messaging::WebhookRequest w;
  w.method = req.method;
  w.url = req.url;
  w.content_type = req.content_type;
  w.headers = req.headers;
  w.body = req.body;
  return w;
}

struct AccountRow {
  MessagingAccount acct;
};

// Every active messaging account of `provider` (optionally on one channel, one org).
Result<std::vector<MessagingAccount>> accounts_of(api::Core& core, const std::string& provider,
                                                  const std::string& channel,
                                                  const std::string& org_scope) {
  std::string sql =
      "SELECT id, org_id, channel, provider, name, active, config, secrets FROM channel_accounts "
      "WHERE provider = ? AND active = 1 AND channel <> 'email'";
  std::vector<store::Value> args{provider};
  if (!channel.empty()) {
    sql += " AND channel = ?";
    args.emplace_back(channel);
  }
  if (!org_scope.empty()) {
    sql += " AND org_id = ?";
    args.emplace_back(org_scope);
  }
  BX_ASSIGN_OR_RETURN(auto rows, core.db->query(sql, args));
  std::vector<MessagingAccount> out;
  for (const auto& r : rows) {
    auto a = messaging::decode_messaging_account(r.str(0), r.str(1), r.str(2), r.str(3),
                                                 r.str(4), r.int64(5) != 0, r.text(6), r.text(7));
    if (a.ok()) out.push_back(std::move(a).value());
  }
  return out;
}

// One stored webhook plus its drain job, in one transaction.
Status store_webhook(api::Core& core, const MessagingAccount& acct, const WebhookRequest& req,
                     std::string_view body) {
  Principal who = api::system_principal(acct.org_id, "webhook");
  api::Ctx ctx(core, who, "webhook.receive");
  bool text = g_utf8_validate(body.data(), static_cast<gssize>(body.size()), nullptr) &&
              body.find('\0') == std::string_view::npos;
  std::string stored = text ? std::string(body) : crypto::base64_encode(body);
  // The URL without its query (Exotel's token is in the path, which is kept out of the row).
  std::string url = req.url.substr(0, req.url.find('?'));
  if (acct.provider == "exotel") url = "/api/v1/webhooks/exotel/" + req.channel + "/…";
  return ctx.db().transaction([&](store::Conn& c) -> Status {
    auto r = c.query(
        "INSERT INTO webhook_inbox (id, org_id, account_id, provider, channel, content_type, url, "
        "body, body_encoding, status, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        {ctx.new_id(), acct.org_id, acct.id, acct.provider, acct.channel, req.content_type, url,
         stored, text ? "text" : "base64", ctx.now()});
    if (!r.ok()) return r.status();
    runtime::JobSpec job;
    job.kind = std::string(kWebhookDrainJob);
    job.unique_key = std::string(kWebhookDrainJob);  // one pending drain per organization
    job.max_attempts = 1000;
    return runtime::JobQueue::enqueue(c, ctx, job).status();
  });
}

// Meta delivers one envelope for a whole app; split it per phone number id so each part goes
// to the account (and organization) that owns the number.
std::map<std::string, std::string> split_meta_envelope(std::string_view body) {
  std::map<std::string, std::string> out;
  json::Document d;
  if (!json::parse(body, &d, {64, kMaxWebhookBody}).ok() || !d.IsObject()) return out;
  const json::Value* entries = json::get(d, "entry");
  if (!entries || !entries->IsArray()) return out;
  std::map<std::string, std::vector<std::pair<const json::Value*, const json::Value*>>> groups;
  for (auto& e : entries->GetArray()) {
    const json::Value* changes = json::get(e, "changes");
    if (!changes || !changes->IsArray()) continue;
    for (auto& ch : changes->GetArray()) {
      const json::Value* value = json::get(ch, "value");
      const json::Value* meta = value ? json::get(*value, "metadata") : nullptr;
      auto pid = meta ? json::get_string(*meta, "phone_number_id") : std::nullopt;
      if (pid) groups[std::string(*pid)].emplace_back(&e, &ch);
    }
  }
  for (auto& [pid, list] : groups) {
    std::string j = "{\"object\":\"whatsapp_business_account\",\"entry\":[";
    bool first = true;
    for (auto& [e, ch] : list) {
      if (!first) j += ',';
      first = false;
      auto id = json::get_string(*e, "id");
      j += "{\"id\":" + json::quote(id.value_or("")) + ",\"changes\":[" + json::stringify(*ch) + "]}";
    }
    out[pid] = j + "]}";
  }
  return out;
}

std::string query_param(std::string_view query, std::string_view key) {
  auto fields = net::form_decode(query);
  if (!fields.ok()) return {};
  for (const auto& [k, v] : *fields)
    if (k == key) return v;
  return {};
}

WebhookResponse accepted(int n) {
  WebhookResponse r;
  r.status = 200;
  r.body = "{\"success\":true,\"data\":{\"accepted\":" + std::to_string(n) + "}}";
  return r;
}

}  // namespace

uint64_t webhook_rejections() { return g_rejected.load(); }

Result<WebhookResponse> receive_webhook(api::Core& core, const WebhookRequest& req,
                                        const std::string& org_scope) {
  if (req.body.size() > kMaxWebhookBody)
    return reject(req, PayloadTooLarge("webhook body over " + std::to_string(kMaxWebhookBody) +
                                       " bytes"));
  if (req.channel != "sms" && req.channel != "whatsapp" && req.channel != "voice")
    return NotFound("unknown webhook channel " + req.channel.substr(0, 20));
  auto now = core.clock->now();
  auto check_ip = [&](const MessagingAccount& a) -> Status {
    if (!req.remote_addr.empty() && !messaging::ip_allowed(a.ip_allowlist, req.remote_addr))
      return PermissionDenied("source address not in the account's allow-list");
    return Status();
  };

  if (req.provider == "exotel") {
    const Status bad_token = Unauthenticated("webhook token missing, unknown or expired");
    std::string id = messaging::token_account_id(req.token);
    if (id.empty() || !is_uuid(id)) return reject(req, bad_token);
    std::string sql = "SELECT id, org_id, channel, provider, name, active, config, secrets FROM "
                      "channel_accounts WHERE id = ? AND provider = 'exotel' AND active = 1";
    std::vector<store::Value> args{id};
    if (!org_scope.empty()) {
      sql += " AND org_id = ?";
      args.emplace_back(org_scope);
    }
    BX_ASSIGN_OR_RETURN(auto rows, core.db->query(sql, args));
    if (rows.empty()) return reject(req, bad_token);
    const auto& r = rows[0];
    auto acct = messaging::decode_messaging_account(r.str(0), r.str(1), r.str(2), r.str(3),
                                                    r.str(4), true, r.text(6), r.text(7));
    if (!acct.ok() || !messaging::token_matches(*acct, req.token, now)) return reject(req, bad_token);
    if (auto s = check_ip(*acct); !s.ok()) return reject(req, s);
    if (acct->channel != req.channel)
      return reject(req, InvalidArgument("this callback URL belongs to a " + acct->channel +
                                         " account, not " + req.channel));
    BX_RETURN_IF_ERROR(store_webhook(core, *acct, req, req.body));
    return accepted(1);
  }

  if (req.provider == "meta") {
    if (req.channel != "whatsapp") return NotFound("Meta webhooks are whatsapp only");
    BX_ASSIGN_OR_RETURN(auto accts, accounts_of(core, "meta", "whatsapp", org_scope));
    messaging::Provider* meta = messaging::provider_for("meta");
    if (!meta) return Unavailable("the Meta adapter is not built in");
    if (req.method == "GET") {  // subscription handshake
      std::string mode = query_param(req.query, "hub.mode");
      std::string token = query_param(req.query, "hub.verify_token");
      std::string challenge = query_param(req.query, "hub.challenge");
      std::string t = crypto::sha256(token);
      for (const auto& a : accts) {
        if (a.api.verify_token.empty()) continue;
        if (mode == "subscribe" && crypto::constant_time_equal(t, crypto::sha256(a.api.verify_token))) {
          WebhookResponse res;
          res.content_type = "text/plain";
          res.body = challenge;
          return res;
        }
      }
      return reject(req, PermissionDenied("verify token does not match"));
    }
    std::vector<const MessagingAccount*> signed_for;
    for (const auto& a : accts) {
      if (!check_ip(a).ok()) continue;
      if (meta->verify_webhook(a.api, adapter_request(req)).ok()) signed_for.push_back(&a);
    }
    if (signed_for.empty())
      return reject(req, Unauthenticated("X-Hub-Signature-256 missing or does not match"));
    int stored = 0;
    for (const auto& [pid, part] : split_meta_envelope(req.body)) {
      for (const auto* a : signed_for) {
        if (a->api.phone_number_id != pid) continue;
        BX_RETURN_IF_ERROR(store_webhook(core, *a, req, part));
        ++stored;
      }
    }
    return accepted(stored);  // events for numbers no account owns are acknowledged, dropped
  }

  if (req.provider == "twilio") {
    BX_ASSIGN_OR_RETURN(auto accts, accounts_of(core, "twilio", req.channel, org_scope));
    messaging::Provider* tw = messaging::provider_for("twilio");
    if (!tw) return Unavailable("the Twilio adapter is not built in");
    for (const auto& a : accts) {
      if (!check_ip(a).ok()) continue;
      if (!tw->verify_webhook(a.api, adapter_request(req)).ok()) continue;
      // The same auth token may serve several accounts: the AccountSid in the body decides.
      auto fields = net::form_decode(req.body);
      std::string sid;
      if (fields.ok())
        for (const auto& [k, v] : *fields)
          if (k == "AccountSid") sid = v;
      if (!sid.empty() && sid != a.api.account_sid) continue;
      BX_RETURN_IF_ERROR(store_webhook(core, a, req, req.body));
      return accepted(1);
    }
    return reject(req, Unauthenticated("X-Twilio-Signature missing or does not match"));
  }
  return NotFound("unknown webhook provider " + req.provider.substr(0, 20));
}

// --- the drain job --------------------------------------------------------------------------------

namespace {

struct Stored {
  std::string id, account_id, channel, content_type, url, body;
  messaging::WebhookBatch batch;
  std::vector<std::vector<pipeline::StoredMedia>> media;
  std::vector<std::optional<pipeline::StoredMedia>> recordings;
  std::string error;  // parse failure: the row is marked failed
};

pipeline::StoredMedia store_download(api::Core& core, const std::string& org,
                                     messaging::Provider& p, const messaging::ProviderAccount& a,
                                     const messaging::Media& m) {
  pipeline::StoredMedia out;
  out.media_type = m.media_type.empty() ? "application/octet-stream" : m.media_type;
  out.filename = m.filename;
  auto data = p.fetch_media(a, m);
  if (!data.ok()) {
    out.error = data.status().message();
    return out;
  }
  if (data->size() > core.opts.max_attachment_bytes) {
    out.error = "media of " + std::to_string(data->size()) + " bytes is over the limit";
    return out;
  }
  auto staged = core.blobs->stage(org, *data);
  if (!staged.ok()) {
    out.error = staged.status().message();
    return out;
  }
  out.blob = std::move(staged).value();
  return out;
}

// Parses a stored webhook and fetches what it refers to (outside any transaction).
void prepare(api::Core& core, const std::string& org, const MessagingAccount& acct, Stored& s) {
  messaging::Provider* p = messaging::provider_for(acct.provider);
  if (!p) {
    s.error = "no adapter for provider " + acct.provider;
    return;
  }
  messaging::WebhookRequest w;
  w.url = s.url;
  w.content_type = s.content_type;
  w.body = s.body;
  auto batch = p->parse_webhook(s.channel, w);
  if (!batch.ok()) {
    s.error = batch.status().message();
    return;
  }
  s.batch = std::move(batch).value();
  for (auto& m : s.batch.messages) {
    std::vector<pipeline::StoredMedia> got;
    for (const auto& media : m.media) {
      got.push_back(store_download(core, org, *p, acct.api, media));
      if (!got.back().error.empty())
        spdlog::warn("webhook {}: media of message {} not stored: {}", s.id, m.provider_id,
                     got.back().error);
    }
    s.media.push_back(std::move(got));
  }
  for (auto& call : s.batch.calls) {
    std::optional<pipeline::StoredMedia> rec;
    if (!call.recording_url.empty()) {
      messaging::Media m;
      m.kind = "audio";
      m.url = call.recording_url;
      m.media_type = "audio/mpeg";
      m.filename = "call-" + call.call_id + ".mp3";
      rec = store_download(core, org, *p, acct.api, m);
      if (!rec->error.empty())
        spdlog::warn("webhook {}: recording of call {} not stored: {}", s.id, call.call_id,
                     rec->error);
    }
    s.recordings.push_back(std::move(rec));
  }
}

Status finish_rows(store::Conn& c, api::Ctx& ctx, const std::vector<Stored*>& rows,
                   std::map<std::string, MessagingAccount>& accts, const std::string& region) {
  std::vector<std::string> done;
  for (Stored* s : rows) {
    if (s->error.empty()) {
      pipeline::MessagingOutcome out;
      BX_RETURN_IF_ERROR(pipeline::apply_messaging_batch(c, ctx, accts.at(s->account_id), region,
                                                         s->batch, s->media, s->recordings, out));
      // New recordings are transcribed by a job of their own (network, minutes of audio).
      if (!ctx.core().opts.transcription_url.empty()) {
        for (const auto& [message_id, sha] : out.recordings) {
          runtime::JobSpec t;
          t.kind = std::string(kTranscribeJob);
          t.payload_json = "{\"message_id\":" + json::quote(message_id) + ",\"sha256\":" +
                           json::quote(sha) + "}";
          t.unique_key = std::string(kTranscribeJob) + ":" + message_id + ":" + sha;
          t.max_attempts = 5;
          BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, t).status());
        }
      }
    }
    if (s->error.empty()) {
      done.push_back(s->id);
      continue;
    }
    auto r = c.query("UPDATE webhook_inbox SET status = 'failed', error = ?, processed_at = ? "
                     "WHERE id = ? AND org_id = ? AND status = 'pending'",
                     {s->error.substr(0, 2000), ctx.now(), s->id, ctx.org()});
    if (!r.ok()) return r.status();
  }
  // The rows that went through are marked done together.
  constexpr size_t kIdsPerStatement = 200;
  for (size_t at = 0; at < done.size(); at += kIdsPerStatement) {
    size_t n = std::min(kIdsPerStatement, done.size() - at);
    std::string sql = "UPDATE webhook_inbox SET status = 'done', error = NULL, processed_at = ? "
                      "WHERE org_id = ? AND status = 'pending' AND id IN (";
    std::vector<store::Value> args{ctx.now(), ctx.org()};
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ", ?" : "?";
      args.emplace_back(done[at + i]);
    }
    sql += ")";
    auto r = c.query(sql, args);
    if (!r.ok()) return r.status();
  }
  return Status();
}

}  // namespace

runtime::JobResult run_webhook_drain(api::Core& core, const runtime::Job& job) {
  // Webhooks stored from now on get a drain run of their own after this one.
  if (auto st = runtime::JobQueue::release_unique_key(*core.db, job); !st.ok())
    return JobResult::retry("releasing the drain key: " + st.message());
  Principal who = api::system_principal(job.org_id, "webhook");
  std::map<std::string, MessagingAccount> accts;
  // Read before any transaction: on an in-memory database a read inside one would wait for it.
  std::string region;
  {
    api::Ctx ctx(core, who, "webhook.drain");
    auto r = default_region(ctx);
    if (!r.ok()) return JobResult::retry("reading the organization: " + r.status().message());
    region = *r;
  }
  int total = 0;
  while (total < kDrainMaxPerRun) {
    api::Ctx ctx(core, who, "webhook.drain");
    auto rows = core.db->query(
        "SELECT id, account_id, channel, content_type, url, body, body_encoding FROM "
        "webhook_inbox WHERE org_id = ? AND status = 'pending' ORDER BY received_at, id LIMIT ?",
        {job.org_id, kDrainBatch});
    if (!rows.ok()) return JobResult::retry("reading stored webhooks: " + rows.status().message());
    if (rows->empty()) break;
    std::vector<Stored> batch(rows->size());
    for (size_t i = 0; i < rows->size(); ++i) {
      const auto& r = (*rows)[i];
      Stored& s = batch[i];
      s.id = r.str(0);
      s.account_id = r.str(1);
      s.channel = r.str(2);
      s.content_type = r.str(3);
      s.url = r.str(4);
      if (r.text(6) == "base64") {
        if (!crypto::base64_decode(r.text(5), &s.body)) s.error = "stored body is not base64";
      } else {
        s.body = r.str(5);
      }
      if (!accts.count(s.account_id)) {
        services::DbReader reader(*core.db);
        auto a = messaging::load_messaging_account(reader, job.org_id, s.account_id);
        if (!a.ok()) {
          s.error = "account: " + a.status().message();
          continue;
        }
        accts.emplace(s.account_id, std::move(a).value());
      }
      if (s.error.empty()) prepare(core, job.org_id, accts.at(s.account_id), s);
    }
    std::vector<Stored*> all;
    for (auto& s : batch) all.push_back(&s);
    // The batch's events and audit rows go in with a few multi-row INSERTs at the end.
    ctx.defer_appends(true);
    // So are the new messages' full-text entries (pipeline/fts_batch.hpp).
    Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
      ctx.discard_appends();  // a retried attempt starts clean
      BX_ASSIGN_OR_RETURN(bool fts, pipeline::begin_fts_batch(c));
      BX_RETURN_IF_ERROR(finish_rows(c, ctx, all, accts, region));
      if (fts) BX_RETURN_IF_ERROR(pipeline::end_fts_batch(c));
      return ctx.flush_appends(c);
    });
    ctx.discard_appends();
    ctx.defer_appends(false);
    if (!st.ok()) {
      // One bad row must not hold up the rest: one transaction per row, failures recorded.
      for (auto& s : batch) {
        api::Ctx one(core, who, "webhook.drain");
        Status s1 = one.db().transaction([&](store::Conn& c) {
          return finish_rows(c, one, {&s}, accts, region);
        });
        if (!s1.ok()) {
          if (s1.code() == Code::unavailable || s1.code() == Code::conflict)
            return JobResult::retry("storing webhook " + s.id + ": " + s1.message());
          s.error = s1.message();
          (void)one.db().transaction([&](store::Conn& c) {
            messaging::WebhookBatch empty;
            s.batch = empty;
            return finish_rows(c, one, {&s}, accts, region);
          });
          spdlog::warn("webhook {} failed: {}", s.id, s1.message());
        }
      }
    }
    total += static_cast<int>(batch.size());
  }
  if (total >= kDrainMaxPerRun) {
    // Hand over to a fresh run so other jobs get their turn.
    api::Ctx ctx(core, who, "webhook.drain");
    runtime::JobSpec next;
    next.kind = std::string(kWebhookDrainJob);
    next.unique_key = std::string(kWebhookDrainJob);
    next.max_attempts = 1000;
    (void)ctx.db().transaction([&](store::Conn& c) {
      return runtime::JobQueue::enqueue(c, ctx, next).status();
    });
  }
  return JobResult::ok();
}

// --- outbound: messages.send on whatsapp / sms ---------------------------------------------------

namespace {


// The account to send through: the one named, else the one the thread's last message on this
// channel came in on, else the organization's first active account on the channel.
Result<MessagingAccount> pick_messaging_account(store::Conn& c, api::Ctx& ctx,
                                               const std::string& channel,
                                               const std::optional<std::string>& named,
                                               const std::optional<std::string>& thread_id) {
  if (named) {
    auto a = messaging::load_messaging_account(c, ctx.org(), *named);
    if (!a.ok()) {
      if (a.status().code() == Code::not_found)
        return field_error("channel_account_id", "no messaging channel account " + *named);
      return a.status();
    }
    if (!a->active) return field_error("channel_account_id", "the account is not active");
    if (a->channel != channel)
      return field_error("channel_account_id", "the account is a " + a->channel + " account");
    return a;
  }
  if (thread_id) {
    BX_ASSIGN_OR_RETURN(auto r, c.query("SELECT channel_account_id FROM messages WHERE org_id = ? "
                                        "AND thread_id = ? AND channel = ? AND "
                                        "channel_account_id IS NOT NULL ORDER BY created_at DESC, "
                                        "id DESC LIMIT 1",
                                        {ctx.org(), *thread_id, channel}));
    if (!r.empty()) {
      auto a = messaging::load_messaging_account(c, ctx.org(), r[0].str(0));
      if (a.ok() && a->active) return a;
    }
  }
  BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT id FROM channel_accounts WHERE org_id = ? AND "
                                         "channel = ? AND active = 1 ORDER BY created_at, id",
                                         {ctx.org(), channel}));
  for (const auto& r : rows) {
    auto a = messaging::load_messaging_account(c, ctx.org(), r.str(0));
    if (a.ok()) return a;
  }
  return field_error("channel_account_id", "no active " + channel +
                                               " channel account; create one with channels.create");
}

// The customer's address on `channel` in the thread: the WhatsApp id / phone of the thread's
// contact, preferring the address their last message came from.
Result<std::string> recipient_in_thread(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                                        const std::string& channel) {
  BX_ASSIGN_OR_RETURN(auto last, c.query("SELECT from_addr FROM messages WHERE org_id = ? AND "
                                         "thread_id = ? AND channel = ? AND direction = "
                                         "'inbound' ORDER BY created_at DESC, id DESC LIMIT 1",
                                         {ctx.org(), thread_id, channel}));
  if (!last.empty()) {
    json::Document d;
    if (json::parse(last[0].text(0), &d).ok() && d.IsObject()) {
      if (channel == "sms")
        if (auto ph = json::get_string(d, "phone"); ph && !ph->empty()) return std::string(*ph);
      if (auto a = json::get_string(d, "address"); a && !a->empty()) return std::string(*a);
    }
  }
  BX_ASSIGN_OR_RETURN(auto who, c.query("SELECT ci.kind, ci.value FROM threads t JOIN "
                                        "contact_identities ci ON ci.contact_id = t.contact_id "
                                        "WHERE t.id = ? AND t.org_id = ? AND ci.kind IN "
                                        "('whatsapp','phone') ORDER BY ci.kind DESC, ci.created_at",
                                        {thread_id, ctx.org()}));
  for (const auto& r : who) {
    if (channel == "whatsapp" || r.text(0) == "phone") return r.str(1);
  }
  return field_error("to", "the thread's contact has no phone number or WhatsApp id");
}


std::optional<std::chrono::milliseconds> retry_after_of(const Status& s) {
  json::Document d;
  if (s.details().empty() || !json::parse(s.details(), &d).ok() || !d.IsObject()) return std::nullopt;
  if (auto ms = json::get_int(d, "retry_after_ms"); ms && *ms >= 0)
    return std::chrono::milliseconds(*ms);
  return std::nullopt;
}

std::string provider_error(const Status& s) {
  std::string e = s.message();
  json::Document d;
  if (!s.details().empty() && json::parse(s.details(), &d).ok() && d.IsObject())
    if (auto code = json::get_string(d, "provider_code"); code && e.find(*code) == std::string::npos)
      e = std::string(*code) + ": " + e;
  return e.substr(0, 2000);
}

}  // namespace

Result<std::string> messaging_send(api::Ctx& ctx, json::Value& p) {
  std::string channel = *api::param_str(p, "channel");
  auto thread_param = api::param_str(p, "thread_id");
  std::string text = api::param_str(p, "text").value_or("");
  std::optional<messaging::TemplateMessage> tmpl;
  if (const json::Value* t = json::get(p, "template"); t && t->IsObject()) {
    if (channel != "whatsapp") return field_error("template", "templates are for WhatsApp");
    messaging::TemplateMessage tm;
    tm.name = std::string(json::get_string(*t, "name").value_or(""));
    if (tm.name.empty()) return field_error("template.name", "required");
    tm.language = std::string(json::get_string(*t, "language").value_or("en"));
    if (const json::Value* bp = json::get(*t, "params"); bp && bp->IsArray())
      for (auto& v : bp->GetArray()) tm.body_params.emplace_back(v.GetString(), v.GetStringLength());
    if (auto hm = json::get_string(*t, "header_media_url")) {
      messaging::Media m;
      m.kind = std::string(json::get_string(*t, "header_media_kind").value_or("document"));
      m.url = std::string(*hm);
      tm.header_media = m;
    }
    tmpl = std::move(tm);
  }
  std::optional<std::string> media_url = api::param_str(p, "media_url");
  if (media_url && channel != "whatsapp") return field_error("media_url", "media is for WhatsApp");
  if (media_url && media_url->rfind("https://", 0) != 0)
    return field_error("media_url", "must be an https:// URL the provider can fetch");
  if (text.empty() && !tmpl && !media_url) return field_error("text", "required");
  if (channel == "sms" && text.size() > 2000) return field_error("text", "an SMS is at most 2000 characters");
  std::optional<std::string> send_at;
  if (auto s = api::param_str(p, "send_at")) {
    TimePoint t;
    if (!parse_time(*s, &t)) return field_error("send_at", "not an ISO-8601 time");
    if (t > ctx.core().clock->now()) send_at = format_time(t);
  }
  BX_ASSIGN_OR_RETURN(std::string region, default_region(ctx));

  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    std::string thread_id;
    std::string to;
    std::optional<std::string> window_until;
    bool created = false;
    if (thread_param) {
      BX_ASSIGN_OR_RETURN(auto t, c.query("SELECT merged_into, can_reply_freely_until FROM "
                                          "threads WHERE id = ? AND org_id = ?",
                                          {*thread_param, ctx.org()}));
      if (t.empty()) return NotFound("thread " + *thread_param + " not found");
      thread_id = t[0].is_null(0) ? *thread_param : t[0].str(0);
      window_until = t[0].opt(1);
      if (auto explicit_to = json::get(p, "to"); explicit_to && explicit_to->IsArray() &&
                                                explicit_to->Size() > 0) {
        to = (*explicit_to)[0].GetString();
      } else {
        BX_ASSIGN_OR_RETURN(to, recipient_in_thread(c, ctx, thread_id, channel));
      }
    } else {
      const json::Value* tv = json::get(p, "to");
      if (!tv || !tv->IsArray() || tv->Size() != 1)
        return field_error("to", "give exactly one phone number (or WhatsApp id) without thread_id");
      std::string raw = (*tv)[0].GetString();
      auto phone = pipeline::phone_of(raw, region);
      if (!phone && channel == "sms")
        return field_error("to", "not a valid phone number (write it with its country code)");
      to = phone.value_or(raw);
      std::vector<std::string> wa;
      if (channel == "whatsapp") wa.push_back(phone ? phone->substr(1) : raw);
      BX_ASSIGN_OR_RETURN(auto who, pipeline::contact_for_phone(c, ctx, phone, wa, ""));
      // The contact's open thread on the channel, else a new one.
      BX_ASSIGN_OR_RETURN(auto open, c.query("SELECT id, can_reply_freely_until FROM threads "
                                             "WHERE org_id = ? AND contact_id = ? AND "
                                             "merged_into IS NULL AND status IN "
                                             "('open','pending','snoozed') AND "
                                             "CAST(channels AS TEXT) LIKE '%\"' || ? || '\"%' "
                                             "ORDER BY last_activity_at DESC LIMIT 1",
                                             {ctx.org(), who.contact_id, channel}));
      if (!open.empty()) {
        thread_id = open[0].str(0);
        window_until = open[0].opt(1);
      } else {
        thread_id = ctx.new_id();
        created = true;
        std::string subject = std::string(channel == "sms" ? "SMS" : "WhatsApp") + " with " + to;
        auto r = c.query(
            "INSERT INTO threads (id, org_id, subject, status, priority, customer_id, contact_id, "
            "channels, tags, last_activity_at, created_at, updated_at) "
            "VALUES (?, ?, ?, 'open', 'normal', ?, ?, ?, '[]', ?, ?, ?)",
            {thread_id, ctx.org(), subject, store::Value(who.customer_id), who.contact_id,
             "[\"" + channel + "\"]", ctx.now(), ctx.now(), ctx.now()});
        if (!r.ok()) return r.status();
      }
    }
    BX_ASSIGN_OR_RETURN(auto acct, pick_messaging_account(c, ctx, channel,
                                                          api::param_str(p, "channel_account_id"),
                                                          thread_param ? std::optional(thread_id)
                                                                       : std::nullopt));
    // WhatsApp: free-form only inside the customer-service window (15 min of margin).
    if (channel == "whatsapp" && !tmpl) {
      TimePoint until{};
      bool open = window_until && parse_time(*window_until, &until) &&
                  ctx.core().clock->now() + std::chrono::minutes(15) < until;
      if (!open) {
        if (!acct.fallback_template)
          return field_error("template", std::string("outside WhatsApp's 24-hour window (") +
                                             (window_until ? "it closed at " + *window_until
                                                           : "the customer has not written") +
                                             "): only an approved template may be sent; give "
                                             "template.name, or configure the account's "
                                             "fallback_template");
        tmpl = acct.fallback_template;
      }
    }
    std::string meta = "{\"provider\":" + json::quote(acct.provider);
    if (tmpl) {
      meta += ",\"template\":{\"name\":" + json::quote(tmpl->name) + ",\"language\":" +
              json::quote(tmpl->language) + ",\"params\":[";
      for (size_t i = 0; i < tmpl->body_params.size(); ++i)
        meta += (i ? "," : "") + json::quote(tmpl->body_params[i]);
      meta += "]";
      if (tmpl->header_media)
        meta += ",\"header_media_url\":" + json::quote(tmpl->header_media->url) +
                ",\"header_media_kind\":" + json::quote(tmpl->header_media->kind);
      meta += "}";
    }
    if (media_url) meta += ",\"media_url\":" + json::quote(*media_url);
    meta += "}";
    std::string shown = !text.empty() ? text : tmpl ? "[template " + tmpl->name + "]" : "[media]";
    std::optional<std::string> author;
    if (!ctx.who().user_id.empty()) author = ctx.who().user_id;
    auto r = c.query(
        "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, from_addr, "
        "to_addrs, cc_addrs, body_text, snippet, status, send_at, channel_account_id, meta, "
        "created_at) VALUES (?, ?, ?, ?, 'outbound', ?, ?, ?, '[]', ?, ?, 'queued', ?, ?, ?, ?)",
        {id, ctx.org(), thread_id, channel, store::Value(author),
         "{\"name\":null,\"address\":" + json::quote(acct.api.from) + "}",
         "[{\"name\":null,\"address\":" + json::quote(to) + "}]", shown, snippet_of(shown),
         store::Value(send_at), acct.id, meta, ctx.now()});
    if (!r.ok()) return r.status();
    auto t = c.query("UPDATE threads SET message_count = message_count + 1, last_activity_at = ?, "
                     "updated_at = ? WHERE id = ? AND org_id = ?",
                     {ctx.now(), ctx.now(), thread_id, ctx.org()});
    if (!t.ok()) return t.status();
    BX_ASSIGN_OR_RETURN(out, queue_delivery(c, ctx, kMessagingSendJob, id, thread_id, send_at,
                                            kSendAttempts, created));
    return Status();
  }));
  return out;
}

runtime::JobResult run_messaging_send(api::Core& core, const runtime::Job& job) {
  auto mid = runtime::payload_string(job, "message_id");
  if (!mid) return JobResult::fail("payload has no message_id");
  std::string id = std::move(*mid);
  Principal sys = api::system_principal(job.org_id, "outbox");
  api::Ctx ctx(core, sys, "outbox.send");
  std::string thread_id, account_id, channel, to, text, meta;
  bool skip = false;
  Status claimed = ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto rows, c.query("SELECT status, thread_id, channel_account_id, channel, "
                                           "to_addrs, body_text, meta FROM messages WHERE id = ? "
                                           "AND org_id = ?",
                                           {id, ctx.org()}));
    if (rows.empty() || (rows[0].text(0) != "queued" && rows[0].text(0) != "sending")) {
      skip = true;
      return Status();
    }
    const auto& r = rows[0];
    thread_id = r.str(1);
    account_id = r.str(2);
    channel = r.str(3);
    json::Document d;
    if (json::parse(r.text(4), &d).ok() && d.IsArray() && d.Size() > 0)
      to = std::string(json::get_string(d[0], "address").value_or(""));
    text = r.str(5);
    meta = r.is_null(6) ? "{}" : r.str(6);
    bool was_queued = r.text(0) == "queued";
    auto u = c.query("UPDATE messages SET status = 'sending', attempts = attempts + 1 WHERE id = ? "
                     "AND org_id = ?",
                     {id, ctx.org()});
    if (!u.ok()) return u.status();
    if (was_queued) BX_RETURN_IF_ERROR(message_status_event(c, ctx, id, thread_id, "queued", "sending", std::nullopt));
    return Status();
  });
  if (!claimed.ok()) return JobResult::retry("claiming the message: " + claimed.message());
  if (skip) return JobResult::ok();

  auto settle = [&](bool permanent, const std::string& error,
                    std::optional<std::chrono::milliseconds> after = std::nullopt) {
    api::Ctx c2(core, sys, "outbox.send");
    std::string to_status = permanent ? "failed" : "queued";
    Status st = c2.db().transaction([&](store::Conn& c) -> Status {
      auto u = c.query("UPDATE messages SET status = ?, error = ? WHERE id = ? AND org_id = ? AND "
                       "status = 'sending'",
                       {to_status, error, id, c2.org()});
      if (!u.ok()) return u.status();
      return message_status_event(c, c2, id, thread_id, "sending", to_status, error);
    });
    if (!st.ok()) spdlog::warn("outbox: recording the outcome of {}: {}", id, st.message());
    return permanent ? JobResult::fail(error) : JobResult::retry(error, after);
  };

  services::DbReader reader(*core.db);
  auto acct = messaging::load_messaging_account(reader, job.org_id, account_id);
  if (!acct.ok()) return settle(true, "channel account: " + acct.status().message());
  messaging::Provider* provider = messaging::provider_for(acct->provider);
  if (!provider) return settle(true, "no adapter for provider " + acct->provider);

  messaging::OutboundMessage m;
  m.channel = channel;
  m.to = to;
  m.reference = id;
  m.status_callback_url = messaging::status_callback_url(*acct, channel);
  json::Document md;
  (void)json::parse(meta, &md);
  const json::Value* tv = md.IsObject() ? json::get(md, "template") : nullptr;
  if (tv && tv->IsObject()) {
    messaging::TemplateMessage tm;
    tm.name = std::string(json::get_string(*tv, "name").value_or(""));
    tm.language = std::string(json::get_string(*tv, "language").value_or("en"));
    if (const json::Value* ps = json::get(*tv, "params"); ps && ps->IsArray())
      for (auto& v : ps->GetArray()) tm.body_params.emplace_back(v.GetString(), v.GetStringLength());
    if (auto hm = json::get_string(*tv, "header_media_url")) {
      messaging::Media hmedia;
      hmedia.url = std::string(*hm);
      hmedia.kind = std::string(json::get_string(*tv, "header_media_kind").value_or("document"));
      tm.header_media = hmedia;
    }
    m.template_message = tm;
  } else {
    m.text = text;
  }
  if (md.IsObject())
    if (auto mu = json::get_string(md, "media_url")) {
      messaging::Media media;
      media.url = std::string(*mu);
      media.kind = "document";
      for (const char* k : {".jpg", ".jpeg", ".png"})
        if (media.url.find(k) != std::string::npos) media.kind = "image";
      media.caption = text;
      m.media = media;
      m.text.clear();
    }

  auto sent = provider->send(acct->api, m);
  if (!sent.ok()) {
    const Status& s = sent.status();
    std::string err = acct->provider + ": " + provider_error(s);
    if (s.code() == Code::unavailable)
      return job.last_attempt() ? settle(true, err) : settle(false, err, retry_after_of(s));
    if (s.code() == Code::unauthenticated) {
      api::Ctx c3(core, sys, "outbox.send");
      (void)set_channel_status(c3, acct->id, "auth_failed", err);
    }
    return settle(true, err);
  }
  api::Ctx done(core, sys, "outbox.send");
  Status st = done.db().transaction([&](store::Conn& c) -> Status {
    // A delivery report may already have moved it further: only sending -> sent here.
    auto u = c.query("UPDATE messages SET provider_id = ?, sent_at = ?, error = NULL, "
                     "status = CASE WHEN status IN ('sending','queued') THEN 'sent' ELSE status END "
                     "WHERE id = ? AND org_id = ?",
                     {sent->provider_id, done.now(), id, done.org()});
    if (!u.ok()) return u.status();
    BX_ASSIGN_OR_RETURN(auto now_status, c.query("SELECT status FROM messages WHERE id = ? AND org_id = ?",
                                                 {id, done.org()}));
    if (!now_status.empty() && now_status[0].text(0) == "sent")
      BX_RETURN_IF_ERROR(message_status_event(c, done, id, thread_id, "sending", "sent", std::nullopt));
    auto t = c.query("UPDATE threads SET last_message_at = ?, preview = (SELECT snippet FROM "
                     "messages WHERE id = ?), last_activity_at = ?, updated_at = ? WHERE id = ? "
                     "AND org_id = ?",
                     {done.now(), id, done.now(), done.now(), thread_id, done.org()});
    if (!t.ok()) return t.status();
    BX_ASSIGN_OR_RETURN(auto mj, message_json(c, done, id));
    BX_RETURN_IF_ERROR(done.event(c, "message.sent", "message", id, thread_id, mj));
    if (channel == "sms") {
      // If no delivery report ever comes, ask the provider (details API) later.
      runtime::JobSpec poll;
      poll.kind = std::string(kMessagingPollJob);
      poll.payload_json = "{\"message_id\":" + json::quote(id) + "}";
      poll.run_at = core.clock->now() + std::chrono::minutes(10);
      poll.unique_key = std::string(kMessagingPollJob) + ":" + id;
      poll.max_attempts = 6;
      BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, done, poll).status());
    }
    return Status();
  });
  if (!st.ok())
    spdlog::error("outbox: message {} was sent ({}) but recording it failed: {}", id,
                  sent->provider_id, st.message());
  return JobResult::ok();
}

runtime::JobResult run_messaging_poll(api::Core& core, const runtime::Job& job) {
  auto mid = runtime::payload_string(job, "message_id");
  if (!mid) return JobResult::fail("payload has no message_id");
  std::string id = std::move(*mid);
  Principal sys = api::system_principal(job.org_id, "outbox");
  api::Ctx ctx(core, sys, "outbox.poll");
  auto row = core.db->query("SELECT status, provider_id, channel_account_id, channel FROM messages "
                            "WHERE id = ? AND org_id = ?",
                            {id, job.org_id});
  if (!row.ok()) return JobResult::retry(row.status().message());
  if (row->empty() || row->rows[0].is_null(1)) return JobResult::ok();
  std::string status = row->rows[0].str(0);
  std::string channel = row->rows[0].str(3);
  services::DbReader reader(*core.db);
  auto acct = messaging::load_messaging_account(reader, job.org_id, row->rows[0].str(2));
  if (!acct.ok()) return JobResult::fail(acct.status().message());
  messaging::Provider* p = messaging::provider_for(acct->provider);
  if (!p) return JobResult::fail("no adapter for " + acct->provider);

  if (channel == "voice") {
    static const std::set<std::string> kDone{"completed", "busy", "no-answer", "failed", "canceled"};
    if (kDone.count(status)) return JobResult::ok();  // the callback came
    auto u = p->poll_call(acct->api, row->rows[0].str(1));
    if (!u.ok()) {
      if (u.status().code() == Code::invalid_argument) return JobResult::ok();  // not supported
      return JobResult::retry(u.status().message(), retry_after_of(u.status()));
    }
    messaging::WebhookBatch b;
    b.calls.push_back(*u);
    if (b.calls[0].call_id.empty()) b.calls[0].call_id = row->rows[0].str(1);
    auto region = default_region(ctx);
    if (!region.ok()) return JobResult::retry(region.status().message());
    Status st = ctx.db().transaction([&](store::Conn& c) {
      pipeline::MessagingOutcome out;
      return pipeline::apply_messaging_batch(c, ctx, *acct, *region, b, {}, {}, out);
    });
    if (!st.ok()) return JobResult::retry(st.message());
    if (kDone.count(b.calls[0].status)) return JobResult::ok();
    return JobResult::retry("call not finished yet (" + b.calls[0].status + ")",
                            std::chrono::minutes(10));
  }

  if (status == "delivered" || status == "read" || status == "failed") return JobResult::ok();
  auto u = p->poll_message(acct->api, row->rows[0].str(1));
  if (!u.ok()) {
    if (u.status().code() == Code::invalid_argument) return JobResult::ok();  // not supported
    return JobResult::retry(u.status().message(), retry_after_of(u.status()));
  }
  messaging::StatusUpdate s = *u;
  if (s.provider_id.empty()) s.provider_id = row->rows[0].str(1);
  Status st = ctx.db().transaction([&](store::Conn& c) {
    return pipeline::apply_status_update(c, ctx, s).status();
  });
  if (!st.ok()) return JobResult::retry(st.message());
  if (s.status == messaging::DeliveryStatus::delivered || s.status == messaging::DeliveryStatus::read ||
      s.status == messaging::DeliveryStatus::failed)
    return JobResult::ok();
  return JobResult::retry("not final yet (" + s.provider_status + ")", std::chrono::minutes(10));
}

// --- calls -------------------------------------------------------------------------------------

Result<std::string> calls_start(api::Ctx& ctx, json::Value& p) {
  BX_ASSIGN_OR_RETURN(std::string region, default_region(ctx));
  std::string agent_raw = *api::param_str(p, "agent_phone");
  auto agent = pipeline::phone_of(agent_raw, region);
  if (!agent) return field_error("agent_phone", "not a valid phone number");
  bool record = json::get_bool(p, "record").value_or(false);
  std::string id = ctx.new_id();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    std::string contact_id;
    std::optional<std::string> customer_id;
    std::string to;
    if (auto cid = api::param_str(p, "contact_id")) {
      BX_ASSIGN_OR_RETURN(auto k, c.query("SELECT k.id, k.customer_id, ci.value FROM contacts k "
                                          "LEFT JOIN contact_identities ci ON ci.contact_id = k.id "
                                          "AND ci.kind = 'phone' WHERE k.id = ? AND k.org_id = ? "
                                          "ORDER BY ci.created_at LIMIT 1",
                                          {*cid, ctx.org()}));
      if (k.empty()) return NotFound("contact " + *cid + " not found");
      contact_id = k[0].str(0);
      customer_id = k[0].opt(1);
      if (k[0].is_null(2)) return field_error("contact_id", "the contact has no phone number");
      to = k[0].str(2);
    } else if (auto raw = api::param_str(p, "to")) {
      auto phone = pipeline::phone_of(*raw, region);
      if (!phone) return field_error("to", "not a valid phone number");
      to = *phone;
      BX_ASSIGN_OR_RETURN(auto who, pipeline::contact_for_phone(c, ctx, phone, {}, ""));
      contact_id = who.contact_id;
      customer_id = who.customer_id;
    } else {
      return field_error("contact_id", "give contact_id or to");
    }
    BX_ASSIGN_OR_RETURN(auto acct, pick_messaging_account(c, ctx, "voice",
                                                          api::param_str(p, "channel_account_id"),
                                                          std::nullopt));
    std::string thread_id;
    bool created = false;
    if (auto t = api::param_str(p, "thread_id")) {
      BX_RETURN_IF_ERROR(require_ref(c, ctx, "threads", *t, "thread_id"));
      thread_id = *t;
    } else {
      BX_ASSIGN_OR_RETURN(auto open, c.query("SELECT id FROM threads WHERE org_id = ? AND "
                                             "contact_id = ? AND merged_into IS NULL AND status IN "
                                             "('open','pending','snoozed') ORDER BY "
                                             "last_activity_at DESC LIMIT 1",
                                             {ctx.org(), contact_id}));
      if (!open.empty()) {
        thread_id = open[0].str(0);
      } else {
        thread_id = ctx.new_id();
        created = true;
        auto r = c.query(
            "INSERT INTO threads (id, org_id, subject, status, priority, customer_id, contact_id, "
            "channels, tags, last_activity_at, created_at, updated_at) VALUES (?, ?, ?, 'open', "
            "'normal', ?, ?, '[\"voice\"]', '[]', ?, ?, ?)",
            {thread_id, ctx.org(), "Call with " + to, store::Value(customer_id), contact_id,
             ctx.now(), ctx.now(), ctx.now()});
        if (!r.ok()) return r.status();
      }
    }
    std::optional<std::string> author;
    if (!ctx.who().user_id.empty()) author = ctx.who().user_id;
    std::string meta = "{\"provider\":" + json::quote(acct.provider) + ",\"agent_phone\":" +
                       json::quote(*agent) + ",\"record\":" + (record ? "true" : "false") +
                       ",\"call_status\":\"queued\"}";
    std::string summary = "Outgoing call: queued";
    auto r = c.query(
        "INSERT INTO messages (id, org_id, thread_id, channel, direction, author_id, from_addr, "
        "to_addrs, cc_addrs, body_text, snippet, status, channel_account_id, meta, created_at) "
        "VALUES (?, ?, ?, 'voice', 'outbound', ?, ?, ?, '[]', ?, ?, 'queued', ?, ?, ?)",
        {id, ctx.org(), thread_id, store::Value(author),
         "{\"name\":null,\"address\":" + json::quote(*agent) + "}",
         "[{\"name\":null,\"address\":" + json::quote(to) + "}]", summary, summary, acct.id, meta,
         ctx.now()});
    if (!r.ok()) return r.status();
    auto t = c.query("UPDATE threads SET message_count = message_count + 1, last_activity_at = ?, "
                     "updated_at = ? WHERE id = ? AND org_id = ?",
                     {ctx.now(), ctx.now(), thread_id, ctx.org()});
    if (!t.ok()) return t.status();
    BX_RETURN_IF_ERROR(pipeline::add_thread_channel(c, ctx.org(), thread_id, "voice"));
    // A call is time-sensitive: a few quick retries, then failed.
    BX_ASSIGN_OR_RETURN(out, queue_delivery(c, ctx, kCallStartJob, id, thread_id, std::nullopt, 3,
                                            created));
    return Status();
  }));
  return out;
}

runtime::JobResult run_call_start(api::Core& core, const runtime::Job& job) {
  auto mid = runtime::payload_string(job, "message_id");
  if (!mid) return JobResult::fail("payload has no message_id");
  std::string id = std::move(*mid);
  Principal sys = api::system_principal(job.org_id, "outbox");
  auto row = core.db->query("SELECT status, thread_id, channel_account_id, to_addrs, meta FROM "
                            "messages WHERE id = ? AND org_id = ? AND channel = 'voice'",
                            {id, job.org_id});
  if (!row.ok()) return JobResult::retry(row.status().message());
  if (row->empty() || row->rows[0].text(0) != "queued") return JobResult::ok();
  const auto& r = row->rows[0];
  std::string thread_id = r.str(1);
  json::Document to_doc, meta;
  (void)json::parse(r.text(3), &to_doc);
  (void)json::parse(r.text(4), &meta);
  messaging::CallRequest cr;
  if (to_doc.IsArray() && to_doc.Size() > 0)
    cr.to = std::string(json::get_string(to_doc[0], "address").value_or(""));
  if (meta.IsObject()) {
    cr.from = std::string(json::get_string(meta, "agent_phone").value_or(""));
    cr.record = json::get_bool(meta, "record").value_or(false);
  }
  cr.reference = id;
  auto settle = [&](const std::string& status, const std::string& error,
                    const std::string& call_id) -> Status {
    api::Ctx c2(core, sys, "calls.start");
    return c2.db().transaction([&](store::Conn& c) -> Status {
      auto u = c.query("UPDATE messages SET status = ?, error = ?, provider_id = ?, "
                       "body_text = ?, snippet = ? WHERE id = ? AND org_id = ? AND status = 'queued'",
                       {status, error.empty() ? store::Value() : store::Value(error),
                        call_id.empty() ? store::Value() : store::Value(call_id),
                        "Outgoing call: " + status, "Outgoing call: " + status, id, c2.org()});
      if (!u.ok()) return u.status();
      if (u->affected == 0) return Status();
      return message_status_event(c, c2, id, thread_id, "queued", status,
                          error.empty() ? std::nullopt : std::optional<std::string>(error));
    });
  };
  services::DbReader reader(*core.db);
  auto acct = messaging::load_messaging_account(reader, job.org_id, r.str(2));
  if (!acct.ok()) {
    (void)settle("failed", "channel account: " + acct.status().message(), "");
    return JobResult::fail(acct.status().message());
  }
  cr.status_callback_url = messaging::status_callback_url(*acct, "voice");
  messaging::Provider* p = messaging::provider_for(acct->provider);
  if (!p) return JobResult::fail("no adapter for " + acct->provider);
  auto started = p->start_call(acct->api, cr);
  if (!started.ok()) {
    std::string err = acct->provider + ": " + provider_error(started.status());
    if (started.status().code() == Code::unavailable && !job.last_attempt())
      return JobResult::retry(err, retry_after_of(started.status()));
    (void)settle("failed", err, "");
    return JobResult::fail(err);
  }
  Status st = settle(started->status.empty() ? "in-progress" : started->status, "", started->call_id);
  if (!st.ok()) {
    spdlog::error("call {} started ({}) but recording it failed: {}", id, started->call_id, st.message());
    return JobResult::ok();
  }
  // Status callbacks are best effort: if no terminal event arrives, ask for the call's details.
  api::Ctx c3(core, sys, "calls.start");
  (void)c3.db().transaction([&](store::Conn& c) {
    runtime::JobSpec poll;
    poll.kind = std::string(kMessagingPollJob);
    poll.payload_json = "{\"message_id\":" + json::quote(id) + "}";
    poll.run_at = core.clock->now() + std::chrono::minutes(10);
    poll.unique_key = std::string(kMessagingPollJob) + ":" + id;
    poll.max_attempts = 6;
    return runtime::JobQueue::enqueue(c, c3, poll).status();
  });
  return JobResult::ok();
}

// --- webhook token rotation and relayed webhooks ----------------------------------------------

Result<std::string> channels_rotate_webhook_token(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  int64_t overlap = json::get_int(p, "overlap_seconds").value_or(86400);
  std::string token = messaging::make_webhook_token(id);
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT config, secrets, provider FROM channel_accounts "
                                          "WHERE id = ? AND org_id = ? AND channel <> 'email'",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("messaging channel account " + id + " not found");
    json::Document cfg, sec;
    if (!json::parse(cur[0].text(0), &cfg).ok() || !cfg.IsObject()) cfg.SetObject();
    if (!json::parse(cur[0].text(1), &sec).ok() || !sec.IsObject()) sec.SetObject();
    auto set = [](json::Document& d, const char* k, const std::string& v) {
      d.RemoveMember(k);
      d.AddMember(json::Value(k, d.GetAllocator()), json::Value(v.c_str(), d.GetAllocator()),
                  d.GetAllocator());
    };
    std::string old(json::get_string(sec, "webhook_token").value_or(""));
    if (!old.empty() && overlap > 0) {
      set(sec, "previous_webhook_token", old);
      set(cfg, "previous_webhook_token_until",
          format_time(ctx.core().clock->now() + std::chrono::seconds(overlap)));
    } else {
      sec.RemoveMember("previous_webhook_token");
      cfg.RemoveMember("previous_webhook_token_until");
    }
    set(sec, "webhook_token", token);
    auto u = c.query("UPDATE channel_accounts SET config = ?, secrets = ?, updated_at = ? "
                     "WHERE id = ? AND org_id = ?",
                     {json::stringify(cfg), json::stringify(sec), ctx.now(), id, ctx.org()});
    if (!u.ok()) return u.status();
    BX_ASSIGN_OR_RETURN(out, channel_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "channel.updated", "channel_account", id, std::nullopt, out));
    return ctx.audit(c, "channel_account", id, "{\"webhook_token_rotated\":true}");
  }));
  // Shown once, like an API key: the URLs to configure with the provider.
  std::string paths = "{";
  bool first = true;
  for (const char* kind : {"sms", "whatsapp", "voice"}) {
    if (!first) paths += ',';
    first = false;
    paths += std::string("\"") + kind + "\":" +
             json::quote(std::string("/api/v1/webhooks/exotel/") + kind + "/" + token);
  }
  paths += "}";
  out.pop_back();
  return out + ",\"webhook_token\":" + json::quote(token) + ",\"webhook_paths\":" + paths + "}";
}

Result<std::string> webhooks_receive(api::Ctx& ctx, json::Value& p) {
  WebhookRequest req;
  req.provider = *api::param_str(p, "provider");
  req.channel = *api::param_str(p, "channel");
  req.token = api::param_str(p, "token").value_or("");
  req.method = api::param_str(p, "method").value_or("POST");
  req.url = api::param_str(p, "url").value_or("");
  req.query = api::param_str(p, "query").value_or("");
  req.content_type = api::param_str(p, "content_type").value_or("");
  req.remote_addr = api::param_str(p, "remote_addr").value_or("");
  if (auto b64 = api::param_str(p, "body_base64")) {
    if (!crypto::base64_decode(*b64, &req.body)) return field_error("body_base64", "not base64");
  } else {
    req.body = api::param_str(p, "body").value_or("");
  }
  if (const json::Value* h = json::get(p, "headers"); h && h->IsObject())
    for (auto& m : h->GetObject()) {
      if (!m.value.IsString()) return field_error("headers", "values must be strings");
      req.headers.emplace_back(m.name.GetString(), m.value.GetString());
    }
  BX_ASSIGN_OR_RETURN(auto res, receive_webhook(ctx.core(), req, ctx.org()));
  return "{\"status\":" + std::to_string(res.status) + ",\"content_type\":" +
         json::quote(res.content_type) + ",\"body\":" + json::quote(res.body) + "}";
}

// --- transcription ---------------------------------------------------------------------------

runtime::JobResult run_transcribe(api::Core& core, const runtime::Job& job) {
  const auto& o = core.opts;
  if (o.transcription_url.empty()) return JobResult::ok();  // switched off since queued
  json::Document payload;
  if (!json::parse(job.payload_json, &payload).ok() || !payload.IsObject())
    return JobResult::fail("payload is not a JSON object");
  std::string id(json::get_string(payload, "message_id").value_or(""));
  std::string sha(json::get_string(payload, "sha256").value_or(""));
  auto audio = core.blobs->get(*core.db, job.org_id, sha);
  if (!audio.ok()) return JobResult::fail("recording blob: " + audio.status().message());
  if (audio->size() > (25u << 20)) return JobResult::fail("recording over 25 MB: not transcribed");

  // multipart/form-data (RFC 7578): the file part with an .mp3 name, then the text fields.
  std::string boundary = "bx" + crypto::hex(crypto::random_bytes(12));
  std::string body;
  auto field = [&](const std::string& name, const std::string& value) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  };
  body += "--" + boundary +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"call.mp3\"\r\n"
          "Content-Type: audio/mpeg\r\n\r\n";
  body += *audio;
  body += "\r\n";
  field("model", o.transcription_model);
  field("response_format", "json");
  if (!o.transcription_language.empty()) field("language", o.transcription_language);
  body += "--" + boundary + "--\r\n";

  net::HttpRequest req;
  req.method = "POST";
  std::string base = o.transcription_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  req.url = base + "/v1/audio/transcriptions";
  req.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
  if (!o.transcription_api_key.empty())
    req.headers.emplace_back("Authorization", "Bearer " + o.transcription_api_key);
  req.body = std::move(body);
  req.timeout = std::chrono::minutes(5);
  req.allow_private_network = o.transcription_allow_private_network;
  auto res = net::http_request(req);
  if (!res.ok()) {
    if (res.status().code() == Code::unavailable) return JobResult::retry(res.status().message());
    return JobResult::fail(res.status().message());
  }
  if (res->status == 429 || res->status >= 500)
    return JobResult::retry("transcription: HTTP " + std::to_string(res->status), res->retry_after());
  if (res->status != 200)
    return JobResult::fail("transcription: HTTP " + std::to_string(res->status) + ": " +
                           res->body.substr(0, 300));
  json::Document d;
  if (!json::parse(res->body, &d).ok() || !d.IsObject() || !json::get_string(d, "text"))
    return JobResult::fail("transcription: the answer has no text");
  std::string text(*json::get_string(d, "text"));

  Principal sys = api::system_principal(job.org_id, "transcription");
  api::Ctx ctx(core, sys, "voice.transcribe");
  Status st = ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto m, c.query("SELECT thread_id, body_text, meta FROM messages WHERE id = ? "
                                        "AND org_id = ? AND channel = 'voice'",
                                        {id, ctx.org()}));
    if (m.empty()) return Status();
    std::string summary(m[0].text(1));
    if (auto cut = summary.find("\n\nTranscript:\n"); cut != std::string::npos) summary.resize(cut);
    json::Document meta;
    if (!json::parse(m[0].is_null(2) ? "{}" : m[0].text(2), &meta).ok() || !meta.IsObject())
      meta.SetObject();
    meta.RemoveMember("transcript_status");
    meta.AddMember("transcript_status", "done", meta.GetAllocator());
    auto u = c.query("UPDATE messages SET body_text = ?, meta = ? WHERE id = ? AND org_id = ?",
                     {summary + "\n\nTranscript:\n" + text, json::stringify(meta), id, ctx.org()});
    if (!u.ok()) return u.status();
    BX_ASSIGN_OR_RETURN(auto mj, message_json(c, ctx, id));
    return ctx.event(c, "message.transcribed", "message", id, m[0].str(0), mj);
  });
  if (!st.ok()) return JobResult::retry(st.message());
  return JobResult::ok();
}

}  // namespace banxway::services
