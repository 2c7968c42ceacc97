// Message analysis in the store (docs/COMPOSE.md, "Analysis"): every inbound message gets the
// deterministic analysis (analysis/analyze.hpp) through the "analysis" event consumer, and —
// when a provider is configured — a model's intent, sentiment and urgency through a job. The
// result is stored on the message, announced as `message.analyzed` (once per message), and acted
// on: validated references link the thread to their shipment, unknown containers and air
// waybills become suggestions on the thread, document requests become actions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"
#include "runtime/event_dispatch.hpp"
#include "runtime/jobs.hpp"

namespace banxway::compose {

inline constexpr std::string_view kAnalysisConsumer = "analysis";
inline constexpr std::string_view kAnalyzeJob = "message.analyze";

/// The event consumer: message.received events of the batch.
Status analysis_on_events(store::Conn& c, api::Ctx& ctx,
                          const std::vector<runtime::EventRecord>& events);
void register_analysis_jobs(runtime::JobQueue& q, api::Core& core);

/// messages.analyze: {message_id, use_model?} -> the stored analysis.
Result<std::string> messages_analyze(api::Ctx& ctx, json::Value& p);
/// threads.suggestions: {thread_id, status?} -> {"items": [...]}.
Result<std::string> suggestions_list(api::Ctx& ctx, json::Value& p);
/// suggestions.update: {id, status: dismissed|accepted|open}.
Result<std::string> suggestions_update(api::Ctx& ctx, json::Value& p);
/// ai.usage: {month?} -> the organization's budget and usage by feature.
Result<std::string> ai_usage(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::compose
