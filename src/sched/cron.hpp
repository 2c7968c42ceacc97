// Five-field cron expressions evaluated in a time zone.
//
// Fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week
// (0-7 or SUN-SAT, 0 and 7 are Sunday). Each field is '*' or a comma list of values and ranges
// ("1-5"), each optionally with a step ("*/15", "1-5/2", "10/20" = from 10 to the end every
// 20). Shorthands: @hourly @daily (@midnight) @weekly @monthly @yearly (@annually).
//
// Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted (neither
// field starts with '*') a day matches if EITHER matches; otherwise both must.
//
// Daylight saving time: a local time skipped by a gap fires at the first instant after the gap
// (02:30 on the spring-forward night in Berlin fires at 03:00 CEST); a local time that occurs
// twice fires once, at its first occurrence.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "banxway/status.hpp"
#include "core/env.hpp"
#include "sched/zone.hpp"

namespace banxway::sched {

class Cron {
 public:
  /// Errors are invalid_argument naming the field and the offending text.
  static Result<Cron> parse(std::string_view expr);

  /// The first firing strictly after t, in zone tz; nullopt if none within 5 years (e.g. a
  /// schedule for February 30th).
  std::optional<TimePoint> next_after(TimePoint t, const date::time_zone* tz) const;

  /// The expression as given (surrounding blanks removed).
  const std::string& text() const { return text_; }

 private:
  bool day_matches(date::year_month_day ymd, date::weekday wd) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool dom_star_ = false, dow_star_ = false;
};

}  // namespace banxway::sched
