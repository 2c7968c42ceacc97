// contacts.* through Engine::call, on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "store/db.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using bxtest::str;

namespace {
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";
}

class ContactsTest : public bxtest::EngineTest {
 protected:
  std::string make_contact(const std::string& body, const std::string& key = "") {
    return str(ok("contacts.create", body, key), "id");
  }
  std::string id_param(const std::string& id, const std::string& extra = "") {
    return "{\"id\":\"" + id + "\"" + extra + "}";
  }
  // "kind:value" of a contact's identities, in their order.
  std::vector<std::string> identities(const banxway::json::Value& c) {
    std::vector<std::string> out;
    for (auto& i : c["identities"].GetArray()) {
      EXPECT_FALSE(str(i, "id").empty());
      out.push_back(str(i, "kind") + ":" + str(i, "value"));
    }
    return out;
  }
  std::vector<std::string> event_types() {
    std::vector<std::string> out;
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    for (auto& e : ev["items"].GetArray()) out.push_back(str(e, "type"));
    return out;
  }
  // Runs SQL on the database directly, for state no operation shows.
  banxway::store::Rows sql(const std::string& q,
                           std::initializer_list<banxway::store::Value> args) {
    banxway::store::DbOptions o;
    o.readers = 1;
    o.apply_migrations = false;
    auto db = banxway::store::open(url, o);
    EXPECT_TRUE(db.ok()) << db.status().to_string();
    if (!db.ok()) return {};
    if (q.rfind("SELECT", 0) == 0) {
      auto r = (*db)->query(q, args);
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      return r.ok() ? *r : banxway::store::Rows{};
    }
    std::vector<banxway::store::Value> a(args);
    auto st = (*db)->transaction([&](banxway::store::Conn& c) { return c.query(q, a).status(); });
    EXPECT_TRUE(st.ok()) << st.to_string();
    return {};
  }
  int64_t count(const std::string& q, std::initializer_list<banxway::store::Value> args) {
    auto r = sql(q, args);
    return r.empty() ? -1 : r[0].int64(0);
  }
};

TEST_P(ContactsTest, CreateGetUpdateDeleteRoundTrip) {
  std::string customer = str(ok("customers.create", R"({"name":"Acme"})"), "id");
  auto d = ok("contacts.create",
              R"({"name":"Priya Shah","title":"Logistics head","customer_id":")" + customer +
                  R"(","identities":[{"kind":"email","value":" Priya.Shah@Acme.COM "},
                     {"kind":"phone","value":"098200 12345"},
                     {"kind":"phone","value":"+1 (650) 253-0000"},
                     {"kind":"whatsapp","value":" wa-id-919820012345 "},
                     {"kind":"email","value":"priya.shah@acme.com"}]})");
  std::string id = str(d, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(d, "name"), "Priya Shah");
  EXPECT_EQ(str(d, "title"), "Logistics head");
  EXPECT_EQ(str(d, "customer_id"), customer);
  // Email lower-cased, phones in E.164 (India by default), WhatsApp trimmed, repeats dropped.
  std::vector<std::string> want{"email:priya.shah@acme.com", "phone:+919820012345",
                                "phone:+16502530000", "whatsapp:wa-id-919820012345"};
  EXPECT_EQ(identities(d), want);

  auto g = ok("contacts.get", id_param(id));
  EXPECT_EQ(banxway::json::stringify(g), banxway::json::stringify(d));

  // Update replaces the identity set; identities that stay keep their ids.
  std::string kept_id = str(d["identities"][1], "id");
  auto u =
      ok("contacts.update",
         id_param(id, R"(,"title":null,"identities":[{"kind":"phone","value":"+91 98200 12345"},
                              {"kind":"email","value":"priya@acme.in"}])"));
  EXPECT_TRUE(u["title"].IsNull());
  EXPECT_EQ(str(u, "name"), "Priya Shah");
  std::vector<std::string> want2{"phone:+919820012345", "email:priya@acme.in"};
  EXPECT_EQ(identities(u), want2);
  EXPECT_EQ(str(u["identities"][0], "id"), kept_id);
  // A dropped identity is free for another contact.
  make_contact(R"({"identities":[{"kind":"email","value":"priya.shah@acme.com"}]})");
  // Without identities, update leaves them alone.
  auto u2 = ok("contacts.update", id_param(id, R"(,"customer_id":null)"));
  EXPECT_TRUE(u2["customer_id"].IsNull());
  EXPECT_EQ(identities(u2), want2);

  // Delete removes the contact and its identities; its threads stay, detached.
  auto thread = ok("threads.create", "{\"subject\":\"Quote\",\"contact_id\":\"" + id + "\"}");
  auto del = ok("contacts.delete", id_param(id));
  EXPECT_EQ(str(del, "id"), id);
  fails("contacts.get", id_param(id), Code::not_found);
  fails("contacts.update", id_param(id, R"(,"name":"x")"), Code::not_found);
  fails("contacts.delete", id_param(id), Code::not_found);
  EXPECT_TRUE(ok("threads.get", id_param(str(thread, "id")))["contact_id"].IsNull());
  EXPECT_EQ(count("SELECT COUNT(*) FROM contact_identities WHERE org_id = ? AND contact_id = ?",
                  {org_a, id}),
            0);
  make_contact(R"({"identities":[{"kind":"phone","value":"+919820012345"}]})");  // released

  auto types = event_types();
  for (const char* t : {"contact.created", "contact.updated", "contact.deleted"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE org_id = ? AND target_id = ?", {org_a, id}), 4);
}

TEST_P(ContactsTest, DefaultRegionFromOrganizationSettings) {
  // Without settings a national number is read as Indian.
  auto in = ok("contacts.create", R"({"identities":[{"kind":"phone","value":"022 2204 1234"}]})");
  EXPECT_EQ(str(in["identities"][0], "value"), "+912222041234");
  sql("UPDATE organizations SET settings = ? WHERE id = ?", {R"({"default_region":"gb"})", org_a});
  auto gb = ok("contacts.create", R"({"identities":[{"kind":"phone","value":"020 7946 0958"}]})");
  EXPECT_EQ(str(gb["identities"][0], "value"), "+442079460958");
  // Org B still uses India.
  auto b =
      ok("contacts.create", R"({"identities":[{"kind":"phone","value":"98200 12345"}]})", key_b);
  EXPECT_EQ(str(b["identities"][0], "value"), "+919820012345");
}

TEST_P(ContactsTest, ListPaginatesWithIdentitiesWithoutGapsOrDuplicates) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(make_contact(
        "{\"name\":\"c" + std::to_string(i) +
        "\",\"identities\":[{\"kind\":\"email\",\"value\":\"c" + std::to_string(i) +
        "@x.example\"},{\"kind\":\"whatsapp\",\"value\":\"w" + std::to_string(i) + "\"}]}"));
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("contacts.list",
                "{\"limit\":3" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& c : d["items"].GetArray()) {
      seen.push_back(str(c, "id"));
      // Each contact carries its own identities, not a neighbour's.
      std::string n = str(c, "name").substr(1);
      std::vector<std::string> want{"email:c" + n + "@x.example", "whatsapp:w" + n};
      EXPECT_EQ(identities(c), want);
    }
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, ids);  // oldest first, each once
  fails("contacts.list", R"({"cursor":"garbage!"})", Code::invalid_argument);
}

TEST_P(ContactsTest, ListFiltersByCustomer) {
  std::string c1 = str(ok("customers.create", R"({"name":"One"})"), "id");
  std::string c2 = str(ok("customers.create", R"({"name":"Two"})"), "id");
  make_contact("{\"customer_id\":\"" + c1 + "\"}");
  make_contact("{\"customer_id\":\"" + c1 + "\"}");
  make_contact("{\"customer_id\":\"" + c2 + "\"}");
  make_contact("{}");
  EXPECT_EQ(ok("contacts.list", "{\"customer_id\":\"" + c1 + "\"}")["items"].Size(), 2u);
  EXPECT_EQ(ok("contacts.list", "{\"customer_id\":\"" + c2 + "\"}")["items"].Size(), 1u);
  EXPECT_EQ(
      ok("contacts.list", std::string("{\"customer_id\":\"") + kMissing + "\"}")["items"].Size(),
      0u);
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 4u);
}

TEST_P(ContactsTest, ValidationErrors) {
  fails("contacts.create", R"({"name":"x","bogus":1})", Code::invalid_argument);
  fails("contacts.create", R"({"name":7})", Code::invalid_argument);
  fails("contacts.create", "{\"name\":\"" + std::string(201, 'n') + "\"}", Code::invalid_argument);
  fails("contacts.create", R"({"identities":[{"kind":"fax","value":"123"}]})",
        Code::invalid_argument);
  fails("contacts.create", R"({"identities":[{"kind":"email"}]})", Code::invalid_argument);
  fails("contacts.create",
        R"({"identities":[{"kind":"email","value":"a@b.example","primary":true}]})",
        Code::invalid_argument);
  fails("contacts.create", R"({"identities":{"kind":"email","value":"a@b.example"}})",
        Code::invalid_argument);
  auto msg = fails(
      "contacts.create",
      R"({"identities":[{"kind":"email","value":"ok@b.example"},{"kind":"email","value":"not-an-email"}]})",
      Code::invalid_argument);
  EXPECT_EQ(msg.rfind("identities[1].value", 0), 0u) << msg;
  for (const char* bad : {"12", "phone me", "+91 12345", "+999 1234567890"}) {
    msg = fails("contacts.create",
                std::string(R"({"identities":[{"kind":"phone","value":")") + bad + "\"}]}",
                Code::invalid_argument);
    EXPECT_EQ(msg.rfind("identities[0].value", 0), 0u) << bad << ": " << msg;
  }
  fails("contacts.create",
        "{\"identities\":[{\"kind\":\"whatsapp\",\"value\":\"" + std::string(65, 'w') + "\"}]}",
        Code::invalid_argument);
  fails("contacts.create", R"({"identities":[{"kind":"whatsapp","value":"   "}]})",
        Code::invalid_argument);
  std::string many = "[";
  for (int i = 0; i < 21; ++i)
    many += std::string(i ? "," : "") + "{\"kind\":\"whatsapp\",\"value\":\"w" + std::to_string(i) +
            "\"}";
  fails("contacts.create", "{\"identities\":" + many + "]}", Code::invalid_argument);
  msg = fails("contacts.create", std::string("{\"customer_id\":\"") + kMissing + "\"}",
              Code::not_found);
  EXPECT_NE(msg.find("customer_id"), std::string::npos) << msg;
  std::string id = make_contact(R"({"name":"ok"})");
  fails("contacts.update", id_param(id, R"(,"identities":null)"), Code::invalid_argument);
  fails("contacts.update", id_param(id, std::string(",\"customer_id\":\"") + kMissing + "\""),
        Code::not_found);
  fails("contacts.update", id_param(kMissing, R"(,"name":"x")"), Code::not_found);
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u);
}

TEST_P(ContactsTest, DuplicateIdentitiesAndFailedWritesLeaveNothing) {
  std::string a = make_contact(
      R"({"name":"A","identities":[{"kind":"email","value":"ops@acme.example"},{"kind":"phone","value":"+919820012345"}]})");
  auto before = event_types().size();
  // Same email in another case, and the same phone written differently, are duplicates.
  auto msg = fails(
      "contacts.create",
      R"({"name":"B","identities":[{"kind":"whatsapp","value":"free-id"},{"kind":"email","value":"OPS@acme.example"}]})",
      Code::already_exists);
  EXPECT_EQ(msg.rfind("identities[1].value", 0), 0u) << msg;
  msg = fails("contacts.create", R"({"identities":[{"kind":"phone","value":"098200-12345"}]})",
              Code::already_exists);
  EXPECT_EQ(msg.rfind("identities[0].value", 0), 0u) << msg;
  // Nothing was written: no contact B, the WhatsApp id is unclaimed, no events.
  EXPECT_EQ(ok("contacts.list", "{}")["items"].Size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM contacts WHERE org_id = ?", {org_a}), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM contact_identities WHERE org_id = ?", {org_a}), 2);
  EXPECT_EQ(event_types().size(), before);
  // A failed update keeps the old identities and fields.
  std::string b =
      make_contact(R"({"name":"B","identities":[{"kind":"whatsapp","value":"free-id"}]})");
  fails(
      "contacts.update",
      id_param(
          b,
          R"(,"name":"B2","identities":[{"kind":"email","value":"b@b.example"},{"kind":"phone","value":"+919820012345"}])"),
      Code::already_exists);
  auto g = ok("contacts.get", id_param(b));
  EXPECT_EQ(str(g, "name"), "B");
  EXPECT_EQ(identities(g), std::vector<std::string>{"whatsapp:free-id"});
  // The same value under another kind is a different identity; so is another org's.
  make_contact(R"({"identities":[{"kind":"whatsapp","value":"+919820012345"}]})");
  make_contact(R"({"identities":[{"kind":"email","value":"ops@acme.example"}]})", key_b);
  // A contact may re-submit its own identities.
  ok("contacts.update",
     id_param(a, R"(,"identities":[{"kind":"email","value":"ops@acme.example"}])"));
}

TEST_P(ContactsTest, TenantIsolation) {
  std::string id =
      make_contact(R"({"name":"A's","identities":[{"kind":"email","value":"secret@a.example"}]})");
  fails("contacts.get", id_param(id), Code::not_found, key_b);
  fails("contacts.update", id_param(id, R"(,"name":"pwned")"), Code::not_found, key_b);
  fails("contacts.delete", id_param(id), Code::not_found, key_b);
  EXPECT_EQ(ok("contacts.list", "{}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(str(ok("contacts.get", id_param(id)), "name"), "A's");
  // Org A's customer cannot be referenced by org B, in create, update or a list filter.
  std::string ca = str(ok("customers.create", R"({"name":"A co"})"), "id");
  make_contact("{\"customer_id\":\"" + ca + "\"}");
  fails("contacts.create", "{\"customer_id\":\"" + ca + "\"}", Code::not_found, key_b);
  std::string b = make_contact("{}", key_b);
  fails("contacts.update", id_param(b, ",\"customer_id\":\"" + ca + "\""), Code::not_found, key_b);
  EXPECT_EQ(ok("contacts.list", "{\"customer_id\":\"" + ca + "\"}", key_b)["items"].Size(), 0u);
}

TEST_P(ContactsTest, Permissions) {
  std::string viewer = key_with_role("viewer");
  std::string agent = key_with_role("agent");
  std::string manager = key_with_role("manager");
  std::string id = make_contact(R"({"name":"Perm"})");
  ok("contacts.list", "{}", viewer);
  ok("contacts.get", id_param(id), viewer);
  fails("contacts.create", R"({"name":"x"})", Code::permission_denied, viewer);
  fails("contacts.update", id_param(id, R"(,"name":"x")"), Code::permission_denied, viewer);
  fails("contacts.delete", id_param(id), Code::permission_denied, viewer);
  ok("contacts.create", R"({"name":"by agent"})", agent);
  ok("contacts.update", id_param(id, R"(,"name":"renamed")"), agent);
  fails("contacts.delete", id_param(id), Code::permission_denied, agent);
  ok("contacts.delete", id_param(id), manager);
}

BX_INSTANTIATE_BACKENDS(ContactsTest);
