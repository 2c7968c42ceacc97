// Reply drafts (compose.suggest, docs/COMPOSE.md): from the model when one is configured and
// within budget, streamed; otherwise from templates keyed by the detected intent and filled
// with the context's real references, milestones and dates. Either way every draft goes through
// the guardrail.
#pragma once

#include <string>
#include <vector>

#include "api/context.hpp"
#include "compose/context.hpp"

namespace banxway::compose {

struct SuggestRequest {
  std::string thread_id;
  std::string instruction;  // optional ("ask for the commercial invoice")
  std::string channel;      // empty: the channel of the customer's last message
  std::string tone;         // empty: the organization's (settings.tone), else "professional"
  int count = 1;            // 1-3 variants
  std::string mode = "auto";  // auto | llm | rules
  ContextOptions context;
};

/// The deterministic drafts for a context (what the offline path returns), without guardrail.
std::vector<std::string> rules_drafts(const Context& cx, const SuggestRequest& req);

/// compose.suggest: emits "context", "delta" and "done" through ctx.emit when streaming, and
/// returns the "done" JSON: {"drafts":[{"variant","text","subject"}], "source", "usage",
/// "unverified_references", "context", "channel", "language", "intent", "fallback_reason"?,
/// "model"?}.
Result<std::string> suggest(api::Ctx& ctx, const SuggestRequest& req);

}  // namespace banxway::compose
