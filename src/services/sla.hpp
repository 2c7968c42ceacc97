// SLA policies, business calendars and SLA clocks (docs/SLA.md).
//
// A policy (sla_policies) sets first response, next response and resolution targets for the
// threads it matches (priority, customer tier, channel; the first enabled policy by position
// wins and is recorded on the thread). Targets count wall time, or business time of a
// business calendar. Milestone rules (sla_milestone_rules) put the same kind of clock on
// shipments ("tell the customer within PT2H of an ETA change").
//
// Clocks (sla_clocks) move when events happen: sla_on_events is the event consumer "sla" (the
// engine's EventDispatcher hands it each organization's events in order). Every running clock
// has timer jobs ("sla.check") at its warning and breach instants; a due timer re-reads the
// clock and emits `sla.warning` / `sla.breached` once each, with a notification to the
// assignee. A timer whose clock moved, paused or was met does nothing.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"
#include "runtime/event_dispatch.hpp"
#include "runtime/jobs.hpp"

namespace banxway::services {

inline constexpr std::string_view kSlaConsumer = "sla";
inline constexpr std::string_view kSlaCheckJob = "sla.check";

// Operations (src/api/ops_sla.cpp).
Result<std::string> calendars_list(api::Ctx& ctx, json::Value& p);
Result<std::string> calendars_get(api::Ctx& ctx, json::Value& p);
Result<std::string> calendars_create(api::Ctx& ctx, json::Value& p);
Result<std::string> calendars_update(api::Ctx& ctx, json::Value& p);
Result<std::string> calendars_delete(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_policies_list(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_policies_get(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_policies_create(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_policies_update(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_policies_delete(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_milestone_rules_list(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_milestone_rules_get(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_milestone_rules_create(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_milestone_rules_update(api::Ctx& ctx, json::Value& p);
Result<std::string> sla_milestone_rules_delete(api::Ctx& ctx, json::Value& p);
/// analytics.sla: met / breached counts and rates by policy, agent and customer.
Result<std::string> analytics_sla(api::Ctx& ctx, json::Value& p);

/// The event consumer "sla": moves clocks for message.received, message.sent,
/// thread.status_changed, thread.updated, shipment.updated and shipment.milestone.
Status sla_on_events(store::Conn& c, api::Ctx& ctx,
                     const std::vector<runtime::EventRecord>& events);

/// Registers the "sla.check" timer handler.
void register_sla_jobs(runtime::JobQueue& q, api::Core& core);

/// The "sla" object of threads.get / threads.list for each of `thread_ids` (inside the caller's
/// transaction or on a reader): {"policy": {"id","name"}|null, "first_response_due",
/// "next_response_due", "resolution_due", "state": "none|active|paused|warning|breached|met"}.
Result<std::map<std::string, std::string>> thread_sla_json(
    store::Conn& c, const std::string& org, const std::vector<std::string>& thread_ids);

}  // namespace banxway::services
