#include "compose/drafts.hpp"

#include <algorithm>
#include <cctype>

#include "analysis/classify.hpp"
#include "compose/ai_gate.hpp"
#include "compose/guardrail.hpp"
#include "compose/phrases.hpp"
#include "core/json.hpp"
#include "services/common.hpp"

namespace banxway::compose {
namespace {

using json::key;
using json::write_str;

std::string day(const std::string& iso) { return iso.substr(0, 10); }

std::string first_name(const std::string& name) {
  auto sp = name.find(' ');
  return sp == std::string::npos ? name : name.substr(0, sp);
}

std::string capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// "container MSKU9070323", else the B/L, AWB or booking; empty when the shipment has none.
std::string ref_phrase(const Phrases& L, const ShipmentFacts& f) {
  for (const char* k : {"container", "bl", "awb", "booking"})
    for (const auto& [kind, value] : f.references)
      if (kind == k) return L.t(k) + " " + value;
  return "";
}

std::string subject_of(const Phrases& L, const ShipmentFacts* f) {
  std::string r = f ? ref_phrase(L, *f) : "";
  return r.empty() ? L.t("your_shipment") : r;
}

const ShipmentFacts::Milestone* milestone(const ShipmentFacts& f, std::string_view kind) {
  for (const auto& m : f.milestones)
    if (m.kind == kind) return &m;
  return nullptr;
}

// What the shipment's record says: its last milestone that happened and what comes next.
std::string status_sentence(const Phrases& L, const ShipmentFacts& f) {
  std::string subj = subject_of(L, &f);
  const ShipmentFacts::Milestone* last = nullptr;
  for (const auto& m : f.milestones)
    if (!m.actual_at.empty()) last = &m;
  std::string s;
  if (last) {
    s = L.t("m." + last->kind, {{'S', subj}});
    if (!last->location.empty()) s += L.t("at_place", {{'L', last->location}});
    s += L.t("on_date", {{'D', day(last->actual_at)}});
  } else {
    s = L.t(f.status == "planned" ? "s.planned" : f.status == "booked" ? "s.booked" : "s.other",
            {{'S', subj}});
    if (!f.etd.empty()) s += L.t("departure_scheduled", {{'D', day(f.etd)}});
  }
  bool arrived = last && (last->kind == "arrived" || last->kind == "customs_cleared" ||
                          last->kind == "delivered");
  if (!arrived && !f.eta.empty()) {
    s += L.t("expected");
    if (!f.destination.empty()) s += L.t("expected_at", {{'T', f.destination}});
    s += L.t("on_date", {{'D', day(f.eta)}});
  }
  return capitalized(s) + ".";
}

std::vector<std::string> docs_of(const Phrases& L, const std::vector<std::string>& kinds) {
  std::vector<std::string> out;
  for (const auto& k : kinds) out.push_back(L.document(k));
  return out;
}

bool mentions(const std::string& text, std::initializer_list<const char*> words) {
  std::string l = text;
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : words)
    if (l.find(w) != std::string::npos) return true;
  return false;
}

struct Body {
  std::string lead;    // a courtesy sentence before the answer ("" when none)
  std::string main;    // the answer
  std::string extra;   // a detail for the longer variant ("" when none)
};

Body body_for(const Phrases& L, const Context& cx, const SuggestRequest& req) {
  const ShipmentFacts* f = cx.shipments.empty() ? nullptr : &cx.shipments.front();
  std::string intent = cx.intent;
  std::vector<std::string> docs_wanted = cx.requested_documents;
  bool we_ask = false;
  if (!req.instruction.empty()) {
    auto cls = analysis::classify("", req.instruction);
    if (mentions(req.instruction, {"delay", "late", "postpone"})) {
      intent = "delay_notice";
    } else if (!cls.requested_documents.empty() ||
               mentions(req.instruction, {"ask for", "request the", "send us", "need the"})) {
      intent = "ask_documents";
      docs_wanted = cls.requested_documents;
      we_ask = true;
    } else if (cls.intent != "other") {
      intent = cls.intent;
    }
  }
  Body b;
  std::string subj = subject_of(L, f);
  bool has_ref = f && !ref_phrase(L, *f).empty();
  std::string for_ref = has_ref ? L.t("for", {{'S', subj}}) : "";
  if (f) {
    std::vector<std::string> missing = docs_of(L, f->documents_missing);
    if (!missing.empty() && !we_ask)
      b.extra = capitalized(L.t("awaiting", {{'X', L.join(missing)}, {'S', subj}}));
  }
  auto milestone_date = [&](const char* kind, bool actual) -> std::string {
    const ShipmentFacts::Milestone* m = f ? milestone(*f, kind) : nullptr;
    if (!m) return "";
    return day(actual ? m->actual_at : m->planned_at);
  };
  if (intent == "delay_notice") {
    std::string planned = milestone_date("arrived", false);
    if (f && !f->eta.empty() && !planned.empty() && planned != day(f->eta))
      b.main = L.t("delay_moved", {{'S', subj}, {'D', day(f->eta)}, {'P', planned}});
    else
      b.main = L.t("delay", {{'S', subj}});
  } else if (intent == "ask_documents") {
    std::vector<std::string> d = docs_of(L, docs_wanted);
    if (d.empty() && f) d = docs_of(L, f->documents_missing);
    b.main = L.t("ask_docs", {{'X', d.empty() ? L.t("shipping_documents") : L.join(d)}, {'F', for_ref}});
  } else if (intent == "document_request") {
    std::vector<std::string> d = docs_of(L, docs_wanted);
    b.main = L.t("send_docs", {{'X', d.empty() ? L.t("requested_documents") : L.join(d)}, {'F', for_ref}});
  } else if (intent == "document_submission") {
    b.main = L.t("docs_received", {{'F', for_ref}});
  } else if (intent == "rate_request") {
    std::string lane;
    if (f && !f->origin.empty() && !f->destination.empty())
      lane = L.t("lane", {{'O', f->origin}, {'T', f->destination}});
    b.main = L.t("rate", {{'X', lane}});
  } else if (intent == "booking") {
    std::string bk;
    if (f)
      for (const auto& [k, v] : f->references)
        if (k == "booking") bk = v;
    if (f && !bk.empty() && f->status != "planned")
      b.main = L.t("booking_confirmed", {{'B', bk}}) + " " + status_sentence(L, *f);
    else
      b.main = L.t("booking_thanks");
  } else if (intent == "complaint") {
    b.main = L.t("complaint", {{'S', subj}});
  } else if (intent == "invoice_query") {
    b.main = L.t("invoice", {{'F', for_ref}});
  } else if (intent == "customs") {
    std::string d = milestone_date("customs_cleared", true);
    b.main = d.empty() ? L.t("customs_pending", {{'S', subj}}) : L.t("customs_done", {{'S', subj}, {'D', d}});
  } else if (intent == "pickup") {
    std::string done = milestone_date("picked_up", true), planned = milestone_date("picked_up", false);
    b.main = !done.empty()      ? L.t("pickup_done", {{'S', subj}, {'D', done}})
             : !planned.empty() ? L.t("pickup_planned", {{'S', subj}, {'D', planned}})
                                : L.t("pickup_pending", {{'S', subj}});
  } else if (intent == "delivery") {
    std::string done = milestone_date("delivered", true), planned = milestone_date("delivered", false);
    b.main = !done.empty()           ? L.t("delivery_done", {{'S', subj}, {'D', done}})
             : !planned.empty()      ? L.t("delivery_planned", {{'S', subj}, {'D', planned}})
             : (f && !f->eta.empty()) ? L.t("delivery_eta", {{'S', subj}, {'D', day(f->eta)}})
                                      : L.t("delivery_pending", {{'S', subj}});
  } else {
    // status_inquiry and everything else: what the record says.
    b.lead = L.t("thanks");
    if (cx.shipments.empty()) {
      b.main = L.t("checking");
    } else {
      for (size_t i = 0; i < cx.shipments.size() && i < 2; ++i) {
        if (i) b.main += " ";
        b.main += status_sentence(L, cx.shipments[i]);
      }
    }
  }
  b.main = capitalized(b.main);
  return b;
}

std::string wrap(const Phrases& L, const Context& cx, const std::string& channel,
                 const std::string& tone, const std::string& body) {
  std::string name = first_name(cx.contact_name);
  if (channel == "email") {
    std::string greeting = tone == "friendly" ? (name.empty() ? L.t("hi_anon") : L.t("hi", {{'N', name}}))
                                              : (name.empty() ? L.t("dear_anon") : L.t("dear", {{'N', name}}));
    std::string closing = L.t("closing_" + (tone.empty() ? std::string("professional") : tone));
    std::string sig;
    if (!cx.user_name.empty()) sig += cx.user_name + "\n";
    sig += cx.signature.empty() ? cx.org_name : cx.signature;
    return greeting + "\n\n" + body + "\n\n" + closing + "\n" + sig;
  }
  std::string text = (name.empty() ? L.t("chat_hi_anon") : L.t("chat_hi", {{'N', name}})) + body;
  if (channel == "sms" && text.size() > 320) {
    size_t cut = text.rfind(". ", 318);
    text = cut == std::string::npos ? text.substr(0, 317) + "..." : text.substr(0, cut + 1);
  }
  return text;
}

std::string first_sentence(const std::string& s) {
  size_t p = s.find(". ");
  return p == std::string::npos ? s : s.substr(0, p + 1);
}

std::string system_prompt(const Context& cx, const std::string& channel, const std::string& tone,
                          int variant, int count) {
  std::string p =
      "You write replies for " + (cx.org_name.empty() ? std::string("a freight forwarder") : cx.org_name) +
      ", a freight forwarder, to its customer's latest message in the conversation given as "
      "CONTEXT. Use only facts from the CONTEXT. Never invent container numbers, air waybills, "
      "bills of lading, booking references, dates or amounts: when something is not in the "
      "CONTEXT, say that you will check and come back. Write in the language with ISO code '" +
      cx.language + "'. Tone: " + tone + ". ";
  if (channel == "email") {
    p += "Channel: email. Start with a greeting, keep the body short, end with a closing and this signature:\n" +
         (cx.user_name.empty() ? std::string() : cx.user_name + "\n") +
         (cx.signature.empty() ? cx.org_name : cx.signature) + "\n";
  } else {
    p += "Channel: " + channel + ". At most 300 characters, no signature block. ";
  }
  if (count > 1)
    p += "This is variant " + std::to_string(variant) + " of " + std::to_string(count) + ": " +
         (variant == 1 ? "the standard reply." : variant == 2 ? "a shorter reply." : "a more detailed reply.");
  p += " Output only the reply text.";
  return p;
}

void write_usage(json::Writer& w, const ai::Usage& u) {
  w.StartObject();
  json::field_int(w, "input_tokens", u.input_tokens);
  json::field_int(w, "output_tokens", u.output_tokens);
  key(w, "estimated");
  w.Bool(u.estimated);
  w.EndObject();
}

std::string delta_json(int variant, std::string_view text, bool replace) {
  rapidjson::StringBuffer b;
  json::Writer w(b);
  w.StartObject();
  json::field_int(w, "variant", variant);
  json::field(w, "text", text);
  if (replace) {
    key(w, "replace");
    w.Bool(true);
  }
  w.EndObject();
  return b.GetString();
}

}  // namespace

std::vector<std::string> rules_drafts(const Context& cx, const SuggestRequest& req) {
  std::string channel = req.channel.empty() ? cx.channel : req.channel;
  std::string tone = req.tone.empty() ? cx.tone : req.tone;
  const Phrases& L = Phrases::for_language(cx.language);
  Body b = body_for(L, cx, req);
  std::string full = b.lead.empty() ? b.main : b.lead + " " + b.main;
  std::vector<std::string> out;
  for (int v = 1; v <= req.count; ++v) {
    std::string text = full;
    if (v == 2) text = first_sentence(b.main);  // the shortest form: the answer's first sentence
    if (v == 3) {
      if (!b.extra.empty()) text += " " + b.extra;
      if (!cx.open_action_titles.empty() && channel == "email")
        text += " " + L.t("working_on", {{'X', L.join(cx.open_action_titles)}});
    }
    out.push_back(wrap(L, cx, channel, tone, text));
  }
  return out;
}

Result<std::string> suggest(api::Ctx& ctx, const SuggestRequest& req) {
  Context cx;
  {
    services::DbReader c(ctx.db());
    BX_ASSIGN_OR_RETURN(cx, build_context(ctx, c, req.thread_id, req.context));
  }
  std::string channel = req.channel.empty() ? cx.channel : req.channel;
  std::string tone = req.tone.empty() ? cx.tone : req.tone;
  ctx.emit("context", cx.summary_json);

  std::vector<std::string> texts(static_cast<size_t>(req.count));
  std::string source = "rules", fallback_reason, model;
  ai::Usage usage;
  bool use_model = req.mode != "rules" && ai_configured(ctx.core());
  if (req.mode == "llm" && !ai_configured(ctx.core()))
    return Status(Code::unavailable, "mode \"llm\" asked for, but no AI provider is configured");
  if (!ai_configured(ctx.core()) && req.mode == "auto") fallback_reason = "no AI provider is configured";
  int variants_from_model = 0;
  if (use_model) {
    for (int v = 1; v <= req.count; ++v) {
      ai::ChatRequest cr;
      cr.messages.push_back({"system", system_prompt(cx, channel, tone, v, req.count)});
      cr.messages.push_back({"user", "CONTEXT:\n" + cx.prompt + "\nINSTRUCTION: " +
                                         (req.instruction.empty()
                                              ? std::string("Answer the customer's latest message.")
                                              : req.instruction)});
      cr.max_tokens = channel == "email" ? 600 : 200;
      std::string text;
      bool sent_any = false;
      auto on_delta = [&](std::string_view d) {
        text.append(d);
        sent_any = true;
        return ctx.emit("delta", delta_json(v, d, false)) || !ctx.streaming();
      };
      auto r = call_model(ctx.core(), ctx.who(), {"compose.suggest", "thread", cx.thread_id}, cr,
                          on_delta, ctx.cancel_flag());
      if (ctx.cancelled()) return Status(Code::unavailable, "compose.suggest cancelled by the client");
      if (!r.ok()) {
        if (req.mode == "llm") return r.status();
        fallback_reason = r.status().message();
        if (sent_any) {
          // The model broke off mid-draft: the client's partial text is replaced below.
          texts[static_cast<size_t>(v - 1)].clear();
        }
        break;
      }
      usage.input_tokens += r->usage.input_tokens;
      usage.output_tokens += r->usage.output_tokens;
      usage.estimated = usage.estimated || r->usage.estimated;
      model = r->model;
      texts[static_cast<size_t>(v - 1)] = r->text;
      variants_from_model = v;
    }
  }
  if (variants_from_model < req.count) {
    // The deterministic drafts fill what the model did not write.
    auto rules = rules_drafts(cx, req);
    for (int v = variants_from_model + 1; v <= req.count; ++v) {
      texts[static_cast<size_t>(v - 1)] = rules[static_cast<size_t>(v - 1)];
      if (!ctx.emit("delta", delta_json(v, rules[static_cast<size_t>(v - 1)], use_model)))
        return Status(Code::unavailable, "compose.suggest cancelled by the client");
    }
  }
  source = variants_from_model == req.count ? "llm" : variants_from_model > 0 ? "mixed" : "rules";

  FactSet facts;
  facts.add_text(cx.facts_text);
  for (const auto& r : cx.known_refs) facts.add(r);
  std::string subject = cx.subject;
  if (channel == "email" && !(subject.size() >= 3 && (subject.substr(0, 3) == "Re:" || subject.substr(0, 3) == "RE:")))
    subject = "Re: " + subject;

  rapidjson::StringBuffer b;
  json::Writer w(b);
  w.StartObject();
  key(w, "drafts");
  w.StartArray();
  for (int v = 1; v <= req.count; ++v) {
    w.StartObject();
    json::field_int(w, "variant", v);
    json::field(w, "text", texts[static_cast<size_t>(v - 1)]);
    key(w, "subject");
    if (channel == "email") write_str(w, subject); else w.Null();
    json::field(w, "source", v <= variants_from_model ? "llm" : "rules");
    w.EndObject();
  }
  w.EndArray();
  key(w, "unverified_references");
  w.StartArray();
  for (int v = 1; v <= req.count; ++v)
    for (const auto& c : unverified(texts[static_cast<size_t>(v - 1)], facts)) {
      w.StartObject();
      json::field_int(w, "variant", v);
      json::field(w, "kind", c.kind);
      json::field(w, "value", c.value);
      w.EndObject();
    }
  w.EndArray();
  json::field(w, "source", source);
  key(w, "usage");
  write_usage(w, usage);
  json::field(w, "channel", channel);
  json::field(w, "language", cx.language);
  json::field(w, "intent", cx.intent);
  if (!model.empty()) {
    json::field(w, "model", model);
  }
  if (!fallback_reason.empty()) {
    json::field(w, "fallback_reason", fallback_reason);
  }
  if (variants_from_model < req.count && !Phrases::has(cx.language)) {
    // Templates exist in en, es, de and fr; others get English and are told so.
    json::field(w, "language_fallback", "en");
  }
  if (channel == "whatsapp") {
    key(w, "whatsapp_window_open");
    w.Bool(cx.whatsapp_open);
  }
  key(w, "context");
  json::write_raw(w, cx.summary_json);
  w.EndObject();
  std::string out = b.GetString();
  ctx.emit("done", out);
  return out;
}

}  // namespace banxway::compose
