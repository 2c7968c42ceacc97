// The one door to the AI provider for every feature (drafts, message analysis): the monthly
// token budget of the organization is checked before a call, and every call — answered, failed
// or cancelled — leaves a row in ai_usage with its token counts (docs/COMPOSE.md, "Budget").
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "ai/provider.hpp"
#include "api/context.hpp"

namespace banxway::compose {

/// Builds core.ai from EngineOptions::ai_* (nothing when ai_provider is empty).
/// invalid_argument for a configuration the provider layer refuses.
Status open_provider(api::Core& core);

/// "2026-11" for "2026-11-27T…": the budget period of a timestamp (UTC calendar month).
std::string month_of(std::string_view iso_time);

struct Budget {
  int64_t limit = 0;  // tokens per month; 0: no limit
  int64_t used = 0;   // input + output tokens recorded this month
  bool spent() const { return limit > 0 && used >= limit; }
};
/// The organization's budget (settings.ai_monthly_token_budget, else the engine default) and
/// what it used in `month`.
Result<Budget> read_budget(store::Conn& c, api::Core& core, const std::string& org,
                           const std::string& month);

/// What a call is for (recorded in ai_usage).
struct CallPurpose {
  std::string feature;  // "compose.suggest", "messages.analyze"
  std::string subject_type, subject_id;
};

/// Whether a provider is configured at all.
inline bool ai_configured(const api::Core& core) { return core.ai != nullptr; }

/// Checks the budget, calls the provider and records the usage (in its own transaction; the
/// caller must not be inside one). Errors: unavailable when no provider is configured;
/// rate_limited naming the budget when it is spent; the provider's own errors otherwise.
Result<ai::Completion> call_model(api::Core& core, const Principal& who, const CallPurpose& what,
                                  const ai::ChatRequest& req, const ai::OnDelta& on_delta,
                                  const std::atomic<bool>* cancel);

}  // namespace banxway::compose
