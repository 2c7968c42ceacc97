// Analytics: message volume, first-response and resolution times, open backlog. Read-only,
// computed with SQL on either database; the few steps the two dialects would do differently
// (percentiles, durations) are done here in C++ on values fetched per group, so both backends
// give the same answer for the same data.
#pragma once

#include <cstdint>
#include <vector>

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> analytics_volume(api::Ctx& ctx, json::Value& p);
Result<std::string> analytics_response_times(api::Ctx& ctx, json::Value& p);
Result<std::string> analytics_backlog(api::Ctx& ctx, json::Value& p);

/// Nearest-rank percentile of ascending `sorted` (pct in 1..100): the smallest value with at
/// least pct% of the values at or below it. sorted must not be empty.
int64_t nearest_rank(const std::vector<int64_t>& sorted, int pct);

}  // namespace banxway::services
