// threads.*, messages.*, search.messages, events.list and orgs.get through Engine::call, on
// every backend.
#include <gtest/gtest.h>

#include <set>

#include "support/engine_fixture.hpp"

using banxway::Code;
using bxtest::str;

class ThreadsTest : public bxtest::EngineTest {
 protected:
  std::string make_thread(const std::string& subject, const std::string& extra = "") {
    auto d = ok("threads.create", "{\"subject\":\"" + subject + "\"" + extra + "}");
    return str(d, "id");
  }
};

TEST_P(ThreadsTest, CreateGetUpdateRoundTrip) {
  auto d = ok("threads.create",
              R"({"subject":"Booking MAEU1234 delayed","priority":"high","channel":"email","tags":["Urgent","customs"," urgent "]})");
  std::string id = str(d, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(d, "status"), "open");
  EXPECT_EQ(str(d, "priority"), "high");
  EXPECT_EQ(banxway::json::stringify(d["tags"]), R"(["customs","urgent"])");
  EXPECT_EQ(banxway::json::stringify(d["channels"]), R"(["email"])");
  EXPECT_EQ(d["message_count"].GetInt(), 0);

  auto g = ok("threads.get", "{\"id\":\"" + id + "\"}");
  EXPECT_EQ(str(g, "subject"), "Booking MAEU1234 delayed");

  auto u = ok("threads.update", "{\"id\":\"" + id +
                                    R"(","status":"pending","tags":["docs"],"snoozed_until":null})");
  EXPECT_EQ(str(u, "status"), "pending");
  EXPECT_EQ(banxway::json::stringify(u["tags"]), R"(["docs"])");

  auto s = ok("threads.update", "{\"id\":\"" + id + R"(","snoozed_until":"2030-01-01T10:00:00+05:30"})");
  EXPECT_EQ(str(s, "status"), "snoozed");
  EXPECT_EQ(str(s, "snoozed_until"), "2030-01-01T04:30:00.000Z");
  auto w = ok("threads.update", "{\"id\":\"" + id + R"(","status":"open"})");
  EXPECT_TRUE(w["snoozed_until"].IsNull());

  // Uppercase ids are the same id.
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(str(ok("threads.get", "{\"id\":\"" + upper + "\"}"), "id"), id);
}

TEST_P(ThreadsTest, AssignAndUnassign) {
  auto user = ok("users.create", R"({"email":"Ravi@Example.com","role":"agent","name":"Ravi"})");
  EXPECT_EQ(str(user, "email"), "ravi@example.com");
  std::string t = make_thread("Assign me");
  auto a = ok("threads.update", "{\"id\":\"" + t + "\",\"assignee_id\":\"" + str(user, "id") + "\"}");
  EXPECT_EQ(str(a, "assignee_id"), str(user, "id"));
  auto list = ok("threads.list", "{\"assignee_id\":\"" + str(user, "id") + "\"}");
  EXPECT_EQ(list["items"].Size(), 1u);
  auto b = ok("threads.update", "{\"id\":\"" + t + "\",\"assignee_id\":null}");
  EXPECT_TRUE(b["assignee_id"].IsNull());
  // A user id that does not exist (or is another org's) is not_found naming the field.
  auto msg = fails("threads.update",
                   "{\"id\":\"" + t + "\",\"assignee_id\":\"0190a0a0-0000-7000-8000-000000000999\"}",
                   Code::not_found);
  EXPECT_NE(msg.find("assignee_id"), std::string::npos) << msg;
}

TEST_P(ThreadsTest, ListPaginatesByActivityWithoutGapsOrDuplicates) {
  std::vector<std::string> ids;
  for (int i = 0; i < 23; ++i) ids.push_back(make_thread("t" + std::to_string(i)));
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  std::string prev_activity = "9999";
  do {
    std::string params = "{\"limit\":10" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}";
    auto d = ok("threads.list", params);
    ++pages;
    for (auto& t : d["items"].GetArray()) {
      EXPECT_TRUE(seen.insert(str(t, "id")).second) << "duplicate " << str(t, "id");
      EXPECT_LE(str(t, "last_activity_at"), prev_activity);
      prev_activity = str(t, "last_activity_at");
    }
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 23u);
  // Touching the oldest thread moves it to the front.
  ok("threads.update", "{\"id\":\"" + ids[0] + "\",\"priority\":\"low\"}");
  auto first = ok("threads.list", R"({"limit":1})");
  EXPECT_EQ(str(first["items"][0], "id"), ids[0]);
}

TEST_P(ThreadsTest, ListFilters) {
  make_thread("a", R"(,"status":"pending","tags":["blue"])");
  make_thread("b", R"(,"priority":"urgent")");
  make_thread("c", R"(,"tags":["blue","red"])");
  EXPECT_EQ(ok("threads.list", R"({"status":"pending"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("threads.list", R"({"priority":"urgent"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("threads.list", R"({"tag":"BLUE"})")["items"].Size(), 2u);
  EXPECT_EQ(ok("threads.list", R"({"tag":"green"})")["items"].Size(), 0u);
  fails("threads.list", R"({"status":"lost"})", Code::invalid_argument);
  fails("threads.list", R"({"cursor":"garbage!"})", Code::invalid_argument);
  fails("threads.list", R"({"limit":0})", Code::invalid_argument);
  fails("threads.list", R"({"limit":201})", Code::invalid_argument);
}

TEST_P(ThreadsTest, NotesAppearInMessagesAndSearch) {
  std::string t = make_thread("Customs hold at Nhava Sheva");
  auto n = ok("messages.create_note", "{\"thread_id\":\"" + t +
                                          R"(","text":"Called the CHA about container MSKU9070323; commercial invoice missing"})");
  EXPECT_EQ(str(n, "channel"), "note");
  EXPECT_EQ(str(n, "direction"), "internal");
  ok("messages.create_note", "{\"thread_id\":\"" + t + R"(","text":"Second note"})");
  auto list = ok("messages.list", "{\"thread_id\":\"" + t + "\",\"limit\":1}");
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_NE(std::string(str(list["items"][0], "text")).find("MSKU9070323"), std::string::npos);
  auto page2 = ok("messages.list", "{\"thread_id\":\"" + t + "\",\"limit\":1,\"cursor\":\"" +
                                       list["next_cursor"].GetString() + "\"}");
  EXPECT_EQ(str(page2["items"][0], "text"), "Second note");
  EXPECT_TRUE(page2["next_cursor"].IsNull());

  auto hits = ok("search.messages", R"({"q":"commercial invoice"})");
  ASSERT_EQ(hits["items"].Size(), 1u);
  EXPECT_EQ(str(hits["items"][0], "thread_id"), t);
  EXPECT_EQ(ok("search.messages", R"({"q":"invoice nonexistentword"})")["items"].Size(), 0u);
  // FTS syntax in user input is just text.
  EXPECT_EQ(ok("search.messages", R"({"q":"\"unbalanced NEAR( subject:"})")["items"].Size(), 0u);
  // Other organizations see nothing.
  EXPECT_EQ(ok("search.messages", R"({"q":"invoice"})", key_b)["items"].Size(), 0u);
  fails("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"\"}", Code::invalid_argument);
  fails("messages.list", R"({"thread_id":"0190a0a0-0000-7000-8000-000000000999"})", Code::not_found);
}

TEST_P(ThreadsTest, EveryWriteAppendsEventsInOrder) {
  std::string t = make_thread("events");
  ok("threads.update", "{\"id\":\"" + t + "\",\"status\":\"resolved\"}");
  ok("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"done\"}");
  auto ev = ok("events.list", R"({"after":0})");
  std::vector<std::string> types;
  int64_t prev = 0;
  for (auto& e : ev["items"].GetArray()) {
    EXPECT_GT(e["id"].GetInt64(), prev);
    prev = e["id"].GetInt64();
    types.push_back(str(e, "type"));
  }
  // org.created is org A's own bootstrap event.
  std::vector<std::string> want{"org.created", "thread.created", "thread.updated",
                                "thread.status_changed", "note.created"};
  EXPECT_EQ(types, want);
  EXPECT_EQ(str(ev["items"][1]["data"], "subject"), "events");
  auto after = ok("events.list", "{\"after\":" + std::to_string(prev - 1) + "}");
  EXPECT_EQ(after["items"].Size(), 1u);
  // Org B sees only its own.
  auto b = ok("events.list", R"({"after":0})", key_b);
  ASSERT_EQ(b["items"].Size(), 1u);
  EXPECT_EQ(str(b["items"][0], "type"), "org.created");
}

TEST_P(ThreadsTest, BadInputWritesNothing) {
  fails("threads.create", R"({"subject":"x","bogus":1})", Code::invalid_argument);
  fails("threads.create", R"({"subject":42})", Code::invalid_argument);
  fails("threads.create", R"({"subject":"x","customer_id":"0190a0a0-0000-7000-8000-000000000999"})",
        Code::not_found);
  fails("threads.create", R"({"subject":"x")", Code::invalid_argument);
  fails("threads.create", "{\"subject\":\"\xc3\x28\"}", Code::invalid_argument);
  fails("threads.create", R"([1,2])", Code::invalid_argument);
  fails("threads.create", "{\"subject\":\"" + std::string(2 << 20, 'a') + "\"}",
        Code::payload_too_large);
  EXPECT_EQ(ok("threads.list", "{}")["items"].Size(), 0u);
  auto ev = ok("events.list", R"({"after":0})");
  EXPECT_EQ(ev["items"].Size(), 1u);  // only org.created
  fails("no.such.op", "{}", Code::not_found);
}

TEST_P(ThreadsTest, TenantIsolation) {
  std::string t = make_thread("org A secret");
  ok("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"private\"}");
  std::string id = "{\"id\":\"" + t + "\"}";
  fails("threads.get", id, Code::not_found, key_b);
  fails("threads.update", "{\"id\":\"" + t + "\",\"status\":\"closed\"}", Code::not_found, key_b);
  fails("messages.list", "{\"thread_id\":\"" + t + "\"}", Code::not_found, key_b);
  fails("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"x\"}", Code::not_found, key_b);
  EXPECT_EQ(ok("threads.list", "{}", key_b)["items"].Size(), 0u);
  EXPECT_EQ(str(ok("threads.get", id), "status"), "open");  // unchanged
  // A user of org A cannot be assigned on org B's thread.
  auto ua = ok("users.create", R"({"email":"a@a.example","role":"agent"})");
  auto tb = ok("threads.create", R"({"subject":"B's"})", key_b);
  fails("threads.update", "{\"id\":\"" + str(tb, "id") + "\",\"assignee_id\":\"" + str(ua, "id") + "\"}",
        Code::not_found, key_b);
  fails("users.get", "{\"id\":\"" + str(ua, "id") + "\"}", Code::not_found, key_b);
  fails("users.update", "{\"id\":\"" + str(ua, "id") + "\",\"role\":\"admin\"}", Code::not_found, key_b);
  EXPECT_EQ(ok("users.list", "{}", key_b)["items"].Size(), 0u);
  auto ka = ok("apikeys.create", R"({"role":"viewer"})");
  fails("apikeys.revoke", "{\"id\":\"" + str(ka, "id") + "\"}", Code::not_found, key_b);
  EXPECT_EQ(ok("apikeys.list", "{}", key_b)["items"].Size(), 1u);  // B's bootstrap key only
  EXPECT_EQ(str(ok("orgs.get", "{}", key_b), "id"), org_b);
}

TEST_P(ThreadsTest, RolesAndKeys) {
  std::string viewer = key_with_role("viewer");
  std::string agent = key_with_role("agent");
  std::string manager = key_with_role("manager");
  ok("threads.list", "{}", viewer);
  fails("threads.create", R"({"subject":"x"})", Code::permission_denied, viewer);
  ok("threads.create", R"({"subject":"x"})", agent);
  fails("users.create", R"({"email":"x@y.example","role":"agent"})", Code::permission_denied, agent);
  fails("apikeys.create", R"({"role":"admin"})", Code::permission_denied, manager);
  // Keys never come back in listings.
  auto keys = ok("apikeys.list", "{}");
  for (auto& k : keys["items"].GetArray()) {
    EXPECT_FALSE(k.HasMember("key"));
    EXPECT_FALSE(k.HasMember("key_hash"));
  }
  // Revocation takes effect immediately in this process.
  auto created = ok("apikeys.create", R"({"role":"agent","name":"temp"})");
  std::string temp = str(created, "key");
  ASSERT_EQ(temp.rfind("bxk_", 0), 0u);
  ok("threads.list", "{}", temp);
  ok("apikeys.revoke", "{\"id\":\"" + str(created, "id") + "\"}");
  fails("threads.list", "{}", Code::unauthenticated, temp);
  fails("threads.list", "{}", Code::unauthenticated, "bxk_forged");
  fails("threads.list", "{}", Code::unauthenticated, "nonsense");
}

TEST_P(ThreadsTest, JwtUsersAuthenticate) {
  auto u = ok("users.create", R"({"email":"jwt@example.com","role":"manager"})");
  std::string claims = "{\"sub\":\"" + str(u, "id") + "\",\"role\":\"authenticated\",\"exp\":4102444800}";
  std::string token = banxway::api_test_sign(claims, "test-secret-with-at-least-32-characters!");
  auto who = engine->authenticate("Bearer " + token);
  ASSERT_TRUE(who.ok()) << who.status().to_string();
  EXPECT_EQ(who->org_id, org_a);
  EXPECT_EQ(who->role, banxway::Role::manager);
  ok("threads.create", R"({"subject":"by jwt"})", token);
  ok("users.update", "{\"id\":\"" + str(u, "id") + "\",\"active\":false}");
  fails("threads.list", "{}", Code::unauthenticated, token);
  std::string stranger = banxway::api_test_sign(
      R"({"sub":"0190a0a0-0000-7000-8000-000000000999","exp":4102444800})",
      "test-secret-with-at-least-32-characters!");
  fails("threads.list", "{}", Code::unauthenticated, stranger);
}

BX_INSTANTIATE_BACKENDS(ThreadsTest);

class SearchTest : public bxtest::EngineTest {};

TEST_P(SearchTest, PaginatesRankedResultsWithoutGapsOrDuplicates) {
  auto t = ok("threads.create", R"({"subject":"Invoices"})");
  std::string tid = str(t, "id");
  for (int i = 0; i < 25; ++i) {
    // Different lengths give different ranks; repeats of one text give ties broken by id.
    std::string text = "commercial invoice " + std::string(static_cast<size_t>(i % 5) * 6, 'x') +
                       " pending number " + std::to_string(i);
    ok("messages.create_note", "{\"thread_id\":\"" + tid + "\",\"text\":\"" + text + "\"}");
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("search.messages", "{\"q\":\"invoice\",\"limit\":10" +
                                       (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& h : d["items"].GetArray()) EXPECT_TRUE(seen.insert(str(h, "id")).second);
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 25u);
  fails("search.messages", R"({"q":"invoice","cursor":"WyJ4IiwieSJd"})", Code::invalid_argument);
}

BX_INSTANTIATE_BACKENDS(SearchTest);
