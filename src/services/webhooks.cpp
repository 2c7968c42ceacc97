// webhooks.* operations: subscriptions (create, list, get, update, delete, rotate_secret) and
// the delivery log (deliveries, delivery_get, redeliver, test). Fan-out and the delivery job
// are in webhooks_delivery.cpp.
#include "services/webhooks.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "core/crypto.hpp"
#include "net/http.hpp"
#include "services/common.hpp"

namespace banxway::services {
namespace {

const ColSpec kSub[] = {
    {"id", "id", Col::str},
    {"url", "url", Col::str},
    {"event_types", "event_types", Col::json},
    {"description", "description", Col::str},
    {"enabled", "enabled", Col::boolean},
    {"timeout_seconds", "timeout_seconds", Col::integer},
    {"previous_secret_expires_at", "previous_secret_expires_at", Col::str},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kSubCreatedCol = 7;

const ColSpec kDelivery[] = {
    {"id", "id", Col::str},
    {"subscription_id", "subscription_id", Col::str},
    {"event_id", "event_id", Col::integer},
    {"event_type", "event_type", Col::str},
    {"status", "status", Col::str},
    {"attempts", "attempts", Col::integer},
    {"next_attempt_at", "next_attempt_at", Col::str},
    {"last_attempt_at", "last_attempt_at", Col::str},
    {"last_response_code", "last_response_code", Col::integer},
    {"last_error", "last_error", Col::str},
    {"response_excerpt", "response_excerpt", Col::str},
    {"duration_ms", "duration_ms", Col::integer},
    {"created_at", "created_at", Col::str},
    {"updated_at", "updated_at", Col::str},
};
constexpr size_t kDeliveryCreatedCol = 12;

const ColSpec kAttempt[] = {
    {"attempt", "attempt", Col::integer},
    {"started_at", "started_at", Col::str},
    {"response_code", "response_code", Col::integer},
    {"error", "error", Col::str},
    {"duration_ms", "duration_ms", Col::integer},
    {"outcome", "outcome", Col::str},
};

constexpr int kDefaultTimeoutSeconds = 10;
constexpr int64_t kDefaultOverlapSeconds = 86400;

Status field_error(const std::string& field, const std::string& what) {
  return Status(Code::invalid_argument, field + ": " + what,
                "{\"field\":" + json::quote(field) + "}");
}

// An event type name: lower-case letters, digits and '_' in dot-separated parts.
bool valid_type_name(std::string_view s) {
  if (s.empty() || s.size() > 100 || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
    if (!ok || (ch == '.' && prev == '.')) return false;
    prev = ch;
  }
  return true;
}

// The event_types param, checked, duplicates dropped, as a JSON array text.
Result<std::string> parse_event_types(const json::Value& arr) {
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    std::string t(arr[i].GetString(), arr[i].GetStringLength());
    std::string field = "event_types[" + std::to_string(i) + "]";
    bool ok = t == "*" ||
              (t.size() > 2 && t.ends_with(".*") &&
               valid_type_name(std::string_view(t).substr(0, t.size() - 2))) ||
              valid_type_name(t);
    if (!ok)
      return field_error(field, "\"" + t.substr(0, 100) +
                                    "\" is not an event type (lower-case dotted name such as "
                                    "message.received), a prefix such as thread.*, or *");
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  std::string j = "[";
  for (size_t i = 0; i < out.size(); ++i) j += (i ? "," : "") + json::quote(out[i]);
  return j + "]";
}

bool is_ip_literal(std::string host) {
  if (auto pct = host.find('%'); pct != std::string::npos) host.resize(pct);  // zone id
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string new_secret() { return "whsec_" + crypto::base64url_encode(crypto::random_bytes(32)); }

TimePoint now_of(api::Ctx& ctx) {
  TimePoint t;
  if (!parse_time(ctx.now(), &t)) t = ctx.core().clock->now();
  return t;
}

Result<std::string> sub_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return get_by_id(c, ctx, "webhook_subscriptions", kSub, id, "webhook subscription");
}

Result<std::string> delivery_json(store::Conn& c, api::Ctx& ctx, const std::string& id) {
  return get_by_id(c, ctx, "webhook_deliveries", kDelivery, id, "webhook delivery");
}

Status check_url_param(api::Ctx& ctx, const json::Value& p) {
  if (auto url = json::get_string(p, "url"))
    return check_webhook_url(*url, ctx.core().opts.webhooks_allow_http,
                             ctx.core().opts.webhooks_allow_private_network);
  return Status();
}

}  // namespace

Status check_webhook_url(std::string_view url, bool allow_http, bool allow_private_network) {
  for (unsigned char ch : url)
    if (ch <= 0x20 || ch == 0x7f)
      return field_error("url", "contains a space or control character");
  auto parts = net::parse_url(url);
  if (!parts) return field_error("url", "not an absolute http:// or https:// URL");
  if (!parts->userinfo.empty())
    return field_error("url",
                       "must not contain user:password@ (the signature authenticates "
                       "banxway to the receiver)");
  if (parts->scheme == "http" && !allow_http)
    return field_error("url",
                       "must use https:// (http:// needs the engine option "
                       "webhooks_allow_http)");
  if (parts->host.empty()) return field_error("url", "has no host");
  if (!allow_private_network && is_ip_literal(parts->host) && net::is_private_address(parts->host))
    return field_error("url", parts->host +
                                  " is a private, loopback, link-local or metadata address; "
                                  "webhooks go to public addresses only (engine option "
                                  "webhooks_allow_private_network)");
  return Status();
}

Result<std::string> webhooks_create(api::Ctx& ctx, json::Value& p) {
  BX_RETURN_IF_ERROR(check_url_param(ctx, p));
  BX_ASSIGN_OR_RETURN(std::string types, parse_event_types(*json::get(p, "event_types")));
  std::string id = ctx.new_id();
  std::string secret = new_secret();
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto n, c.query("SELECT COUNT(*) FROM webhook_subscriptions WHERE "
                                        "org_id = ?",
                                        {ctx.org()}));
    if (n[0].int64(0) >= kMaxWebhookSubscriptions)
      return Conflict("an organization has at most " + std::to_string(kMaxWebhookSubscriptions) +
                      " webhook subscriptions; delete one first");
    auto r = c.query(
        "INSERT INTO webhook_subscriptions (id, org_id, url, event_types, description, enabled, "
        "timeout_seconds, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), *api::param_str(p, "url"), types, api::param_str(p, "description"),
         json::get_bool(p, "enabled").value_or(true),
         json::get_int(p, "timeout_seconds").value_or(kDefaultTimeoutSeconds), secret, ctx.now(),
         ctx.now()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(runtime::EventDispatcher::activate(c, "webhooks", ctx.org(), ctx.now()));
    BX_ASSIGN_OR_RETURN(out, sub_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "webhook_subscription.created", "webhook_subscription", id,
                                 std::nullopt, out));
    return ctx.audit(c, "webhook_subscription", id);
  }));
  out.pop_back();  // '}': the secret is shown this once
  return out + ",\"secret\":" + json::quote(secret) + "}";
}

Result<std::string> webhooks_list(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  std::string sql = "SELECT " + select_list(kSub) + " FROM webhook_subscriptions WHERE org_id = ?";
  std::vector<store::Value> args{ctx.org()};
  if (auto e = json::get_bool(p, "enabled")) {
    sql += " AND enabled = ?";
    args.emplace_back(*e);
  }
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, ctx.db().query(sql, args));
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  return rows_to_list(rows, kSub, n, next_created_cursor(rows, limit, kSubCreatedCol));
}

Result<std::string> webhooks_get(api::Ctx& ctx, json::Value& p) {
  DbReader c(ctx.db());
  return sub_json(c, ctx, *api::param_str(p, "id"));
}

Result<std::string> webhooks_update(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_RETURN_IF_ERROR(check_url_param(ctx, p));
  std::string sets = "updated_at = ?";
  std::vector<store::Value> args{ctx.now()};
  if (const json::Value* t = json::get(p, "event_types")) {
    BX_ASSIGN_OR_RETURN(std::string types, parse_event_types(*t));
    sets += ", event_types = ?";
    args.emplace_back(types);
  }
  add_set_fields(sets, args, p, {"url", "description"});
  if (auto e = json::get_bool(p, "enabled")) {
    sets += ", enabled = ?";
    args.emplace_back(*e);
  }
  if (auto t = json::get_int(p, "timeout_seconds")) {
    sets += ", timeout_seconds = ?";
    args.emplace_back(*t);
  }
  args.emplace_back(id);
  args.emplace_back(ctx.org());
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "webhook_subscriptions", id, "id"));
    auto r =
        c.query("UPDATE webhook_subscriptions SET " + sets + " WHERE id = ? AND org_id = ?", args);
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, sub_json(c, ctx, id));
    BX_RETURN_IF_ERROR(ctx.event(c, "webhook_subscription.updated", "webhook_subscription", id,
                                 std::nullopt, out));
    return ctx.audit(c, "webhook_subscription", id);
  }));
  return out;
}

Result<std::string> webhooks_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(std::string before, sub_json(c, ctx, id));
    // The delivery log goes with the subscription; queued jobs find no delivery and end.
    auto r = c.query(
        "DELETE FROM webhook_delivery_attempts WHERE org_id = ? AND delivery_id IN "
        "(SELECT id FROM webhook_deliveries WHERE org_id = ? AND subscription_id = ?)",
        {ctx.org(), ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM webhook_deliveries WHERE org_id = ? AND subscription_id = ?",
                {ctx.org(), id});
    if (!r.ok()) return r.status();
    r = c.query("DELETE FROM webhook_subscriptions WHERE id = ? AND org_id = ?", {id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_RETURN_IF_ERROR(ctx.event(c, "webhook_subscription.deleted", "webhook_subscription", id,
                                 std::nullopt, before));
    return ctx.audit(c, "webhook_subscription", id);
  }));
  return "{\"id\":" + json::quote(id) + ",\"deleted\":true}";
}

Result<std::string> webhooks_rotate_secret(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  int64_t overlap = json::get_int(p, "overlap_seconds").value_or(kDefaultOverlapSeconds);
  std::string secret = new_secret();
  std::optional<std::string> expires;
  if (overlap > 0) expires = format_time(now_of(ctx) + std::chrono::seconds(overlap));
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "webhook_subscriptions", id, "id"));
    // The current key becomes the previous one (signing alongside the new key until expires);
    // a key that was already previous is dropped.
    auto r = c.query(expires ? "UPDATE webhook_subscriptions SET previous_secret = secret, "
                               "previous_secret_expires_at = ?, secret = ?, updated_at = ? "
                               "WHERE id = ? AND org_id = ?"
                             : "UPDATE webhook_subscriptions SET previous_secret = NULL, "
                               "previous_secret_expires_at = ?, secret = ?, updated_at = ? "
                               "WHERE id = ? AND org_id = ?",
                     {expires, secret, ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    std::string data = "{\"id\":" + json::quote(id) + ",\"previous_secret_expires_at\":" +
                       (expires ? json::quote(*expires) : "null") + "}";
    BX_RETURN_IF_ERROR(ctx.event(c, "webhook_subscription.secret_rotated", "webhook_subscription",
                                 id, std::nullopt, data));
    BX_RETURN_IF_ERROR(ctx.audit(c, "webhook_subscription", id,
                                 "{\"overlap_seconds\":" + std::to_string(overlap) + "}"));
    out = data;
    return Status();
  }));
  out.pop_back();
  return out + ",\"secret\":" + json::quote(secret) + "}";
}

Result<std::string> webhooks_deliveries(api::Ctx& ctx, json::Value& p) {
  int limit = api::param_limit(p);
  std::string sql =
      "SELECT " + select_list(kDelivery) + " FROM webhook_deliveries WHERE org_id = ?";
  std::vector<store::Value> args{ctx.org()};
  DbReader c(ctx.db());
  if (auto sub = api::param_str(p, "subscription_id"))
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "webhook_subscriptions", *sub, "subscription_id"));
  add_equal_filters(sql, args, p, {"subscription_id", "status", "event_type"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/true));
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  return rows_to_list(rows, kDelivery, n, next_created_cursor(rows, limit, kDeliveryCreatedCol));
}

Result<std::string> webhooks_delivery_get(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  DbReader c(ctx.db());
  BX_ASSIGN_OR_RETURN(std::string out, delivery_json(c, ctx, id));
  BX_ASSIGN_OR_RETURN(auto body, c.query("SELECT body FROM webhook_deliveries WHERE id = ? AND "
                                         "org_id = ?",
                                         {id, ctx.org()}));
  if (body.empty()) return NotFound("webhook delivery " + id + " not found");
  BX_ASSIGN_OR_RETURN(auto attempts,
                      c.query("SELECT " + select_list(kAttempt) +
                                  " FROM webhook_delivery_attempts WHERE delivery_id = ? AND "
                                  "org_id = ? ORDER BY attempt",
                              {id, ctx.org()}));
  out.pop_back();
  // The body is the exact text that was sent (and is signed), shown as a string.
  return out + ",\"body\":" + json::quote(body[0].text(0)) +
         ",\"attempt_log\":" + rows_to_json_array(attempts, kAttempt, attempts.size()) + "}";
}

Result<std::string> webhooks_redeliver(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto rows,
                        c.query("SELECT d.status, d.attempts, d.event_type, s.enabled, "
                                "d.next_attempt_at FROM webhook_deliveries d JOIN "
                                "webhook_subscriptions s ON s.id = d.subscription_id WHERE "
                                "d.id = ? AND d.org_id = ?",
                                {id, ctx.org()}));
    if (rows.empty()) return NotFound("webhook delivery " + id + " not found");
    const auto& row = rows[0];
    if (row.text(0) == "pending")
      return Conflict("webhook delivery " + id + " is still pending (next attempt at " +
                      row.str(4) + "); wait for its outcome");
    if (!row.boolean(3) && row.text(2) != "webhook.test")
      return Conflict("the delivery's subscription is disabled; enable it first");
    auto r = c.query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, "
        "updated_at = ? WHERE id = ? AND org_id = ?",
        {ctx.now(), ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    // A key of its own per redelivery: the finished job's key may still be held by a job that
    // has recorded its attempt but not yet its own outcome.
    runtime::JobSpec spec;
    spec.kind = kWebhookDeliverJob;
    spec.payload_json = "{\"delivery_id\":" + json::quote(id) + "}";
    spec.unique_key = std::string(kWebhookDeliverJob) + ":" + id + ":" + row.str(1);
    spec.max_attempts = kWebhookMaxAttempts;
    BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, spec).status());
    BX_ASSIGN_OR_RETURN(out, delivery_json(c, ctx, id));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "webhook_delivery.redelivered", "webhook_delivery", id, std::nullopt, out));
    return ctx.audit(c, "webhook_delivery", id);
  }));
  return out;
}

Result<std::string> webhooks_test(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "webhook_subscriptions", id, "id"));
    // The test event is logged like any other (the fan-out skips its type) and delivered to
    // this subscription only, through the normal delivery job.
    std::string data =
        "{\"subscription_id\":" + json::quote(id) + ",\"message\":\"A test event from banxway\"}";
    BX_RETURN_IF_ERROR(
        ctx.event(c, "webhook.test", "webhook_subscription", id, std::nullopt, data));
    // Written now rather than at commit (PostgreSQL defers event rows): the organization's
    // event lock is then held until commit, so its newest event is the one just written.
    BX_RETURN_IF_ERROR(store::flush_deferred_events(c));
    BX_ASSIGN_OR_RETURN(auto ev, c.query("SELECT id, created_at, payload FROM events WHERE "
                                         "org_id = ? AND type = 'webhook.test' ORDER BY id DESC "
                                         "LIMIT 1",
                                         {ctx.org()}));
    if (ev.empty()) return Internal("the webhook.test event was not written");
    runtime::EventRecord e;
    e.id = ev[0].int64(0);
    e.org_id = ctx.org();
    e.type = "webhook.test";
    e.subject_type = "webhook_subscription";
    e.subject_id = id;
    e.created_at = ev[0].str(1);
    e.payload = ev[0].str(2);
    BX_ASSIGN_OR_RETURN(std::string did, webhook_enqueue_delivery(c, ctx, id, e));
    BX_ASSIGN_OR_RETURN(out, delivery_json(c, ctx, did));
    return ctx.audit(c, "webhook_subscription", id, "{\"delivery_id\":" + json::quote(did) + "}");
  }));
  return out;
}

}  // namespace banxway::services
