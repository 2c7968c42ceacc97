// ISO 8601 durations of fixed length: weeks, days, hours, minutes, seconds.
//
// Years and months are rejected because their length depends on where they start (a month is
// 28 to 31 days); SLA targets, waits and offsets need a length that is the same everywhere.
// A day here is 24 hours of elapsed time ("P1D" == "PT24H"); calendar-aware arithmetic lives in
// calendar.hpp.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "banxway/status.hpp"

namespace banxway::sched {

/// Parses "PnW", "PnD", "PTnH", "PTnM", "PTnS" and combinations in that order ("P1DT2H30M",
/// "P1W2D"); a leading '-' negates ("-PT24H"). Numbers are unsigned integers. Errors are
/// invalid_argument naming the text and what is wrong.
Result<std::chrono::seconds> parse_duration(std::string_view text);

/// Canonical text: days, then hours, minutes and seconds, zero parts left out ("P1DT2H",
/// "PT90S" becomes "PT1M30S", zero is "PT0S"); negative values start with '-'.
std::string format_duration(std::chrono::seconds d);

}  // namespace banxway::sched
