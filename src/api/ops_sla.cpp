// business_calendars.*, sla_policies.*, sla_milestone_rules.* and analytics.sla (docs/SLA.md).
#include <string>

#include "api/registry.hpp"
#include "services/sla.hpp"

namespace banxway::api {
namespace {

constexpr const char* kIdOnly =
    R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})";
constexpr const char* kListParams =
    R"({"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":200},
        "cursor":{"type":"string","maxLength":2048}}})";

// Calendar definition fields (checked in depth by sched::BusinessCalendar::from_json).
std::string calendar_props() {
  const std::string day =
      R"({"type":"array","maxItems":48,"items":{"type":"array","minItems":2,"maxItems":2,)"
      R"("items":{"type":"string","maxLength":5}}})";
  std::string hours;
  for (const char* d : {"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
    hours += std::string(hours.empty() ? "" : ",") + "\"" + d + "\":" + day;
  return R"("time_zone":{"type":"string","minLength":1,"maxLength":64},
    "hours":{"type":"object","properties":{)" +
         hours + R"(}},
    "holidays":{"type":"array","maxItems":2000,"items":{"type":"string","maxLength":10}})";
}

constexpr const char* kDuration = R"({"type":["string","null"],"minLength":2,"maxLength":40})";

std::string policy_props() {
  return std::string(R"(
    "name":{"type":"string","minLength":1,"maxLength":200},
    "position":{"type":"integer","minimum":-1000000,"maximum":1000000},
    "enabled":{"type":"boolean"},
    "match":{"type":"object","additionalProperties":false,"properties":{
      "priorities":{"type":"array","maxItems":4,"items":{"type":"string","enum":["low","normal","high","urgent"]}},
      "customer_tiers":{"type":"array","maxItems":50,"items":{"type":"string","minLength":1,"maxLength":100}},
      "channels":{"type":"array","maxItems":20,"items":{"type":"string","minLength":1,"maxLength":40}}}},
    "first_response":)") +
         kDuration + R"(,"next_response":)" + kDuration + R"(,"resolution":)" + kDuration + R"(,
    "calendar_id":{"type":["string","null"],"format":"uuid"},
    "warn_at":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1})";
}

constexpr const char* kRuleProps = R"(
    "name":{"type":"string","minLength":1,"maxLength":200},
    "enabled":{"type":"boolean"},
    "trigger":{"type":"string","minLength":1,"maxLength":40},
    "anchor":{"type":"string","minLength":1,"maxLength":40},
    "offset":{"type":"string","minLength":2,"maxLength":40},
    "met_by":{"type":"string","minLength":1,"maxLength":40},
    "calendar_id":{"type":["string","null"],"format":"uuid"},
    "warn_at":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1})";

}  // namespace

void register_sla_ops(Registry& r) {
  r.add("business_calendars.list", "List business calendars by name", Permission::read, kListParams,
        services::calendars_list, true);
  r.add("business_calendars.get", "Get a business calendar", Permission::read, kIdOnly,
        services::calendars_get);
  r.add("business_calendars.create",
        "Create a business calendar: time zone, working intervals per weekday, holidays",
        Permission::remove,
        std::string(R"({"type":"object","required":["name","time_zone","hours"],
          "additionalProperties":false,"properties":{)") +
            calendar_props() + R"(,"name":{"type":"string","minLength":1,"maxLength":200}}})",
        services::calendars_create);
  r.add("business_calendars.update", "Change a business calendar (given parts replace)",
        Permission::remove,
        std::string(R"({"type":"object","required":["id"],"additionalProperties":false,
          "properties":{"id":{"type":"string","format":"uuid"},)") +
            calendar_props() + R"(,"name":{"type":"string","minLength":1,"maxLength":200}}})",
        services::calendars_update);
  r.add("business_calendars.delete", "Delete a business calendar no policy or rule uses",
        Permission::remove, kIdOnly, services::calendars_delete);

  r.add("sla_policies.list", "List SLA policies in the order they are matched", Permission::read,
        kListParams, services::sla_policies_list, true);
  r.add("sla_policies.get", "Get an SLA policy", Permission::read, kIdOnly,
        services::sla_policies_get);
  r.add("sla_policies.create",
        "Create an SLA policy: match, first/next response and resolution targets (ISO 8601 "
        "durations), business calendar, warning share",
        Permission::remove,
        R"({"type":"object","required":["name"],"additionalProperties":false,"properties":{)" +
            policy_props() + "}}",
        services::sla_policies_create);
  r.add("sla_policies.update", "Change an SLA policy (running clocks keep their targets)",
        Permission::remove,
        R"({"type":"object","required":["id"],"additionalProperties":false,"properties":{
          "id":{"type":"string","format":"uuid"},)" +
            policy_props() + "}}",
        services::sla_policies_update);
  r.add("sla_policies.delete", "Delete an SLA policy; its running clocks stop", Permission::remove,
        kIdOnly, services::sla_policies_delete);

  r.add("sla_milestone_rules.list", "List shipment SLA rules by name", Permission::read,
        kListParams, services::sla_milestone_rules_list, true);
  r.add("sla_milestone_rules.get", "Get a shipment SLA rule", Permission::read, kIdOnly,
        services::sla_milestone_rules_get);
  r.add("sla_milestone_rules.create",
        "Create a shipment SLA rule: trigger, deadline (anchor + offset) and what meets it",
        Permission::remove,
        std::string(R"({"type":"object","required":["name","trigger","offset","met_by"],
          "additionalProperties":false,"properties":{)") +
            kRuleProps + "}}",
        services::sla_milestone_rules_create);
  r.add("sla_milestone_rules.update", "Change a shipment SLA rule", Permission::remove,
        std::string(R"({"type":"object","required":["id"],"additionalProperties":false,
          "properties":{"id":{"type":"string","format":"uuid"},)") +
            kRuleProps + "}}",
        services::sla_milestone_rules_update);
  r.add("sla_milestone_rules.delete", "Delete a shipment SLA rule; its running clocks stop",
        Permission::remove, kIdOnly, services::sla_milestone_rules_delete);

  r.add("analytics.sla",
        "SLA compliance (met, breached, rate) by policy, agent and customer for clocks started "
        "in [from, to)",
        Permission::read,
        R"({"type":"object","required":["from","to"],"properties":{
          "from":{"type":"string","format":"date-time"},"to":{"type":"string","format":"date-time"}}})",
        services::analytics_sla);
}

}  // namespace banxway::api
