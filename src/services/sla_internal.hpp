// Helpers shared by sla.cpp (configuration) and sla_clocks.cpp (clocks). Not a public API.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"
#include "core/env.hpp"
#include "runtime/event_dispatch.hpp"
#include "sched/calendar.hpp"
#include "store/db.hpp"

namespace banxway::services {

/// A policy's match: each list empty = any value.
struct PolicyMatch {
  std::vector<std::string> priorities, customer_tiers, channels;
  bool accepts(std::string_view priority, const std::optional<std::string>& tier,
               std::string_view channel) const;
};
/// Reads {"priorities","customer_tiers","channels"} (other keys and non-strings ignored).
PolicyMatch parse_match(std::string_view json_text);
/// Canonical JSON of a match (all three keys, sorted unique values).
std::string match_json(const PolicyMatch& m);

/// A calendar from its stored definition.
Result<sched::BusinessCalendar> load_calendar_text(std::string_view definition);
/// The calendar with this id in the organization, or 24x7 wall time for null/empty.
Result<sched::BusinessCalendar> load_calendar(store::Conn& c, const std::string& org,
                                              const std::optional<std::string>& calendar_id);

bool is_milestone_kind(std::string_view kind);

/// Clock primitives shared by the thread and shipment halves (sla_clocks.cpp).
namespace sla_detail {

using std::chrono::seconds;

struct Clock {
  std::string id, subject_type, subject_id;
  std::optional<std::string> thread_id;
  std::string metric;
  std::optional<std::string> policy_id, rule_id, calendar_id;
  int64_t target_s = 0, warn_permille = 800;
  std::string status, started_at;
  std::optional<std::string> segment_start;
  int64_t used_s = 0;
  std::optional<std::string> due_at, warn_at, warned_at, breached_at, met_at;
};

struct NewClock {
  std::string subject_type, subject_id, metric;
  std::optional<std::string> thread_id, policy_id, rule_id, calendar_id, customer_id;
  int64_t target_s = 0, warn_permille = 800;
};

/// Clocks of the organization matching `cond` (SQL over sla_clocks), oldest first.
Result<std::vector<Clock>> clocks_where(store::Conn& c, const std::string& org,
                                        const std::string& cond, std::vector<store::Value> args);
/// A stored time (the epoch when unreadable).
TimePoint at_time(const std::string& s);
/// Emits sla.warning (breach false) or sla.breached for k once, if k still has that deadline.
Status fire(store::Conn& c, api::Ctx& ctx, const Clock& k, bool breach, const std::string& at);
/// Runs k from `from`: deadlines on its calendar, timers enqueued.
Status arm(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint from);
/// Pauses a running clock at t (its business time so far is kept).
Status pause_clock(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint t);
/// Ends a live clock at t: met, or cancelled (neither met nor breached unless it breached).
Status end_clock(store::Conn& c, api::Ctx& ctx, Clock& k, TimePoint t, bool met);
/// Inserts a clock and runs it from t (or leaves it paused).
Status start_clock(store::Conn& c, api::Ctx& ctx, const NewClock& n, TimePoint t, bool paused);

// Shipment clocks (sla_shipments.cpp).
Status on_shipment(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                   const json::Value& shipment, TimePoint t);
Status on_milestone(store::Conn& c, api::Ctx& ctx, const runtime::EventRecord& ev,
                    const json::Value& milestone, TimePoint t);
/// A message sent on a thread meets the "reply" clocks of the shipments linked to it.
Status meet_rule_clocks_on_reply(store::Conn& c, api::Ctx& ctx, const std::string& thread_id,
                                 TimePoint t);

}  // namespace sla_detail

}  // namespace banxway::services
