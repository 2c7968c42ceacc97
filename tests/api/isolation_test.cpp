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
  std::set<std::string> a_ids{org_a, U, C, K, T, N, A, KEY, CH, Q, WA, S};
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
      {"search.messages", clean("search.messages", R"({"q":"zebracorn"})")},
      {"events.list", clean("events.list", R"({"after":0,"limit":1000})")},
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
  EXPECT_EQ(str(ok("messages.list", "{\"thread_id\":\"" + T + "\"}")["items"][1], "status"), "queued");
}

BX_INSTANTIATE_BACKENDS(IsolationTest);
