// Compose context aggregation (docs/COMPOSE.md): what a good agent would look at before
// answering a thread, gathered from the store within a token budget, deterministic and
// inspectable. Every item says which record it came from ("source": {"type", "id"}).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/context.hpp"

namespace banxway::compose {

struct ContextOptions {
  int max_tokens = 3000;  // estimated as (characters + 3) / 4
  /// Phone numbers and e-mail addresses replaced before use; unset: the organization's
  /// settings.ai_redact (read with the other settings).
  std::optional<bool> redact;
  int similar = 5;        // past replies to look for (0: none)
};

struct ShipmentFacts {
  std::string id, mode, status, origin, destination, etd, eta;
  std::vector<std::pair<std::string, std::string>> references;  // kind, value
  struct Milestone {
    std::string kind, planned_at, actual_at, location;
  };
  std::vector<Milestone> milestones;  // in the shipment's natural order
  std::vector<std::string> documents_present, documents_missing;
};

struct ContextMessage {
  std::string id, direction, channel, from, at, text;
};

/// The aggregated context. `json` is compose.context's answer; the other members feed the
/// draft templates, the prompt and the guardrail.
struct Context {
  std::string thread_id, subject, channel, language = "en", intent = "other";
  std::string org_name, tone = "professional", signature, user_name;
  std::string contact_name, customer_name;
  std::vector<ContextMessage> messages;  // oldest first, newest kept when trimming
  std::vector<ShipmentFacts> shipments;
  std::vector<std::string> open_action_titles;
  std::vector<std::string> requested_documents;  // asked for in the last inbound message
  std::optional<std::string> whatsapp_until;
  bool whatsapp_open = false;
  std::string last_inbound_text, last_inbound_subject;
  /// Everything a draft may state: text of the included records, for the guardrail.
  std::string facts_text;
  std::set<std::string> known_refs;  // canonical references of the linked shipments
  int tokens = 0, messages_total = 0, messages_trimmed = 0;
  std::string json;          // the whole context
  std::string summary_json;  // a short summary (the SSE "context" event)
  std::string prompt;        // the context rendered as text for a model
};

/// Builds the context of a thread of the caller's organization (not_found otherwise).
/// `c` is a reader or the caller's transaction.
Result<Context> build_context(api::Ctx& ctx, store::Conn& c, const std::string& thread_id,
                              const ContextOptions& opt);

/// Replaces phone numbers (libphonenumber, in `region`) and e-mail addresses in text with
/// "[phone]" and "[email]". Container numbers and air waybills are left alone.
std::string redact(std::string_view text, const std::string& region);

/// (characters + 3) / 4: the estimate used for budgets when no tokenizer is at hand.
inline int estimate_tokens(size_t chars) { return static_cast<int>((chars + 3) / 4); }

}  // namespace banxway::compose
