// Compose context, drafts (offline and through a stand-in model), the guardrail, and message
// analysis in the store (docs/COMPOSE.md). Every case runs on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "compose/context.hpp"
#include "compose/guardrail.hpp"
#include "support/engine_fixture.hpp"
#include "support/llm_stub.hpp"

using banxway::Code;
using banxway::json::quote;
using bxtest::str;
namespace cp = banxway::compose;

// --- the guardrail's scanner (pure) -------------------------------------------------------------

TEST(Guardrail, FindsDatesAndAmountsInTheirUsualForms) {
  auto c = cp::find_dates_and_amounts(
      "ETA 2026-12-05, ETD 05/12/2026 or 5.12.26; cut-off 5th December 2026, docs by Dec 7. "
      "Freight USD 1,200.50 plus INR 45,000 and 300 EUR, $99; \xE2\x82\xB9" "1500.00.");
  std::vector<std::string> v;
  for (auto& x : c) v.push_back(x.kind + ":" + x.value);
  std::vector<std::string> want = {"date:2026-12-05", "date:2026-12-05", "date:2026-12-05",
                                   "date:2026-12-05", "date:--12-07",    "amount:1200.5 USD",
                                   "amount:45000 INR", "amount:300 EUR", "amount:99 USD",
                                   "amount:1500 INR"};
  EXPECT_EQ(v, want);
  // Not dates: an invalid day, a phone number, a version string.
  EXPECT_TRUE(cp::find_dates_and_amounts("31/02/2026 +91 98200 12345 v1.2.3").empty());
}

TEST(Guardrail, FlagsWhatTheContextDoesNotVouchFor) {
  cp::FactSet facts;
  facts.add_text("Container MSKU9070323 departs 2026-12-05, freight USD 1,200");
  facts.add("17612345675");
  auto u = cp::unverified(
      "MSKU 907032 3 leaves on 5 December; AWB 176-12345675; also CSQU3054383 on 2026-12-09, "
      "USD 1200 and USD 1300",
      facts);
  std::vector<std::string> v;
  for (auto& x : u) v.push_back(x.kind + ":" + x.value);
  std::vector<std::string> want = {"container:CSQU3054383", "date:2026-12-09", "amount:1300 USD"};
  EXPECT_EQ(v, want);
}

TEST(Redaction, PhonesAndEmailsGoReferencesStay) {
  std::string r = cp::redact(
      "Call me on +91 98200 12345 or write to priya.s@acme.example; AWB 176-12345675, "
      "container MSKU9070323.",
      "IN");
  EXPECT_EQ(r.find("98200"), std::string::npos) << r;
  EXPECT_EQ(r.find("priya.s@"), std::string::npos) << r;
  EXPECT_NE(r.find("[phone]"), std::string::npos) << r;
  EXPECT_NE(r.find("[email]"), std::string::npos) << r;
  EXPECT_NE(r.find("176-12345675"), std::string::npos) << r;
  EXPECT_NE(r.find("MSKU9070323"), std::string::npos) << r;
}

// --- in the store -------------------------------------------------------------------------------

class ComposeTest : public bxtest::EngineTest {
 protected:
  std::string q(const std::string& s) { return quote(s); }
  int seq = 0;
  // An e-mail from the customer (or, with from = an org user's address, from us).
  banxway::json::Document mail(const std::string& subject, const std::string& body,
                               const std::string& from = "Priya Shah <priya@acme.example>",
                               const std::string& reply_to_mid = "") {
    std::string mid = "<m" + std::to_string(++seq) + "@test.example>";
    std::string raw = "From: " + from + "\r\nTo: ops@a.example\r\nSubject: " + subject +
                      "\r\nMessage-ID: " + mid + "\r\nDate: Mon, 2 Nov 2026 10:" +
                      (seq < 10 ? "0" : "") + std::to_string(seq % 60) + ":00 +0000\r\n" +
                      (reply_to_mid.empty() ? "" : "In-Reply-To: " + reply_to_mid + "\r\n") +
                      "\r\n" + body + "\r\n";
    return ok("inbound.email", "{\"raw\":" + q(raw) + "}");
  }
  std::string shipment(const std::string& mode, const std::string& refs_json,
                       const std::string& extra = "") {
    return str(ok("shipments.create",
                  "{\"mode\":\"" + mode + "\",\"references\":" + refs_json + extra + "}"),
               "id");
  }
  void drain() {
    for (int i = 0; i < 20; ++i) {
      auto r = engine->run_pending(1000);
      ASSERT_TRUE(r.ok()) << r.status().message();
      if (*r == 0) return;
    }
  }
  int events_of(const std::string& type) {
    return static_cast<int>(count("SELECT COUNT(*) FROM events WHERE type = ? AND org_id = ?",
                                  {type, org_a}));
  }
};

TEST_P(ComposeTest, InboundMailIsAnalyzedLinkedAndSuggested) {
  std::string known = shipment("ocean", R"([{"kind":"container","value":"MSKU9070323"}])");
  auto m = mail("Status of MSKU 907032 3",
                "Hi team,\nwhere is container MSKU 907032-3? Also please check CSQU3054383 and "
                "TGHU9876543 (typo?). Please send the packing list urgently.\nThanks, Priya");
  std::string thread = str(m, "thread_id"), mid = str(m["message"], "id");
  drain();
  auto msg = ok("messages.list", "{\"thread_id\":" + q(thread) + "}");
  const auto& a = msg["items"][0]["analysis"];
  ASSERT_TRUE(a.IsObject()) << "no analysis stored";
  EXPECT_EQ(str(a, "source"), "rules");
  std::vector<std::string> containers;
  for (auto& c : a["entities"]["containers"].GetArray()) containers.push_back(c.GetString());
  EXPECT_EQ(containers, (std::vector<std::string>{"MSKU9070323", "CSQU3054383"}));
  bool rejected = false;
  for (auto& r : a["rejected"].GetArray()) rejected |= std::string(str(r, "raw")).find("TGHU") != std::string::npos;
  EXPECT_TRUE(rejected) << "a wrong check digit is kept as rejected";
  // The known container linked the thread; the unknown one became a suggestion; the request an action.
  EXPECT_EQ(count("SELECT COUNT(*) FROM thread_shipments WHERE thread_id = ? AND shipment_id = ?",
                  {thread, known}),
            1);
  auto sug = ok("threads.suggestions", "{\"thread_id\":" + q(thread) + "}");
  ASSERT_EQ(sug["items"].Size(), 1u);
  EXPECT_EQ(str(sug["items"][0], "ref_value"), "CSQU3054383");
  EXPECT_EQ(str(sug["items"][0], "status"), "open");
  auto acts = ok("actions.list", "{\"thread_id\":" + q(thread) + "}");
  ASSERT_EQ(acts["items"].Size(), 1u);
  EXPECT_EQ(str(acts["items"][0], "type"), "document_request");
  EXPECT_NE(str(acts["items"][0], "title").find("packing list"), std::string::npos);
  EXPECT_EQ(events_of("message.analyzed"), 1);
  // Once a shipment carries the suggested reference, the suggestion says which.
  std::string later = shipment("ocean", R"([{"kind":"container","value":"CSQU3054383"}])");
  sug = ok("threads.suggestions", "{\"thread_id\":" + q(thread) + "}");
  EXPECT_EQ(str(sug["items"][0], "shipment_id"), later);
  auto upd = ok("suggestions.update", "{\"id\":" + q(str(sug["items"][0], "id")) + ",\"status\":\"accepted\"}");
  EXPECT_EQ(str(upd, "status"), "accepted");
  // Re-analysis on demand: no second suggestion, no second action.
  auto again = ok("messages.analyze", "{\"message_id\":" + q(mid) + "}");
  EXPECT_EQ(str(again, "source"), "rules");
  EXPECT_EQ(ok("actions.list", "{\"thread_id\":" + q(thread) + "}")["items"].Size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM thread_suggestions WHERE thread_id = ?", {thread}), 1);
  // Another organization sees none of it.
  fails("threads.suggestions", "{\"thread_id\":" + q(thread) + "}", Code::not_found, key_b);
  fails("messages.analyze", "{\"message_id\":" + q(mid) + "}", Code::not_found, key_b);
}

TEST_P(ComposeTest, MessageAnalyzedTriggersWorkflows) {
  ok("workflows.create", R"({"name":"complaints first","trigger":{"event":"message.analyzed"},
      "conditions":{"field":"analysis.intent","op":"eq","value":"complaint"},
      "steps":[{"action":"set_priority","value":"urgent"}]})");
  auto angry = mail("Third delay", "This is the third delay this month, we are very unhappy with your service.");
  auto calm = mail("Rates", "Please quote ocean freight Nhava Sheva to Jebel Ali, 2x40HC.", "Raj <raj@other.example>");
  drain();
  auto msgs = ok("messages.list", "{\"thread_id\":" + q(str(angry, "thread_id")) + "}");
  EXPECT_EQ(str(msgs["items"][0]["analysis"], "intent"), "complaint");
  EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(str(angry, "thread_id")) + "}"), "priority"), "urgent");
  EXPECT_EQ(str(ok("threads.get", "{\"id\":" + q(str(calm, "thread_id")) + "}"), "priority"), "normal");
}

TEST_P(ComposeTest, ContextFitsTheBudgetAndKeepsTheNewestMessages) {
  std::string s1 = shipment("ocean",
                            R"([{"kind":"container","value":"MSKU9070323"},{"kind":"booking","value":"BKG778812"}])",
                            R"(,"origin":"INNSA","destination":"AEJEA","eta":"2026-12-05T00:00:00Z")");
  std::string s2 = shipment("air", R"([{"kind":"awb","value":"176-12345675"}])");
  ok("shipments.set_milestone", "{\"shipment_id\":" + q(s1) +
                                    ",\"kind\":\"departed\",\"actual_at\":\"2026-11-20T08:00:00Z\",\"location\":\"INNSA\"}");
  std::string filler(600, 'x');
  std::string thread;
  for (int i = 0; i < 30; ++i) {
    auto m = mail(i == 0 ? "Shipment to Jebel Ali" : "Re: Shipment to Jebel Ali",
                  "message number " + std::to_string(i) + " " + filler + " call +91 98200 12345");
    if (i == 0) thread = str(m, "thread_id");
  }
  ok("shipments.link_thread", "{\"shipment_id\":" + q(s1) + ",\"thread_id\":" + q(thread) + "}");
  ok("shipments.link_thread", "{\"shipment_id\":" + q(s2) + ",\"thread_id\":" + q(thread) + "}");
  ok("actions.create", "{\"thread_id\":" + q(thread) + ",\"title\":\"Collect VGM\"}");
  auto cx = ok("compose.context", "{\"thread_id\":" + q(thread) + ",\"max_tokens\":1500}");
  const auto& b = cx["budget"];
  EXPECT_LE(b["used_tokens"].GetInt(), 1500);
  EXPECT_EQ(b["messages_total"].GetInt(), 30);
  EXPECT_GT(b["messages_trimmed"].GetInt(), 0);
  const auto& msgs = cx["messages"];
  ASSERT_GT(msgs.Size(), 0u);
  // Newest kept, oldest trimmed; oldest first in what is kept.
  EXPECT_NE(str(msgs[msgs.Size() - 1], "text").find("message number 29"), std::string::npos);
  EXPECT_EQ(str(msgs[0], "text").find("message number 0 "), std::string::npos);
  EXPECT_EQ(str(msgs[msgs.Size() - 1]["source"], "type"), "message");
  ASSERT_EQ(cx["shipments"].Size(), 2u);
  bool saw_missing = false;
  for (auto& s : cx["shipments"].GetArray()) {
    EXPECT_EQ(str(s["source"], "type"), "shipment");
    if (str(s, "id") == s1) {
      EXPECT_EQ(s["milestones"].Size(), 1u);
      for (auto& d : s["documents"]["missing"].GetArray()) saw_missing |= std::string(d.GetString()) == "bill_of_lading";
    }
  }
  EXPECT_TRUE(saw_missing);
  EXPECT_EQ(cx["actions"].Size(), 1u);
  EXPECT_EQ(str(cx["contact"], "name"), "Priya Shah");
  // Redaction on request.
  auto red = ok("compose.context", "{\"thread_id\":" + q(thread) + ",\"redact\":true}");
  std::string text = banxway::json::stringify(red["messages"]);
  EXPECT_EQ(text.find("98200"), std::string::npos);
  EXPECT_NE(text.find("[phone]"), std::string::npos);
  EXPECT_TRUE(red["redacted"].GetBool());
  // The organization's setting is the default; the request can still say otherwise.
  ok("orgs.update", R"({"ai_redact":true})");
  EXPECT_TRUE(ok("compose.context", "{\"thread_id\":" + q(thread) + "}")["redacted"].GetBool());
  EXPECT_FALSE(ok("compose.context", "{\"thread_id\":" + q(thread) + ",\"redact\":false}")["redacted"].GetBool());
  fails("compose.context", "{\"thread_id\":" + q(thread) + "}", Code::not_found, key_b);
}

TEST_P(ComposeTest, SimilarPastRepliesComeFromOtherThreads) {
  make_user("ops@a.example", "agent", "Ravi Kumar");
  auto first = mail("Reefer plugging at Mundra", "Can you confirm reefer plugging charges at Mundra terminal?");
  std::string mid = "<m" + std::to_string(seq) + "@test.example>";
  mail("Re: Reefer plugging at Mundra", "Reefer plugging at Mundra is charged per day by the terminal; we will share the tariff sheet.",
       "Ravi Kumar <ops@a.example>", mid);
  mail("Unrelated", "Please quote airfreight Delhi to Frankfurt.");
  auto now = mail("Plugging question", "What are the reefer plugging charges for our container at Mundra?",
                  "Anil <anil@other.example>");
  drain();
  auto cx = ok("compose.context", "{\"thread_id\":" + q(str(now, "thread_id")) + "}");
  ASSERT_GE(cx["similar_replies"].Size(), 1u);
  const auto& s = cx["similar_replies"][0];
  EXPECT_EQ(str(s, "thread_id"), str(first, "thread_id"));
  EXPECT_NE(str(s, "text").find("tariff sheet"), std::string::npos);
  EXPECT_EQ(str(s["source"], "type"), "message");
}

TEST_P(ComposeTest, OfflineDraftsUseOnlyTheContextsFacts) {
  make_user("ops@a.example", "agent", "Ravi Kumar");
  ok("orgs.update", R"({"signature":"Ravi Kumar\nAcme Forwarding","tone":"professional"})");
  std::string s1 = shipment("ocean", R"([{"kind":"container","value":"MSKU9070323"}])",
                            R"(,"origin":"INNSA","destination":"AEJEA","eta":"2026-12-05T00:00:00Z")");
  ok("shipments.set_milestone", "{\"shipment_id\":" + q(s1) +
                                    ",\"kind\":\"departed\",\"actual_at\":\"2026-11-20T08:00:00Z\",\"location\":\"INNSA\"}");
  auto m = mail("Where is my box?", "Hello, what is the status of our shipment? Any update on arrival?");
  std::string thread = str(m, "thread_id");
  ok("shipments.link_thread", "{\"shipment_id\":" + q(s1) + ",\"thread_id\":" + q(thread) + "}");
  auto d = ok("compose.suggest", "{\"thread_id\":" + q(thread) + ",\"count\":3}");
  EXPECT_EQ(str(d, "source"), "rules");
  EXPECT_EQ(str(d, "fallback_reason"), "no AI provider is configured");
  ASSERT_EQ(d["drafts"].Size(), 3u);
  std::string v1 = str(d["drafts"][0], "text");
  EXPECT_NE(v1.find("MSKU9070323"), std::string::npos) << v1;
  EXPECT_NE(v1.find("2026-11-20"), std::string::npos) << v1;
  EXPECT_NE(v1.find("2026-12-05"), std::string::npos) << v1;
  EXPECT_EQ(v1.rfind("Dear Priya,", 0), 0u) << v1;
  EXPECT_NE(v1.find("Acme Forwarding"), std::string::npos) << v1;
  EXPECT_EQ(d["unverified_references"].Size(), 0u);
  EXPECT_EQ(str(d["drafts"][0], "subject"), "Re: Where is my box?");
  // WhatsApp: short, no signature block.
  auto w = ok("compose.suggest", "{\"thread_id\":" + q(thread) + ",\"channel\":\"whatsapp\"}");
  std::string wt = str(w["drafts"][0], "text");
  EXPECT_EQ(wt.rfind("Hi Priya, ", 0), 0u) << wt;
  EXPECT_EQ(wt.find("Acme Forwarding"), std::string::npos);
  // An instruction picks the template: ask for documents, naming the real reference.
  auto ask = ok("compose.suggest", "{\"thread_id\":" + q(thread) +
                                      ",\"instruction\":\"ask for the commercial invoice\"}");
  std::string at = str(ask["drafts"][0], "text");
  EXPECT_NE(at.find("commercial invoice"), std::string::npos) << at;
  EXPECT_NE(at.find("MSKU9070323"), std::string::npos) << at;
  // A thread without shipments gets no invented reference at all.
  auto bare = mail("Question", "Where is my shipment?", "Zed <zed@else.example>");
  auto bd = ok("compose.suggest", "{\"thread_id\":" + q(str(bare, "thread_id")) + "}");
  EXPECT_TRUE(cp::find_claims(str(bd["drafts"][0], "text")).empty()) << str(bd["drafts"][0], "text");
  // Asking for the model without one is an error, not a silent fallback.
  fails("compose.suggest", "{\"thread_id\":" + q(thread) + ",\"mode\":\"llm\"}", Code::unavailable);
  fails("compose.suggest", "{\"thread_id\":" + q(thread) + ",\"count\":4}", Code::invalid_argument);
  fails("compose.suggest", "{\"thread_id\":" + q(thread) + "}", Code::not_found, key_b);
  fails("compose.suggest", "{\"thread_id\":" + q(thread) + "}", Code::permission_denied,
        key_with_role("viewer"));
}

TEST_P(ComposeTest, OfflineDraftsFollowTheCustomersLanguage) {
  std::string s1 = shipment("ocean", R"([{"kind":"container","value":"MSKU9070323"}])",
                            R"(,"destination":"AEJEA","eta":"2026-12-05T00:00:00Z")");
  auto es = mail("Consulta", "Hola, ¿cuál es el estado de nuestro envío? Necesitamos saber cuándo llega el contenedor, gracias.",
                 "Lucía Gómez <lucia@cliente.example>");
  auto de = mail("Anfrage", "Guten Tag, wann kommt unser Container an? Bitte geben Sie uns den aktuellen Stand der Sendung.",
                 "Jan Becker <jan@kunde.example>");
  for (auto* m : {&es, &de})
    ok("shipments.link_thread", "{\"shipment_id\":" + q(s1) + ",\"thread_id\":" + q(str(*m, "thread_id")) + "}");
  auto d = ok("compose.suggest", "{\"thread_id\":" + q(str(es, "thread_id")) + "}");
  EXPECT_EQ(str(d, "language"), "es");
  std::string t = str(d["drafts"][0], "text");
  EXPECT_EQ(t.rfind("Estimado/a Lucía:", 0), 0u) << t;
  EXPECT_NE(t.find("Gracias por su mensaje."), std::string::npos) << t;
  EXPECT_NE(t.find("MSKU9070323"), std::string::npos) << t;
  EXPECT_NE(t.find("2026-12-05"), std::string::npos) << t;
  EXPECT_FALSE(d.HasMember("language_fallback"));
  auto g = ok("compose.suggest", "{\"thread_id\":" + q(str(de, "thread_id")) + ",\"channel\":\"whatsapp\"}");
  EXPECT_EQ(str(g, "language"), "de");
  std::string gt = str(g["drafts"][0], "text");
  EXPECT_EQ(gt.rfind("Hallo Jan, Vielen Dank", 0), 0u) << gt;
  EXPECT_EQ(g["unverified_references"].Size(), 0u);
}

BX_INSTANTIATE_BACKENDS(ComposeTest);

// --- with a model (the stand-in provider) --------------------------------------------------------

namespace llm = bxtest::llm;

class ComposeModelTest : public ComposeTest {
 protected:
  llm::LlmStub stub;
  void configure(banxway::EngineOptions& o) override {
    o.ai_provider = "openai";
    o.ai_base_url = stub.openai_base();
    o.ai_model = "stub-model";
    o.ai_allow_private_network = true;
    o.ai_max_attempts = 1;
    o.ai_analyze_messages = false;  // the cases below script every model call themselves
  }
  std::string linked_thread() {
    std::string s1 = shipment("ocean", R"([{"kind":"container","value":"MSKU9070323"}])",
                              R"(,"eta":"2026-12-05T00:00:00Z")");
    auto m = mail("Update?", "Any news on our container?");
    std::string t = str(m, "thread_id");
    ok("shipments.link_thread", "{\"shipment_id\":" + q(s1) + ",\"thread_id\":" + q(t) + "}");
    return t;
  }
};

TEST_P(ComposeModelTest, StreamsTheModelsDraftAndFlagsInventedReferences) {
  std::string t = linked_thread();
  stub.push(llm::openai_stream({"Dear Priya, container MSKU9070323 ", "arrives 2026-12-05; ",
                                "your other box CSQU3054383 too."},
                               120, 30));
  std::vector<std::pair<std::string, std::string>> events;
  banxway::Engine::StreamSink sink = [&](std::string_view e, std::string_view d) {
    events.emplace_back(std::string(e), std::string(d));
    return true;
  };
  banxway::Principal who = *engine->authenticate(key_a);
  auto r = engine->call_streaming("compose.suggest", "{\"thread_id\":" + q(t) + "}", who, sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.front().first, "context");
  EXPECT_EQ(events.back().first, "done");
  std::string streamed;
  for (auto& [e, d] : events)
    if (e == "delta") {
      banxway::json::Document dd;
      ASSERT_TRUE(banxway::json::parse(d, &dd).ok());
      EXPECT_EQ(dd["variant"].GetInt(), 1);
      streamed += str(dd, "text");
    }
  banxway::json::Document done;
  ASSERT_TRUE(banxway::json::parse(r->data, &done).ok());
  EXPECT_EQ(str(done, "source"), "llm");
  EXPECT_EQ(str(done["drafts"][0], "text"), streamed);
  ASSERT_EQ(done["unverified_references"].Size(), 1u);
  EXPECT_EQ(str(done["unverified_references"][0], "value"), "CSQU3054383");
  EXPECT_EQ(done["usage"]["input_tokens"].GetInt(), 120);
  // The prompt carried the context and no key leaked into it.
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].body.find("MSKU9070323"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("\"stream\":true"), std::string::npos);
  // Usage is recorded per call.
  auto u = ok("ai.usage", "{}");
  EXPECT_EQ(u["used_tokens"].GetInt(), 150);
  ASSERT_EQ(u["by_feature"].Size(), 1u);
  EXPECT_EQ(str(u["by_feature"][0], "feature"), "compose.suggest");
}

TEST_P(ComposeModelTest, BudgetRefusesAndProviderFailuresFallBack) {
  std::string t = linked_thread();
  ok("orgs.update", R"({"ai_monthly_token_budget":100})");
  stub.push(llm::openai_stream({"Dear Priya, all fine."}, 90, 20));
  auto first = ok("compose.suggest", "{\"thread_id\":" + q(t) + "}");
  EXPECT_EQ(str(first, "source"), "llm");
  // 110 of 100 used: the model is not called again.
  std::string msg = fails("compose.suggest", "{\"thread_id\":" + q(t) + ",\"mode\":\"llm\"}", Code::rate_limited);
  EXPECT_NE(msg.find("budget"), std::string::npos) << msg;
  auto fb = ok("compose.suggest", "{\"thread_id\":" + q(t) + "}");
  EXPECT_EQ(str(fb, "source"), "rules");
  EXPECT_NE(str(fb, "fallback_reason").find("budget"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 1u);
  // Provider down: auto falls back, llm reports it.
  ok("orgs.update", R"({"ai_monthly_token_budget":null})");
  stub.push(llm::openai_error(503, "overloaded"));
  auto down = ok("compose.suggest", "{\"thread_id\":" + q(t) + "}");
  EXPECT_EQ(str(down, "source"), "rules");
  EXPECT_NE(str(down["drafts"][0], "text").find("MSKU9070323"), std::string::npos);
  stub.push(llm::openai_error(503, "overloaded"));
  fails("compose.suggest", "{\"thread_id\":" + q(t) + ",\"mode\":\"llm\"}", Code::unavailable);
  auto u = ok("ai.usage", "{}");
  EXPECT_EQ(u["used_tokens"].GetInt(), 110);
  int failed = 0;
  for (auto& f : u["by_feature"].GetArray()) failed += f["failed"].GetInt();
  EXPECT_EQ(failed, 2);
}

TEST_P(ComposeModelTest, ClientCancellationStopsTheStream) {
  std::string t = linked_thread();
  std::vector<std::string> pieces(40, "word ");
  stub.push(llm::openai_stream(pieces, 10, 40, llm::milliseconds(0), llm::milliseconds(50)));
  int deltas = 0;
  banxway::Engine::StreamSink sink = [&](std::string_view e, std::string_view) {
    if (e == "delta") ++deltas;
    return deltas < 3;  // the client goes away after the third delta
  };
  banxway::Principal who = *engine->authenticate(key_a);
  auto t0 = std::chrono::steady_clock::now();
  auto r = engine->call_streaming("compose.suggest", "{\"thread_id\":" + q(t) + "}", who, sink);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(deltas, 3);
  EXPECT_LT(took, std::chrono::milliseconds(1500));  // not the 2 s the whole stream takes
  auto u = ok("ai.usage", "{}");
  ASSERT_EQ(u["by_feature"].Size(), 1u);
  EXPECT_EQ(u["by_feature"][0]["failed"].GetInt(), 1);
}

TEST_P(ComposeModelTest, ModelAnalysisIsValidatedBeforeUse) {
  auto m = mail("Complaint", "This is the third delay, we are very unhappy.");
  std::string mid = str(m["message"], "id");
  stub.push(llm::openai_stream({R"({"intent":"complaint","sentiment":"negative","sentiment_score":-0.8,)",
                                R"("urgency":"high","language":"en","confidence":0.9})"}));
  auto a = ok("messages.analyze", "{\"message_id\":" + q(mid) + "}");
  EXPECT_EQ(str(a, "source"), "rules+llm");
  EXPECT_EQ(str(a, "intent"), "complaint");
  EXPECT_EQ(str(a["sources"], "intent"), "llm");
  EXPECT_DOUBLE_EQ(a["intent_confidence"].GetDouble(), 0.9);
  EXPECT_NE(stub.requests()[0].body.find("response_format"), std::string::npos);
  // Malformed structured output: the rules' answer stands, the reason is kept.
  stub.push(llm::openai_stream({R"({"intent":"not-an-intent")"}));
  auto b = ok("messages.analyze", "{\"message_id\":" + q(mid) + "}");
  EXPECT_EQ(str(b, "source"), "rules");
  EXPECT_NE(str(b, "model_error").find("analysis"), std::string::npos);
  stub.push(llm::openai_stream({R"({"intent":"teleport","sentiment":"negative","sentiment_score":-0.8,)",
                                R"("urgency":"high","language":"en","confidence":0.9})"}));
  auto c = ok("messages.analyze", "{\"message_id\":" + q(mid) + "}");
  EXPECT_EQ(str(c, "source"), "rules");
  EXPECT_NE(str(c, "model_error").find("intent"), std::string::npos) << str(c, "model_error");
}

BX_INSTANTIATE_BACKENDS(ComposeModelTest);
