// webhooks.* (outgoing webhooks, docs/WEBHOOKS.md). Every operation needs manager or admin
// (Permission::remove), reads included: subscription URLs are often capability URLs, and the
// delivery log holds receivers' answers.
#include <string>

#include "api/registry.hpp"
#include "services/webhooks.hpp"

namespace banxway::api {
namespace {
constexpr const char* kEventTypes =
    R"({"type":"array","minItems":1,"maxItems":50,"items":{"type":"string","minLength":1,"maxLength":102}})";
constexpr const char* kIdOnly =
    R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})";
}  // namespace

void register_webhook_ops(Registry& r) {
  const std::string types(kEventTypes);
  r.add("webhooks.create",
        "Subscribe a URL to event types (exact, prefix.* or *); returns the signing secret, "
        "shown this once",
        Permission::remove,
        R"({"type":"object","required":["url","event_types"],"properties":{
            "url":{"type":"string","minLength":8,"maxLength":2048},
            "event_types":)" +
            types + R"(,
            "description":{"type":"string","maxLength":500},
            "enabled":{"type":"boolean"},
            "timeout_seconds":{"type":"integer","minimum":1,"maximum":30}}})",
        services::webhooks_create);
  r.add("webhooks.list", "List webhook subscriptions, newest first (secrets are never shown)",
        Permission::remove,
        R"({"type":"object","properties":{
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048},
            "enabled":{"type":"boolean"}}})",
        services::webhooks_list, true);
  r.add("webhooks.get", "Get a webhook subscription", Permission::remove, kIdOnly,
        services::webhooks_get);
  r.add("webhooks.update",
        "Change a webhook subscription's URL, event types, description, "
        "timeout or enabled flag",
        Permission::remove,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "url":{"type":"string","minLength":8,"maxLength":2048},
            "event_types":)" +
            types + R"(,
            "description":{"type":["string","null"],"maxLength":500},
            "enabled":{"type":"boolean"},
            "timeout_seconds":{"type":"integer","minimum":1,"maximum":30}}})",
        services::webhooks_update);
  r.add("webhooks.delete", "Delete a webhook subscription and its delivery log", Permission::remove,
        kIdOnly, services::webhooks_delete);
  r.add("webhooks.rotate_secret",
        "New signing secret (shown once); deliveries carry the previous secret's signature too "
        "for overlap_seconds (default 86400)",
        Permission::remove,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "overlap_seconds":{"type":"integer","minimum":0,"maximum":604800}}})",
        services::webhooks_rotate_secret);
  r.add("webhooks.deliveries",
        "The delivery log, newest first: status, attempts, last response code and error",
        Permission::remove,
        R"({"type":"object","properties":{
            "subscription_id":{"type":"string","format":"uuid"},
            "status":{"type":"string","enum":["pending","succeeded","failed","dead"]},
            "event_type":{"type":"string","minLength":1,"maxLength":100},
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::webhooks_deliveries, true);
  r.add("webhooks.delivery_get", "One delivery with the body sent and every attempt",
        Permission::remove, kIdOnly, services::webhooks_delivery_get);
  r.add("webhooks.redeliver",
        "Send a finished delivery again now: same delivery id and body, new signature and "
        "timestamp, a fresh set of retries",
        Permission::remove, kIdOnly, services::webhooks_redeliver);
  r.add("webhooks.test",
        "Send a webhook.test event to this subscription now (through the delivery job); returns "
        "the delivery",
        Permission::remove, kIdOnly, services::webhooks_test);
}

}  // namespace banxway::api
