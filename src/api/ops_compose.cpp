// compose.context, compose.suggest, messages.analyze, threads.suggestions, suggestions.update
// and ai.usage (docs/COMPOSE.md).
#include <string>

#include "api/registry.hpp"
#include "compose/drafts.hpp"
#include "compose/message_analysis.hpp"
#include "services/common.hpp"

namespace banxway::api {
namespace {

constexpr const char* kContextProps = R"(
    "thread_id":{"type":"string","format":"uuid"},
    "max_tokens":{"type":"integer","minimum":200,"maximum":32000},
    "redact":{"type":"boolean"},
    "similar":{"type":"integer","minimum":0,"maximum":5})";

compose::ContextOptions context_options(Ctx& ctx, const json::Value& p) {
  compose::ContextOptions o;
  if (auto v = json::get_int(p, "max_tokens")) o.max_tokens = static_cast<int>(*v);
  if (auto v = json::get_int(p, "similar")) o.similar = static_cast<int>(*v);
  o.redact = json::get_bool(p, "redact");  // else the organization's settings decide
  return o;
}

}  // namespace

void register_compose_ops(Registry& r) {
  r.add("compose.context",
        "The context a reply to the thread would be written from: recent messages (new text "
        "only, oldest trimmed first to fit max_tokens), contact, customer, linked shipments "
        "with references, milestones and documents, open actions, SLA, the WhatsApp window, the "
        "organization's tone and signature and similar past replies; every item names its source",
        Permission::read,
        std::string(R"({"type":"object","required":["thread_id"],"properties":{)") + kContextProps + "}}",
        [](Ctx& ctx, json::Value& p) -> Result<std::string> {
          services::DbReader c(ctx.db());
          BX_ASSIGN_OR_RETURN(auto cx, compose::build_context(ctx, c, *param_str(p, "thread_id"),
                                                              context_options(ctx, p)));
          return cx.json;
        });
  r.add("compose.suggest",
        "Reply drafts for a thread (1-3 variants): from the AI provider when one is configured "
        "(mode auto or llm), else from templates filled with the context's real facts (source "
        "\"rules\"); references, dates and amounts not found in the context are listed in "
        "unverified_references. Streams context/delta/done events over SSE on the HTTP server",
        Permission::write,
        std::string(R"({"type":"object","required":["thread_id"],"properties":{)") + kContextProps +
            R"(,"instruction":{"type":"string","maxLength":2000},
            "channel":{"type":"string","enum":["email","whatsapp","sms"]},
            "tone":{"type":"string","enum":["professional","friendly","formal"]},
            "count":{"type":"integer","minimum":1,"maximum":3},
            "mode":{"type":"string","enum":["auto","llm","rules"]}}})",
        [](Ctx& ctx, json::Value& p) -> Result<std::string> {
          compose::SuggestRequest req;
          req.thread_id = *param_str(p, "thread_id");
          req.instruction = param_str(p, "instruction").value_or("");
          req.channel = param_str(p, "channel").value_or("");
          req.tone = param_str(p, "tone").value_or("");
          req.count = static_cast<int>(json::get_int(p, "count").value_or(1));
          req.mode = param_str(p, "mode").value_or("auto");
          req.context = context_options(ctx, p);
          return compose::suggest(ctx, req);
        });
  r.add("messages.analyze",
        "Analyze a message now (again): references with check digits, ports, Incoterms, HS codes, "
        "dates, intent, sentiment, urgency and language; the model's view too when a provider is "
        "configured and use_model is not false. Stores it, links shipments, emits message.analyzed",
        Permission::write,
        R"({"type":"object","required":["message_id"],"properties":{
            "message_id":{"type":"string","format":"uuid"},"use_model":{"type":"boolean"}}})",
        compose::messages_analyze);
  r.add("threads.suggestions",
        "Suggestions on a thread: references named by the customer that no shipment carries yet "
        "(\"create shipment?\"); shipment_id is set once a shipment with the reference exists",
        Permission::read,
        R"({"type":"object","required":["thread_id"],"properties":{
            "thread_id":{"type":"string","format":"uuid"},
            "status":{"type":"string","enum":["open","dismissed","accepted"]}}})",
        compose::suggestions_list, true);
  r.add("suggestions.update", "Dismiss, accept or reopen a suggestion", Permission::write,
        R"({"type":"object","required":["id","status"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "status":{"type":"string","enum":["open","dismissed","accepted"]}}})",
        compose::suggestions_update);
  r.add("ai.usage",
        "AI usage of the organization in a month (default: this one): tokens by feature and the "
        "monthly budget",
        Permission::read,
        R"({"type":"object","properties":{"month":{"type":"string","minLength":7,"maxLength":7}}})",
        compose::ai_usage);
}

}  // namespace banxway::api
