// customers.* through Engine::call, on every backend.
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

class CustomersTest : public bxtest::EngineTest {
 protected:
  std::string make_customer(const std::string& name, const std::string& extra = "",
                            const std::string& key = "") {
    auto d = ok("customers.create", "{\"name\":\"" + name + "\"" + extra + "}", key);
    return str(d, "id");
  }
  std::string id_param(const std::string& id, const std::string& extra = "") {
    return "{\"id\":\"" + id + "\"" + extra + "}";
  }
  // Event types of org A, oldest first.
  std::vector<std::string> event_types() {
    std::vector<std::string> out;
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    for (auto& e : ev["items"].GetArray()) out.push_back(str(e, "type"));
    return out;
  }
};

TEST_P(CustomersTest, CreateGetUpdateDeleteRoundTrip) {
  auto mgr = ok("users.create", R"({"email":"am@forwarder.example","role":"manager"})");
  auto d = ok(
      "customers.create",
      R"({"name":"Acme Imports","domains":["Acme.com"," acme.co.in ","acme.com"],"tier":"gold","notes":"pays late","account_manager_id":")" +
          str(mgr, "id") + "\"}");
  std::string id = str(d, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(d, "name"), "Acme Imports");
  EXPECT_EQ(banxway::json::stringify(d["domains"]), R"(["acme.com","acme.co.in"])");
  EXPECT_EQ(str(d, "tier"), "gold");
  EXPECT_EQ(str(d, "notes"), "pays late");
  EXPECT_EQ(str(d, "account_manager_id"), str(mgr, "id"));
  EXPECT_FALSE(str(d, "created_at").empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_domains WHERE org_id = ? AND customer_id = ?",
                  {org_a, id}),
            2);

  auto g = ok("customers.get", id_param(id));
  EXPECT_EQ(banxway::json::stringify(g), banxway::json::stringify(d));

  // Update replaces the domain set and clears nullable fields.
  auto u = ok(
      "customers.update",
      id_param(
          id,
          R"(,"name":"Acme Imports Pvt Ltd","domains":["acme.co.in","acme-logistics.in"],"tier":null,"account_manager_id":null)"));
  EXPECT_EQ(str(u, "name"), "Acme Imports Pvt Ltd");
  EXPECT_EQ(banxway::json::stringify(u["domains"]), R"(["acme.co.in","acme-logistics.in"])");
  EXPECT_TRUE(u["tier"].IsNull());
  EXPECT_TRUE(u["account_manager_id"].IsNull());
  EXPECT_EQ(str(u, "notes"), "pays late");  // untouched
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_domains WHERE org_id = ? AND customer_id = ?",
                  {org_a, id}),
            2);
  // The released domain is free again; a kept one is not.
  make_customer("Other", R"(,"domains":["acme.com"])");
  auto msg = fails("customers.create", R"({"name":"Thief","domains":["acme-logistics.in"]})",
                   Code::already_exists);
  EXPECT_EQ(msg.rfind("domains:", 0), 0u) << msg;

  // Delete keeps contacts and threads but detaches them.
  auto contact = ok("contacts.create", "{\"name\":\"Priya\",\"customer_id\":\"" + id + "\"}");
  auto thread = ok("threads.create", "{\"subject\":\"Rates\",\"customer_id\":\"" + id + "\"}");
  auto del = ok("customers.delete", id_param(id));
  EXPECT_EQ(str(del, "id"), id);
  fails("customers.get", id_param(id), Code::not_found);
  fails("customers.delete", id_param(id), Code::not_found);
  EXPECT_TRUE(ok("contacts.get", id_param(str(contact, "id")))["customer_id"].IsNull());
  EXPECT_TRUE(ok("threads.get", id_param(str(thread, "id")))["customer_id"].IsNull());
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_domains WHERE org_id = ? AND customer_id = ?",
                  {org_a, id}),
            0);
  make_customer("Acme again", R"(,"domains":["acme.co.in"])");  // domains released

  auto types = event_types();
  for (const char* t : {"customer.created", "customer.updated", "customer.deleted"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  // One audit row per write, in the write's transaction.
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE org_id = ? AND target_id = ?", {org_a, id}), 3);
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  for (auto& e : ev["items"].GetArray())
    if (str(e, "type") == "customer.deleted") EXPECT_EQ(str(e["data"], "id"), id);
}

TEST_P(CustomersTest, ListPaginatesByNameWithoutGapsOrDuplicates) {
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i) names.push_back("Customer " + std::to_string(7 - i));
  for (auto& n : names) make_customer(n);
  make_customer("Customer 3");  // same name twice: id breaks the tie
  std::vector<std::string> seen_names;
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("customers.list",
                "{\"limit\":4" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& c : d["items"].GetArray()) {
      EXPECT_TRUE(seen.insert(str(c, "id")).second) << "duplicate " << str(c, "id");
      seen_names.push_back(str(c, "name"));
    }
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_TRUE(std::is_sorted(seen_names.begin(), seen_names.end()));
  EXPECT_EQ(ok("customers.list", "{}")["items"].Size(), 9u);
  fails("customers.list", R"({"cursor":"garbage!"})", Code::invalid_argument);
  fails("customers.list", R"({"limit":201})", Code::invalid_argument);
}

TEST_P(CustomersTest, LongNamesStillPaginate) {
  // 200 three-byte characters: the longest name; its [name, id] cursor must fit the 2048 cap.
  std::string cjk;
  for (int i = 0; i < 199; ++i) cjk += "\xe8\xb2\xa8";  // 貨
  std::set<std::string> seen;
  for (const char* last : {"\xe4\xb8\x80", "\xe4\xba\x8c", "\xe4\xb8\x89"})
    make_customer(cjk + last);
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("customers.list",
                "{\"limit\":1" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& c : d["items"].GetArray()) EXPECT_TRUE(seen.insert(str(c, "id")).second);
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
    EXPECT_LE(cursor.size(), 2048u);
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 3u);
}

TEST_P(CustomersTest, NamePrefixFilter) {
  make_customer("Alpha Logistics");
  make_customer("alpha freight");
  make_customer("Al_pha Shipping");
  make_customer("Beta Cargo");
  make_customer("100% Cargo");
  EXPECT_EQ(ok("customers.list", R"({"q":"al"})")["items"].Size(), 3u);
  EXPECT_EQ(ok("customers.list", R"({"q":"ALPHA"})")["items"].Size(), 2u);
  // LIKE wildcards in q are literal characters.
  auto u = ok("customers.list", R"({"q":"al_"})");
  ASSERT_EQ(u["items"].Size(), 1u);
  EXPECT_EQ(str(u["items"][0], "name"), "Al_pha Shipping");
  EXPECT_EQ(ok("customers.list", R"({"q":"100%"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("customers.list", R"({"q":"1%"})")["items"].Size(), 0u);
  EXPECT_EQ(ok("customers.list", R"({"q":"%"})")["items"].Size(), 0u);
  EXPECT_EQ(ok("customers.list", R"({"q":"zeta"})")["items"].Size(), 0u);
  // Paging within a filter.
  auto p1 = ok("customers.list", R"({"q":"al","limit":2})");
  ASSERT_EQ(p1["items"].Size(), 2u);
  auto p2 = ok("customers.list", std::string(R"({"q":"al","limit":2,"cursor":")") +
                                     p1["next_cursor"].GetString() + "\"}");
  EXPECT_EQ(p2["items"].Size(), 1u);
  EXPECT_TRUE(p2["next_cursor"].IsNull());
}

TEST_P(CustomersTest, ValidationErrors) {
  fails("customers.create", R"({"name":"x","bogus":1})", Code::invalid_argument);
  fails("customers.create", R"({"name":42})", Code::invalid_argument);
  fails("customers.create", R"({})", Code::invalid_argument);
  fails("customers.create", R"({"name":""})", Code::invalid_argument);
  fails("customers.create", "{\"name\":\"" + std::string(201, 'n') + "\"}", Code::invalid_argument);
  fails("customers.create", "{\"name\":\"x\",\"tier\":\"" + std::string(51, 't') + "\"}",
        Code::invalid_argument);
  fails("customers.create", R"({"name":"x","domains":"acme.com"})", Code::invalid_argument);
  for (const char* bad : {"acme", "acme..com", ".acme.com", "acme.com.", "ac me.com", "-acme.com",
                          "acme-.com", "user@acme.com", "acme_co.com", "ac%me.com"}) {
    auto msg = fails("customers.create",
                     std::string(R"({"name":"x","domains":["ok.com",")") + bad + "\"]}",
                     Code::invalid_argument);
    EXPECT_EQ(msg.rfind("domains[1]", 0), 0u) << bad << ": " << msg;
  }
  std::string many = "[";
  for (int i = 0; i < 21; ++i) many += (i ? ",\"d" : "\"d") + std::to_string(i) + ".com\"";
  fails("customers.create", "{\"name\":\"x\",\"domains\":" + many + "]}", Code::invalid_argument);
  auto msg = fails("customers.create",
                   std::string(R"({"name":"x","account_manager_id":")") + kMissing + "\"}",
                   Code::not_found);
  EXPECT_NE(msg.find("account_manager_id"), std::string::npos) << msg;
  fails("customers.create", R"({"name":"x","account_manager_id":"not-a-uuid"})",
        Code::invalid_argument);
  std::string id = make_customer("Valid");
  fails("customers.update", id_param(id, R"(,"name":null)"), Code::invalid_argument);
  fails("customers.update", id_param(id, R"(,"domains":["bad"])"), Code::invalid_argument);
  fails("customers.update", id_param(id, R"(,"colour":"red")"), Code::invalid_argument);
  fails("customers.update", id_param(kMissing, R"(,"name":"x")"), Code::not_found);
  fails("customers.get", R"({"id":"nope"})", Code::invalid_argument);
  EXPECT_EQ(ok("customers.list", "{}")["items"].Size(), 1u);
}

TEST_P(CustomersTest, FailedWriteLeavesNothing) {
  std::string owner = make_customer("Owner", R"(,"domains":["taken.com"])");
  auto before = event_types().size();
  // taken.com is owned: the whole create fails, free.com is not claimed, no customer row.
  auto msg = fails("customers.create", R"({"name":"Loser","domains":["free.com","taken.com"]})",
                   Code::already_exists);
  EXPECT_NE(msg.find("taken.com"), std::string::npos) << msg;
  EXPECT_EQ(ok("customers.list", "{}")["items"].Size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_domains WHERE org_id = ?", {org_a}), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers WHERE org_id = ?", {org_a}), 1);
  EXPECT_EQ(event_types().size(), before);
  // A failed update leaves the old state.
  std::string other = make_customer("Other", R"(,"domains":["other.com"])");
  fails("customers.update",
        id_param(other, R"(,"name":"Renamed","domains":["new.com","taken.com"])"),
        Code::already_exists);
  auto g = ok("customers.get", id_param(other));
  EXPECT_EQ(str(g, "name"), "Other");
  EXPECT_EQ(banxway::json::stringify(g["domains"]), R"(["other.com"])");
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_domains WHERE org_id = ? AND domain = ?",
                  {org_a, "new.com"}),
            0);
  // An owner may keep its own domain across an update.
  ok("customers.update", id_param(owner, R"(,"domains":["taken.com","more.com"])"));
  // Another organization may own the same domain.
  make_customer("B's", R"(,"domains":["taken.com"])", key_b);
}

TEST_P(CustomersTest, TenantIsolation) {
  std::string id = make_customer("A's customer", R"(,"domains":["a-secret.com"])");
  fails("customers.get", id_param(id), Code::not_found, key_b);
  fails("customers.update", id_param(id, R"(,"name":"pwned")"), Code::not_found, key_b);
  fails("customers.delete", id_param(id), Code::not_found, key_b);
  EXPECT_EQ(ok("customers.list", "{}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(ok("customers.list", R"({"q":"A"})", key_b)["items"].Size(), 0u);
  EXPECT_EQ(str(ok("customers.get", id_param(id)), "name"), "A's customer");
  // Org A's user cannot be org B's account manager.
  auto ua = ok("users.create", R"({"email":"am@a.example","role":"agent"})");
  fails("customers.create", "{\"name\":\"x\",\"account_manager_id\":\"" + str(ua, "id") + "\"}",
        Code::not_found, key_b);
  std::string b = make_customer("B's", "", key_b);
  fails("customers.update", id_param(b, ",\"account_manager_id\":\"" + str(ua, "id") + "\""),
        Code::not_found, key_b);
  // A cursor from org A's listing shows org B nothing of A's.
  make_customer("A2");
  auto page = ok("customers.list", R"({"limit":1})");
  auto bpage = ok("customers.list",
                  std::string(R"({"cursor":")") + page["next_cursor"].GetString() + "\"}", key_b);
  for (auto& c : bpage["items"].GetArray()) EXPECT_EQ(str(c, "id"), b);
}

TEST_P(CustomersTest, Permissions) {
  std::string viewer = key_with_role("viewer");
  std::string agent = key_with_role("agent");
  std::string manager = key_with_role("manager");
  std::string id = make_customer("Perm");
  ok("customers.list", "{}", viewer);
  ok("customers.get", id_param(id), viewer);
  fails("customers.create", R"({"name":"x"})", Code::permission_denied, viewer);
  fails("customers.update", id_param(id, R"(,"name":"x")"), Code::permission_denied, viewer);
  fails("customers.delete", id_param(id), Code::permission_denied, viewer);
  ok("customers.create", R"({"name":"by agent"})", agent);
  ok("customers.update", id_param(id, R"(,"tier":"silver")"), agent);
  fails("customers.delete", id_param(id), Code::permission_denied, agent);
  ok("customers.delete", id_param(id), manager);
}

BX_INSTANTIATE_BACKENDS(CustomersTest);
