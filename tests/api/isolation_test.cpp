// Tenant isolation, for every operation in the registry: organization B's admin key, aimed at
// organization A's records, reads nothing and changes nothing. Another organization's record is
// not_found (never permission_denied, which would confirm it exists). A new operation fails
// this test until a case for it is added here.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

class IsolationTest : public bxtest::EngineTest {};

TEST_P(IsolationTest, OrganizationBCannotReachOrganizationA) {
  // Organization A's records.
  std::string U = str(ok("users.create", R"({"email":"ops@a.example","role":"agent"})"), "id");
  std::string C = str(ok("customers.create", "{\"name\":\"Acme Imports\",\"domains\":[\"acme.example\"],"
                                             "\"account_manager_id\":\"" + U + "\"}"), "id");
  std::string K = str(ok("contacts.create", "{\"name\":\"Priya\",\"customer_id\":\"" + C +
                                            "\",\"identities\":[{\"kind\":\"email\",\"value\":\"priya@acme.example\"}]}"), "id");
  std::string T = str(ok("threads.create", "{\"subject\":\"A's thread\",\"customer_id\":\"" + C +
                                           "\",\"contact_id\":\"" + K + "\",\"assignee_id\":\"" + U + "\"}"), "id");
  std::string N = str(ok("messages.create_note", "{\"thread_id\":\"" + T + "\",\"text\":\"zebracorn secret\"}"), "id");
  std::string A = str(ok("actions.create", "{\"title\":\"Chase invoice\",\"thread_id\":\"" + T + "\"}"), "id");
  std::string KEY = str(ok("apikeys.create", R"({"role":"viewer","name":"A's key"})"), "id");
  std::string CH = str(ok("channels.create", R"({"channel":"email","name":"A's mailbox",
      "address":"desk@a.example","config":{"smtp":{"host":"127.0.0.1","port":1,"security":"plain"}},
      "secrets":{"smtp_password":"a-secret"}})"), "id");
  std::string Q = str(ok("messages.send", "{\"thread_id\":\"" + T + "\",\"to\":[\"priya@acme.example\"],"
                                          "\"text\":\"queued\",\"send_at\":\"2099-01-01T00:00:00Z\"}"), "id");
  Document wa = ok("channels.create", R"({"channel":"whatsapp","provider":"exotel","name":"A's WhatsApp",
      "config":{"account_sid":"acme1","from":"+919000000001"},
      "secrets":{"api_key":"k","api_token":"t"}})");
  std::string WA = str(wa, "id");
  std::string WA_TOKEN = str(wa, "webhook_token");
  std::string S = str(ok("shipments.create", "{\"mode\":\"ocean\",\"customer_id\":\"" + C +
      "\",\"references\":[{\"kind\":\"container\",\"value\":\"MSKU9070323\"},"
      "{\"kind\":\"awb\",\"value\":\"176-12345675\"}]}"), "id");
  ok("shipments.set_milestone", "{\"shipment_id\":\"" + S + "\",\"kind\":\"departed\",\"note\":\"A's\"}");
  ok("shipments.link_thread", "{\"shipment_id\":\"" + S + "\",\"thread_id\":\"" + T + "\"}");
  std::string SB = str(ok("shipments.create", R"({"mode":"air"})", key_b), "id");
  std::string TB = str(ok("threads.create", R"({"subject":"B's thread"})", key_b), "id");
  std::string D;  // a document on A's shipment (bytes go through Engine::upload_document)
  {
    auto who = engine->authenticate(key_a);
    ASSERT_TRUE(who.ok());
    auto d = engine->upload_document(*who, "{\"shipment_id\":\"" + S + "\",\"kind\":\"invoice\","
                                     "\"filename\":\"a.csv\",\"content_type\":\"text/csv\"}", "ref,amount\n1,2\n");
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    Document dd;
    dd.Parse(d->c_str());
    D = str(dd, "id");
  }
  // A's webhook subscription, and a delivery of it (webhooks.test queues one).
  std::string W = str(ok("webhooks.create", R"({"url":"https://hooks.a.example/in","event_types":["*"]})"), "id");
  std::string WD = str(ok("webhooks.test", "{\"id\":\"" + W + "\"}"), "id");
  std::set<std::string> a_ids{org_a, U, C, K, T, N, A, KEY, CH, Q, WA, S, W, WD};
  // SLA configuration (tests/api/sla_test.cpp has the behaviour).
  std::string CAL = str(ok("business_calendars.create", R"({"name":"A's desk","time_zone":"Asia/Kolkata",
      "hours":{"mon":[["09:00","18:00"]]}})"), "id");
  std::string POL = str(ok("sla_policies.create", "{\"name\":\"A's policy\",\"first_response\":\"PT1H\","
                                                  "\"calendar_id\":\"" + CAL + "\"}"), "id");
  std::string RULE = str(ok("sla_milestone_rules.create", R"({"name":"A's rule","trigger":"eta_changed",
      "offset":"PT2H","met_by":"reply"})"), "id");
  a_ids.insert({CAL, POL, RULE});
  // Workflows and a run (tests/workflow/workflow_test.cpp has the behaviour).
  std::string WF = str(ok("workflows.create", R"({"name":"A's rule","trigger":{"manual":true},
      "steps":[{"action":"add_tag","value":"a"}]})"), "id");
  std::string RUN = str(ok("workflows.run", "{\"id\":\"" + WF + "\",\"thread_id\":\"" + T + "\"}"), "id");
  a_ids.insert({WF, RUN});
  // An inbound message naming a container no shipment carries: analysis leaves a suggestion.
  Document in = ok("inbound.email", "{\"raw\":" + banxway::json::quote(
      "From: anil@other.example\r\nSubject: Box CSQU3054383\r\nMessage-ID: <iso-sg@x>\r\n\r\n"
      "Where is CSQU3054383?\r\n") + "}");
  std::string TI = str(in, "thread_id");
  ASSERT_TRUE(engine->run_pending(1000).ok());
  Document sgs = ok("threads.suggestions", "{\"thread_id\":\"" + TI + "\"}");
  ASSERT_EQ(sgs["items"].Size(), 1u);
  std::string SG = str(sgs["items"][0], "id");
  a_ids.insert({TI, SG});
  std::string shipment_before = banxway::json::stringify(ok("shipments.get", "{\"id\":\"" + S + "\"}"));
  std::string before = banxway::json::stringify(ok("threads.get", "{\"id\":\"" + T + "\"}"));

  auto id = [](const std::string& v) { return "{\"id\":\"" + v + "\"}"; };
  // Expect not_found.
  auto nf = [&](const std::string& op, const std::string& params) {
    return [=, this] { fails(op, params, Code::not_found, key_b); };
  };
  // Expect success, and no id of organization A anywhere in the result.
  auto clean = [&](const std::string& op, const std::string& params) {
    return [=, this] {
      Document d;
      auto st = call(op, params, &d, key_b);
      if (!st.ok()) {
        EXPECT_EQ(st.code(), Code::not_found) << op << ": " << st.to_string();
        return;
      }
      std::string text = banxway::json::stringify(d);
      for (const auto& a : a_ids) EXPECT_EQ(text.find(a), std::string::npos) << op << " leaked " << a;
    };
  };

  std::map<std::string, std::function<void()>> cases = {
      {"orgs.get", clean("orgs.get", "{}")},
      {"orgs.update", clean("orgs.update", R"({"time_zone":"Asia/Kolkata"})")},
      {"users.list", clean("users.list", "{}")},
      {"users.get", nf("users.get", id(U))},
      {"users.create", clean("users.create", R"({"email":"ops@a.example","role":"agent"})")},
      {"users.update", nf("users.update", "{\"id\":\"" + U + "\",\"role\":\"admin\"}")},
      {"apikeys.list", clean("apikeys.list", "{}")},
      {"apikeys.create", nf("apikeys.create", "{\"role\":\"viewer\",\"user_id\":\"" + U + "\"}")},
      {"apikeys.revoke", nf("apikeys.revoke", id(KEY))},
      {"customers.list", clean("customers.list", R"({"q":"Acme"})")},
      {"customers.get", nf("customers.get", id(C))},
      {"customers.create", nf("customers.create", "{\"name\":\"x\",\"account_manager_id\":\"" + U + "\"}")},
      {"customers.update", nf("customers.update", "{\"id\":\"" + C + "\",\"name\":\"Stolen\"}")},
      {"customers.delete", nf("customers.delete", id(C))},
      {"contacts.list", clean("contacts.list", "{\"customer_id\":\"" + C + "\"}")},
      {"contacts.get", nf("contacts.get", id(K))},
      {"contacts.create", nf("contacts.create", "{\"name\":\"x\",\"customer_id\":\"" + C + "\"}")},
      {"contacts.update", nf("contacts.update", "{\"id\":\"" + K + "\",\"name\":\"Stolen\"}")},
      {"contacts.delete", nf("contacts.delete", id(K))},
      {"threads.list", clean("threads.list", "{\"customer_id\":\"" + C + "\"}")},
      {"threads.get", nf("threads.get", id(T))},
      {"threads.create", nf("threads.create", "{\"subject\":\"x\",\"contact_id\":\"" + K + "\"}")},
      {"threads.update", nf("threads.update", "{\"id\":\"" + T + "\",\"status\":\"closed\"}")},
      {"messages.list", nf("messages.list", "{\"thread_id\":\"" + T + "\"}")},
      {"messages.create_note", nf("messages.create_note", "{\"thread_id\":\"" + T + "\",\"text\":\"x\"}")},
      {"actions.list", clean("actions.list", "{\"thread_id\":\"" + T + "\"}")},
      {"actions.get", nf("actions.get", id(A))},
      {"actions.create", nf("actions.create", "{\"title\":\"x\",\"thread_id\":\"" + T + "\"}")},
      {"actions.update", nf("actions.update", "{\"id\":\"" + A + "\",\"status\":\"done\"}")},
      {"channels.list", clean("channels.list", "{}")},
      {"channels.get", nf("channels.get", id(CH))},
      {"channels.create", clean("channels.create", R"({"channel":"email","name":"B's",
          "address":"desk@b.example","config":{"smtp":{"host":"127.0.0.1"}}})")},
      {"channels.update", nf("channels.update", "{\"id\":\"" + CH + "\",\"name\":\"Stolen\"}")},
      {"channels.sync", nf("channels.sync", id(CH))},
      {"messages.send", nf("messages.send", "{\"thread_id\":\"" + T + "\",\"text\":\"x\"}")},
      {"messages.cancel", nf("messages.cancel", id(Q))},
      {"calls.start", nf("calls.start", "{\"agent_phone\":\"+919820012345\",\"contact_id\":\"" + K + "\"}")},
      {"channels.rotate_webhook_token", nf("channels.rotate_webhook_token", id(WA))},
      // A's webhook token relayed with B's key: unknown to B, nothing stored.
      {"webhooks.receive",
       [&, this] {
         fails("webhooks.receive", "{\"provider\":\"exotel\",\"channel\":\"whatsapp\",\"token\":" +
                                       banxway::json::quote(WA_TOKEN) + ",\"body\":\"{}\"}",
               Code::unauthenticated, key_b);
       }},
      {"workflows.list", clean("workflows.list", "{}")},
      {"workflows.get", nf("workflows.get", id(WF))},
      {"workflows.create", clean("workflows.create", R"({"name":"B's","trigger":{"manual":true},"steps":[{"action":"stop"}]})")},
      {"workflows.update", nf("workflows.update", "{\"id\":\"" + WF + "\",\"enabled\":false}")},
      {"workflows.delete", nf("workflows.delete", id(WF))},
      {"workflows.versions", nf("workflows.versions", id(WF))},
      {"workflows.test",
       [&, this] {
         fails("workflows.test", "{\"id\":\"" + WF + "\",\"thread_id\":\"" + T + "\"}", Code::not_found, key_b);
         fails("workflows.test", R"({"definition":{"name":"x","trigger":{"manual":true},"steps":[{"action":"stop"}]},"thread_id":")" + T + "\"}",
               Code::not_found, key_b);
       }},
      {"workflows.run", nf("workflows.run", "{\"id\":\"" + WF + "\",\"thread_id\":\"" + T + "\"}")},
      {"workflows.runs", nf("workflows.runs", id(WF))},
      {"threads.runs", nf("threads.runs", "{\"thread_id\":\"" + T + "\"}")},
      {"compose.context", nf("compose.context", "{\"thread_id\":\"" + T + "\"}")},
      {"compose.suggest", nf("compose.suggest", "{\"thread_id\":\"" + T + "\"}")},
      {"messages.analyze", nf("messages.analyze", "{\"message_id\":\"" + Q + "\"}")},
      {"threads.suggestions", nf("threads.suggestions", "{\"thread_id\":\"" + TI + "\"}")},
      {"suggestions.update", nf("suggestions.update", "{\"id\":\"" + SG + "\",\"status\":\"dismissed\"}")},
      {"ai.usage", clean("ai.usage", "{}")},
      {"workflow_runs.get", nf("workflow_runs.get", id(RUN))},
      {"workflow_runs.cancel", nf("workflow_runs.cancel", id(RUN))},
      {"workflow_runs.retry", nf("workflow_runs.retry", id(RUN))},
      {"shipments.list", clean("shipments.list", "{\"customer_id\":\"" + C + "\"}")},
      {"shipments.get", nf("shipments.get", id(S))},
      {"shipments.create", nf("shipments.create", "{\"mode\":\"ocean\",\"customer_id\":\"" + C + "\"}")},
      {"shipments.update", nf("shipments.update", "{\"id\":\"" + S + "\",\"status\":\"cancelled\"}")},
      // A's references are unknown to B, however written.
      {"shipments.lookup",
       [&, this] {
         for (const char* ref : {"MSKU9070323", "msku 907032-3", "176-1234 5675"}) {
           auto d = ok("shipments.lookup", std::string("{\"reference\":\"") + ref + "\"}", key_b);
           EXPECT_EQ(d["items"].Size(), 0u) << ref;
         }
       }},
      {"shipments.set_milestone",
       nf("shipments.set_milestone", "{\"shipment_id\":\"" + S + "\",\"kind\":\"departed\",\"note\":\"B\"}")},
      // A's shipment with A's thread or B's, and B's shipment with A's thread: all not_found.
      {"shipments.link_thread",
       [&, this] {
         for (const auto& [s, t] : std::vector<std::pair<std::string, std::string>>{{S, T}, {S, TB}, {SB, T}})
           fails("shipments.link_thread", "{\"shipment_id\":\"" + s + "\",\"thread_id\":\"" + t + "\"}",
                 Code::not_found, key_b);
       }},
      {"shipments.unlink_thread",
       [&, this] {
         for (const auto& [s, t] : std::vector<std::pair<std::string, std::string>>{{S, T}, {S, TB}, {SB, T}})
           fails("shipments.unlink_thread", "{\"shipment_id\":\"" + s + "\",\"thread_id\":\"" + t + "\"}",
                 Code::not_found, key_b);
       }},
      {"shipments.documents_list", nf("shipments.documents_list", "{\"shipment_id\":\"" + S + "\"}")},
      {"shipments.document_delete", nf("shipments.document_delete", id(D))},
      {"webhooks.create", clean("webhooks.create", R"({"url":"https://hooks.b.example/in","event_types":["*"]})")},
      {"webhooks.list", clean("webhooks.list", "{}")},
      {"webhooks.get", nf("webhooks.get", id(W))},
      {"webhooks.update", nf("webhooks.update", "{\"id\":\"" + W + "\",\"url\":\"https://hooks.b.example/stolen\"}")},
      {"webhooks.delete", nf("webhooks.delete", id(W))},
      {"webhooks.rotate_secret", nf("webhooks.rotate_secret", id(W))},
      {"webhooks.test", nf("webhooks.test", id(W))},
      {"webhooks.deliveries",
       [&, this] {
         fails("webhooks.deliveries", "{\"subscription_id\":\"" + W + "\"}", Code::not_found, key_b);
         clean("webhooks.deliveries", "{}")();
       }},
      {"webhooks.delivery_get", nf("webhooks.delivery_get", id(WD))},
      {"webhooks.redeliver", nf("webhooks.redeliver", id(WD))},
      // Thread operations: A's thread, A's user or A's message, alone or paired with B's own.
      {"threads.assign",
       [&, this] {
         for (const auto& [t, u] : std::vector<std::pair<std::string, std::string>>{{T, U}, {TB, U}})
           fails("threads.assign", "{\"id\":\"" + t + "\",\"assignee_id\":\"" + u + "\"}",
                 Code::not_found, key_b);
       }},
      {"threads.unassign", nf("threads.unassign", id(T))},
      {"threads.follow",
       [&, this] {
         for (const auto& t : {T, TB})
           fails("threads.follow", "{\"id\":\"" + t + "\",\"user_id\":\"" + U + "\"}",
                 Code::not_found, key_b);
       }},
      {"threads.unfollow", nf("threads.unfollow", "{\"id\":\"" + T + "\",\"user_id\":\"" + U + "\"}")},
      {"threads.followers", nf("threads.followers", id(T))},
      {"threads.merge",
       [&, this] {
         for (const auto& [t, s] : std::vector<std::pair<std::string, std::string>>{{TB, T}, {T, TB}})
           fails("threads.merge", "{\"id\":\"" + t + "\",\"source_id\":\"" + s + "\"}",
                 Code::not_found, key_b);
       }},
      {"threads.split", nf("threads.split", "{\"message_id\":\"" + N + "\"}")},
      {"threads.bulk_update",
       [&, this] {
         fails("threads.bulk_update", "{\"ids\":[\"" + TB + "\",\"" + T + "\"],\"status\":\"closed\"}",
               Code::not_found, key_b);
         EXPECT_EQ(str(ok("threads.get", id(TB), key_b), "status"), "open");  // all or nothing
       }},
      // Notifications are a user's own: a user of B sees none of A's and changes none of A's.
      // (Each case makes its own user of B: B's admin key has no user.)
      {"notifications.list",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n1@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         Document d = ok("notifications.list", "{}", kb);
         EXPECT_EQ(d["items"].Size(), 0u);
       }},
      {"notifications.unread_count",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n2@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         EXPECT_EQ(ok("notifications.unread_count", "{}", kb)["unread_count"].GetInt(), 0);
       }},
      {"notifications.mark_read",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n3@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         std::string nid;  // A's notification (U was assigned T)
         Document ev = ok("events.list", R"({"after":0,"limit":1000})");
         for (auto& e : ev["items"].GetArray())
           if (str(e, "type") == "notification.created") nid = str(e["data"]["notification"], "id");
         ASSERT_FALSE(nid.empty());
         fails("notifications.mark_read", "{\"id\":\"" + nid + "\"}", Code::not_found, kb);
         ok("notifications.mark_read", R"({"all":true})", kb);
         std::string ka = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + U + "\"}"), "key");
         EXPECT_EQ(ok("notifications.unread_count", "{}", ka)["unread_count"].GetInt(), 1);
       }},
      {"notifications.mark_all_read",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n6@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         EXPECT_EQ(ok("notifications.mark_all_read", "{}", kb)["marked"].GetInt(), 0);
         std::string ka = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + U + "\"}"), "key");
         EXPECT_EQ(ok("notifications.unread_count", "{}", ka)["unread_count"].GetInt(), 1);
       }},
      {"notifications.prefs_get",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n4@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         EXPECT_EQ(ok("notifications.prefs_get", "{}", kb)["items"].Size(), 4u);
       }},
      {"notifications.prefs_update",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"n5@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         ok("notifications.prefs_update", R"({"kind":"assigned","email":"always"})", kb);
         std::string ka = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + U + "\"}"), "key");
         Document prefs = ok("notifications.prefs_get", "{}", ka);
         for (auto& k : prefs["items"].GetArray()) EXPECT_EQ(str(k, "email"), "never");
       }},
      // People: B's own user for users.me; A's users, contacts and customers are not_found.
      {"users.me",
       [&, this] {
         std::string ub = str(ok("users.create", R"({"email":"me@b.example","role":"agent"})", key_b), "id");
         std::string kb = str(ok("apikeys.create", "{\"role\":\"agent\",\"user_id\":\"" + ub + "\"}", key_b), "key");
         EXPECT_EQ(str(ok("users.me", "{}", kb), "id"), ub);
       }},
      {"users.invite", clean("users.invite", R"({"email":"ops2@a.example","name":"Ops","role":"agent"})")},
      {"users.deactivate", nf("users.deactivate", id(U))},
      {"users.set_role", nf("users.set_role", "{\"id\":\"" + U + "\",\"role\":\"admin\"}")},
      {"contacts.merge",
       [&, this] {
         std::string KB = str(ok("contacts.create", R"({"name":"B's contact"})", key_b), "id");
         for (const auto& [k, s] : std::vector<std::pair<std::string, std::string>>{{KB, K}, {K, KB}})
           fails("contacts.merge", "{\"id\":\"" + k + "\",\"source_id\":\"" + s + "\"}", Code::not_found, key_b);
         EXPECT_EQ(str(ok("contacts.get", id(KB), key_b), "name"), "B's contact");
       }},
      {"customers.overview", nf("customers.overview", id(C))},
      // Analytics: figures A sees for its own records are absent from B's.
      {"analytics.volume",
       [&, this] {
         std::string day = str(ok("messages.list", "{\"thread_id\":\"" + T + "\"}")["items"][0], "created_at").substr(0, 10);
         std::string range = "{\"from\":\"" + day + "\",\"to\":\"" + day + "\"}";
         ASSERT_EQ(ok("analytics.volume", range)["by_channel"]["note"].GetInt(), 1);
         EXPECT_FALSE(ok("analytics.volume", range, key_b)["by_channel"].HasMember("note"));
       }},
      {"analytics.response_times",
       [&, this] {
         std::string raw = "From: buyer@acme.example\r\nSubject: rate request\r\n"
                           "Message-ID: <rt1@acme.example>\r\n\r\nrates?\r\n";
         ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}");
         std::string day = str(ok("messages.list", "{\"thread_id\":\"" + T + "\"}")["items"][0], "created_at").substr(0, 10);
         std::string params = "{\"from\":\"" + day + "\",\"to\":\"" + day + "\",\"by\":\"customer\"}";
         ASSERT_NE(banxway::json::stringify(ok("analytics.response_times", params)).find(C), std::string::npos);
         clean("analytics.response_times", params)();
       }},
      {"analytics.backlog",
       [&, this] {
         int64_t own = 0;
         auto list = ok("threads.list", R"({"limit":200})", key_b);  // outlives the loop
         for (auto& t : list["items"].GetArray())
           own += str(t, "status") != "resolved" && str(t, "status") != "closed";
         EXPECT_EQ(ok("analytics.backlog", "{}", key_b)["total"].GetInt64(), own);
         EXPECT_GE(ok("analytics.backlog", "{}")["total"].GetInt64(), 1);
       }},
      {"search.messages", clean("search.messages", R"({"q":"zebracorn"})")},
      {"events.list", clean("events.list", R"({"after":0,"limit":1000})")},
      {"business_calendars.list", clean("business_calendars.list", "{}")},
      {"business_calendars.get", nf("business_calendars.get", id(CAL))},
      {"business_calendars.create", clean("business_calendars.create", R"({"name":"A's desk",
          "time_zone":"UTC","hours":{"tue":[["08:00","16:00"]]}})")},
      {"business_calendars.update", nf("business_calendars.update", "{\"id\":\"" + CAL + "\",\"name\":\"Stolen\"}")},
      {"business_calendars.delete", nf("business_calendars.delete", id(CAL))},
      {"sla_policies.list", clean("sla_policies.list", "{}")},
      {"sla_policies.get", nf("sla_policies.get", id(POL))},
      {"sla_policies.create", nf("sla_policies.create", "{\"name\":\"B\",\"first_response\":\"PT1H\","
                                                        "\"calendar_id\":\"" + CAL + "\"}")},
      {"sla_policies.update", nf("sla_policies.update", "{\"id\":\"" + POL + "\",\"name\":\"Stolen\"}")},
      {"sla_policies.delete", nf("sla_policies.delete", id(POL))},
      {"sla_milestone_rules.list", clean("sla_milestone_rules.list", "{}")},
      {"sla_milestone_rules.get", nf("sla_milestone_rules.get", id(RULE))},
      {"sla_milestone_rules.create", nf("sla_milestone_rules.create", "{\"name\":\"B\",\"trigger\":\"eta_changed\","
                                                                      "\"offset\":\"PT1H\",\"met_by\":\"reply\",\"calendar_id\":\"" + CAL + "\"}")},
      {"sla_milestone_rules.update", nf("sla_milestone_rules.update", "{\"id\":\"" + RULE + "\",\"offset\":\"PT9H\"}")},
      {"sla_milestone_rules.delete", nf("sla_milestone_rules.delete", id(RULE))},
      {"analytics.sla", clean("analytics.sla", R"({"from":"2020-01-01T00:00:00Z","to":"2021-12-31T00:00:00Z"})")},
      // A reply naming A's thread through a banxway Message-ID still lands in B's own thread
      // (the result echoes the reply's own In-Reply-To header, so compare the thread only).
      {"inbound.email",
       [&, this] {
         std::string raw = "From: x@y.example\r\nSubject: Re: A's thread\r\n"
                           "Message-ID: <iso1@y.example>\r\nIn-Reply-To: <bx." + T +
                           ".0011223344556677@banxway.invalid>\r\n\r\nhi\r\n";
         auto d = ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}", key_b);
         EXPECT_NE(str(d, "thread_id"), T);
         EXPECT_TRUE(d["new_thread"].GetBool());
       }},
  };

  for (const auto& op : engine->operations()) {
    auto it = cases.find(op.name);
    ASSERT_NE(it, cases.end()) << "no isolation case for operation " << op.name;
    SCOPED_TRACE(op.name);
    it->second();
  }

  // Nothing of A's changed, and A still sees its records.
  EXPECT_EQ(banxway::json::stringify(ok("threads.get", "{\"id\":\"" + T + "\"}")), before);
  EXPECT_EQ(str(ok("customers.get", id(C)), "name"), "Acme Imports");
  EXPECT_EQ(str(ok("contacts.get", id(K)), "name"), "Priya");
  EXPECT_EQ(str(ok("users.get", id(U)), "role"), "agent");
  EXPECT_EQ(str(ok("actions.get", id(A)), "status"), "open");
  EXPECT_TRUE(ok("apikeys.list", "{}")["items"][1]["revoked_at"].IsNull() ||
              ok("apikeys.list", "{}")["items"][0]["revoked_at"].IsNull());
  EXPECT_EQ(ok("search.messages", R"({"q":"zebracorn"})")["items"].Size(), 1u);
  EXPECT_EQ(str(ok("channels.get", id(CH)), "name"), "A's mailbox");
  EXPECT_EQ(banxway::json::stringify(ok("shipments.get", id(S))), shipment_before);
  EXPECT_EQ(ok("shipments.lookup", R"({"reference":"MSKU9070323"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("shipments.documents_list", "{\"shipment_id\":\"" + S + "\"}")["items"].Size(), 1u);
  EXPECT_EQ(str(ok("webhooks.get", id(W)), "url"), "https://hooks.a.example/in");
  EXPECT_EQ(str(ok("business_calendars.get", id(CAL)), "name"), "A's desk");
  EXPECT_EQ(str(ok("sla_policies.get", id(POL)), "name"), "A's policy");
  EXPECT_EQ(str(ok("sla_milestone_rules.get", id(RULE)), "offset"), "PT2H");
  EXPECT_EQ(str(ok("webhooks.delivery_get", id(WD)), "status"), "pending");
  EXPECT_EQ(str(ok("messages.list", "{\"thread_id\":\"" + T + "\"}")["items"][1], "status"), "queued");
}

BX_INSTANTIATE_BACKENDS(IsolationTest);
