// users.me / invite / deactivate / set_role, contacts.merge and customers.overview through
// Engine::call, on every backend.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/db.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;

namespace {
const char* kSecret = "test-secret-with-at-least-32-characters!";
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";

std::string jwt_for(const std::string& user_id) {
  return banxway::api_test_sign(
      "{\"sub\":\"" + user_id + "\",\"role\":\"authenticated\",\"exp\":4102444800}", kSecret);
}
std::string id_param(const std::string& id, const std::string& extra = "") {
  return "{\"id\":\"" + id + "\"" + extra + "}";
}
}  // namespace

class PeopleTest : public bxtest::EngineTest {
 protected:
  // A user of org A with the role, and an API key tied to them (with the key's own role).
  std::pair<std::string, std::string> user_with_key(const std::string& email,
                                                    const std::string& role,
                                                    const std::string& key_role = "") {
    auto u = ok("users.create", "{\"email\":\"" + email + "\",\"role\":\"" + role + "\"}");
    auto k = ok("apikeys.create", "{\"role\":\"" + (key_role.empty() ? role : key_role) +
                                      "\",\"user_id\":\"" + str(u, "id") + "\"}");
    return {str(u, "id"), str(k, "key")};
  }
  std::vector<std::string> event_types() {
    std::vector<std::string> out;
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    for (auto& e : ev["items"].GetArray()) out.push_back(str(e, "type"));
    return out;
  }
  bool has_event(const std::string& type) {
    auto ev = event_types();
    return std::find(ev.begin(), ev.end(), type) != ev.end();
  }
  std::string inbound(const std::string& from, const std::string& subject,
                      const std::string& msgid) {
    std::string raw = "From: " + from + "\r\nTo: desk@a.example\r\nSubject: " + subject +
                      "\r\nMessage-ID: <" + msgid + ">\r\n\r\nhello\r\n";
    auto d = ok("inbound.email", "{\"raw\":" + banxway::json::quote(raw) + "}");
    return str(d, "thread_id");
  }
};

// ---- users ----------------------------------------------------------------------------------

TEST_P(PeopleTest, MeIsTheCallersUser) {
  auto [uid, key] = user_with_key("me@a.example", "agent");
  auto viaKey = ok("users.me", "{}", key);
  EXPECT_EQ(str(viaKey, "id"), uid);
  EXPECT_EQ(str(viaKey, "email"), "me@a.example");
  auto viaJwt = ok("users.me", "{}", jwt_for(uid));
  EXPECT_EQ(banxway::json::stringify(viaJwt), banxway::json::stringify(viaKey));
  // The organization's bootstrap key belongs to nobody: a clear error, not someone else's user.
  std::string msg = fails("users.me", "{}", Code::invalid_argument);
  EXPECT_NE(msg.find("not tied to a user"), std::string::npos) << msg;
}

TEST_P(PeopleTest, InviteCreatesAnInvitedUser) {
  auto d =
      ok("users.invite", R"({"email":"New.Agent@A.example","name":"New Agent","role":"agent"})");
  EXPECT_EQ(str(d, "email"), "new.agent@a.example");
  EXPECT_EQ(str(d, "name"), "New Agent");
  EXPECT_EQ(str(d, "role"), "agent");
  EXPECT_TRUE(d["active"].GetBool());
  EXPECT_FALSE(str(d, "invited_at").empty());
  // invited_by is the inviting actor: here the bootstrap API key.
  auto keys = ok("apikeys.list", "{}");
  std::set<std::string> key_ids;
  for (auto& k : keys["items"].GetArray()) key_ids.insert(str(k, "id"));
  EXPECT_TRUE(key_ids.count(str(d, "invited_by"))) << str(d, "invited_by");
  EXPECT_TRUE(has_event("user.invited"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE org_id = ? AND op = 'users.invite'", {org_a}),
            1);
  // users.create records no invitation.
  auto c = ok("users.create", R"({"email":"plain@a.example","role":"viewer"})");
  EXPECT_TRUE(c["invited_at"].IsNull());

  fails("users.invite", R"({"email":"new.agent@a.example","name":"Again","role":"agent"})",
        Code::already_exists);
  std::string m =
      fails("users.invite", R"({"email":"x@a.example","role":"agent"})", Code::invalid_argument);
  EXPECT_NE(m.find("name"), std::string::npos) << m;
  fails("users.invite", R"({"email":"x@a.example","name":"X","role":"boss"})",
        Code::invalid_argument);
  fails("users.invite", R"({"email":"x@a.example","name":"X","role":"agent"})",
        Code::permission_denied, key_with_role("manager"));
}

TEST_P(PeopleTest, DeactivatedUserStopsAuthenticatingAtOnce) {
  auto [uid, key] = user_with_key("leaver@a.example", "manager");
  std::string token = jwt_for(uid);
  // Both credentials work, and are now cached by the engine.
  ok("users.me", "{}", key);
  ok("users.me", "{}", token);
  auto cached = engine->authenticate(key);
  ASSERT_TRUE(cached.ok());

  auto d = ok("users.deactivate", id_param(uid));
  EXPECT_FALSE(d["active"].GetBool());
  EXPECT_FALSE(str(d, "deactivated_at").empty());
  fails("threads.list", "{}", Code::unauthenticated, key);
  fails("threads.list", "{}", Code::unauthenticated, token);
  EXPECT_FALSE(engine->authenticate(key).ok());
  // Their keys are revoked, not just shadowed: reactivating does not bring them back.
  EXPECT_EQ(count("SELECT COUNT(*) FROM api_keys WHERE org_id = ? AND user_id = ? AND "
                  "revoked_at IS NULL",
                  {org_a, uid}),
            0);
  EXPECT_TRUE(has_event("user.deactivated"));

  ok("users.update", id_param(uid, R"(,"active":true)"));
  EXPECT_TRUE(ok("users.get", id_param(uid))["deactivated_at"].IsNull());
  ok("users.me", "{}", token);                          // the session works again
  fails("users.me", "{}", Code::unauthenticated, key);  // the revoked key does not

  // Deactivating twice is harmless and records nothing new.
  ok("users.deactivate", id_param(uid));
  size_t events = event_types().size();
  ok("users.deactivate", id_param(uid));
  EXPECT_EQ(event_types().size(), events);

  fails("users.deactivate", id_param(kMissing), Code::not_found);
  fails("users.deactivate", id_param(uid), Code::permission_denied, key_with_role("manager"));
}

TEST_P(PeopleTest, TheLastActiveAdminStays) {
  auto [boss, boss_key] = user_with_key("boss@a.example", "admin");
  // Nobody deactivates themselves.
  std::string m = fails("users.deactivate", id_param(boss), Code::conflict, boss_key);
  EXPECT_NE(m.find("yourself"), std::string::npos) << m;
  // The only admin user can be neither demoted nor deactivated, by any route.
  m = fails("users.set_role", id_param(boss, R"(,"role":"agent")"), Code::conflict);
  EXPECT_NE(m.find("last active admin"), std::string::npos) << m;
  fails("users.deactivate", id_param(boss), Code::conflict);
  fails("users.update", id_param(boss, R"(,"role":"viewer")"), Code::conflict);
  fails("users.update", id_param(boss, R"(,"active":false)"), Code::conflict);
  EXPECT_EQ(str(ok("users.get", id_param(boss)), "role"), "admin");

  // With a second admin, the first may step down (even by their own hand).
  auto second = ok("users.create", R"({"email":"second@a.example","role":"admin"})");
  auto d = ok("users.set_role", id_param(boss, R"(,"role":"manager")"), boss_key);
  EXPECT_EQ(str(d, "role"), "manager");
  EXPECT_TRUE(has_event("user.role_changed"));
  // Now the second is the last one.
  fails("users.set_role", id_param(str(second, "id"), R"(,"role":"agent")"), Code::conflict);
  // An inactive admin does not count as the one that stays.
  ok("users.set_role", id_param(boss, R"(,"role":"admin")"));
  ok("users.deactivate", id_param(boss));
  fails("users.set_role", id_param(str(second, "id"), R"(,"role":"agent")"), Code::conflict);
}

TEST_P(PeopleTest, ConcurrentDemotionsKeepAnAdmin) {
  // Two admins demoted at the same moment by two callers: exactly one may go. Each round in a
  // new organization, so each starts with exactly two admin users.
  for (int round = 0; round < 5; ++round) {
    auto boot = engine->bootstrap("Race " + std::to_string(round));
    ASSERT_TRUE(boot.ok()) << boot.status().to_string();
    Document org;
    ASSERT_TRUE(banxway::json::parse(boot->org_json, &org).ok());
    std::string key = boot->api_key;
    std::string a =
        str(ok("users.create", R"({"email":"a@race.example","role":"admin"})", key), "id");
    std::string b =
        str(ok("users.create", R"({"email":"b@race.example","role":"admin"})", key), "id");
    banxway::Status sa, sb;
    std::thread ta(
        [&] { sa = call("users.set_role", id_param(a, R"(,"role":"agent")"), nullptr, key); });
    std::thread tb(
        [&] { sb = call("users.set_role", id_param(b, R"(,"role":"agent")"), nullptr, key); });
    ta.join();
    tb.join();
    EXPECT_NE(sa.ok(), sb.ok()) << sa.to_string() << " / " << sb.to_string();
    EXPECT_EQ(banxway::code_name((sa.ok() ? sb : sa).code()), banxway::code_name(Code::conflict));
    EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE org_id = ? AND role = 'admin' AND active = 1",
                    {std::string(org["id"].GetString())}),
              1);
  }
}

TEST_P(PeopleTest, DemotionReachesTheUsersKeys) {
  auto other = ok("users.create", R"({"email":"other@a.example","role":"admin"})");
  auto [uid, key] = user_with_key("demoted@a.example", "admin");
  ok("users.invite", R"({"email":"one@a.example","name":"One","role":"viewer"})", key);
  ok("users.set_role", id_param(uid, R"(,"role":"agent")"));
  // The key minted as admin now acts as an agent: it may write threads but not manage users.
  ok("threads.create", R"({"subject":"still works"})", key);
  fails("users.invite", R"({"email":"two@a.example","name":"Two","role":"viewer"})",
        Code::permission_denied, key);
  EXPECT_EQ(count("SELECT COUNT(*) FROM api_keys WHERE org_id = ? AND user_id = ? AND "
                  "role = 'agent'",
                  {org_a, uid}),
            1);
  fails("users.set_role", id_param(kMissing, R"(,"role":"agent")"), Code::not_found);
  fails("users.set_role", id_param(str(other, "id"), R"(,"role":"agent")"), Code::permission_denied,
        key_with_role("manager"));
}

// ---- contacts.merge ------------------------------------------------------------------------

TEST_P(PeopleTest, MergeMovesIdentitiesThreadsAndMessages) {
  std::string cust = str(ok("customers.create", R"({"name":"Acme"})"), "id");
  auto keep = ok("contacts.create", R"({"name":"Priya Shah","identities":[
      {"kind":"email","value":"priya@acme.example"}]})");
  auto dup = ok("contacts.create", "{\"title\":\"Ops lead\",\"customer_id\":\"" + cust +
                                       "\",\"identities\":[{\"kind\":\"email\",\"value\":"
                                       "\"p.shah@gmail.example\"},{\"kind\":\"phone\",\"value\":"
                                       "\"+91 98200 12345\"}]}");
  std::string K = str(keep, "id"), D = str(dup, "id");
  // Mail from the duplicate's address: a thread and a message on the duplicate.
  std::string t1 = inbound("p.shah@gmail.example", "Booking 42", "m1@gmail.example");
  std::string t2 =
      str(ok("threads.create", "{\"subject\":\"call\",\"contact_id\":\"" + D + "\"}"), "id");
  ASSERT_EQ(count("SELECT COUNT(*) FROM messages WHERE org_id = ? AND contact_id = ?", {org_a, D}),
            1);

  auto m = ok("contacts.merge", "{\"id\":\"" + K + "\",\"source_id\":\"" + D + "\"}");
  EXPECT_EQ(str(m, "id"), K);
  EXPECT_EQ(str(m, "name"), "Priya Shah");  // the survivor's own field wins
  EXPECT_EQ(str(m, "title"), "Ops lead");   // an empty one is filled from the source
  EXPECT_EQ(str(m, "customer_id"), cust);
  EXPECT_EQ(m["identities"].Size(), 3u);
  EXPECT_EQ(str(m["merged"], "source_id"), D);
  EXPECT_EQ(m["merged"]["identities"].GetInt(), 2);
  EXPECT_EQ(m["merged"]["threads"].GetInt(), 2);
  EXPECT_EQ(m["merged"]["messages"].GetInt(), 1);

  fails("contacts.get", id_param(D), Code::not_found);
  EXPECT_EQ(str(ok("threads.get", id_param(t1)), "contact_id"), K);
  EXPECT_EQ(str(ok("threads.get", id_param(t2)), "contact_id"), K);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE org_id = ? AND contact_id = ?", {org_a, K}),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM contact_identities WHERE org_id = ? AND contact_id = ?",
                  {org_a, D}),
            0);
  // The event carries the source as it was, for consumers holding its id.
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  bool found = false;
  for (auto& e : ev["items"].GetArray()) {
    if (str(e, "type") != "contact.merged") continue;
    found = true;
    EXPECT_EQ(str(e["data"]["source"], "id"), D);
    EXPECT_EQ(str(e["data"]["contact"], "id"), K);
  }
  EXPECT_TRUE(found);
  // New mail from the duplicate's address now lands on the survivor.
  std::string t3 = inbound("p.shah@gmail.example", "Another topic", "m2@gmail.example");
  EXPECT_EQ(str(ok("threads.get", id_param(t3)), "contact_id"), K);
}

TEST_P(PeopleTest, MergeRefusalsChangeNothing) {
  auto a = ok("contacts.create",
              R"({"name":"A","identities":[{"kind":"email","value":"a@x.example"}]})");
  auto b = ok("contacts.create",
              R"({"name":"B","identities":[{"kind":"email","value":"b@x.example"}]})");
  std::string A = str(a, "id"), B = str(b, "id");
  std::string m = fails("contacts.merge", "{\"id\":\"" + A + "\",\"source_id\":\"" + A + "\"}",
                        Code::invalid_argument);
  EXPECT_NE(m.find("source_id"), std::string::npos);
  fails("contacts.merge", "{\"id\":\"" + A + "\",\"source_id\":\"" + kMissing + "\"}",
        Code::not_found);
  fails("contacts.merge", "{\"id\":\"" + std::string(kMissing) + "\",\"source_id\":\"" + B + "\"}",
        Code::not_found);
  fails("contacts.merge", "{\"id\":\"" + A + "\",\"source_id\":\"" + B + "\"}",
        Code::permission_denied, key_with_role("viewer"));
  EXPECT_EQ(banxway::json::stringify(ok("contacts.get", id_param(B))), banxway::json::stringify(b));
  EXPECT_FALSE(has_event("contact.merged"));
}

// ---- customers.overview --------------------------------------------------------------------

TEST_P(PeopleTest, CustomerOverview) {
  std::string C =
      str(ok("customers.create", R"({"name":"Acme","domains":["acme.example"]})"), "id");
  std::string empty = str(ok("customers.create", R"({"name":"Quiet Co"})"), "id");
  // Contacts: one by hand, one created by ingest from the customer's domain.
  ok("contacts.create", "{\"name\":\"Ravi\",\"customer_id\":\"" + C + "\"}");
  std::string t1 = inbound("priya@acme.example", "Booking 1", "o1@acme.example");
  std::string t2 = inbound("priya@acme.example", "Booking 2", "o2@acme.example");
  std::string t3 = str(ok("threads.create",
                          "{\"subject\":\"pending one\",\"status\":\"pending\","
                          "\"customer_id\":\"" +
                              C + "\"}"),
                       "id");
  std::string t4 =
      str(ok("threads.create", "{\"subject\":\"done\",\"customer_id\":\"" + C + "\"}"), "id");
  ok("threads.update", id_param(t4, R"(,"status":"resolved")"));
  ok("shipments.create", "{\"mode\":\"ocean\",\"customer_id\":\"" + C + "\"}");
  std::string s2 =
      str(ok("shipments.create", "{\"mode\":\"air\",\"customer_id\":\"" + C + "\"}"), "id");
  ok("shipments.create", R"({"mode":"road"})");  // someone else's
  // The newest customer-facing message; a later internal note does not count.
  auto msgs = ok("messages.list", "{\"thread_id\":\"" + t2 + "\"}");
  std::string last = str(msgs["items"][msgs["items"].Size() - 1], "created_at");
  ok("messages.create_note", "{\"thread_id\":\"" + t1 + "\",\"text\":\"internal\"}");

  auto d = ok("customers.overview", id_param(C));
  EXPECT_EQ(str(d["customer"], "name"), "Acme");
  EXPECT_EQ(d["open_threads"]["count"].GetInt(), 3);
  std::set<std::string> open;
  for (auto& t : d["open_threads"]["recent"].GetArray()) open.insert(str(t, "id"));
  EXPECT_EQ(open, (std::set<std::string>{t1, t2, t3}));
  EXPECT_EQ(d["shipments"]["count"].GetInt(), 2);
  ASSERT_EQ(d["shipments"]["recent"].Size(), 2u);
  EXPECT_EQ(str(d["shipments"]["recent"][0], "id"), s2);  // newest first
  EXPECT_EQ(d["contacts"]["count"].GetInt(), 2);
  EXPECT_EQ(str(d, "last_contact_at"), last);

  auto q = ok("customers.overview", id_param(empty));
  EXPECT_EQ(q["open_threads"]["count"].GetInt(), 0);
  EXPECT_EQ(q["open_threads"]["recent"].Size(), 0u);
  EXPECT_EQ(q["shipments"]["count"].GetInt(), 0);
  EXPECT_EQ(q["contacts"]["count"].GetInt(), 0);
  EXPECT_TRUE(q["last_contact_at"].IsNull());

  fails("customers.overview", id_param(kMissing), Code::not_found);
  ok("customers.overview", id_param(C), key_with_role("viewer"));
}

BX_INSTANTIATE_BACKENDS(PeopleTest);
