// Outgoing webhooks, the moving parts: fan-out of events to matching subscriptions (an event
// consumer), the signed POST (a "webhook.deliver" job), and the record of every attempt.
// docs/WEBHOOKS.md.
#include <chrono>
#include <mutex>
#include <random>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "net/http.hpp"
#include "services/common.hpp"
#include "services/webhooks.hpp"

namespace banxway::services {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kConnectTimeout = seconds(5);
constexpr milliseconds kMinRetry = seconds(1);
constexpr milliseconds kMaxRetryAfter = std::chrono::hours(1);  // a receiver's Retry-After, capped
constexpr size_t kMaxResponseBytes = 1u << 20;
constexpr size_t kMaxErrorBytes = 1000;

// Text safe for both databases: at most `max` bytes, cut at a character boundary, NUL and
// invalid UTF-8 replaced by '?'.
std::string safe_text(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && c != 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (valid && len == 2) valid = c >= 0xC2;  // no overlong forms
    if (valid && len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      valid = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (valid && len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      valid = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!valid) len = 1;
    if (out.size() + (valid ? len : 1) > max) break;
    if (valid)
      out.append(s.substr(i, len));
    else
      out.push_back('?');
    i += len;
  }
  return out;
}

double random_unit() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

struct Subscriber {
  std::vector<std::string> patterns;
  std::string id;
};

bool is_dead_delivery_job(const runtime::EventRecord& e) {
  if (e.type != "job.dead") return false;
  json::Document d;
  if (!json::parse(e.payload, &d).ok() || !d.IsObject()) return false;
  auto kind = json::get_string(d, "kind");
  return kind && *kind == kWebhookDeliverJob;
}

// What one attempt came to.
struct Attempt {
  std::string outcome;  // succeeded | retry | failed | dead
  std::optional<int> code;
  std::string error;    // empty on success
  std::string excerpt;  // the response body's start
  std::optional<milliseconds> retry_after;
};

// Status decisions (docs/WEBHOOKS.md, "Retries"): 2xx succeeded; 408, 429 and 5xx are worth
// another try; anything else (1xx, 3xx — redirects are not followed — and the other 4xx) is the
// receiver's final word.
Attempt classify(const Result<net::HttpResponse>& r) {
  Attempt a;
  if (!r.ok()) {
    a.error = r.status().message();
    // unavailable: DNS, connect, TLS, timeout, reset — worth another try. Anything else (the
    // SSRF refusal, a bad URL, a response over the cap) will not change by itself.
    a.outcome = r.status().code() == Code::unavailable ? "retry" : "failed";
    return a;
  }
  const int code = r->status;
  a.code = code;
  a.excerpt = safe_text(r->body, kWebhookExcerptBytes);
  if (code >= 200 && code < 300) {
    a.outcome = "succeeded";
    return a;
  }
  a.error = "HTTP " + std::to_string(code);
  if (code == 408 || code == 429 || code >= 500) {
    a.outcome = "retry";
    a.retry_after = r->retry_after();
  } else {
    a.outcome = "failed";
    if (code >= 300 && code < 400) {
      a.error += " (redirects are not followed";
      if (auto loc = r->header("Location")) a.error += "; Location: " + *loc;
      a.error += ")";
    }
  }
  return a;
}

struct Target {
  std::string status, body, event_type, url, secret;
  std::optional<std::string> previous_secret, previous_expires;
  bool enabled = true;
  int timeout_seconds = 10;
};

// Records an attempt and the delivery's new state in one transaction; false when the delivery
// was no longer pending (decided by someone else meanwhile).
Result<bool> record(api::Core& core, const runtime::Job& job, const std::string& id,
                    const Attempt& a, const std::string& started_at, int64_t duration_ms,
                    const std::optional<std::string>& next_at) {
  Principal who = api::system_principal(job.org_id, "webhooks");
  api::Ctx ctx(core, who, kWebhookDeliverJob);
  bool recorded = false;
  std::string status = a.outcome == "retry" ? "pending" : a.outcome;
  std::optional<std::string> error;
  if (!a.error.empty()) error = safe_text(a.error, kMaxErrorBytes);
  std::optional<std::string> excerpt;
  if (a.code) excerpt = a.excerpt;
  store::Value code = a.code ? store::Value(*a.code) : store::Value();
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    recorded = false;
    BX_ASSIGN_OR_RETURN(
        auto rows,
        c.query("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
                "next_attempt_at = ?, last_attempt_at = ?, last_response_code = ?, last_error = ?, "
                "response_excerpt = ?, duration_ms = ?, updated_at = ? WHERE id = ? AND org_id = ? "
                "AND status = 'pending' RETURNING attempts",
                {status, next_at, started_at, code, error, excerpt, duration_ms, ctx.now(), id,
                 ctx.org()}));
    if (rows.empty()) return Status();
    auto ins = c.query(
        "INSERT INTO webhook_delivery_attempts (delivery_id, org_id, attempt, started_at, "
        "response_code, error, duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), rows[0].int64(0), started_at, code, error, duration_ms, a.outcome});
    if (!ins.ok()) return ins.status();
    recorded = true;
    return Status();
  }));
  return recorded;
}

runtime::JobResult run_webhook_deliver(api::Core& core, const runtime::JobQueueOptions& qopts,
                                       const runtime::Job& job) {
  auto did = runtime::payload_string(job, "delivery_id");
  if (!did) return runtime::JobResult::fail("payload without delivery_id");
  const std::string id = *did;
  auto rows = core.db->query(
      "SELECT d.status, d.body, d.event_type, s.url, s.secret, s.previous_secret, "
      "s.previous_secret_expires_at, s.enabled, s.timeout_seconds FROM webhook_deliveries d "
      "JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = ? AND d.org_id = ?",
      {id, job.org_id});
  if (!rows.ok()) return runtime::JobResult::retry(rows.status().message());
  if (rows->empty()) return runtime::JobResult::ok();  // deleted with its subscription
  const store::Row& row = rows->rows[0];
  Target t{row.str(0), row.str(1),     row.str(2),
           row.str(3), row.str(4),     row.opt(5),
           row.opt(6), row.boolean(7), static_cast<int>(row.int64(8))};
  if (t.status != "pending") return runtime::JobResult::ok();  // decided already

  const TimePoint now = core.clock->now();
  const std::string started_at = format_time(now);
  const std::string ts =
      std::to_string(std::chrono::duration_cast<seconds>(now.time_since_epoch()).count());
  Attempt a;
  int64_t duration_ms = 0;
  if (!t.enabled && t.event_type != "webhook.test") {
    a.outcome = "failed";
    a.error = "the subscription was disabled before this delivery was sent";
  } else if (t.url.starts_with("http:") && !core.opts.webhooks_allow_http) {
    a.outcome = "failed";
    a.error = "http:// URLs are not allowed (engine option webhooks_allow_http is off)";
  } else {
    std::string sig = webhook_signature(t.secret, ts, t.body);
    TimePoint prev_until;
    if (t.previous_secret && t.previous_expires && parse_time(*t.previous_expires, &prev_until) &&
        now < prev_until)
      sig += "," + webhook_signature(*t.previous_secret, ts, t.body);
    net::HttpRequest req;
    req.method = "POST";
    req.url = t.url;
    req.body = t.body;
    req.headers = {{"Content-Type", "application/json"},
                   {"User-Agent", "banxway-webhooks/1"},
                   {"Banxway-Delivery", id},
                   {"Banxway-Event", t.event_type},
                   {"Banxway-Timestamp", ts},
                   {"Banxway-Signature", sig}};
    req.timeout = seconds(std::clamp(t.timeout_seconds, 1, 30));
    req.connect_timeout = std::min(kConnectTimeout, req.timeout);
    req.max_response_bytes = kMaxResponseBytes;
    req.allow_private_network = core.opts.webhooks_allow_private_network;
    req.follow_redirects = false;
    auto t0 = std::chrono::steady_clock::now();
    auto res = net::http_request(req);
    duration_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
    a = classify(res);
  }

  std::optional<std::string> next_at;
  std::optional<milliseconds> delay;
  if (a.outcome == "retry") {
    if (job.last_attempt()) {
      a.outcome = "dead";
      a.error = "gave up after " + std::to_string(job.attempts) + " attempts; last: " + a.error;
    } else {
      delay = a.retry_after ? std::clamp(*a.retry_after, kMinRetry, kMaxRetryAfter)
                            : runtime::JobQueue::backoff(job.attempts, qopts, random_unit());
      next_at = format_time(now + *delay);
    }
  }
  auto rec = record(core, job, id, a, started_at, duration_ms, next_at);
  // Not recorded: the POST went out but its outcome is unknown here; try again (receivers
  // dedupe by delivery id).
  if (!rec.ok())
    return runtime::JobResult::retry("recording the attempt: " + rec.status().message());
  if (!*rec) return runtime::JobResult::ok();
  if (a.outcome == "retry") return runtime::JobResult::retry(a.error, delay);
  // dead: the queue marks the job dead too (and logs job.dead, which the fan-out ignores).
  if (a.outcome == "dead") return runtime::JobResult::retry(a.error);
  return runtime::JobResult::ok();  // succeeded, or refused for good (the delivery says which)
}

}  // namespace

bool webhook_pattern_matches(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  if (pattern.size() > 2 && pattern.ends_with(".*"))
    return type.size() > pattern.size() - 1 &&
           type.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == type;
}

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
  std::string msg;
  msg.reserve(timestamp.size() + 1 + body.size());
  msg.append(timestamp).push_back('.');
  msg.append(body);
  return "v1=" + crypto::hex(crypto::hmac_sha256(secret, msg));
}

Result<std::string> webhook_enqueue_delivery(store::Conn& c, api::Ctx& ctx,
                                             const std::string& sub_id,
                                             const runtime::EventRecord& e) {
  std::string id = ctx.new_id();
  std::string body =
      "{\"id\":" + json::quote(id) + ",\"event\":{\"id\":" + std::to_string(e.id) +
      ",\"type\":" + json::quote(e.type) + ",\"created_at\":" + json::quote(e.created_at) +
      ",\"subject_type\":" + (e.subject_type.empty() ? "null" : json::quote(e.subject_type)) +
      ",\"subject_id\":" + (e.subject_id.empty() ? "null" : json::quote(e.subject_id)) +
      ",\"thread_id\":" + (e.thread_id ? json::quote(*e.thread_id) : "null") +
      ",\"data\":" + (e.payload.empty() ? "{}" : e.payload) + "}}";
  BX_ASSIGN_OR_RETURN(
      auto rows,
      c.query("INSERT INTO webhook_deliveries (id, org_id, subscription_id, event_id, event_type, "
              "body, status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, "
              "?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (subscription_id, event_id) DO NOTHING "
              "RETURNING id",
              {id, ctx.org(), sub_id, e.id, e.type, body, ctx.now(), ctx.now(), ctx.now()}));
  if (rows.empty()) return std::string();
  runtime::JobSpec spec;
  spec.kind = kWebhookDeliverJob;
  spec.payload_json = "{\"delivery_id\":" + json::quote(id) + "}";
  spec.unique_key = std::string(kWebhookDeliverJob) + ":" + id;
  spec.max_attempts = kWebhookMaxAttempts;
  BX_RETURN_IF_ERROR(runtime::JobQueue::enqueue(c, ctx, spec).status());
  return id;
}

Status webhooks_on_events(store::Conn& c, api::Ctx& ctx,
                          const std::vector<runtime::EventRecord>& events) {
  BX_ASSIGN_OR_RETURN(auto subs, c.query("SELECT id, event_types FROM webhook_subscriptions "
                                         "WHERE org_id = ? AND enabled = 1 ORDER BY id",
                                         {ctx.org()}));
  if (subs.empty()) return Status();
  std::vector<Subscriber> targets;
  for (const auto& row : subs) {
    Subscriber t;
    t.id = row.str(0);
    json::Document d;
    if (json::parse(row.text(1), &d).ok() && d.IsArray())
      for (const auto& v : d.GetArray())
        if (v.IsString()) t.patterns.emplace_back(v.GetString(), v.GetStringLength());
    targets.push_back(std::move(t));
  }
  for (const auto& e : events) {
    if (e.type == "webhook.test" || is_dead_delivery_job(e)) continue;
    for (const auto& t : targets) {
      bool match = std::any_of(t.patterns.begin(), t.patterns.end(), [&](const std::string& p) {
        return webhook_pattern_matches(p, e.type);
      });
      if (!match) continue;
      BX_RETURN_IF_ERROR(webhook_enqueue_delivery(c, ctx, t.id, e).status());
    }
  }
  return Status();
}

void register_webhook_jobs(runtime::JobQueue& q, api::Core& core) {
  q.register_handler(std::string(kWebhookDeliverJob), [&q, &core](const runtime::Job& j) {
    return run_webhook_deliver(core, q.options(), j);
  });
}

}  // namespace banxway::services
