// analytics.*
#include "api/registry.hpp"
#include "services/analytics.hpp"

namespace banxway::api {
namespace {
// A date (2026-01-31) or an RFC 3339 date-time; the handler parses and names a bad one.
constexpr const char* kBound = R"({"type":"string","minLength":10,"maxLength":40})";
}  // namespace

void register_analytics_ops(Registry& r) {
  const std::string bound(kBound);
  r.add("analytics.volume",
        "Message counts by UTC day (or month), channel and direction over [from, to)",
        Permission::read,
        R"({"type":"object","required":["from","to"],"properties":{
            "from":)" +
            bound + R"(,"to":)" + bound + R"(,
            "group_by":{"type":"string","enum":["day","month"]},
            "channel":{"type":"string","enum":["email","whatsapp","sms","voice","note"]},
            "direction":{"type":"string","enum":["inbound","outbound","internal"]}}})",
        services::analytics_volume);
  r.add("analytics.response_times",
        "First-response and resolution times (median, p90, counts) by agent, customer or channel",
        Permission::read,
        R"({"type":"object","required":["from","to"],"properties":{
            "from":)" +
            bound + R"(,"to":)" + bound + R"(,
            "by":{"type":"string","enum":["agent","customer","channel"]}}})",
        services::analytics_response_times);
  r.add("analytics.backlog", "Open threads now, by status and by age", Permission::read,
        R"({"type":"object","properties":{}})", services::analytics_backlog);
}

}  // namespace banxway::api
