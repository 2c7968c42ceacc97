// Outgoing webhooks (docs/WEBHOOKS.md): an organization's subscriptions to event types, and
// signed, retried, logged deliveries of the matching events to the subscribers' URLs.
//
// Fan-out is an event consumer (webhooks_on_events, run by runtime::EventDispatcher as
// "webhooks"): for each event and each enabled matching subscription it writes a delivery row
// and enqueues a "webhook.deliver" job in the dispatcher's transaction. The job POSTs the
// delivery through net::http_request (SSRF checked at connect time), records the attempt, and
// retries with the queue's backoff until the delivery succeeds, is refused for good, or is dead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"
#include "runtime/event_dispatch.hpp"
#include "runtime/jobs.hpp"

namespace banxway::services {

inline constexpr std::string_view kWebhookDeliverJob = "webhook.deliver";
/// Job attempts per delivery (and per redelivery): with the queue's backoff (1 s doubling,
/// capped at 1 h, ±20 %) the last attempt comes about three hours after the first.
inline constexpr int kWebhookMaxAttempts = 15;
/// The most of a response body kept on a delivery (bytes, cut at a UTF-8 boundary).
inline constexpr size_t kWebhookExcerptBytes = 1024;
/// Subscriptions per organization.
inline constexpr int kMaxWebhookSubscriptions = 50;

Result<std::string> webhooks_create(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_list(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_get(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_update(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_delete(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_rotate_secret(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_deliveries(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_delivery_get(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_redeliver(api::Ctx& ctx, json::Value& p);
Result<std::string> webhooks_test(api::Ctx& ctx, json::Value& p);

/// The event consumer: a delivery row and a job per (event, enabled matching subscription),
/// written through c (the dispatcher's transaction). Skips webhook.test (delivered to one
/// subscription by webhooks.test) and job.dead of webhook.deliver jobs (a dead delivery must
/// not cause another delivery).
Status webhooks_on_events(store::Conn& c, api::Ctx& ctx,
                          const std::vector<runtime::EventRecord>& events);

/// Writes a pending delivery of event e to subscription sub_id and enqueues its job, inside c's
/// transaction; returns the delivery id, or "" when that event already has a delivery to that
/// subscription (nothing written then).
Result<std::string> webhook_enqueue_delivery(store::Conn& c, api::Ctx& ctx,
                                             const std::string& sub_id,
                                             const runtime::EventRecord& e);

/// Registers the "webhook.deliver" handler on q.
void register_webhook_jobs(runtime::JobQueue& q, api::Core& core);

// Exposed for tests.
/// Whether an event type matches a subscription pattern ("*", "prefix.*" or an exact type).
bool webhook_pattern_matches(std::string_view pattern, std::string_view type);
/// "v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>".
std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);
/// Checks a subscription URL against the save-time rules; invalid_argument naming the problem.
Status check_webhook_url(std::string_view url, bool allow_http, bool allow_private_network);

}  // namespace banxway::services
