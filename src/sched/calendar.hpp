// Business calendars: when the clock of a business-hours target runs.
//
// A calendar has a time zone, working intervals per weekday in local wall time (several per day,
// e.g. 09:00-13:00 and 14:00-18:00; "24:00" ends a day), and holidays (local dates on which no
// interval applies). Business time is elapsed time inside working intervals: a working interval
// spanning a DST change is one hour shorter or longer, just like the real day.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "banxway/status.hpp"
#include "core/env.hpp"
#include "core/json.hpp"
#include "sched/zone.hpp"

namespace banxway::sched {

struct BusinessCalendar {
  /// {"time_zone":"Asia/Kolkata","hours":{"mon":[["09:00","18:00"]],...,"sun":[]},
  ///  "holidays":["2026-12-25"]}. A missing weekday has no working time; holidays are optional.
  /// Errors are invalid_argument naming the path ("hours.mon[1]: ..."); a calendar without any
  /// working interval is rejected (its clock would never run).
  static Result<BusinessCalendar> from_json(const json::Value& v);
  /// 24x7 in UTC: business time equals wall time.
  static BusinessCalendar always();

  /// start + d of business time. A start inside a closed period counts from the next opening;
  /// d <= 0 returns start. Targets beyond 100 years of calendar days continue as wall time.
  TimePoint add(TimePoint start, std::chrono::seconds d) const;
  /// Business time inside [a, b) (0 if b <= a), in whole seconds.
  std::chrono::seconds between(TimePoint a, TimePoint b) const;
  /// Is t inside a working interval?
  bool is_open(TimePoint t) const;
  /// The definition in from_json's form (canonical: sorted intervals and holidays).
  std::string to_json() const;

  const std::string& time_zone_name() const { return zone_name_; }

 private:
  struct Interval {
    int start = 0, end = 0;  // minutes since local midnight, end <= 1440
  };
  bool is_holiday(date::local_days d) const;
  const std::vector<Interval>& intervals_on(date::local_days d) const;

  const date::time_zone* zone_ = nullptr;
  std::string zone_name_;
  std::array<std::vector<Interval>, 7> hours_;  // index: weekday, 0 = Sunday
  std::vector<date::local_days> holidays_;      // sorted, unique
  bool full_time_ = false;                      // every day 00:00-24:00 and no holidays
};

}  // namespace banxway::sched
