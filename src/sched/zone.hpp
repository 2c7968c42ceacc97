// IANA time zones (Howard Hinnant's date/tz over the system's /usr/share/zoneinfo).
#pragma once

#include <date/tz.h>

#include <string_view>

#include "banxway/status.hpp"

namespace banxway::sched {

/// The zone named `iana_name` ("UTC", "Europe/Berlin", "Asia/Kolkata"); invalid_argument naming
/// the text when unknown. The pointer stays valid for the life of the process.
Result<const date::time_zone*> find_zone(std::string_view iana_name);

/// The instant of a local wall time in `tz`. A time skipped by a DST gap maps to the first
/// instant after the gap; a time that occurs twice maps to its first occurrence, or its second
/// when `latest` (the end of a working interval covers the whole repeated hour).
date::sys_seconds to_instant(const date::time_zone* tz, date::local_seconds local,
                             bool latest = false);

}  // namespace banxway::sched
